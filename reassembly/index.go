package reassembly

import (
	"math/bits"
	"math/rand/v2"
	"unsafe"

	"github.com/tcpflow-check/tcpflow-check/internal/slots"
)

// index maps keys to ids (refs) for a Table: package slots's open
// addressing, whose 32 bits of a key's hash in each slot also spare most
// key comparisons. The keys themselves are
// in the table's entries. At most 3/4 of the slots are in use (and at
// least 1/8, or the index halves), so a connection costs 11 to 21 bytes of
// index (IndexCost at most after growing), against some 50 to 110 for a Go
// map of Key to ref (BenchmarkTableLookup: 112 B at a million); and when
// large the slots are mapped outside the Go heap, as the entries are.
type index struct {
	slots []uint64
	n     int      // slots in use
	seed  uint64   // of the hash, random per table: no input can aim collisions
	mem   *regions // where a mapping of the slots is noted; nil when none may be made
}

// minSlots is the smallest index.
const minSlots = 64

// IndexCost is what the index holds per connection, in bytes, at most:
// eight bytes a slot, with as few as 3/8 of the slots in use just after it
// grew (21.3), rounded up.
const IndexCost = 22

// hash is k's hash under seed: wyhash's multiply-and-fold mixing of the
// key's five words.
func (k *Key) hash(seed uint64) uint64 {
	const m1, m2, m3 = 0xa0761d6478bd642f, 0xe7037ed1a0b428db, 0x8ebc6af09c88c6e3
	h := mix(k.loHi^seed^m1, k.loLo^m2)
	h = mix(h^k.hiHi, k.hiLo^m3)
	return mix(h^(uint64(k.loPort)|uint64(k.hiPort)<<16|uint64(k.fam)<<32), m1^m2)
}

// equal is k == *o, word by word (the compiler calls memequal for ==
// on a generic entry's key).
func (k *Key) equal(o *Key) bool {
	return k.loLo == o.loLo && k.hiLo == o.hiLo && k.loHi == o.loHi && k.hiHi == o.hiHi &&
		k.loPort == o.loPort && k.hiPort == o.hiPort && k.fam == o.fam
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// init sets ix up with its first slots; mem, when not nil, is where it
// notes the mapping of its slots.
func (ix *index) init(mem *regions) {
	ix.seed = rand.Uint64()
	ix.mem = mem
	ix.resize(minSlots)
}

// find returns the connection for k, nil when none.
func (t *Table[T]) find(k *Key) *Conn[T] {
	ix := &t.ix
	h := k.hash(ix.seed)
	tag := uint32(h)
	mask := uint64(len(ix.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := ix.slots[i]
		if s == 0 {
			return nil
		}
		if uint32(s>>32) == tag {
			id := uint32(s)
			loc := t.link(id).loc
			if loc&coldBit == 0 {
				if c := t.at(loc); c.Key.equal(k) {
					return c
				}
			} else if t.coldKey(loc).equal(k) {
				return t.thaw(id)
			}
		}
	}
}

// removeRef takes ref, the id of key k, out of the index; a table that
// shrank to an eighth of its slots hands half of them back.
func (ix *index) removeRef(k *Key, ref uint32) {
	if !slots.Remove(ix.slots, k.hash(ix.seed), ref) {
		return
	}
	ix.n--
	if len(ix.slots) > minSlots && ix.n*8 < len(ix.slots) {
		ix.resize(len(ix.slots) / 2)
	}
}

// insert adds ref for k, which is not in the index.
func (ix *index) insert(k *Key, ref uint32) {
	if (ix.n+1)*4 > len(ix.slots)*3 {
		ix.resize(2 * len(ix.slots))
	}
	h := k.hash(ix.seed)
	slots.Put(ix.slots, slots.Of(h, ref))
	ix.n++
}

// resize moves the slots into n (a power of two) new ones.
func (ix *index) resize(n int) {
	old := ix.slots
	var oldMap []byte
	if ix.mem != nil {
		oldMap, ix.mem.index = ix.mem.index, nil
	}
	ix.slots = nil
	if size := n * 8; ix.mem != nil && size >= minMapped {
		if b := mapped.Map(size); b != nil {
			ix.mem.index = b
			ix.slots = unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), n)
		}
	}
	if ix.slots == nil {
		ix.slots = make([]uint64, n)
	}
	for _, s := range old {
		if s != 0 {
			slots.Put(ix.slots, s)
		}
	}
	mapped.Unmap(oldMap)
}
