package analyze

import (
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze/zeek"
	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// A segment's path: Analyzer.Add (analyzer.go) finds its connection and
// hands it to conn.segment (sent.go), which settles what its sender had
// received (received.go), applies what sending it did (sent.go), and judges
// the conditions about waiting (waiting.go). Every change of a peer's state
// goes through setState (state.go); findings carry their evidence
// (evidence.go).

// peer is what the analyzer knows of one side of a connection.
type peer struct {
	state    State // written only by conn.setState
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
	finTime      int64
	finAcked     bool // the other peer acknowledged this FIN
	finAckFrame  uint64
	finAckTime   int64
	passive      bool // the other peer's FIN was acknowledged before this one's FIN
	// finInferred: the capture missed this FIN; the other peer's ACK
	// finProofAck at frame finProof covered it (finFrame is that frame).
	finInferred bool
	finProof    uint64
	finProofAck uint32

	// quiet is CLOSE_WAIT's quiet period: after this peer acknowledged the
	// other's FIN, the time since it last sent new data (or since the ack).
	quiet period
	// zero is this peer advertising a zero window.
	zero period

	rstSent  bool
	rstFrame uint64
	rstTime  int64
	rstSeq   uint32

	timeWaitSince int64
	reported      uint32 // bit per once-only finding
	dataAt        int64
}

// once reports whether the once-only finding bit has not been reported by
// this peer yet, and marks it reported.
func (p *peer) once(bit uint32) bool {
	if p.reported&bit != 0 {
		return false
	}
	p.reported |= bit
	return true
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

// synLog counts a peer's SYNs or SYN-ACKs and remembers the first few.
type synLog struct {
	count  int
	isn    uint32
	frames [8]uint64
	times  [8]int64
}

func (l *synLog) note(seq uint32, frame uint64, t int64) {
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

// conn is the analyzer's state of one connection, stored inline in the
// connection table.
type conn struct {
	id  uint64
	cfg *Config
	rc  *reassembly.Conn[conn] // the table entry holding it

	// the connection's place in Analyzer.timers: its key (a lower bound of
	// its next deadline, ns of capture time), index+1 in the heap, and the
	// activity order
	tkey  int64
	tslot int32
	seq   uint64
	p     [2]peer // [ClientToServer] = client, [ServerToClient] = server
	z     zeek.Tracker

	findings []Finding
	timeline []Step
	slot     [nSlots]int16 // index+1 of the slot's finding in findings

	started, midstream, finalized bool
	atEnd                         bool // judged at the end of the capture
	synNotCaptured                bool
	endedEarly                    string // why tracking stops early, set before the last judge
	simOpen, simClose             bool

	clientISNs [4]uint32
	nISN       uint8
	lastSyn    int64 // most recent SYN from the client, for the RTT (valid when nISN > 0)

	synackValid  bool
	badSynAck    bool   // a SYN-ACK with an unacceptable ack was seen
	badSynAckAck uint32 // its ack
	synackTime   int64
	synackFrame  uint64
	answered     bool // the server sent anything at all
	answerTime   int64
	answerFrame  uint64

	hsDone       bool // the client's completing segment was seen (or the handshake was cut short)
	hsComplete   bool
	hsEndTime    int64
	hsEndFrame   uint64
	rtt          time.Duration
	hasRTT       bool
	rstAt        int64 // first valid RST
	rstSeen      bool
	reuse        *prevConn
	lateAckFrame uint64
}

// prevConn describes the connection a reused port replaced.
type prevConn struct {
	id          uint64
	end         int64
	clientISN   uint32
	premature   bool
	timeWaitFor time.Duration
	who         string
}

func (c *conn) init(id uint64, rc *reassembly.Conn[conn], cfg *Config) {
	c.id = id
	c.cfg = cfg
	c.rc = rc
	c.p[0].lastStep, c.p[1].lastStep = -1, -1
}

func (a *Analyzer) prevOf(rc *reassembly.Conn[conn], seg *capture.Segment) prevConn {
	c := &rc.Data
	c.judge(rc, a.now, true, a)
	p := prevConn{id: c.id, end: rc.Last, clientISN: rc.Half[reassembly.ClientToServer].ISN}
	for i := range c.p {
		if c.p[i].state == TimeWait {
			p.premature = true
			p.timeWaitFor = since(stamp(seg.Time), c.p[i].timeWaitSince)
			p.who = roleName(reassembly.Dir(i))
		}
	}
	return p
}

// rel returns seq relative to peer d's base.
func (c *conn) rel(d Dir, seq uint32) uint32 {
	if !c.p[d].hasBase {
		return seq
	}
	return seq - c.p[d].base
}

func roleName(d reassembly.Dir) string {
	if d == reassembly.ServerToClient {
		return "server"
	}
	return "client"
}
