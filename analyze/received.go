package analyze

import (
	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// What was received (docs/design.md §3): a peer's state changes when it sends a
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
	count uint16 // copies sent
	step  int32  // timeline index of the latest copy; -1 without timeline
	seq   uint32 // SYN, SYN-ACK: the ISN; FIN: the FIN's sequence number
	time  int64  // when the latest copy was sent (a stamp)
}

// maxPend is how many items a peer may have pending at once; pendInline of
// them are kept in the connection's entry, and when more are pending at
// once (rare: most peers have none or one) the peer's items move out of
// line (connMore.pend) for the rest of the connection.
const (
	maxPend    = 6
	pendInline = 2
)

// pendStore returns where peer d's pending items live, at its full
// capacity; the first npend are pending.
func (c *conn) pendStore(d Dir, a *Analyzer) []pending {
	if c.p[d].spilled {
		return c.mx(a).pend[d][:]
	}
	return c.p[d].pend[:]
}

func (c *conn) addPend(p *peer, kind pendKind, seq uint32, t int64, step int32, a *Analyzer) {
	d := ClientToServer
	if p == &c.p[ServerToClient] {
		d = ServerToClient
	}
	ps := c.pendStore(d, a)
	for i := 0; i < int(p.npend); i++ {
		it := &ps[i]
		if it.kind == kind && it.seq == seq {
			it.count++
			if kind != pendAckSYN && kind != pendAckFIN {
				// A resent SYN, FIN or RST: the latest copy is the one
				// that may arrive. An ACK is received at its first copy.
				it.step, it.time = step, t
			}
			return
		}
	}
	if int(p.npend) == maxPend {
		// Should not happen (one item of each kind at most); keep the newest.
		copy(ps, ps[1:])
		p.npend--
	}
	if int(p.npend) == len(ps) {
		m := c.x(a)
		copy(m.pend[d][:], ps)
		p.spilled = true
		ps = m.pend[d][:]
	}
	ps[p.npend] = pending{kind: kind, count: 1, step: step, seq: seq, time: t}
	p.npend++
}

// dropPend removes peer d's pending item i.
func (c *conn) dropPend(d Dir, i int, a *Analyzer) {
	ps, p := c.pendStore(d, a), &c.p[d]
	copy(ps[i:], ps[i+1:p.npend])
	p.npend--
}

// nextStep is the timeline index the current segment will get.
func (c *conn) nextStep(a *Analyzer) int32 {
	n := len(c.timeline(a))
	if !a.cfg.Timeline || n >= a.cfg.MaxTimeline {
		return -1
	}
	return int32(n)
}

// settle decides, from seg (sent by peer d), which of the other peer's
// pending segments peer d had received.
func (c *conn) settle(d Dir, seg *capture.Segment, a *Analyzer) {
	p, q := &c.p[d], &c.p[d^1]
	if q.npend == 0 {
		return
	}
	f := seg.Flags
	acks := func(x uint32) bool { return f&capture.ACK != 0 && reassembly.SeqGT(seg.Ack, x) }
	ps := c.pendStore(d^1, a) // settling moves no item out of line
	for i := 0; i < int(q.npend); {
		it := ps[i]
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
			applied = !(f&capture.SYN != 0 && seg.Seq == p.synISN)
		case pendAckFIN:
			drop = true
			applied = !(f&capture.FIN != 0 && f&capture.RST == 0 && p.finSent && seg.Seq+seg.Len == p.finSeq)
		case pendRST:
			drop = true
			applied = f&capture.RST != 0
		}
		if applied {
			c.receive(d, &it, a)
		}
		if drop {
			copy(ps[i:], ps[i+1:q.npend])
			q.npend--
			continue
		}
		i++
	}
}

// receive applies to peer d the receipt of the pending item it, from the
// step that carried it; crossing FINs are noted as it happens.
func (c *conn) receive(d Dir, it *pending, a *Analyzer) {
	s := afterReceive(c.p[d].state, it.kind)
	if s == c.p[d].state {
		return
	}
	c.setState(d, s, it.time, it.step, a)
	if s == Closing {
		c.simultaneousClose(it.time, a)
	}
}

// settleEnd applies the end-of-capture rules to what is still pending.
func (c *conn) settleEnd(a *Analyzer) {
	for {
		// Oldest first across both peers.
		best, bi := -1, -1
		for d := range c.p {
			if c.p[d].npend == 0 {
				continue
			}
			it := &c.pendStore(Dir(d), a)[0]
			if best < 0 || it.time < c.pendStore(Dir(best), a)[0].time {
				best, bi = d, 0
			}
		}
		if best < 0 {
			return
		}
		it := c.pendStore(Dir(best), a)[bi]
		c.dropPend(Dir(best), bi, a)
		switch it.kind {
		case pendSYN:
			continue // never assumed received
		case pendSYNACK, pendFIN:
			if it.count > 1 {
				continue // retransmitted with nothing coming back: not received
			}
		}
		c.receive(reassembly.Dir(best^1), &it, a)
	}
}
