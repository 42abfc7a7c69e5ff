package analyze

import (
	"net/netip"
	"time"

	"github.com/tcpflow-check/tcpflow-check/capture"
)

// This file reimplements, in Go, the rules by which Zeek derives a TCP
// connection's conn_state and history (conn.log), so that our records line
// up with Zeek's. Nothing here is copied from Zeek; each rule cites the Zeek
// source it follows (zeek/zeek, see reference/peers.md §2):
//
//   - src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc: Process,
//     init_endpoint, get_relative_seq, update_history, update_window,
//     init_peer, update_ack_seq, update_last_seq, UpdateStateMachine and its
//     Update*State helpers, ConnectionClosed, IsReuse, the timers;
//   - src/analyzer/protocol/tcp/TCP_Endpoint.cc: Size, CheckHistory,
//     ChecksumError/DidRxmit/ZeroWindow/Gap (scaled history entries);
//   - src/analyzer/protocol/tcp/TCP_Reassembler.cc: AckReceived,
//     Undelivered and Gap (the 'g' letter);
//   - src/session/Session.{h,cc} and src/Conn.cc: CheckHistory,
//     ScaledHistoryEntry, FlipRoles;
//   - src/packet_analysis/protocol/tcp/TCP.cc and IPBasedAnalyzer.cc:
//     WantConnection's likely_server_ports flip, checksum validation;
//   - scripts/base/protocols/conn/main.zeek: conn_state.

// Zeek's endpoint states (TCP_ENDPOINT_* in TCP_Endpoint.h), in Zeek's order.
const (
	zInactive uint8 = iota
	zSynSent
	zSynAckSent
	zPartial
	zEstablished
	zClosed
	zReset
)

// History masks of the once-per-direction letters (TCP_Endpoint.h
// HistoryMasks); the responder's are shifted left by 16.
const (
	histSYN      = 0x1
	histFIN      = 0x2
	histRST      = 0x4
	histFINRST   = 0x8
	histData     = 0x10
	histACK      = 0x20
	histMultiFlg = 0x40
)

// zeekMaxHistory bounds the history kept, like any fixed log field; a longer
// history is cut (Zeek's own grows without bound, but the once-only and
// logarithmic rules keep real histories far shorter).
const zeekMaxHistory = 64

// zeekMaxBlocks bounds the out-of-order data blocks remembered per direction
// for gap detection (Zeek's reassembler keeps all of them).
const zeekMaxBlocks = 4

// tooLargeSeqDelta is TOO_LARGE_SEQ_DELTA (TCPSessionAdapter.cc).
const tooLargeSeqDelta = 1048576

// Zeek's default timers (scripts/base/init-bare.zeek), used by expired.
const (
	zeekAttemptDelay       = 5 * time.Second // tcp_attempt_delay
	zeekConnectionLinger   = 5 * time.Second // tcp_connection_linger
	zeekCloseDelay         = 5 * time.Second // tcp_close_delay
	zeekResetDelay         = 5 * time.Second // tcp_reset_delay
	zeekPartialCloseDelay  = 3 * time.Second // tcp_partial_close_delay
	zeekInactivityTimeout  = 5 * time.Minute // tcp_inactivity_timeout
	zeekHandshakeInactTime = 1 * time.Minute // udp_inactivity_timeout, used until the handshake is done
	zeekSessionTimer       = 6 * time.Second // tcp_session_timer
	zeekSYNTimeout         = 5 * time.Second // tcp_SYN_timeout
)

// seqRange is a half-open range of relative sequence numbers.
type seqRange struct{ lo, hi uint64 }

// zeekEndpoint is one side's TCP_Endpoint plus its half of the reassembler
// state that decides content gaps.
type zeekEndpoint struct {
	state, prevState uint8
	didClose         bool

	startSeq           int64
	lastSeq, ackSeq    uint32
	seqWraps, ackWraps uint32

	finCnt, rstCnt uint32
	finSeq         uint64 // relative seq just past the FIN

	histLastSYN, histLastFIN, histLastRST uint64

	// Scaled history counters; a zero threshold means 1 (the zero value).
	chkCnt, chkThresh   uint32
	rxmtCnt, rxmtThresh uint32
	win0Cnt, win0Thresh uint32
	gapCnt, gapThresh   uint32

	// Reassembler (relative seq space, starting at 1).
	reassemSeq uint64 // last_reassem_seq - 1; zero value means 1
	trimSeq    uint64 // trim_seq - 1
	blocks     [zeekMaxBlocks]seqRange
	nBlocks    uint8
}

// zeekTracker follows one connection as Zeek would: which side is Zeek's
// originator, both endpoints' Zeek states, and the history letters. The zero
// value is ready; update is called once per segment in capture order
// (bad-checksum segments included: they count as 'c'). It holds no pointers
// into segments and update never allocates.
//
// Zeek splits a tuple's packets into connections by its own rules; for
// records that line up with conn.log one for one, the caller asks, before
// updating with a segment, whether Zeek would start a new connection with
// it (isReuse) or would have removed this one by then (expired), and if so
// starts a fresh tracker.
type zeekTracker struct {
	ep [2]zeekEndpoint // indexed by the analyzer's side: 0 = client, 1 = server

	// serverPorts is the likely_server_ports set used for the first-packet
	// flip; nil means zeekDefaultServerPorts.
	serverPorts *portSet

	// Capture times in Unix nanoseconds (0 = not yet): the first packet;
	// the last that counted for Zeek's LastTime; when a close completed
	// (ConnDeleteTimer); the originator's first SYN (AttemptTimer); a RST
	// after FIN (ResetTimer); a first close by a side never seen before
	// (PartialCloseTimer).
	start, last, closeAt, attemptAt, resetAt, partialAt int64

	histSeen uint32
	hist     [zeekMaxHistory]byte
	histLen  uint8

	started      bool
	origClient   bool // Zeek's originator is the analyzer's client
	closed       bool // close complete: deletion scheduled
	handshakeEnd bool // inactivity timeout switched to the TCP one
	isPartial    bool
	firstSeen    uint8 // first_packet_seen: 1 = orig, 2 = resp
}

// portSet is a set of TCP ports (a bitmap).
type portSet [65536 / 64]uint64

func (p *portSet) has(port uint16) bool { return p[port/64]&(1<<(port%64)) != 0 }
func (p *portSet) add(port uint16)      { p[port/64] |= 1 << (port % 64) }

// zeekDefaultServerPorts is likely_server_ports as a default Zeek (all base
// scripts loaded) builds it: each base/protocols script adds its analyzer's
// well-known TCP ports (`redef likely_server_ports += { ports }`).
var zeekDefaultServerPorts = func() *portSet {
	var p portSet
	for _, port := range []uint16{
		21, 2811, // ftp
		22,      // ssh
		25, 587, // smtp
		53,                                        // dns
		80, 81, 631, 1080, 3128, 8000, 8080, 8888, // http (1080 also socks)
		88,       // krb
		110,      // pop3
		135,      // dce-rpc
		139, 445, // smb
		143,       // imap
		389, 3268, // ldap
		443, 563, 585, 614, 636, 989, 990, 992, 993, 995, 5223, // ssl
		502,        // modbus
		1434, 3306, // mysql
		1883,       // mqtt
		3389,       // rdp
		5222, 5269, // xmpp
		5432,                                           // postgresql
		5900, 5901, 5902, 5903, 5904, 5905, 5906, 5907, // rfb
		6379,                   // redis
		6666, 6667, 6668, 6669, // irc
		20000, // dnp3
	} {
		p.add(port)
	}
	return &p
}()

func (z *zeekTracker) likelyServer(port uint16) bool {
	if z.serverPorts != nil {
		return z.serverPorts.has(port)
	}
	return zeekDefaultServerPorts.has(port)
}

// origIsClient reports whether Zeek's originator is the analyzer's client.
func (z *zeekTracker) origIsClient() bool { return z.origClient }

// side returns the endpoint index of Zeek's originator (orig) or responder.
func (z *zeekTracker) side(orig bool) int {
	if orig == z.origClient {
		return 0
	}
	return 1
}

// isOrig reports whether endpoint index i is Zeek's originator.
func (z *zeekTracker) isOrig(i int) bool { return (i == 0) == z.origClient }

// update processes one segment as Zeek's TCP analyzer would
// (TCPAnalyzer::DeliverPacket, TCPSessionAdapter::Process). fromClient says
// which of the analyzer's sides sent it.
func (z *zeekTracker) update(fromClient bool, seg *capture.Segment) {
	z.updateCaptured(fromClient, seg, true)
}

// updateCaptured is update for a segment whose payload may not have been
// captured in full (a frame cut short by the snap length): Zeek then never
// hands the payload to its reassembler (TCP_Endpoint::DataSent), so the
// peer's acks of it reveal content gaps ('g').
func (z *zeekTracker) updateCaptured(fromClient bool, seg *capture.Segment, payloadCaptured bool) {
	i := 1
	if fromClient {
		i = 0
	}
	if !z.started {
		z.begin(fromClient, seg)
	}

	if seg.BadChecksum {
		// TCPAnalyzer::ValidateChecksum: the connection exists, the
		// segment goes no further than a logarithmic 'c'.
		e := &z.ep[i]
		z.scaled(i, 'C', &e.chkCnt, &e.chkThresh)
		return
	}
	z.flipAfterSYNACK(i, seg)
	z.process(i, seg, payloadCaptured)
}

// begin sets up the connection from its first packet: Zeek's originator is
// its sender, unless WantConnection's port heuristic flips the roles
// (TCPAnalyzer::WantConnection, IPBasedAnalyzer::NewConn, Connection::FlipRoles).
func (z *zeekTracker) begin(fromClient bool, seg *capture.Segment) {
	z.started = true
	z.origClient = fromClient
	z.start = seg.Time.UnixNano()
	z.last = z.start
	f := seg.Flags
	if f&capture.SYN == 0 || f&capture.ACK != 0 {
		src, dst := seg.Src.Port(), seg.Dst.Port()
		flip := false
		if z.likelyServer(src) {
			if z.likelyServer(dst) {
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
func (z *zeekTracker) flipAfterSYNACK(i int, seg *capture.Segment) {
	// Zeek tests the history itself: only a connection whose history is
	// exactly the SYN-ACK is flipped (a bad checksum's 'c' in between, say,
	// prevents it).
	if z.histLen != 1 || z.hist[0] != 'H' {
		return
	}
	o, r := z.side(true), z.side(false)
	if z.ep[o].state != zSynAckSent || z.ep[r].state != zInactive {
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
	n := int(z.histLen)
	if n == zeekMaxHistory {
		n--
	}
	copy(z.hist[1:n+1], z.hist[:n])
	z.hist[0] = '^'
	for k := 1; k <= n; k++ {
		z.hist[k] = swapCase(z.hist[k])
	}
	z.histLen = uint8(n + 1)
	z.histSeen = z.histSeen<<16 | z.histSeen>>16
	z.setState(z.side(false), zEstablished)
}

func swapCase(c byte) byte {
	switch {
	case c >= 'a' && c <= 'z':
		return c - 'a' + 'A'
	case c >= 'A' && c <= 'Z':
		return c - 'A' + 'a'
	}
	return c
}

// broadcast4 is the limited broadcast address: IPBasedAnalyzer::NewConn
// never flips a connection to a broadcast address (IPAddr::IsBroadcast:
// 255.255.255.255 or 0.0.0.0).
var broadcast4 = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// process is TCPSessionAdapter::Process for the endpoint at index i.
func (z *zeekTracker) process(i int, seg *capture.Segment, payloadCaptured bool) {
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
	if seg.Window == 0 && !rst && p.state != zClosed && e.state != zReset {
		z.scaled(i, 'W', &e.win0Cnt, &e.win0Thresh)
	}

	// Zeek stops advancing LastTime once both sides have closed.
	if !e.didClose || !p.didClose {
		z.last = seg.Time.UnixNano()
	}

	if fin {
		e.finCnt++
		e.finSeq = relSeq + uint64(segLen)
	}
	if rst {
		e.rstCnt++
	}

	var relAck uint64
	if ack {
		if p.state == zInactive {
			relAck = 1
			// init_peer: number the peer as though its SYN had been seen.
			p.startSeq = int64(ackSeq - 1)
			p.ackSeq = ackSeq - 1
			p.lastSeq = ackSeq - 1
		} else {
			var ackUnder bool
			relAck, ackUnder = relativeSeq(p, ackSeq, p.ackSeq, p.ackWraps)
			if ackUnder {
				relAck = 0
			} else if !rst {
				// update_ack_seq
				d := seqDelta(ackSeq, p.ackSeq)
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

	doClose := z.updateStateMachine(i, seg, syn, fin, rst, ack)

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
func (z *zeekTracker) setPartialStatus(isOrig, syn, ack bool) {
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

func seqDelta(a, b uint32) int32 { return int32(a - b) }

// initEndpoint is init_endpoint: set up or reset an endpoint's sequence
// space on its first packet or on a SYN.
func initEndpoint(e *zeekEndpoint, syn bool, first, last uint32) {
	reinit := func() {
		e.startSeq = int64(first)
		e.ackSeq = first
		e.lastSeq = last
	}
	switch e.state {
	case zInactive:
		if syn {
			e.ackSeq = first
			e.startSeq = int64(first)
		} else {
			// Partial: number as though a SYN had been seen; the first
			// packet is not a duplicate.
			e.ackSeq = first - 1
			e.startSeq = int64(first - 1)
			last = first
		}
		e.lastSeq = last
	case zSynSent, zSynAckSent:
		if syn && first != uint32(e.startSeq) {
			reinit()
		}
	case zEstablished, zPartial:
		if syn {
			reinit()
		}
	case zReset:
		if syn && e.prevState == zInactive {
			reinit()
		}
	}
}

// relativeSeq is get_relative_seq: cur relative to e's start, accounting for
// wraps; underflow when it lies before the start.
func relativeSeq(e *zeekEndpoint, cur, last, wraps uint32) (uint64, bool) {
	d := seqDelta(cur, last)
	if d < 0 {
		if wraps > 0 && cur > last {
			wraps--
		}
	} else if d > 0 {
		if cur < last {
			wraps++
		}
	}
	if wraps == 0 {
		d = seqDelta(cur, uint32(e.startSeq))
		return uint64(int64(d)), d < 0
	}
	return uint64(wraps)<<32 + uint64(cur) - uint64(e.startSeq), false
}

// updateHistory is update_history: the once-only and seq-repeat letters.
func (z *zeekTracker) updateHistory(i int, syn, fin, rst, ack bool, relSeq, length uint64) {
	e := &z.ep[i]
	bits := 0
	for _, b := range [...]bool{syn, fin, rst} {
		if b {
			bits++
		}
	}
	switch {
	case bits > 1:
		if fin && rst {
			z.checkHistory(i, histFINRST, 'I')
		} else {
			z.checkHistory(i, histMultiFlg, 'Q')
		}
	case bits == 1:
		if syn {
			code := byte('S')
			if ack {
				code = 'H'
			}
			if z.checkHistory(i, histSYN, code) && relSeq != e.histLastSYN {
				z.addLetter(i, code)
			}
			e.histLastSYN = relSeq
		}
		if fin {
			// A FIN's sequence number is taken after its data.
			if z.checkHistory(i, histFIN, 'F') && relSeq+length != e.histLastFIN {
				z.addLetter(i, 'F')
			}
			e.histLastFIN = relSeq + length
		}
		if rst {
			if z.checkHistory(i, histRST, 'R') && relSeq != e.histLastRST {
				z.addLetter(i, 'R')
			}
			e.histLastRST = relSeq
		}
	default:
		if length > 0 {
			z.checkHistory(i, histData, 'D')
		} else if ack {
			z.checkHistory(i, histACK, 'A')
		}
	}
}

// checkHistory is TCP_Endpoint::CheckHistory + Session::CheckHistory: add the
// letter the first time its mask is seen for that direction; report whether
// it had been seen already.
func (z *zeekTracker) checkHistory(i int, mask uint32, code byte) bool {
	if !z.isOrig(i) {
		mask <<= 16
	}
	if z.histSeen&mask != 0 {
		return true
	}
	z.histSeen |= mask
	z.addLetter(i, code)
	return false
}

// addLetter adds code (upper case) for endpoint i: lower case for the responder.
func (z *zeekTracker) addLetter(i int, code byte) {
	if !z.isOrig(i) {
		code = code - 'A' + 'a'
	}
	z.addHistory(code)
}

func (z *zeekTracker) addHistory(c byte) {
	if int(z.histLen) < zeekMaxHistory {
		z.hist[z.histLen] = c
		z.histLen++
	}
}

// scaled is Session::ScaledHistoryEntry: the letter is added when the count
// reaches the threshold (1, 10, 100, ...).
func (z *zeekTracker) scaled(i int, code byte, cnt, thresh *uint32) {
	if *thresh == 0 {
		*thresh = 1
	}
	*cnt++
	if *cnt != *thresh {
		return
	}
	z.addLetter(i, code)
	if next := *thresh * 10; next <= *thresh {
		*cnt = 0 // wrapped: keep the threshold
	} else {
		*thresh = next
	}
}

// updateLastSeq is update_last_seq; it also raises 't' for payload that does
// not advance the sequence space.
func (z *zeekTracker) updateLastSeq(i int, last uint32, syn, fin, rst bool, length uint32) {
	e := &z.ep[i]
	d := seqDelta(last, e.lastSeq)
	switch {
	case (syn || rst) && (d > tooLargeSeqDelta || d < -tooLargeSeqDelta):
		// Not trusted.
	case fin && e.lastSeq == uint32(e.startSeq)+1:
		e.setLastSeq(last)
	case e.state == zReset:
		// Nothing after a RST is trusted.
	case d > 0:
		e.setLastSeq(last)
	case length > 0:
		z.scaled(i, 'T', &e.rxmtCnt, &e.rxmtThresh)
	}
}

func (e *zeekEndpoint) setLastSeq(s uint32) {
	if s < e.lastSeq {
		e.seqWraps++
	}
	e.lastSeq = s
}

// setState is TCP_Endpoint::SetState; it also notes when the handshake ends
// (the switch to the TCP inactivity timeout).
func (z *zeekTracker) setState(i int, s uint8) {
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

func isHandshake(s uint8) bool { return s == zInactive || s == zSynSent || s == zSynAckSent }

// updateStateMachine is UpdateStateMachine with its per-state helpers, as
// far as they change states; it returns do_close. (gen_event, the rejection
// test and the weirds decide only events, which nothing here needs.)
func (z *zeekTracker) updateStateMachine(i int, seg *capture.Segment, syn, fin, rst, ack bool) (doClose bool) {
	e, p := &z.ep[i], &z.ep[1-i]
	isOrig := z.isOrig(i)
	length := seg.Len
	switch e.state {
	case zInactive:
		// UpdateInactiveState
		if syn {
			if isOrig {
				if ack {
					z.setState(i, zSynAckSent)
				} else {
					z.setState(i, zSynSent)
				}
				if z.attemptAt == 0 {
					z.attemptAt = seg.Time.UnixNano()
				}
			} else {
				if !ack && p.state == zSynAckSent && seg.Seq == uint32(e.startSeq) {
					// SYN/SYN-ACK reversal: flip and establish.
					z.isPartial = false
					z.flipRoles()
					z.setState(1-i, zEstablished)
					z.firstSeen |= 1
				}
				if p.state == zSynSent {
					z.setState(1-i, zEstablished)
				}
				z.setState(i, zEstablished)
			}
		}
		if fin {
			z.setState(i, zClosed)
			doClose = true
		}
		// From here on Zeek tests its is_orig argument, which a reversal
		// flip above leaves as it was.
		if rst {
			z.setState(i, zReset)
			doClose = true
		}
		if e.state == zInactive {
			o := &z.ep[z.side(true)]
			switch {
			case !isOrig && length == 0 && o.state == zSynSent:
				// An ACK before the SYN-ACK ("eccentric TCPs"): ignored.
			case ack && p.state == zEstablished:
				// Missed the SYN: establish rather than call it partial.
				z.setState(i, zEstablished)
				z.isPartial = false
				if isOrig {
					z.firstSeen |= 1
				} else {
					z.firstSeen |= 2
				}
			default:
				z.setState(i, zPartial)
			}
		}

	case zSynSent, zSynAckSent:
		// UpdateSYN_SentState
		if fin {
			z.setState(i, zClosed)
			doClose = true
		}
		if rst {
			z.setState(i, zReset)
			doClose = true
		}

	case zEstablished, zPartial:
		// UpdateEstablishedState
		if syn && e.state == zPartial && p.state == zInactive && !ack {
			z.setState(i, zSynSent)
		}
		if fin && !rst {
			z.setState(i, zClosed)
			if p.state == zReset && p.prevState == zClosed {
				// FIN then RST from the peer: a normal termination.
				z.setState(1-i, zClosed)
			}
			doClose = true
		}
		if rst {
			z.setState(i, zReset)
			doClose = true
			if p.state != zReset || p.prevState != zEstablished {
			}
		}

	case zClosed:
		// UpdateClosedState: a RST after our FIN resets us unless the
		// peer closed too.
		if rst && p.state != zClosed {
			z.setState(i, zReset)
			if !e.didClose {
				doClose = true
			}
			if z.resetAt == 0 {
				z.resetAt = seg.Time.UnixNano()
			}
		}

	case zReset:
		// UpdateResetState: weirds only.
	}
	return doClose
}

// flipRoles is TCPSessionAdapter::FlipRoles + Connection::FlipRoles: the
// originator becomes the responder, and '^' is appended.
func (z *zeekTracker) flipRoles() {
	z.origClient = !z.origClient
	z.firstSeen = (z.firstSeen&1)<<1 | (z.firstSeen&2)>>1
	z.isPartial = false
	z.addHistory('^')
}

// connectionClosed is TCPSessionAdapter::ConnectionClosed, as far as it
// decides is_active and the deletion timers.
func (z *zeekTracker) connectionClosed(i int) {
	e, p := &z.ep[i], &z.ep[1-i]
	if e.didClose {
		return
	}
	e.didClose = true
	complete := e.state == zReset || p.didClose || p.state == zInactive
	if complete {
		if !z.closed {
			z.closed = true
			z.closeAt = z.last
		}
	} else if e.prevState == zInactive && z.partialAt == 0 {
		z.partialAt = z.last
	}
}

// dataSent is TCP_Reassembler::DataSent / Reassembler::NewBlock, reduced to
// the bookkeeping that decides gaps: which relative ranges arrived.
func (z *zeekTracker) dataSent(i int, seq, length uint64) {
	e := &z.ep[i]
	lo, hi := seq, seq+length
	trim := e.trimSeq + 1
	if hi <= trim {
		return
	}
	if lo < trim {
		lo = trim
	}
	next := e.reassemSeq + 1
	if hi <= next {
		return
	}
	if lo <= next {
		e.reassemSeq = hi - 1
		e.absorbBlocks()
		return
	}
	e.addBlock(lo, hi)
}

// absorbBlocks delivers remembered blocks that now follow on.
func (e *zeekEndpoint) absorbBlocks() {
	for again := true; again; {
		again = false
		for k := 0; k < int(e.nBlocks); k++ {
			b := e.blocks[k]
			if b.lo <= e.reassemSeq+1 {
				if b.hi > e.reassemSeq+1 {
					e.reassemSeq = b.hi - 1
				}
				e.removeBlock(k)
				again = true
				break
			}
		}
	}
}

func (e *zeekEndpoint) addBlock(lo, hi uint64) {
	for k := 0; k < int(e.nBlocks); k++ {
		b := &e.blocks[k]
		if lo <= b.hi && hi >= b.lo { // overlaps or touches: merge
			b.lo = min(b.lo, lo)
			b.hi = max(b.hi, hi)
			return
		}
	}
	if int(e.nBlocks) == zeekMaxBlocks {
		e.removeBlock(0)
	}
	e.blocks[e.nBlocks] = seqRange{lo, hi}
	e.nBlocks++
}

func (e *zeekEndpoint) removeBlock(k int) {
	copy(e.blocks[k:], e.blocks[k+1:e.nBlocks])
	e.nBlocks--
}

// ackReceived is TCP_Reassembler::AckReceived for endpoint i's data: an ack
// beyond what has been reassembled reveals a content gap ('g'), reported
// only while both sides are established or closed from established
// (TCP_Reassembler::Gap).
func (z *zeekTracker) ackReceived(i int, seq uint64) {
	e := &z.ep[i]
	if e.finCnt > 0 && seq >= e.finSeq {
		seq = e.finSeq - 1
	}
	if seq <= e.trimSeq+1 {
		return
	}
	// TrimToSeq → Undelivered(seq) when seq is past what was delivered.
	if seq > e.reassemSeq+1 {
		if !(seq <= 2 && z.isPartial) {
			clean := isClean(e) && isClean(&z.ep[1-i])
			// Blocks below seq: each hole before one is a gap.
			for {
				k := -1
				for j := 0; j < int(e.nBlocks); j++ {
					if e.blocks[j].lo < seq && (k < 0 || e.blocks[j].lo < e.blocks[k].lo) {
						k = j
					}
				}
				if k < 0 {
					break
				}
				b := e.blocks[k]
				if b.lo > e.reassemSeq+1 && clean {
					z.scaled(i, 'G', &e.gapCnt, &e.gapThresh)
				}
				if b.hi-1 > e.reassemSeq {
					e.reassemSeq = b.hi - 1
				}
				e.removeBlock(k)
			}
			if seq > e.reassemSeq+1 && clean {
				z.scaled(i, 'G', &e.gapCnt, &e.gapThresh)
			}
		}
		if seq-1 > e.reassemSeq {
			e.reassemSeq = seq - 1
		}
	}
	e.trimSeq = seq - 1
	// Blocks wholly below the trim point are gone.
	for k := 0; k < int(e.nBlocks); {
		if e.blocks[k].hi <= seq {
			e.removeBlock(k)
			continue
		}
		k++
	}
}

func isClean(e *zeekEndpoint) bool {
	return e.state == zEstablished || (e.state == zClosed && e.prevState == zEstablished)
}

// size is TCP_Endpoint::Size: bytes sent, from sequence numbers.
func (z *zeekTracker) size(i int) uint64 {
	e, p := &z.ep[i], &z.ep[1-i]
	if e.prevState == zSynSent && e.state == zReset && p.state == zInactive && !e.noDataAcked() {
		return 0
	}
	last := uint64(e.seqWraps)<<32 + uint64(e.lastSeq)
	ack := uint64(e.ackWraps)<<32 + uint64(e.ackSeq)
	var n uint64
	if last > ack {
		n = last - uint64(e.startSeq)
	} else {
		n = ack - uint64(e.startSeq)
	}
	if n != 0 {
		n--
	}
	if e.finCnt > 0 && n != 0 {
		n--
	}
	return n
}

func (e *zeekEndpoint) noDataAcked() bool {
	ack := uint64(e.ackWraps)<<32 + uint64(e.ackSeq)
	start := uint64(e.startSeq)
	return ack == start || ack == start+1
}

// connStates are Zeek's conn_state values, in the order of its
// documentation (scripts/base/protocols/conn/main.zeek).
var connStates = [...]string{"S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"}

// ConnStates returns the values Conn.ConnState takes: Zeek's conn_states.
func ConnStates() []string { return append([]string(nil), connStates[:]...) }

// connState is conn_state as scripts/base/protocols/conn/main.zeek derives it
// from both endpoints' states (and, for RSTOS0, the history).
func (z *zeekTracker) connState() string {
	oi, ri := z.side(true), z.side(false)
	os, rs := z.ep[oi].state, z.ep[ri].state
	oInactive := os == zInactive || os == zPartial
	rInactive := rs == zInactive || rs == zPartial
	switch {
	case rs == zReset:
		if os == zSynSent || os == zSynAckSent || (os == zReset && z.size(oi) == 0 && z.size(ri) == 0) {
			return "REJ"
		}
		if oInactive {
			return "RSTRH"
		}
		return "RSTR"
	case os == zReset:
		if rInactive {
			if z.historyLooksRSTOS0() {
				return "RSTOS0"
			}
			return "OTH"
		}
		return "RSTO"
	case os == zClosed && rs == zClosed:
		return "SF"
	case os == zClosed:
		if rInactive {
			return "SH"
		}
		return "S2"
	case rs == zClosed:
		if oInactive {
			return "SHR"
		}
		return "S3"
	case os == zSynSent && rs == zInactive:
		return "S0"
	case os == zEstablished && rs == zEstablished:
		return "S1"
	}
	return "OTH"
}

// historyLooksRSTOS0 matches the history against /^\^?S[^HAFGIQ]*R.*/.
func (z *zeekTracker) historyLooksRSTOS0() bool {
	h := z.hist[:z.histLen]
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

// history returns the history letters; it allocates the string.
func (z *zeekTracker) history() string { return string(z.hist[:z.histLen]) }

// appendHistory appends the history letters to b, without allocating when b
// has room.
func (z *zeekTracker) appendHistory(b []byte) []byte { return append(b, z.hist[:z.histLen]...) }

// isReuse is TCPSessionAdapter::IsReuse: whether seg, arriving on this
// connection's tuple, starts a new connection instead. Only SYNs do (and,
// while the originator has sent nothing, SYN-ACKs).
func (z *zeekTracker) isReuse(fromClient bool, seg *capture.Segment) bool {
	if !z.started || seg.Flags&capture.SYN == 0 {
		return false
	}
	o := &z.ep[z.side(true)]
	co := o
	if seg.Flags&capture.ACK != 0 {
		if o.state != zInactive {
			return false
		}
		co = &z.ep[z.side(false)]
	}
	// IsClosed: either side has closed (ConnectionClosed ran for it).
	if !o.didClose && !z.ep[z.side(false)].didClose {
		if seg.Seq == uint32(co.startSeq) {
			return false
		}
		r := &z.ep[z.side(false)]
		if seg.Flags&capture.ACK == 0 && co.state == zSynAckSent && r.state == zInactive && seg.Seq == uint32(r.startSeq) {
			return false // SYN/SYN-ACK reversal, handled by update
		}
	}
	return true
}

// expired reports whether Zeek would have removed this connection by time
// now (its timers, with the default settings of init-bare.zeek), so that a
// segment arriving then starts a new connection. It approximates Zeek's
// timer schedule to the timers' own periods.
func (z *zeekTracker) expired(now time.Time) bool {
	if !z.started {
		return false
	}
	t := now.UnixNano()
	since := func(at int64) time.Duration { return time.Duration(t - at) }
	o, r := &z.ep[z.side(true)], &z.ep[z.side(false)]
	// Deletion after a completed close (ConnDeleteTimer).
	if z.closed && since(z.closeAt) >= zeekCloseDelay {
		return true
	}
	// AttemptTimer: an unanswered SYN.
	if z.attemptAt != 0 && since(z.attemptAt) >= zeekAttemptDelay &&
		(o.state == zSynSent || o.state == zSynAckSent) && r.state == zInactive {
		return true
	}
	// ResetTimer: RST after FIN.
	if z.resetAt != 0 && since(z.resetAt) >= zeekResetDelay {
		return true
	}
	// PartialCloseTimer.
	if z.partialAt != 0 && since(z.partialAt) >= zeekPartialCloseDelay &&
		o.state != zInactive && r.state != zInactive && (!o.didClose || !r.didClose) &&
		o.state != zReset && r.state != zReset {
		return true
	}
	idle := since(z.last)
	// ExpireTimer: idle for the linger time with one side closed, or
	// nothing established on either side.
	if idle > zeekConnectionLinger+zeekSessionTimer {
		if (o.didClose || r.didClose) &&
			((o.didClose && r.didClose) || o.state == zReset || r.state == zReset ||
				o.state == zInactive || r.state == zInactive) {
			return true
		}
		if o.state == zInactive && r.state == zInactive {
			return true
		}
	}
	// Inactivity timeout.
	limit := zeekHandshakeInactTime
	if z.handshakeEnd {
		limit = zeekInactivityTimeout
	}
	return idle >= limit
}
