// Package slots is the open addressing that the connection table's index
// and the held records' index share: a power-of-two array of 8-byte
// slots, each the low 32 bits of a key's hash (which place it, so growing
// never rehashes a key) over a 32-bit ref (0: an empty slot), probed
// linearly from the hash and emptied by backward shift, so that there are
// no tombstones. The keys live with their owners; the slots only place
// the refs.
package slots

// Of returns the slot of ref for a key of hash h.
func Of(h uint64, ref uint32) uint64 { return uint64(uint32(h))<<32 | uint64(ref) }

// Put stores slot v in the first free slot of its probe in s, which has a
// free slot.
func Put(s []uint64, v uint64) {
	mask := uint64(len(s) - 1)
	i := (v >> 32) & mask
	for s[i] != 0 {
		i = (i + 1) & mask
	}
	s[i] = v
}

// Remove empties the slot of ref, a key of hash h, probing from h; it
// reports whether ref was there.
func Remove(s []uint64, h uint64, ref uint32) bool {
	mask := uint64(len(s) - 1)
	for i := h & mask; s[i] != 0; i = (i + 1) & mask {
		if uint32(s[i]) == ref {
			Delete(s, i)
			return true
		}
	}
	return false
}

// Delete empties s[i], shifting back the slots of its run that would no
// longer be found otherwise.
func Delete(s []uint64, i uint64) {
	mask := uint64(len(s) - 1)
	for j := (i + 1) & mask; s[j] != 0; j = (j + 1) & mask {
		// The slot at j may move to i when its home is not in (i, j],
		// cyclically.
		if home := (s[j] >> 32) & mask; (j-home)&mask >= (j-i)&mask {
			s[i] = s[j]
			i = j
		}
	}
	s[i] = 0
}
