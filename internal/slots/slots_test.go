package slots

import (
	"math/rand/v2"
	"testing"
)

// find returns where ref's slot is in s, or -1, by probing from hash h.
func find(s []uint64, h uint64, ref uint32) int {
	mask := uint64(len(s) - 1)
	for i := h & mask; s[i] != 0; i = (i + 1) & mask {
		if uint32(s[i]) == ref {
			return int(i)
		}
	}
	return -1
}

// TestPutDelete: with runs that wrap around the end of the array and
// hashes crowded into a few homes, every ref put and not deleted is found
// by probing from its hash, and no deleted one is.
func TestPutDelete(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		s := make([]uint64, 64)
		hashOf := map[uint32]uint64{}
		for ref := uint32(1); ref <= 48; ref++ {
			h := uint64(r.IntN(8)) + 60 // homes 60..67: runs wrap past 63
			hashOf[ref] = h
			Put(s, Of(h, ref))
		}
		for ref := uint32(1); ref <= 48; ref++ {
			if r.IntN(2) == 0 {
				h := hashOf[ref]
				if !Remove(s, h, ref) {
					t.Fatalf("round %d: ref %d not found for its removal", round, ref)
				}
				if Remove(s, h, ref) {
					t.Fatalf("round %d: ref %d removed twice", round, ref)
				}
				delete(hashOf, ref)
			}
		}
		n := 0
		for _, v := range s {
			if v != 0 {
				n++
			}
		}
		if n != len(hashOf) {
			t.Fatalf("round %d: %d slots in use, want %d", round, n, len(hashOf))
		}
		for ref := uint32(1); ref <= 48; ref++ {
			h, kept := hashOf[ref]
			if !kept {
				h = 60
			}
			if found := find(s, h, ref) >= 0; found != kept {
				t.Fatalf("round %d: ref %d found %v, want %v", round, ref, found, kept)
			}
		}
	}
}
