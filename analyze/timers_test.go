package analyze

import (
	"math/rand/v2"
	"testing"
)

// TestTimerHeap sets, moves and removes keys at random and mostly in time
// order (the lane's case), and checks after every step that the heap's
// smallest key and size are a plain map's, that each element's id leads
// to its own key, and that the lane holds no more than it must.
func TestTimerHeap(t *testing.T) {
	for _, order := range []float64{0, 0.5, 0.9, 1} {
		r := rand.New(rand.NewPCG(7, uint64(order*10)))
		var h timerHeap[int]
		ids := make([]timerID, 500)
		want := map[int]int64{}
		clock := int64(0)
		for step := range 200000 {
			x := r.IntN(len(ids))
			switch op := r.IntN(10); {
			case op < 6:
				clock += r.Int64N(10)
				key := clock + 1000
				if r.Float64() >= order {
					key = clock + r.Int64N(2000) // out of order
				}
				h.set(x, &ids[x], key)
				want[x] = key
			case op < 8:
				h.remove(&ids[x])
				delete(want, x)
			default: // take the smallest, as dueConns does
				if h.len() == 0 {
					continue
				}
				m, key := h.min()
				if want[m] != key {
					t.Fatalf("step %d: min is %d with key %d, its key is %d", step, m, key, want[m])
				}
				h.remove(&ids[m])
				delete(want, m)
			}
			if h.len() != len(want) {
				t.Fatalf("step %d: len %d, want %d", step, h.len(), len(want))
			}
			if len(want) == 0 {
				continue
			}
			low := int64(never)
			for _, k := range want {
				low = min(low, k)
			}
			if _, key := h.min(); key != low {
				t.Fatalf("step %d (order %v): min key %d, want %d", step, order, key, low)
			}
			if step%97 == 0 {
				for x, k := range want {
					e := h.entry(ids[x])
					if e.x != x || e.key != k {
						t.Fatalf("step %d: %d's entry is %d with key %d, want key %d", step, x, e.x, e.key, k)
					}
				}
				if n := len(h.lane) - h.head; n > 2*len(want)+130 {
					t.Fatalf("step %d: the lane holds %d for %d elements", step, n, len(want))
				}
			}
		}
	}
}

// entry returns the entry of id (in the heap).
func (h *timerHeap[T]) entry(id timerID) timerEntry[T] {
	if p := h.pos[id-1]; p < 0 {
		return h.lane[-p-1]
	}
	return h.a[h.pos[id-1]-1]
}
