package analyze

import (
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze/zeek"
	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// The observer model (DESIGN §3): a peer's state changes when it sends a
// segment — seen directly — and when it receives one, which the capture
// shows only through the receiver's own later segments. Each segment that
// would move its receiver's state is therefore kept as a pending item on its
// sender until the receiver's next segment settles it: an acknowledgment
// covering it (or a reply that presumes it) proves receipt; a retransmission
// of what it acknowledged, or carrying on as if it never came, proves loss.
// At the end of the capture what is still pending is assumed delivered,
// except a SYN (an unanswered SYN leaves the server where it was) and a
// segment its sender had to retransmit with nothing coming back.

type pendKind uint8

const (
	pendSYN    pendKind = iota + 1 // a SYN: the receiver goes SYN_RCVD
	pendSYNACK                     // a SYN-ACK: the receiver goes ESTABLISHED
	pendAckSYN                     // an ACK of the receiver's SYN-ACK: SYN_RCVD → ESTABLISHED
	pendAckFIN                     // an ACK of the receiver's FIN
	pendFIN                        // a FIN
	pendRST                        // a valid RST
)

type pending struct {
	kind  pendKind
	count uint16    // copies sent
	step  int32     // timeline index of the latest copy; -1 without timeline
	seq   uint32    // SYN, SYN-ACK: the ISN; FIN: the FIN's sequence number
	time  time.Time // when the latest copy was sent
}

const maxPend = 6

// peer is what the analyzer knows of one side of a connection.
type peer struct {
	state    State
	npend    uint8
	pend     [maxPend]pending
	lastStep int32 // timeline index of this peer's latest segment, -1 if none

	base    uint32 // relative sequence numbers count from here
	hasBase bool

	syn    synLog // SYNs (without ACK) sent
	synack synLog // SYN-ACKs sent
	synISN uint32 // the ISN of the latest SYN or SYN-ACK

	finSent      bool
	finSeq       uint32
	finCount     int
	finFrame     uint64
	finLastFrame uint64
	finTime      time.Time
	finAcked     bool // the other peer acknowledged this FIN
	finAckFrame  uint64
	finAckTime   time.Time
	passive      bool // the other peer's FIN was acknowledged before this one's FIN

	// CLOSE_WAIT quiet period: after this peer acknowledged the other's FIN,
	// the time since it last sent new data (or since the ack).
	quietOn     bool
	quietSince  time.Time
	quietFrame  uint64
	quietLong   time.Duration // longest completed quiet period
	quietLongAt uint64        // its first frame
	quietEnd    uint64        // the frame that ended the longest period

	rstSent  bool
	rstFrame uint64
	rstTime  time.Time
	rstSeq   uint32

	zeroOn        bool
	zeroSince     time.Time
	zeroFrame     uint64
	zeroLong      time.Duration
	zeroLongFrame uint64
	zeroEndFrame  uint64

	timeWaitSince time.Time
	reported      uint32 // bit per once-only finding
	dataAt        time.Time
}

// synLog counts a peer's SYNs or SYN-ACKs and remembers the first few.
type synLog struct {
	count  int
	isn    uint32
	frames [8]uint64
	times  [8]time.Time
}

func (l *synLog) note(seq uint32, frame uint64, t time.Time) {
	l.isn = seq
	if l.count < len(l.frames) {
		l.frames[l.count] = frame
		l.times[l.count] = t
	}
	l.count++
}

// kept returns how many of the SYNs are remembered.
func (l *synLog) kept() int {
	if l.count > len(l.frames) {
		return len(l.frames)
	}
	return l.count
}

// once-only finding bits in peer.reported
const (
	repDataAfterReset = 1 << iota
	repDataBeforeHS
	repDataAfterFin
	repSynWithData
	repRstInvalid
	repRstChallenge
)

// slots of findings about waiting, updated while the condition lasts
const (
	slotSynUnanswered = iota
	slotMissingAck
	slotHalfClose   // + peer index
	slotHalfClose1  //
	slotZeroWindow  // + peer index
	slotZeroWindow1 //
	slotFinUnacked  // + peer index
	slotFinUnacked1 //
	nSlots
)

// conn is the analyzer's state of one connection, stored inline in the
// connection table.
type conn struct {
	id  uint64
	cfg *Config
	p   [2]peer // [ClientToServer] = client, [ServerToClient] = server
	z   zeek.Tracker

	findings []Finding
	timeline []Step
	slot     [nSlots]int16 // index+1 of the slot's finding in findings

	started, midstream, finalized bool
	atEnd                         bool // judged at the end of the capture
	synNotCaptured                bool
	simOpen, simClose             bool

	clientISNs [4]uint32
	nISN       uint8
	lastSyn    time.Time // most recent SYN from the client, for the RTT

	synackValid  bool
	badSynAck    bool   // a SYN-ACK with an unacceptable ack was seen
	badSynAckAck uint32 // its ack
	synackTime   time.Time
	synackFrame  uint64
	answered     bool // the server sent anything at all
	answerTime   time.Time
	answerFrame  uint64

	hsDone       bool // the client's completing segment was seen (or the handshake was cut short)
	hsComplete   bool
	hsEndTime    time.Time
	hsEndFrame   uint64
	rtt          time.Duration
	hasRTT       bool
	rstAt        time.Time // first valid RST
	rstSeen      bool
	reuse        *prevConn
	lateAckFrame uint64
}

// prevConn describes the connection a reused port replaced.
type prevConn struct {
	id          uint64
	end         time.Time
	clientISN   uint32
	premature   bool
	timeWaitFor time.Duration
	who         string
}

func (c *conn) init(id uint64, rc *reassembly.Conn[conn], cfg *Config) {
	c.id = id
	c.cfg = cfg
	c.p[0].lastStep, c.p[1].lastStep = -1, -1
}

func (a *Analyzer) prevOf(rc *reassembly.Conn[conn], seg *capture.Segment) prevConn {
	c := &rc.Data
	c.judge(rc, a.now, true, a)
	p := prevConn{id: c.id, end: rc.Last, clientISN: rc.Half[reassembly.ClientToServer].ISN}
	for i := range c.p {
		if c.p[i].state == TimeWait {
			p.premature = true
			p.timeWaitFor = seg.Time.Sub(c.p[i].timeWaitSince)
			p.who = roleName(reassembly.Dir(i))
		}
	}
	return p
}

func (c *conn) noteReuse(p prevConn, seg *capture.Segment, twoMSL time.Duration) {
	c.reuse = &p
	ev := fmtS("SYN (frame %d, ISN %d) opens a new connection on the tuple of connection #%d (client ISN %d), whose last segment was %s earlier",
		seg.Frame, seg.Seq, p.id, p.clientISN, dur(seg.Time.Sub(p.end)))
	if p.premature {
		ev += fmtS("; premature: the old %s was still in TIME_WAIT (%s into 2·MSL = %s)", p.who, dur(p.timeWaitFor), twoMSL)
	}
	c.add(Finding{Kind: PortReused, Severity: Info, Frames: []uint64{seg.Frame}, Time: seg.Time, Evidence: ev})
}

func roleName(d reassembly.Dir) string {
	if d == reassembly.ServerToClient {
		return "server"
	}
	return "client"
}

// segment is the per-segment step of the state machine.
func (c *conn) segment(rc *reassembly.Conn[conn], seg *capture.Segment, d Dir, cls reassembly.Class, a *Analyzer) {
	P := &c.p[d]
	f := seg.Flags
	c.z.Update(d == ClientToServer, seg)

	if !P.hasBase {
		P.hasBase = true
		P.base = seg.Seq
		if f&capture.SYN == 0 {
			P.base--
		}
	}
	if !c.started {
		c.start(rc, seg, d)
	}
	if d == ServerToClient && !c.answered {
		c.answered, c.answerTime, c.answerFrame = true, seg.Time, seg.Frame
	}

	c.settle(d, seg)

	switch {
	case f&capture.RST != 0:
		c.onRST(rc, seg, d, a)
	case f&(capture.SYN|capture.ACK) == capture.SYN:
		c.onSYN(rc, seg, d, a)
	case f&capture.SYN != 0:
		c.onSYNACK(rc, seg, d, a)
	default:
		c.onOther(rc, seg, d, cls, a)
	}

	if f&(capture.SYN|capture.FIN|capture.RST) == 0 {
		c.window(P, seg)
	}
	if c.cfg.Timeline {
		c.step(rc, seg, d, cls)
	}
	c.judge(rc, seg.Time, false, a)
}

// start sets the initial states from the connection's first segment.
func (c *conn) start(rc *reassembly.Conn[conn], seg *capture.Segment, d Dir) {
	c.started = true
	switch seg.Flags & (capture.SYN | capture.ACK) {
	case capture.SYN:
		// Both CLOSED until the SYN says otherwise.
	case capture.SYN | capture.ACK:
		// The client's SYN was not captured: it must have sent one.
		c.synNotCaptured = true
		c.p[d^1].state = SynSent
		c.p[d].state = Listen
	default:
		c.midstream = true
		c.p[0].state, c.p[1].state = Established, Established
		c.add(Finding{Kind: Midstream, Severity: Info, Frames: []uint64{seg.Frame}, Time: seg.Time,
			Evidence: fmtS("first segment (frame %d, flags %s) carries no SYN: the handshake was not captured; both peers assumed ESTABLISHED", seg.Frame, seg.Flags)})
	}
}

func (c *conn) addPend(P *peer, kind pendKind, seq uint32, seg *capture.Segment, step int32) {
	for i := 0; i < int(P.npend); i++ {
		it := &P.pend[i]
		if it.kind == kind && it.seq == seq {
			it.count++
			if kind != pendAckSYN && kind != pendAckFIN {
				// A resent SYN, FIN or RST: the latest copy is the one
				// that may arrive. An ACK is received at its first copy.
				it.step, it.time = step, seg.Time
			}
			return
		}
	}
	if int(P.npend) == maxPend {
		// Should not happen (one item of each kind at most); keep the newest.
		copy(P.pend[:], P.pend[1:])
		P.npend--
	}
	P.pend[P.npend] = pending{kind: kind, count: 1, step: step, seq: seq, time: seg.Time}
	P.npend++
}

func (P *peer) dropPend(i int) {
	copy(P.pend[i:], P.pend[i+1:P.npend])
	P.npend--
}

// nextStep is the timeline index the current segment will get.
func (c *conn) nextStep() int32 {
	if !c.cfg.Timeline || len(c.timeline) >= c.cfg.MaxTimeline {
		return -1
	}
	return int32(len(c.timeline))
}

// settle decides, from seg (sent by P in direction d), which of the other
// peer's pending segments P had received.
func (c *conn) settle(d Dir, seg *capture.Segment) {
	P, Q := &c.p[d], &c.p[d^1]
	f := seg.Flags
	acks := func(x uint32) bool { return f&capture.ACK != 0 && reassembly.SeqGT(seg.Ack, x) }
	for i := 0; i < int(Q.npend); {
		it := Q.pend[i]
		applied, drop := false, false
		switch it.kind {
		case pendSYN:
			if f&capture.ACK != 0 && seg.Ack == it.seq+1 {
				drop = true
				// A RST answering the SYN means nobody was listening:
				// the SYN changed nothing.
				applied = f&capture.RST == 0
			} else if f&capture.SYN != 0 && f&capture.ACK != 0 {
				// A SYN-ACK acking something else: the SYN was received (the
				// answer is bad, judged elsewhere).
				drop, applied = true, true
			}
		case pendSYNACK:
			switch {
			case f&capture.RST != 0:
				drop = true
			case acks(it.seq):
				drop, applied = true, true
			}
		case pendFIN:
			if f&capture.RST == 0 && acks(it.seq) {
				drop, applied = true, true
			}
		case pendAckSYN:
			drop = true
			applied = !(f&capture.SYN != 0 && seg.Seq == P.synISN)
		case pendAckFIN:
			drop = true
			applied = !(f&capture.FIN != 0 && f&capture.RST == 0 && P.finSent && seg.Seq+seg.Len == P.finSeq)
		case pendRST:
			drop = true
			applied = f&capture.RST != 0
		}
		if applied {
			c.receive(d, &it)
		}
		if drop {
			Q.dropPend(i)
			continue
		}
		i++
	}
}

// receive applies to peer d the receipt of the pending item it.
func (c *conn) receive(d Dir, it *pending) {
	P := &c.p[d]
	old := P.state
	next := old
	switch it.kind {
	case pendSYN:
		switch old {
		case Closed, Listen, SynSent:
			next = SynRcvd
		}
	case pendSYNACK:
		switch old {
		case SynSent, SynRcvd:
			next = Established
		}
	case pendAckSYN:
		if old == SynRcvd {
			next = Established
		}
	case pendAckFIN:
		switch old {
		case FinWait1:
			next = FinWait2
		case Closing:
			next = TimeWait
		case LastAck:
			next = Closed
		}
	case pendFIN:
		switch old {
		case Established, SynRcvd:
			next = CloseWait
		case FinWait1:
			next = Closing
		case FinWait2:
			next = TimeWait
		}
	case pendRST:
		next = Closed
	}
	if next == old {
		return
	}
	c.enter(d, next, it.time)
	if it.step >= 0 {
		from := it.step
		if P.lastStep+1 > from {
			from = P.lastStep + 1
		}
		for i := int(from); i < len(c.timeline); i++ {
			if d == ClientToServer {
				c.timeline[i].ClientState = next
			} else {
				c.timeline[i].ServerState = next
			}
		}
	}
}

// enter moves peer d to state s at time t.
func (c *conn) enter(d Dir, s State, t time.Time) {
	P := &c.p[d]
	P.state = s
	switch s {
	case TimeWait:
		P.timeWaitSince = t
	case Closing:
		if !c.simClose {
			c.simClose = true
			O := &c.p[d^1]
			c.add(Finding{Kind: SimultaneousClose, Severity: Info,
				Frames: []uint64{min64(P.finFrame, O.finFrame), max64(P.finFrame, O.finFrame)}, Time: t,
				Evidence: fmtS("FINs crossed: the client's FIN (seq %d, frame %d) and the server's FIN (seq %d, frame %d) were each sent before the other arrived; both peers pass through CLOSING",
					c.rel(0, c.p[0].finSeq), c.p[0].finFrame, c.rel(1, c.p[1].finSeq), c.p[1].finFrame)})
		}
	}
}

// rel returns seq relative to peer d's base.
func (c *conn) rel(d Dir, seq uint32) uint32 {
	if !c.p[d].hasBase {
		return seq
	}
	return seq - c.p[d].base
}

func min64(a, b uint64) uint64 {
	if a == 0 || (b != 0 && b < a) {
		return b
	}
	return a
}

func max64(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}
