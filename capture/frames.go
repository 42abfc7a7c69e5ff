package capture

import (
	"time"

	"github.com/gopacket/gopacket/layers"
)

// frames is the per-frame step that Reader and Live share: count a frame
// into Stats, filter it, decode it, and stamp the segment it holds. Both
// embed it, so that a file and an interface count and decode alike.
type frames struct {
	dec    *Decoder
	filter *LinkFilter // frames it does not match are skipped; nil for none
	input  int         // stamped on every Segment's Input
	stats  Stats
	frame  uint64 // frames read so far; the last one's number
	// prev is the time of the previous frame that had one, but while
	// inOrder is set it is Stats.Last instead, which is the same
	prev time.Time
	// prevSec and prevNsec are that time as Unix seconds and nanoseconds,
	// so that the frames of a capture in order compare as two integers
	prevSec  int64
	prevNsec int32
	// inOrder is set while the previous frame's time is Stats.Last (and
	// Stats.First is set): a frame no earlier then moves Last and nothing
	// else.
	inOrder bool
	// the link type of the previous frame and its name, so that counting
	// frames per link type costs no name lookup, and the frames of that
	// link type not yet added to Stats.LinkTypes: a map assignment a frame
	// would cost more than the rest of the frame's counting
	lastLink     layers.LinkType
	lastLinkName string
	linkFrames   uint64
	// pending is a frame with segments still to decode (A-MSDU
	// subframes); its data stays valid until the source reads again.
	pending record
}

// step counts the frame rec into Stats and decodes it into seg. It reports
// whether seg now holds a TCP segment; a frame without one is counted in
// Stats.Skipped.
func (f *frames) step(rec *record, seg *Segment) bool {
	st := &f.stats
	f.frame++
	st.Packets++
	st.Bytes += uint64(len(rec.data))
	// the time's Unix seconds and nanoseconds: IsZero, Before and
	// UnixNano in two integers read once
	sec, nsec := rec.time.Unix(), int32(rec.time.Nanosecond())
	f.dec.now, f.dec.frame = sec*1e9+int64(nsec), f.frame // rec.time.UnixNano()
	if sec != zeroUnix || nsec != 0 {
		if f.inOrder && (sec > f.prevSec || sec == f.prevSec && nsec >= f.prevNsec) { // !rec.time.Before(st.Last)
			f.prevSec, f.prevNsec, st.Last = sec, nsec, rec.time
		} else {
			f.clock(rec.time, sec, nsec)
		}
	}
	if rec.link != f.lastLink || f.lastLinkName == "" {
		f.countLinks()
		f.lastLink, f.lastLinkName = rec.link, LinkTypeName(rec.link)
	}
	f.linkFrames++
	if f.filter != nil && !f.filter.Match(rec.link, rec.data, rec.length) {
		st.Skip(Reason{Kind: SkipFiltered})
		return false
	}
	reason := f.dec.DecodeWire(rec.data, rec.length, rec.link, seg)
	for reason.Skipped() && f.dec.More() {
		reason = f.dec.DecodeNext(rec.data, rec.length, rec.link, seg)
	}
	if reason.Skipped() {
		if reason.Kind == SkipBadChecksum {
			st.BadChecksum++
		}
		st.Skip(reason)
		return false
	}
	// pending.data is nil here: Next resumes a frame's subframes until
	// none is left before it steps to the next frame.
	if f.dec.More() {
		f.pending = *rec
	}
	f.deliver(seg, rec.time)
	return true
}

// countLinks adds the frames of the last link type counted since the last
// call to Stats.LinkTypes. Stats (of Reader and Live), a change of link
// type and the end of the input call it.
func (f *frames) countLinks() {
	if f.linkFrames == 0 {
		return
	}
	st := &f.stats
	if st.LinkTypes == nil {
		st.LinkTypes = make(map[string]uint64)
	}
	st.LinkTypes[f.lastLinkName] += f.linkFrames
	f.linkFrames = 0
}

// zeroUnix is the zero time.Time in Unix seconds.
var zeroUnix = time.Time{}.Unix()

// clock counts frame time t, sec and nsec in Unix seconds and nanoseconds,
// into Stats: the earliest and latest time, and a step back from the frame
// before. step moves Last itself while inOrder holds.
func (f *frames) clock(t time.Time, sec int64, nsec int32) {
	st := &f.stats
	if f.inOrder {
		f.prev = st.Last
	}
	f.prevSec, f.prevNsec = sec, nsec
	if t.Before(f.prev) {
		if st.Backwards == 0 {
			st.BackFrame = f.frame
		}
		st.Backwards++
		st.BackMax = max(st.BackMax, f.prev.Sub(t))
	}
	f.prev = t
	if st.First.IsZero() || t.Before(st.First) {
		st.First = t
	}
	if t.After(st.Last) {
		st.Last = t
	}
	f.inOrder = f.prev == st.Last
}

// resume decodes the next segment of a frame that holds several (802.11
// A-MSDU subframes) into seg, and reports whether there was one. Subframes
// without a TCP segment are passed over: the frame was counted already.
func (f *frames) resume(seg *Segment) bool {
	p := &f.pending
	for p.data != nil {
		reason := f.dec.DecodeNext(p.data, p.length, p.link, seg)
		t := p.time
		if !f.dec.More() {
			p.data = nil
		}
		if !reason.Skipped() {
			f.stats.Extra++
			f.deliver(seg, t)
			return true
		}
	}
	return false
}

// deliver counts and stamps a decoded segment.
func (f *frames) deliver(seg *Segment, t time.Time) {
	st := &f.stats
	if enc := f.dec.Encaps(); len(enc) > 0 {
		if st.Encaps == nil {
			st.Encaps = make(map[string]uint64)
		}
		for _, e := range enc {
			st.Encaps[e]++
		}
	}
	if seg.BadChecksum {
		st.BadChecksum++
	}
	st.Segments++
	seg.Frame = f.frame
	seg.Time = t
	seg.Input = f.input
}

// reassemble makes the decoder reassemble IP fragments within cfg's bounds,
// counting into the Stats.
func (f *frames) reassemble(cfg FragmentConfig) {
	f.dec.frag = newDefrag(cfg, &f.stats.Fragments)
}

// end gives up the datagrams still incomplete when the input ended.
func (f *frames) end() {
	f.countLinks()
	if f.dec.frag != nil {
		f.dec.frag.finish(f.dec.now)
	}
}
