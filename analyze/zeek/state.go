package zeek

import "github.com/tcpflow-check/tcpflow-check/capture"

// ConnState is a conn_state of Zeek's conn.log: how far each side got, in
// Zeek's own summary (scripts/base/protocols/conn/main.zeek documents each).
type ConnState string

// The conn_states.
const (
	S0     ConnState = "S0"     // connection attempt seen, no reply
	S1     ConnState = "S1"     // established, not terminated
	SF     ConnState = "SF"     // normal establishment and termination
	REJ    ConnState = "REJ"    // connection attempt rejected
	S2     ConnState = "S2"     // established, close attempt by the originator seen, none by the responder
	S3     ConnState = "S3"     // established, close attempt by the responder seen, none by the originator
	RSTO   ConnState = "RSTO"   // established, the originator aborted (sent a RST)
	RSTR   ConnState = "RSTR"   // the responder sent a RST
	RSTOS0 ConnState = "RSTOS0" // the originator sent a SYN and then a RST; no SYN-ACK from the responder
	RSTRH  ConnState = "RSTRH"  // the responder sent a SYN-ACK and then a RST; no SYN from the originator
	SH     ConnState = "SH"     // the originator sent a SYN and then a FIN; no SYN-ACK from the responder
	SHR    ConnState = "SHR"    // the responder sent a SYN-ACK and then a FIN; no SYN from the originator
	OTH    ConnState = "OTH"    // no SYN seen, just midstream traffic
)

// connStates lists them in the order of Zeek's documentation.
var connStates = [...]ConnState{S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH}

// ConnStates returns every conn_state, in the order of Zeek's documentation.
func ConnStates() []ConnState { return append([]ConnState(nil), connStates[:]...) }

// endpointState is a Zeek endpoint state (TCP_ENDPOINT_* in
// TCP_Endpoint.h), not an RFC 9293 state: Zeek follows less of the
// protocol.
type endpointState uint8

// The endpoint states, in Zeek's order.
const (
	epInactive endpointState = iota
	epSynSent
	epSynAckSent
	epPartial
	epEstablished
	epClosed
	epReset
)

// setState is TCP_Endpoint::SetState; it also notes when the handshake ends
// (the switch to the TCP inactivity timeout).
func (z *Tracker) setState(i int, s endpointState) {
	e := &z.ep[i]
	if s == e.state {
		return
	}
	if !isHandshake(s) && isHandshake(e.state) && isHandshake(z.ep[1-i].state) {
		z.handshakeEnd = true
	}
	e.prevState = e.state
	e.state = s
}

func isHandshake(s endpointState) bool { return s == epInactive || s == epSynSent || s == epSynAckSent }

// updateStateMachine is UpdateStateMachine with its per-state helpers, as
// far as they change states; it returns do_close. (gen_event, the rejection
// test and the weirds decide only events, which nothing here needs.)
func (z *Tracker) updateStateMachine(i int, seg *capture.Segment, syn, fin, rst, ack bool) (doClose bool) {
	e, p := &z.ep[i], &z.ep[1-i]
	isOrig := z.isOrig(i)
	length := seg.Len
	switch e.state {
	case epInactive:
		// UpdateInactiveState
		if syn {
			if isOrig {
				if ack {
					z.setState(i, epSynAckSent)
				} else {
					z.setState(i, epSynSent)
				}
				if z.attemptAt == 0 {
					z.attemptAt = seg.Time.UnixNano()
				}
			} else {
				if !ack && p.state == epSynAckSent && seg.Seq == e.startSeq {
					// SYN/SYN-ACK reversal: flip and establish.
					z.isPartial = false
					z.flipRoles()
					z.setState(1-i, epEstablished)
					z.firstSeen |= 1
				}
				if p.state == epSynSent {
					z.setState(1-i, epEstablished)
				}
				z.setState(i, epEstablished)
			}
		}
		if fin {
			z.setState(i, epClosed)
			doClose = true
		}
		// From here on Zeek tests its is_orig argument, which a reversal
		// flip above leaves as it was.
		if rst {
			z.setState(i, epReset)
			doClose = true
		}
		if e.state == epInactive {
			o := &z.ep[z.side(true)]
			switch {
			case !isOrig && length == 0 && o.state == epSynSent:
				// An ACK before the SYN-ACK ("eccentric TCPs"): ignored.
			case ack && p.state == epEstablished:
				// Missed the SYN: establish rather than call it partial.
				z.setState(i, epEstablished)
				z.isPartial = false
				if isOrig {
					z.firstSeen |= 1
				} else {
					z.firstSeen |= 2
				}
			default:
				z.setState(i, epPartial)
			}
		}

	case epSynSent, epSynAckSent:
		// UpdateSYN_SentState
		if fin {
			z.setState(i, epClosed)
			doClose = true
		}
		if rst {
			z.setState(i, epReset)
			doClose = true
		}

	case epEstablished, epPartial:
		// UpdateEstablishedState
		if syn && e.state == epPartial && p.state == epInactive && !ack {
			z.setState(i, epSynSent)
		}
		if fin && !rst {
			z.setState(i, epClosed)
			if p.state == epReset && p.prevState == epClosed {
				// FIN then RST from the peer: a normal termination.
				z.setState(1-i, epClosed)
			}
			doClose = true
		}
		if rst {
			z.setState(i, epReset)
			doClose = true
		}

	case epClosed:
		// UpdateClosedState: a RST after our FIN resets us unless the
		// peer closed too.
		if rst && p.state != epClosed {
			z.setState(i, epReset)
			if !e.didClose {
				doClose = true
			}
			if z.resetAt == 0 {
				z.resetAt = seg.Time.UnixNano()
			}
		}

	case epReset:
		// UpdateResetState: weirds only.
	}
	return doClose
}

// flipRoles is TCPSessionAdapter::FlipRoles + Connection::FlipRoles: the
// originator becomes the responder, and '^' is appended.
func (z *Tracker) flipRoles() {
	z.origClient = !z.origClient
	z.firstSeen = (z.firstSeen&1)<<1 | (z.firstSeen&2)>>1
	z.isPartial = false
	z.addHistory('^')
}

// connectionClosed is TCPSessionAdapter::ConnectionClosed, as far as it
// decides is_active and the deletion timers.
func (z *Tracker) connectionClosed(i int) {
	e, p := &z.ep[i], &z.ep[1-i]
	if e.didClose {
		return
	}
	e.didClose = true
	complete := e.state == epReset || p.didClose || p.state == epInactive
	if complete {
		if !z.closed {
			z.closed = true
			z.closeAt = z.last
		}
	} else if e.prevState == epInactive && z.partialAt == 0 {
		z.partialAt = z.last
	}
}

// ConnState is conn_state as scripts/base/protocols/conn/main.zeek derives it
// from both endpoints' states (and, for RSTOS0, the history).
func (z *Tracker) ConnState() ConnState {
	oi, ri := z.side(true), z.side(false)
	os, rs := z.ep[oi].state, z.ep[ri].state
	oInactive := os == epInactive || os == epPartial
	rInactive := rs == epInactive || rs == epPartial
	switch {
	case rs == epReset:
		if os == epSynSent || os == epSynAckSent || (os == epReset && z.size(oi) == 0 && z.size(ri) == 0) {
			return REJ
		}
		if oInactive {
			return RSTRH
		}
		return RSTR
	case os == epReset:
		if rInactive {
			if z.historyLooksRSTOS0() {
				return RSTOS0
			}
			return OTH
		}
		return RSTO
	case os == epClosed && rs == epClosed:
		return SF
	case os == epClosed:
		if rInactive {
			return SH
		}
		return S2
	case rs == epClosed:
		if oInactive {
			return SHR
		}
		return S3
	case os == epSynSent && rs == epInactive:
		return S0
	case os == epEstablished && rs == epEstablished:
		return S1
	}
	return OTH
}

// historyLooksRSTOS0 matches the history against /^\^?S[^HAFGIQ]*R.*/.
func (z *Tracker) historyLooksRSTOS0() bool {
	var buf [maxHistory]byte
	h := z.hist.appendTo(buf[:0])
	if len(h) > 0 && h[0] == '^' {
		h = h[1:]
	}
	if len(h) == 0 || h[0] != 'S' {
		return false
	}
	for _, c := range h[1:] {
		switch c {
		case 'R':
			return true
		case 'H', 'A', 'F', 'G', 'I', 'Q':
			return false
		}
	}
	return false
}
