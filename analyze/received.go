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

const maxPend = 6

func (c *conn) addPend(p *peer, kind pendKind, seq uint32, t int64, step int32) {
	for i := 0; i < int(p.npend); i++ {
		it := &p.pend[i]
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
		copy(p.pend[:], p.pend[1:])
		p.npend--
	}
	p.pend[p.npend] = pending{kind: kind, count: 1, step: step, seq: seq, time: t}
	p.npend++
}

func (p *peer) dropPend(i int) {
	copy(p.pend[i:], p.pend[i+1:p.npend])
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
	f := seg.Flags
	acks := func(x uint32) bool { return f&capture.ACK != 0 && reassembly.SeqGT(seg.Ack, x) }
	for i := 0; i < int(q.npend); {
		it := q.pend[i]
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
			q.dropPend(i)
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
			it := &c.p[d].pend[0]
			if best < 0 || it.time < c.p[best].pend[0].time {
				best, bi = d, 0
			}
		}
		if best < 0 {
			return
		}
		q := &c.p[best]
		it := q.pend[bi]
		q.dropPend(bi)
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
