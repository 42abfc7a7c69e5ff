package shard

import (
	"math/rand/v2"
	"testing"

	"github.com/tcpflow-check/tcpflow-check/analyze"
)

// TestIDMap: idMap gives the ids a plain map of every open connection
// gives, over a stream of creations (dense as in a flood, and sparse) and
// ends in every order (most oldest first, some long-lived), with
// replaced connections kept for their successor's evidence; and what it
// holds stays of the size of what is open.
func TestIDMap(t *testing.T) {
	var segPhase uint8 // analyze's phase of an entry's own segment
	for !(analyze.Pos{Phase: segPhase}).OfSegment() {
		segPhase++
	}
	for _, gap := range []int{1, 2, 3, 5000} {
		var m idMap
		ref := map[uint64]uint64{} // entry → id, of the connections open or kept
		refPrev := map[uint64]uint64{}
		var open []uint64
		var next, e uint64
		rng := rand.New(rand.NewPCG(1, uint64(gap)))
		check := func(x uint64) {
			t.Helper()
			if got, want := m.id(x), ref[x]; got != want {
				t.Fatalf("gap %d: id(%d) = %d, want %d", gap, x, got, want)
			}
		}
		end := func(k int, pos analyze.Pos, replaced bool) {
			x := open[k]
			open = append(open[:k], open[k+1:]...)
			check(x)
			m.ended(x, pos, replaced)
			if p, ok := refPrev[x]; ok {
				delete(refPrev, x)
				delete(ref, p)
			}
			if replaced && ref[pos.Entry] != 0 && x != pos.Entry {
				if _, done := refPrev[pos.Entry]; !done {
					refPrev[pos.Entry] = x
					return
				}
			}
			delete(ref, x)
		}
		for step := 0; step < 100_000; step++ {
			e += uint64(1 + rng.IntN(gap))
			m.created(e)
			next++
			ref[e] = next
			open = append(open, e)
			switch r := rng.IntN(100); {
			case (r < 2 || gap == 2) && len(open) > 1: // a reused port, or a flood past the cap: one ends at the new one's entry
				k := rng.IntN(len(open) - 1)
				if gap == 2 {
					k = 0 // the idlest
				}
				end(k, analyze.Pos{Entry: e, Phase: segPhase}, true)
			case len(open) > 2000 && r < 99: // the oldest but a few long-lived ones
				k := 0
				if r < 5 {
					k = rng.IntN(len(open))
				}
				end(k, analyze.Pos{Entry: e, Phase: segPhase + 1}, false)
			}
			if step%997 == 0 {
				for _, x := range open {
					check(x)
				}
				for x := range refPrev {
					check(refPrev[x])
				}
			}
		}
		live := len(ref)
		if held := len(m.pages)*pageSize*2 + len(m.old); held > 64*live+2*pageSize*2 {
			t.Errorf("gap %d: %d bytes of pages and %d old entries for %d ids", gap, len(m.pages)*pageSize*2, len(m.old), live)
		}
	}
}
