package zeek

import (
	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// tooLargeSeqDelta is TOO_LARGE_SEQ_DELTA (TCPSessionAdapter.cc).
const tooLargeSeqDelta = 1048576

// initEndpoint is init_endpoint: set up or reset an endpoint's sequence
// space on its first packet or on a SYN.
func initEndpoint(e *endpoint, syn bool, first, last uint32) {
	if e.state == epInactive {
		if syn {
			e.ackSeq = first
			e.startSeq = first
		} else {
			// Partial: number as though a SYN had been seen; the first
			// packet is not a duplicate.
			e.ackSeq = first - 1
			e.startSeq = first - 1
			last = first
		}
		e.lastSeq = last
		return
	}
	if !syn {
		return // the common case: nothing starts over
	}
	var reinit bool
	switch e.state {
	case epSynSent, epSynAckSent:
		reinit = first != e.startSeq
	case epEstablished, epPartial:
		reinit = true
	case epReset:
		reinit = e.prevState == epInactive
	}
	if reinit {
		e.startSeq = first
		e.ackSeq = first
		e.lastSeq = last
	}
}

// relativeSeq is get_relative_seq: cur relative to e's start, accounting for
// wraps; underflow when it lies before the start.
func relativeSeq(e *endpoint, cur, last, wraps uint32) (uint64, bool) {
	d := reassembly.SeqDiff(cur, last)
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
		d = reassembly.SeqDiff(cur, e.startSeq)
		return uint64(int64(d)), d < 0
	}
	return uint64(wraps)<<32 + uint64(cur) - uint64(e.startSeq), false
}

// updateLastSeq is update_last_seq; it also raises 't' for payload that does
// not advance the sequence space.
func (z *Tracker) updateLastSeq(i int, last uint32, syn, fin, rst bool, length uint32) {
	e := &z.ep[i]
	d := reassembly.SeqDiff(last, e.lastSeq)
	switch {
	case (syn || rst) && (d > tooLargeSeqDelta || d < -tooLargeSeqDelta):
		// Not trusted.
	case fin && e.lastSeq == e.startSeq+1:
		e.setLastSeq(last)
	case e.state == epReset:
		// Nothing after a RST is trusted.
	case d > 0:
		e.setLastSeq(last)
	case length > 0:
		z.scaled(i, 'T', scRetransmit)
	}
}

func (e *endpoint) setLastSeq(s uint32) {
	if s < e.lastSeq {
		e.seqWraps++
	}
	e.lastSeq = s
}

// size is TCP_Endpoint::Size: bytes sent, from sequence numbers.
func (z *Tracker) size(i int) uint64 {
	e, p := &z.ep[i], &z.ep[1-i]
	if e.prevState == epSynSent && e.state == epReset && p.state == epInactive && !e.noDataAcked() {
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
	if e.finSent && n != 0 {
		n--
	}
	return n
}

func (e *endpoint) noDataAcked() bool {
	ack := uint64(e.ackWraps)<<32 + uint64(e.ackSeq)
	start := uint64(e.startSeq)
	return ack == start || ack == start+1
}
