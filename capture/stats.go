package capture

import "time"

// Stats counts what a Reader read. Packets that carried no TCP segment we
// could analyze are counted in Skipped by reason (e.g. "non-tcp",
// "truncated", "unsupported link type PPP"), never fatal, and by kind
// (SkippedKind).
type Stats struct {
	Packets  uint64 // frames read
	Bytes    uint64 // captured bytes of those frames
	Segments uint64 // TCP segments handed to the caller
	// Extra counts the segments beyond the first of frames that carry
	// several (802.11 A-MSDU subframes), so that Packets is Segments -
	// Extra plus the sum of Skipped.
	Extra uint64
	// BadChecksum counts, with checksum verification on, frames dropped
	// for a bad IPv4 header checksum and segments delivered flagged
	// (Segment.BadChecksum) for a bad TCP checksum.
	BadChecksum uint64
	// Fragments counts IP fragment reassembly. A fragment held for its
	// datagram, or given up, is skipped as "fragment"; the segment of a
	// reassembled datagram comes in the frame of its last fragment.
	Fragments FragmentStats
	Skipped   map[string]uint64 // frames without an analyzable TCP segment, by reason's text
	Reasons   map[Reason]uint64 // the same frames by Reason, for callers that switch on its Kind
	// LinkTypes counts frames per link type name ("Ethernet", "Linux
	// SLL2", ...). A Reader or Live brings it up to date when its Stats
	// method is called and at the end of the input, not at every frame.
	LinkTypes map[string]uint64
	Encaps    map[string]uint64 // segments found inside tunnels, by encapsulation ("VLAN", "GRE", "VXLAN", ...)
	// First and Last are the earliest and the latest frame time (the
	// first and last frame's, unless the clock went backwards), so that
	// Last is never before First. Frames without a time (pcapng Simple
	// Packet Blocks) count in neither.
	First, Last time.Time
	// Backwards counts the frames stamped earlier than the frame before
	// them: a clock stepped back, or captures joined out of order. Each
	// connection keeps its own clock from going back (analyze), so that
	// no duration is negative; this says that times in the output may
	// not be what the capture's clock said. BackMax is the largest step
	// back (held at the largest time.Duration), BackFrame the number of
	// the first frame that made one.
	Backwards uint64
	BackMax   time.Duration
	BackFrame uint64
	// End is when the capture stopped as its source states it: the latest
	// isb_endtime (or, without one, the timestamp) of a pcapng Interface
	// Statistics Block over all interfaces; zero when the source says
	// nothing. The capture's end is the later of End and Last.
	End time.Time
	// Dropped and IfDropped are the kernel's drop counters (live capture only).
	Dropped, IfDropped uint64
}

// Skip counts one frame skipped for reason, in Skipped and in Reasons.
func (s *Stats) Skip(reason Reason) {
	if s.Skipped == nil {
		s.Skipped = make(map[string]uint64)
		s.Reasons = make(map[Reason]uint64)
	}
	s.Skipped[reason.String()]++
	s.Reasons[reason]++
}

// SkippedKind returns how many frames were skipped for reasons of kind k.
func (s *Stats) SkippedKind(k SkipKind) uint64 {
	var n uint64
	for r, c := range s.Reasons {
		if r.Kind == k {
			n += c
		}
	}
	return n
}

// Add adds o's counts to s (for a summary over several inputs).
func (s *Stats) Add(o *Stats) {
	s.Extra += o.Extra
	s.Packets += o.Packets
	s.Bytes += o.Bytes
	s.Segments += o.Segments
	s.BadChecksum += o.BadChecksum
	s.Fragments.add(&o.Fragments)
	s.Dropped += o.Dropped
	s.IfDropped += o.IfDropped
	addMap(&s.Skipped, o.Skipped)
	addMap(&s.Reasons, o.Reasons)
	addMap(&s.LinkTypes, o.LinkTypes)
	addMap(&s.Encaps, o.Encaps)
	if !o.First.IsZero() && (s.First.IsZero() || o.First.Before(s.First)) {
		s.First = o.First
	}
	if o.Last.After(s.Last) {
		s.Last = o.Last
	}
	if o.End.After(s.End) {
		s.End = o.End
	}
	if s.Backwards == 0 {
		s.BackFrame = o.BackFrame
	}
	s.Backwards += o.Backwards
	s.BackMax = max(s.BackMax, o.BackMax)
}

func addMap[K comparable](dst *map[K]uint64, src map[K]uint64) {
	for k, v := range src {
		if *dst == nil {
			*dst = make(map[K]uint64)
		}
		(*dst)[k] += v
	}
}
