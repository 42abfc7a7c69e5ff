package reassembly

import "github.com/tcpflow-check/tcpflow-check/capture"

// Half is the bookkeeping of one direction of a connection: what its sender
// has sent, as far as the capture shows.
type Half struct {
	Seen    bool   // any segment seen in this direction
	SynSeen bool   // a SYN (with or without ACK) was seen; ISN is valid
	ISN     uint32 // sequence number of the SYN
	Nxt     uint32 // next expected sequence number: the highest seq+seqlen sent
	AckSeen bool   // an ACK was sent; MaxAck is valid
	MaxAck  uint32 // highest acknowledgment number sent
	Win     uint16 // last window advertised (as on the wire)
	WScale  int8   // window scale offered in the SYN; -1 when none was seen
	MSS     uint16 // MSS offered in the SYN; 0 when none
	SACK    bool   // SACK-permitted offered in the SYN
	FinSeen bool   // a FIN was sent; FinSeq is valid
	FinSeq  uint32 // sequence number the FIN occupies
	RstSeen bool   // an RST was sent

	Packets    uint64 // segments sent
	Syns       uint64 // segments with SYN and without ACK (every copy)
	SynAcks    uint64 // segments with SYN and ACK
	Fins       uint64 // segments with FIN
	Rsts       uint64 // segments with RST
	Bytes      uint64 // payload bytes that advanced Nxt (new data, each byte once)
	Retrans    uint64 // segments that only resent sequence space already seen
	OutOfOrder uint64 // segments that filled a gap left earlier
	Gaps       uint64 // segments that left a hole before them (data not captured)
	Missed     uint64 // bytes in those holes
	AckUnseen  uint64 // acks beyond anything the other direction was seen to send

	holeLo, holeHi uint32 // the most recent hole, for telling out-of-order from retransmission
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
)

var classNames = [...]string{"", "retransmission", "out-of-order", "gap", "keep-alive", ""}

// String names the class as the timeline notes it ("" for New and PureAck).
func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return ""
}

// update records seg, sent in this half's direction, and classifies it.
// peer is the other half (for acks of unseen data).
func (h *Half) update(seg *capture.Segment, peer *Half) Class {
	h.Packets++
	f := seg.Flags
	switch {
	case f&(capture.SYN|capture.ACK) == capture.SYN:
		h.Syns++
	case f&capture.SYN != 0:
		h.SynAcks++
	}
	if f&capture.FIN != 0 {
		h.Fins++
	}
	if f&capture.RST != 0 {
		h.Rsts++
	}
	if seg.Flags&capture.ACK != 0 {
		if peer.Seen && SeqGT(seg.Ack, peer.Nxt) && f&capture.RST == 0 {
			h.AckUnseen++
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
	if seqLen == 0 {
		if f&(capture.SYN|capture.FIN|capture.RST) == 0 && seg.Seq == h.Nxt-1 {
			return KeepAlive
		}
		if f&capture.RST == 0 && SeqGT(seg.Seq, h.Nxt) {
			h.Gaps++
			h.Missed += uint64(SeqDiff(seg.Seq, h.Nxt))
			h.holeLo, h.holeHi = h.Nxt, seg.Seq
			h.Nxt = seg.Seq
			return Gap
		}
		return PureAck
	}
	if seg.Len == 1 && f&(capture.SYN|capture.FIN|capture.RST) == 0 && seg.Seq == h.Nxt-1 {
		return KeepAlive
	}
	end := seg.Seq + seqLen
	switch {
	case SeqGT(seg.Seq, h.Nxt):
		h.Gaps++
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
		h.Bytes += n
		h.Nxt = end
		return New
	}
	if h.holeLo != h.holeHi && SeqGE(seg.Seq, h.holeLo) && SeqLT(seg.Seq, h.holeHi) {
		h.OutOfOrder++
		if seg.Seq == h.holeLo {
			h.holeLo = end
			if SeqGE(h.holeLo, h.holeHi) {
				h.holeLo, h.holeHi = 0, 0
			}
		}
		return OutOfOrder
	}
	h.Retrans++
	return Retrans
}
