package analyze_test

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/segtest"
)

// TestFrozenDurationIsAsOfTheLastSweep: a finding whose condition is still
// under way reads, between segments, as of the latest sweep (one a second of
// capture time, at the first segment past it); when a segment ends the
// condition without updating the finding, that value stays. Here a FIN
// sent twice is fin_unacked at once and its wait grows until the server's
// RST cuts it short: its duration is the last sweep before the RST minus the
// FIN, not the RST's time, however the analyzer keeps its deadlines (it no
// longer judges such a connection at every sweep, only when it is next
// looked at).
func TestFrozenDurationIsAsOfTheLastSweep(t *testing.T) {
	a := segtest.New()
	a.Handshake()
	a.Wait(100 * time.Millisecond)
	finAt := a.Now
	a.C("FA", 1, 1, 0)
	a.Wait(300*time.Millisecond).C("FA", 1, 1, 0)
	a.Now = segtest.T0.Add(5550 * time.Millisecond)
	rstAt := a.Now
	a.S("R", 1, 0, 0)

	// Another connection moves the capture clock every 270 ms.
	b := segtest.New()
	b.Client = netip.MustParseAddrPort("192.0.2.3:40001")
	b.Now = segtest.T0.Add(50 * time.Millisecond)
	b.Handshake()
	for i := 0; b.Now.Before(segtest.T0.Add(9 * time.Second)); i++ {
		b.Wait(270*time.Millisecond).C("PA", uint32(1+10*i), 1, 10)
	}

	segs := append(slices.Clone(a.Segments()), b.Segments()...)
	slices.SortStableFunc(segs, func(x, y capture.Segment) int { return x.Time.Compare(y.Time) })
	// The sweeps, as the analyzer's rule puts them.
	var next, last time.Time
	for i := range segs {
		segs[i].Frame = uint64(i + 1)
		at := segs[i].Time
		if !next.IsZero() && !at.Before(next) {
			if !at.After(rstAt) {
				last = at
			}
			next = at.Add(time.Second)
		}
		if next.IsZero() {
			next = at.Add(time.Second)
		}
	}
	want := last.Sub(finAt)
	if want < 4*time.Second {
		t.Fatalf("the script is wrong: the last sweep before the RST is %v after the FIN", want)
	}

	s := analyzeScript(t, nil, segs)
	var got *analyze.Finding
	for _, c := range s.conns {
		for i := range c.Findings {
			if c.Findings[i].Kind == analyze.FinUnacked {
				got = &c.Findings[i]
			}
		}
	}
	if got == nil {
		t.Fatalf("no fin_unacked among %d connections", len(s.conns))
	}
	if got.Duration != want {
		t.Errorf("fin_unacked lasted %v, want %v (the last sweep before the RST at +%v)", got.Duration, want, rstAt.Sub(segtest.T0))
	}
}
