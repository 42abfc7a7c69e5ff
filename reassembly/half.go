package reassembly

import "github.com/tcpflow-check/tcpflow-check/capture"

// Half is the bookkeeping of one direction of a connection: what its sender
// has sent, as far as the capture shows. Byte and segment totals are
// 64-bit; the counts of particular segments are Counts (40-bit).
type Half struct {
	Packets uint64 // segments sent
	Bytes   uint64 // payload bytes that advanced Nxt (new data, each byte once)
	Missed  uint64 // bytes in the holes Gaps counts

	ISN    uint32 // sequence number of the SYN
	Nxt    uint32 // next expected sequence number: the highest seq+seqlen sent
	MaxAck uint32 // highest acknowledgment number sent
	FinSeq uint32 // sequence number the FIN occupies

	holeLo, holeHi uint32 // the most recent hole, for telling out-of-order from retransmission

	Syns       Count // segments with SYN and without ACK (every copy)
	SynAcks    Count // segments with SYN and ACK
	Fins       Count // segments with FIN
	Rsts       Count // segments with RST
	Retrans    Count // segments that only resent sequence space already seen
	OutOfOrder Count // segments that filled a gap left earlier
	Gaps       Count // segments that left a hole before them (data not captured)
	AckUnseen  Count // acks beyond anything the other direction was seen to send

	Win     uint16 // last window advertised (as on the wire)
	MSS     uint16 // MSS offered in the SYN; 0 when none
	WScale  int8   // window scale offered in the SYN; -1 when none was seen
	Seen    bool   // any segment seen in this direction
	SynSeen bool   // a SYN (with or without ACK) was seen; ISN is valid
	AckSeen bool   // an ACK was sent; MaxAck is valid
	SACK    bool   // SACK-permitted offered in the SYN
	FinSeen bool   // a FIN was sent; FinSeq is valid
	RstSeen bool   // an RST was sent
}

// Count is a count of segments in five bytes: up to MaxCount (about 10^12,
// more segments of one kind than any capture holds for one direction of
// one connection), held there rather than wrapping. Its zero value is 0.
type Count [5]byte

// MaxCount is the largest count a Count holds.
const MaxCount = 1<<40 - 1

// N is the count.
func (c *Count) N() uint64 {
	return uint64(c[0]) | uint64(c[1])<<8 | uint64(c[2])<<16 | uint64(c[3])<<24 | uint64(c[4])<<32
}

// set makes the count n (at most MaxCount).
func (c *Count) set(n uint64) {
	*c = Count{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24), byte(n >> 32)}
}

// Inc adds one, unless the count is at MaxCount.
func (c *Count) Inc() {
	if n := c.N(); n < MaxCount {
		c.set(n + 1)
	}
}

// Dec takes one away, unless the count is 0.
func (c *Count) Dec() {
	if n := c.N(); n > 0 {
		c.set(n - 1)
	}
}

// Class says how a segment relates to the stream its direction has sent so far.
type Class uint8

// Segment classes.
const (
	New        Class = iota // first segment, new data, or a control segment at the edge
	Retrans                 // all of its sequence space was sent before
	OutOfOrder              // fills (part of) a hole left by an earlier gap
	Gap                     // starts beyond Nxt: something before it was not captured
	KeepAlive               // zero or one byte at Nxt-1 (RFC 9293 §3.8.4)
	PureAck                 // no sequence space, at Nxt
	// ZeroWindowProbe is a keep-alive's shape (zero or one byte at Nxt-1)
	// sent while the peer's last window was zero: Linux probes a zero
	// window so (tcp_xmit_probe_skb, seq SND.UNA-1). Wireshark would call
	// it a keep-alive; it is neither new data nor a retransmission.
	ZeroWindowProbe
	// ZeroWindowProbeNew is one byte of new data at Nxt sent while the
	// peer's last window was zero: the probe of RFC 9293 §3.8.6.1 as BSD
	// and Windows send it, Wireshark's "TCP ZeroWindowProbe". It is counted
	// as new data, as New is.
	ZeroWindowProbeNew
)

var classNames = [...]string{"", "retransmission", "out-of-order", "gap", "keep-alive", "", "zero-window probe", "zero-window probe"}

// String names the class as the timeline notes it ("" for New and PureAck).
func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return ""
}

// probe is c (KeepAlive, or New for one byte at Nxt) as a zero-window
// probe when the peer's window is shut.
func probe(c Class, shut bool) Class {
	switch {
	case !shut:
		return c
	case c == KeepAlive:
		return ZeroWindowProbe
	}
	return ZeroWindowProbeNew
}

// update records seg, sent in this half's direction, and classifies it.
// peer is the other half (for acks of unseen data).
func (h *Half) update(seg *capture.Segment, peer *Half) Class {
	h.Packets++
	f := seg.Flags
	switch {
	case f&(capture.SYN|capture.ACK) == capture.SYN:
		h.Syns.Inc()
	case f&capture.SYN != 0:
		h.SynAcks.Inc()
	}
	if f&capture.FIN != 0 {
		h.Fins.Inc()
	}
	if f&capture.RST != 0 {
		h.Rsts.Inc()
	}
	if seg.Flags&capture.ACK != 0 {
		if peer.Seen && SeqGT(seg.Ack, peer.Nxt) && f&capture.RST == 0 {
			h.AckUnseen.Inc()
		}
		if !h.AckSeen || SeqGT(seg.Ack, h.MaxAck) {
			h.MaxAck = seg.Ack
			h.AckSeen = true
		}
	}
	h.Win = seg.Window
	if f&capture.SYN != 0 {
		if !h.SynSeen || seg.Seq != h.ISN {
			// A first SYN, or one with a new ISN: the stream starts over.
			h.SynSeen = true
			h.ISN = seg.Seq
			h.Nxt = seg.Seq + seg.SeqLen()
			h.Seen = true
			h.WScale = -1
			if seg.Opts.HasWScale {
				h.WScale = int8(seg.Opts.WScale)
			}
			h.MSS = seg.Opts.MSS
			h.SACK = seg.Opts.SACKPerm
			h.Bytes += uint64(seg.Len)
			if f&capture.FIN != 0 {
				h.FinSeen, h.FinSeq = true, seg.Seq+1+seg.Len
			}
			return New
		}
	}
	if f&capture.RST != 0 {
		h.RstSeen = true
	}
	seqLen := seg.SeqLen()
	if !h.Seen {
		h.Seen = true
		h.WScale = -1
		h.Nxt = seg.Seq + seqLen
		h.Bytes += uint64(seg.Len)
		if f&capture.FIN != 0 {
			h.FinSeen, h.FinSeq = true, seg.Seq+seg.Len
		}
		return New
	}
	if f&capture.FIN != 0 && (!h.FinSeen || SeqGT(seg.Seq+seg.Len, h.FinSeq)) {
		h.FinSeen, h.FinSeq = true, seg.Seq+seg.Len
	}
	// The peer's window is shut: a probe is what the sender may send.
	shut := peer.Seen && peer.Win == 0 && !peer.RstSeen
	if seqLen == 0 {
		if f&(capture.SYN|capture.FIN|capture.RST) == 0 && seg.Seq == h.Nxt-1 {
			return probe(KeepAlive, shut)
		}
		if f&capture.RST == 0 && SeqGT(seg.Seq, h.Nxt) {
			h.Gaps.Inc()
			h.Missed += uint64(SeqDiff(seg.Seq, h.Nxt))
			h.holeLo, h.holeHi = h.Nxt, seg.Seq
			h.Nxt = seg.Seq
			return Gap
		}
		return PureAck
	}
	if seg.Len == 1 && f&(capture.SYN|capture.FIN|capture.RST) == 0 && seg.Seq == h.Nxt-1 {
		return probe(KeepAlive, shut)
	}
	end := seg.Seq + seqLen
	switch {
	case SeqGT(seg.Seq, h.Nxt):
		h.Gaps.Inc()
		h.Missed += uint64(SeqDiff(seg.Seq, h.Nxt))
		h.holeLo, h.holeHi = h.Nxt, seg.Seq
		h.Bytes += uint64(seg.Len)
		h.Nxt = end
		return Gap
	case SeqGT(end, h.Nxt):
		n := uint64(SeqDiff(end, h.Nxt))
		if f&capture.FIN != 0 {
			n--
		}
		oneAtNxt := seg.Len == 1 && f&(capture.SYN|capture.FIN|capture.RST) == 0 && seg.Seq == h.Nxt
		h.Bytes += n
		h.Nxt = end
		if oneAtNxt {
			return probe(New, shut)
		}
		return New
	}
	if h.holeLo != h.holeHi && SeqGE(seg.Seq, h.holeLo) && SeqLT(seg.Seq, h.holeHi) {
		h.OutOfOrder.Inc()
		if seg.Seq == h.holeLo {
			h.holeLo = end
			if SeqGE(h.holeLo, h.holeHi) {
				h.holeLo, h.holeHi = 0, 0
			}
		}
		return OutOfOrder
	}
	h.Retrans.Inc()
	return Retrans
}
