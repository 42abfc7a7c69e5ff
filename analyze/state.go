package analyze

import (
	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// A peer's state changes for three reasons, each a pure function of the
// state it was in: it sent a segment (afterSend), it received one of the
// other peer's (afterReceive), or TIME_WAIT ran out (afterTimeWait). The
// transitions are RFC 9293's (§3.3.2, Figure 5, and §3.10.7), seen from
// outside: state_test.go holds them against that table. setState is the one
// place that writes a peer's state; findings a transition implies are made
// beside it, by its caller.

// sendKind is what a segment does to its sender's state.
type sendKind uint8

const (
	sendOther  sendKind = iota // data or a bare ACK: no change
	sendSYN                    // a SYN without ACK
	sendSYNACK                 // a SYN-ACK
	sendFIN                    // the sender's first FIN
	sendRST                    // a RST the sender's own state machine accepts (an abort)
)

// afterSend is the sender's state after it sent a segment of kind k in s.
// A SYN-ACK's sender was listening or had sent its own SYN (simultaneous
// open); its SYN_RCVD needs no proof of receipt. CLOSED stands for LISTEN
// too: the observer never sees a listen.
func afterSend(s State, k sendKind) State {
	switch k {
	case sendSYN:
		switch s {
		case Closed, Listen:
			return SynSent
		}
	case sendSYNACK:
		switch s {
		case Closed, Listen, SynSent:
			return SynRcvd
		}
	case sendFIN:
		switch s {
		case Established, SynRcvd:
			return FinWait1
		case CloseWait:
			return LastAck
		}
	case sendRST:
		return Closed
	}
	return s
}

// afterReceive is the receiver's state after it received a pending segment
// of kind k in s (received.go says when a receipt is proven).
func afterReceive(s State, k pendKind) State {
	switch k {
	case pendSYN:
		switch s {
		case Closed, Listen, SynSent:
			return SynRcvd
		}
	case pendSYNACK:
		switch s {
		case SynSent, SynRcvd:
			return Established
		}
	case pendAckSYN:
		if s == SynRcvd {
			return Established
		}
	case pendAckFIN:
		switch s {
		case FinWait1:
			return FinWait2
		case Closing:
			return TimeWait
		case LastAck:
			return Closed
		}
	case pendFIN:
		switch s {
		case Established, SynRcvd:
			return CloseWait
		case FinWait1:
			return Closing
		case FinWait2:
			return TimeWait
		}
	case pendRST:
		return Closed
	}
	return s
}

// afterTimeWait is a peer's state once 2·MSL of capture time has passed
// since it entered s.
func afterTimeWait(s State) State {
	if s == TimeWait {
		return Closed
	}
	return s
}

// setState moves peer d to state s at capture time t, and rewrites the
// timeline to match: from is the first step that shows s (the step of the
// segment whose receipt moved the peer; the peer's own later segments are
// the proof, so steps before its latest are left alone), or -1 when no
// step written so far does (the current segment's step is written after).
// It is the only writer of peer.state (state_test.go checks).
func (c *conn) setState(d Dir, s State, t int64, from int32, a *Analyzer) {
	p := &c.p[d]
	if s == p.state {
		return
	}
	p.state = s
	if s == TimeWait {
		p.timeWaitSince = t
	}
	if from < 0 || c.more == 0 {
		return
	}
	m := c.mx(a)
	from = max(from, m.lastStep[d]+1)
	for i := int(from); i < len(m.timeline); i++ {
		if d == ClientToServer {
			m.timeline[i].ClientState = s
		} else {
			m.timeline[i].ServerState = s
		}
	}
}

// step appends seg to the timeline, with both peers' states as they are
// now; a receipt proven later rewrites them (setState).
func (c *conn) step(seg *capture.Segment, d Dir, cls reassembly.Class, a *Analyzer) {
	if len(c.timeline(a)) >= a.cfg.MaxTimeline {
		return
	}
	st := Step{Frame: seg.Frame, Time: seg.Time, Dir: d, Flags: seg.Flags, Seq: c.rel(d, seg.Seq), Len: seg.Len,
		Window: seg.Window, ClientState: c.p[0].state, ServerState: c.p[1].state, Note: cls.String()}
	if seg.Flags&capture.ACK != 0 {
		st.Ack = c.rel(d^1, seg.Ack)
	}
	m := c.x(a)
	m.lastStep[d] = int32(len(m.timeline))
	m.timeline = append(m.timeline, st)
}
