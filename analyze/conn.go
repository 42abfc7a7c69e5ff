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

// peer is what the analyzer knows of one side of a connection. Its fields
// are ordered by size, so that no padding sits between them.
type peer struct {
	pend [pendInline]pending // or in connMore.pend when spilled

	syn    synLog // SYNs (without ACK) sent
	synack synLog // SYN-ACKs sent

	// quiet is CLOSE_WAIT's quiet period: after this peer acknowledged the
	// other's FIN, the time since it last sent new data (or since the ack).
	quiet period
	// zero is this peer advertising a zero window.
	zero period

	finFrame     uint64
	finLastFrame uint64
	finTime      int64
	finAckFrame  uint64
	finAckTime   int64
	// finInferred: the capture missed this FIN; the other peer's ACK
	// finProofAck at frame finProof covered it (finFrame is that frame).
	finProof uint64
	rstFrame uint64

	timeWaitSince int64

	base        uint32 // relative sequence numbers count from here
	synISN      uint32 // the ISN of the latest SYN or SYN-ACK
	finSeq      uint32
	finCount    uint32
	finProofAck uint32
	rstSeq      uint32
	reported    uint32 // bit per once-only finding

	state       State // written only by conn.setState
	npend       uint8
	spilled     bool // the pending items are out of line (connMore.pend)
	hasBase     bool
	finSent     bool
	finAcked    bool // the other peer acknowledged this FIN
	passive     bool // the other peer's FIN was acknowledged before this one's FIN
	finInferred bool
	rstSent     bool
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

// synLog counts a peer's SYNs or SYN-ACKs and holds the first; the next
// ones, up to synKept in all, are remembered out of line (connMore.syns),
// for the few connections that sent more than one.
type synLog struct {
	frame uint64 // the first's
	time  int64  // the first's
	count uint32
	isn   uint32 // the latest's
}

// synKept is how many SYNs (or SYN-ACKs) of a peer are remembered.
const synKept = 8

// synTail is the second to synKept-th SYNs (or SYN-ACKs) of a synLog.
type synTail struct {
	frames [synKept - 1]uint64
	times  [synKept - 1]int64
}

// kept returns how many of the SYNs are remembered.
func (l *synLog) kept() int { return int(min(l.count, synKept)) }

// connMore is what few connections need, kept out of line and allocated
// at first use: a connection with a finding, a timeline, or a SYN sent
// more than once.
type connMore struct {
	findings []Finding
	timeline []Step
	slot     [nSlots]int16       // index+1 of the slot's finding in findings
	lastStep [2]int32            // timeline index of each peer's latest segment, -1 if none
	syns     [4]synTail          // [2·peer]: SYNs, [2·peer+1]: SYN-ACKs
	pend     [2][maxPend]pending // each peer's pending items, once more than pendInline were pending at once
	limit    [2]uint64           // the tracking_limit finding's frames (records copy them)
}

// conn is the analyzer's state of one connection, stored inline in the
// connection table. Its fields are ordered by size, so that no padding
// sits between them.
type conn struct {
	id uint64

	// the activity order, and the connection's place in Analyzer.timers,
	// whose key is a lower bound of its next deadline; tkey is that key
	// (while tslot is not 0), kept here so that a segment compares its
	// deadline without reading the heap, two cache misses in a large one
	seq   uint64
	tkey  int64
	p     [2]peer // [ClientToServer] = client, [ServerToClient] = server
	z     zeek.Tracker
	more  uint32 // ref of its connMore in Analyzer.more, 0 until needed
	tslot timerID

	lastSyn     int64 // most recent SYN from the client, for the RTT (valid when nISN > 0)
	synackTime  int64
	synackFrame uint64
	answerTime  int64
	answerFrame uint64
	hsEndTime   int64
	hsEndFrame  uint64
	rtt         time.Duration
	rstAt       int64 // first valid RST

	clientISNs   [4]uint32
	badSynAckAck uint32 // the ack of a SYN-ACK with an unacceptable one
	judged       uint32 // Analyzer.sweeps when last looked at (conn.catchUp)
	nISN         uint8
	endedEarly   endReason // why tracking stops early, set before the last judge

	started, midstream, finalized bool
	atEnd                         bool // judged at the end of the capture
	synNotCaptured                bool
	simOpen, simClose             bool
	synackValid                   bool
	badSynAck                     bool // a SYN-ACK with an unacceptable ack was seen
	answered                      bool // the server sent anything at all
	hsDone                        bool // the client's completing segment was seen (or the handshake was cut short)
	hsComplete                    bool
	hasRTT                        bool
	rstSeen                       bool
}

// more is the out-of-line state of the connections that need it (a side
// slab): conn.more is a ref into it (index+1), so that the connection's
// entry holds no pointer. The states of ended connections are kept for
// reuse, up to spareMore of them: under a SYN flood at the connection cap
// every eviction needs one, for its tracking_limit finding.
type moreSlab struct {
	m     []*connMore
	free  []uint32 // refs of released ones
	spare []*connMore
}

// spareMore is how many released connMores are kept for reuse.
const spareMore = 256

// x returns c's out-of-line state, allocating it at first use.
func (c *conn) x(a *Analyzer) *connMore {
	if c.more == 0 {
		s := &a.more
		if n := len(s.free); n > 0 {
			c.more = s.free[n-1]
			s.free = s.free[:n-1]
		} else {
			s.m = append(s.m, nil)
			c.more = uint32(len(s.m))
		}
		var m *connMore
		if n := len(s.spare); n > 0 {
			m = s.spare[n-1]
			s.spare[n-1] = nil
			s.spare = s.spare[:n-1]
			*m = connMore{findings: m.findings[:0]}
		} else {
			m = new(connMore)
		}
		m.lastStep = [2]int32{-1, -1}
		s.m[c.more-1] = m
	}
	return a.more.m[c.more-1]
}

// mx returns c's out-of-line state, nil if it has none.
func (c *conn) mx(a *Analyzer) *connMore {
	if c.more == 0 {
		return nil
	}
	return a.more.m[c.more-1]
}

// dropMore releases c's out-of-line state once c has ended.
func (c *conn) dropMore(a *Analyzer) {
	if c.more == 0 {
		return
	}
	s := &a.more
	if m := s.m[c.more-1]; len(s.spare) < spareMore {
		clear(m.findings) // what they point to goes with the record
		s.spare = append(s.spare, m)
	}
	s.m[c.more-1] = nil
	s.free = append(s.free, c.more)
	c.more = 0
}

// findings returns the connection's findings so far.
func (c *conn) findings(a *Analyzer) []Finding {
	if m := c.mx(a); m != nil {
		return m.findings
	}
	return nil
}

// timeline returns the connection's timeline so far.
func (c *conn) timeline(a *Analyzer) []Step {
	if m := c.mx(a); m != nil {
		return m.timeline
	}
	return nil
}

// slot returns index+1 of the finding of waiting-condition slot i, 0 if none.
func (c *conn) slot(a *Analyzer, i int) int16 {
	if m := c.mx(a); m != nil {
		return m.slot[i]
	}
	return 0
}

// synList returns the frames and times of the SYNs (SYN-ACKs, with ack)
// peer d sent, as many as are remembered.
func (c *conn) synList(a *Analyzer, d Dir, ack bool) ([]uint64, []int64) {
	l, i := &c.p[d].syn, 2*int(d)
	if ack {
		l, i = &c.p[d].synack, i+1
	}
	n := l.kept()
	if n == 0 {
		return nil, nil
	}
	frames, times := make([]uint64, n), make([]int64, n)
	frames[0], times[0] = l.frame, l.time
	if n > 1 {
		tl := &c.mx(a).syns[i]
		copy(frames[1:], tl.frames[:n-1])
		copy(times[1:], tl.times[:n-1])
	}
	return frames, times
}

// endReason is why tracking stopped early (Conn.EndedEarly by number).
type endReason uint8

const (
	endedNot endReason = iota
	endedMaxConns
	endedMaxMemory
	endedIdle
)

var endReasons = [...]string{endedNot: "", endedMaxConns: EndedMaxConns, endedMaxMemory: EndedMaxMemory, endedIdle: EndedIdle}

// String is the reason's name in records ("" for none).
func (r endReason) String() string { return endReasons[r] }

// prevConn describes the connection a reused port replaced.
type prevConn struct {
	id          uint64
	end         int64
	clientISN   uint32
	premature   bool
	timeWaitFor time.Duration
	who         string
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
