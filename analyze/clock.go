package analyze

import (
	"math"
	"time"

	"github.com/tcpflow-check/tcpflow-check/capture"

	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// The per-connection state keeps capture times as stamps, Unix nanoseconds
// (reassembly.Stamp): segments bring time.Time in, records carry time.Time
// out, and nothing between holds one.

func stamp(t time.Time) int64 { return reassembly.Stamp(t) }

func timeOf(ns int64) time.Time { return reassembly.TimeOf(ns) }

// since is t - u, saturating as time.Time.Sub does.
func since(t, u int64) time.Duration { return reassembly.Since(t, u) }

// later is t + d, saturating.
func later(t int64, d time.Duration) int64 { return reassembly.After(t, d) }

// Stamps hold the years 1678 to 2262. A capture outside them (a pcapng
// timestamp near 2⁶³ µs is in the year 294247) is analyzed on a clock
// shifted by whole seconds, so that its times keep their nanoseconds:
// the analyzer takes shift, the first frame's second, off every time it
// is given and puts it back on every time it hands out. For a capture of
// this era shift is 0 and nothing is copied.

// shiftFor is the shift for a capture whose first frame is at t: 0 unless
// t is beyond stamps.
func shiftFor(t time.Time) int64 {
	if t.IsZero() || (stamp(t) > math.MinInt64+1 && stamp(t) < math.MaxInt64) {
		return 0
	}
	return t.Unix()
}

// shiftIn is t on the analyzer's clock.
func (a *Analyzer) shiftIn(t time.Time) time.Time {
	if a.shift == 0 || t.IsZero() {
		return t
	}
	return time.Unix(t.Unix()-a.shift, int64(t.Nanosecond())).UTC()
}

// shiftOut is t, a time of the analyzer's clock, as the capture has it.
func (a *Analyzer) shiftOut(t time.Time) time.Time {
	if a.shift == 0 || t.IsZero() {
		return t
	}
	return time.Unix(t.Unix()+a.shift, int64(t.Nanosecond())).UTC()
}

// clockIn returns seg on the analyzer's clock, choosing the shift at the
// first frame with a time of each capture: seg itself, or a copy when the
// capture is shifted.
func (a *Analyzer) clockIn(seg *capture.Segment) *capture.Segment {
	if !a.clocked && !seg.Time.IsZero() {
		a.clocked, a.shift = true, shiftFor(seg.Time)
	}
	if a.shift == 0 {
		return seg
	}
	s := *seg
	s.Time = a.shiftIn(seg.Time)
	return &s
}

// recordOut puts the shift back on the times of rec, a record about to be
// handed out.
func (a *Analyzer) recordOut(rec *Conn) {
	if a.shift == 0 {
		return
	}
	rec.Start, rec.End = a.shiftOut(rec.Start), a.shiftOut(rec.End)
	for i := range rec.Findings {
		a.findingOut(&rec.Findings[i])
	}
	for i := range rec.Timeline {
		rec.Timeline[i].Time = a.shiftOut(rec.Timeline[i].Time)
	}
}

// findingOut puts the shift back on the times of f, a finding of a record
// about to be handed out.
func (a *Analyzer) findingOut(f *Finding) {
	f.Time, f.Judged = a.shiftOut(f.Time), a.shiftOut(f.Judged)
}
