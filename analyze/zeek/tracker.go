package zeek

import (
	"net/netip"

	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// endpoint is one side's TCP_Endpoint plus its half of the reassembler
// state that decides content gaps. Relative sequence numbers (which count
// wraps) are 64-bit; the wire's are 32-bit.
type endpoint struct {
	finSeq uint64 // relative seq just past the FIN

	histLastSYN, histLastFIN, histLastRST uint64

	// Reassembler (relative seq space, starting at 1).
	reassemSeq uint64 // last_reassem_seq - 1; zero value means 1
	trimSeq    uint64 // trim_seq - 1
	blocks     [maxBlocks]seqRange

	startSeq           uint32 // the ISN, or the first seq - 1 when no SYN was seen
	lastSeq, ackSeq    uint32
	seqWraps, ackWraps uint32

	// Scaled history counters (Session::ScaledHistoryEntry), by scaledKind:
	// the count, and the step of the threshold it is to reach (scaleSteps).
	scaleCnt  [nScaled]uint32
	scaleStep [nScaled]uint8

	state, prevState endpointState
	didClose         bool
	finSent          bool // a FIN was sent; finSeq is valid
	nBlocks          uint8
}

// Tracker follows one connection as Zeek would: which side is Zeek's
// originator, both endpoints' Zeek states, and the history letters. The zero
// value is ready; Update is called once per segment in capture order
// (bad-checksum segments included: they count as 'c'). It holds no pointers
// into segments, and neither Update nor the accessors allocate.
//
// Zeek splits a tuple's packets into connections by its own rules; for
// records that line up with conn.log one for one, the caller asks, before
// updating with a segment, whether Zeek would start a new connection with
// it (IsReuse) or would have removed this one by then (Expired), and if so
// starts a fresh tracker.
type Tracker struct {
	ep [2]endpoint // indexed by the analyzer's side: 0 = client, 1 = server

	// Capture times in Unix nanoseconds (0 = not yet): the first packet;
	// the last that counted for Zeek's LastTime; when a close completed
	// (ConnDeleteTimer); the originator's first SYN (AttemptTimer); a RST
	// after FIN (ResetTimer); a first close by a side never seen before
	// (PartialCloseTimer).
	start, last, closeAt, attemptAt, resetAt, partialAt int64

	missed uint64 // payload bytes in the content gaps reported ('g')

	histSeen uint32
	hist     letters

	started      bool
	origClient   bool // Zeek's originator is the analyzer's client
	closed       bool // close complete: deletion scheduled
	handshakeEnd bool // inactivity timeout switched to the TCP one
	isPartial    bool
	firstSeen    uint8 // first_packet_seen: 1 = orig, 2 = resp
}

// OrigIsClient reports whether Zeek's originator is the analyzer's client.
func (z *Tracker) OrigIsClient() bool { return z.origClient }

// side returns the endpoint index of Zeek's originator (orig) or responder.
func (z *Tracker) side(orig bool) int {
	if orig == z.origClient {
		return 0
	}
	return 1
}

// isOrig reports whether endpoint index i is Zeek's originator.
func (z *Tracker) isOrig(i int) bool { return (i == 0) == z.origClient }

// Update processes one segment as Zeek's TCP analyzer would
// (TCPAnalyzer::DeliverPacket, TCPSessionAdapter::Process). fromClient says
// which of the analyzer's sides sent it. A payload the frame does not hold
// in full (seg.PayloadCaptured) is not delivered to Zeek's reassembler.
func (z *Tracker) Update(fromClient bool, seg *capture.Segment) {
	z.UpdateCaptured(fromClient, seg, seg.PayloadCaptured())
}

// UpdateCaptured is Update for a segment whose payload may not have been
// captured in full (a frame cut short by the snap length): Zeek then never
// hands the payload to its reassembler (TCP_Endpoint::DataSent), so the
// peer's acks of it reveal content gaps ('g').
func (z *Tracker) UpdateCaptured(fromClient bool, seg *capture.Segment, payloadCaptured bool) {
	i := 1
	if fromClient {
		i = 0
	}
	if !z.started {
		z.Begin(fromClient, seg, nil)
	}
	if seg.HeaderCut {
		// TCPAnalyzer::ExtractTCP_Header: the connection exists, the
		// segment goes no further ("truncated_header").
		return
	}
	if seg.BadChecksum {
		// TCPAnalyzer::ValidateChecksum: the connection exists, the
		// segment goes no further than a logarithmic 'c'.
		z.scaled(i, 'C', scChecksum)
		return
	}
	z.flipAfterSYNACK(i, seg)
	if seg.Flags&(capture.SYN|capture.FIN|capture.RST|capture.ACK) == capture.ACK && z.firstSeen == 3 &&
		z.ep[i].state == epEstablished && z.ep[1-i].state == epEstablished {
		z.established(i, seg, payloadCaptured)
		return
	}
	z.process(i, seg, payloadCaptured)
}

// established is process for the common segment: data or an ack, without
// SYN, FIN or RST, between two established endpoints both already seen.
// It takes the steps process takes for it, in the same order; the ones
// that cannot apply (partial status, endpoint setup, state changes, a
// FIN's sequence) are left out.
func (z *Tracker) established(i int, seg *capture.Segment, payloadCaptured bool) {
	e, p := &z.ep[i], &z.ep[1-i]
	length := seg.Len
	relSeq, underflow := relativeSeq(e, seg.Seq, e.lastSeq, e.seqWraps)
	// update_history: the first data, or the first ack, of this direction.
	mask, code := uint32(histACK), byte('A')
	if length > 0 {
		mask, code = histData, 'D'
	}
	if !z.isOrig(i) {
		mask <<= 16
	}
	if z.histSeen&mask == 0 {
		z.firstHistory(i, mask, code)
	}
	if seg.Window == 0 {
		z.scaled(i, 'W', scZeroWindow)
	}
	if !e.didClose || !p.didClose {
		z.last = max(z.last, seg.Time.UnixNano())
	}
	ackSeq := seg.Ack
	relAck, ackUnder := relativeSeq(p, ackSeq, p.ackSeq, p.ackWraps)
	if ackUnder {
		relAck = 0
	} else if d := reassembly.SeqDiff(ackSeq, p.ackSeq); !(ackSeq == 0 && d > tooLargeSeqDelta) && d > 0 {
		// update_ack_seq
		if ackSeq < p.ackSeq {
			p.ackWraps++
		}
		p.ackSeq = ackSeq
	}
	// update_last_seq, for an endpoint not reset and no SYN, FIN or RST.
	if last := seg.Seq + length; reassembly.SeqDiff(last, e.lastSeq) > 0 {
		e.setLastSeq(last)
	} else if length > 0 {
		z.scaled(i, 'T', scRetransmit)
	}
	z.ackReceived(1-i, relAck)
	if length > 0 && !underflow && payloadCaptured {
		z.dataSent(i, relSeq, uint64(length))
	}
}

// Begin sets up the connection from its first packet, before Update sees
// it: Zeek's originator is its sender, unless WantConnection's port
// heuristic flips the roles (TCPAnalyzer::WantConnection,
// IPBasedAnalyzer::NewConn, Connection::FlipRoles). ports is the
// likely_server_ports set for that heuristic; nil means Zeek's default.
// Update begins a tracker not begun with the default.
func (z *Tracker) Begin(fromClient bool, seg *capture.Segment, ports *PortSet) {
	z.started = true
	z.origClient = fromClient
	z.start = seg.Time.UnixNano()
	z.last = z.start
	f := seg.Flags
	if f&capture.SYN == 0 || f&capture.ACK != 0 {
		src, dst := seg.Src.Port(), seg.Dst.Port()
		flip := false
		if likelyServer(ports, src) {
			if likelyServer(ports, dst) {
				flip = f&capture.SYN == 0 && src < dst
			} else {
				flip = true
			}
		}
		if d := seg.Dst.Addr(); flip && d != broadcast4 && d != netip.IPv4Unspecified() {
			z.origClient = !z.origClient
			z.addHistory('^')
		}
	}
}

// flipAfterSYNACK implements the second-packet flip (zeek PR #2191): a
// connection whose first packet was a SYN-ACK is flipped when an ACK or a
// data segment follows (in either direction), since stealth scans elicit
// neither. The history is rewritten as if the flip had happened first
// ("H" becomes "^h") and the SYN-ACK's sender becomes an established
// responder, so that the ACK that follows establishes the originator.
func (z *Tracker) flipAfterSYNACK(i int, seg *capture.Segment) {
	// Zeek tests the history itself: only a connection whose history is
	// exactly the SYN-ACK is flipped (a bad checksum's 'c' in between, say,
	// prevents it).
	if z.hist.n != 1 || z.hist.at(0) != 'H' {
		return
	}
	o, r := z.side(true), z.side(false)
	if z.ep[o].state != epSynAckSent || z.ep[r].state != epInactive {
		return
	}
	f := seg.Flags
	if f&(capture.SYN|capture.FIN|capture.RST) != 0 || (f&capture.ACK == 0 && seg.Len == 0) {
		return
	}
	z.origClient = !z.origClient
	z.isPartial = false
	z.firstSeen = (z.firstSeen&1)<<1 | (z.firstSeen&2)>>1
	// Rewrite the history: swap each letter's case, lead with '^'.
	var buf [maxHistory]byte
	old := z.hist.appendTo(buf[:0])
	z.hist = letters{}
	z.hist.add('^')
	for _, c := range old {
		z.hist.add(swapCase(c))
	}
	z.histSeen = z.histSeen<<16 | z.histSeen>>16
	z.setState(z.side(false), epEstablished)
}

// broadcast4 is the limited broadcast address: IPBasedAnalyzer::NewConn
// never flips a connection to a broadcast address (IPAddr::IsBroadcast:
// 255.255.255.255 or 0.0.0.0).
var broadcast4 = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// process is TCPSessionAdapter::Process for the endpoint at index i.
// Without SYN, FIN or RST only an inactive endpoint's state can change, so
// the common data or ack segment skips UpdateStateMachine.
func (z *Tracker) process(i int, seg *capture.Segment, payloadCaptured bool) {
	e, p := &z.ep[i], &z.ep[1-i]
	isOrig := z.isOrig(i)
	f := seg.Flags
	syn, fin, rst, ack := f&capture.SYN != 0, f&capture.FIN != 0, f&capture.RST != 0, f&capture.ACK != 0
	length := seg.Len
	baseSeq, ackSeq := seg.Seq, seg.Ack

	z.setPartialStatus(isOrig, syn, ack)

	segLen := length
	if syn {
		segLen++
	}
	if fin {
		segLen++
	}
	if rst {
		segLen -= length
	}
	onePast := baseSeq + segLen

	initEndpoint(e, syn, baseSeq, onePast)

	relSeq, underflow := relativeSeq(e, baseSeq, e.lastSeq, e.seqWraps)

	z.updateHistory(i, syn, fin, rst, ack, relSeq, uint64(length))

	// update_window: only the zero-window letter matters here.
	if seg.Window == 0 && !rst && p.state != epClosed && e.state != epReset {
		z.scaled(i, 'W', scZeroWindow)
	}

	// Zeek stops advancing LastTime once both sides have closed. It never
	// moves back, whatever the capture's clock did, so that no duration
	// is negative.
	if !e.didClose || !p.didClose {
		z.last = max(z.last, seg.Time.UnixNano())
	}

	if fin {
		e.finSent = true
		e.finSeq = relSeq + uint64(segLen)
	}

	var relAck uint64
	if ack {
		if p.state == epInactive {
			relAck = 1
			// init_peer: number the peer as though its SYN had been seen.
			p.startSeq = ackSeq - 1
			p.ackSeq = ackSeq - 1
			p.lastSeq = ackSeq - 1
		} else {
			var ackUnder bool
			relAck, ackUnder = relativeSeq(p, ackSeq, p.ackSeq, p.ackWraps)
			if ackUnder {
				relAck = 0
			} else if !rst {
				// update_ack_seq
				d := reassembly.SeqDiff(ackSeq, p.ackSeq)
				if !(ackSeq == 0 && d > tooLargeSeqDelta) && d > 0 {
					if ackSeq < p.ackSeq {
						p.ackWraps++
					}
					p.ackSeq = ackSeq
				}
			}
		}
	}

	z.updateLastSeq(i, onePast, syn, fin, rst, length)

	doClose := (f&(capture.SYN|capture.FIN|capture.RST) != 0 || e.state == epInactive) && z.updateStateMachine(i, seg, syn, fin, rst, ack)

	if ack {
		z.ackReceived(1-i, relAck)
	}

	relDataSeq := relSeq
	if syn {
		relDataSeq++
	}
	if length > 0 && !rst && !underflow && payloadCaptured {
		z.dataSent(i, relDataSeq, uint64(length))
	}

	if doClose {
		z.connectionClosed(i)
	}
}

// setPartialStatus is TCPSessionAdapter::SetPartialStatus plus the
// first_packet_seen bookkeeping of CheckPIA_FirstPacket.
func (z *Tracker) setPartialStatus(isOrig, syn, ack bool) {
	if isOrig {
		if z.firstSeen&1 == 0 {
			z.isPartial = !syn || ack
		}
		z.firstSeen |= 1
	} else {
		if z.firstSeen&2 == 0 && !z.isPartial {
			z.isPartial = !syn
		}
		z.firstSeen |= 2
	}
}
