package reassembly

import (
	"encoding/binary"
	"math/bits"
	"unsafe"

	"github.com/tcpflow-check/tcpflow-check/internal/anonmem"
)

// A connection quiet for a while can be kept compact (Table.Freeze): its
// entry is encoded into a cell of the cold store and its slot in the slab
// is freed; the first Lookup, Get, Oldest or Next that reaches it decodes
// it back into a slot (thaws it). Nothing but the memory it takes changes:
// the encoding is lossless, word for word, whatever the entry holds.
//
// The encoding is a delta against a template, the first entry the table
// froze: a bitmap of the 8-byte words that differ from the template's,
// then for each such word a varint of its difference under the cheapest of
// a few predictions. Connections of one capture look alike but for their
// times, frame numbers and sequence numbers, so the predictions shift the
// template's word by the entry's own offset from the template in those:
// its First (for times), its FirstFrame (frames), and its two ISNs (for
// either 32-bit half of a word, sequence numbers being 32 bits). An idle
// established connection of a capture's bulk takes some 100 to 200 bytes
// this way, against its full entry's 1.4 KB.

// Cold store cells come in classes of cellStep bytes: class k holds blobs
// of up to (k+1)·cellStep bytes; an entry whose encoding would need more
// than maxCell stays in the slab.
const (
	cellStep  = 16
	maxCell   = 640
	nClasses  = maxCell / cellStep
	cellChunk = 256 << 10 // bytes of cells a class adds at a time

	// A location (loc) is where an entry is: a slot ref of the slab, or,
	// with coldBit, a cell of the cold store: its class, and its index in
	// the class.
	coldBit    = 1 << 31
	classShift = 25 // the class in bits 25-30, under coldBit: nClasses ≤ 64
	cellMask   = 1<<classShift - 1
)

// coldStore holds the cells of frozen entries, by class.
type coldStore struct {
	class [nClasses]cellClass
	bytes int64 // of the cells in use
	n     int   // cells in use
}

// cellClass is the cells of one size: chunks of cellChunk bytes, and the
// cells freed for reuse. A mapped chunk whose cells are all free hands its
// pages back to the kernel (they read as zeros when used again).
type cellClass struct {
	chunks [][]byte
	mapped []bool  // by chunk: outside the Go heap
	live   []int32 // by chunk: cells in use
	used   int     // cells handed out from the last chunk
	free   []uint32
}

// split returns loc's class, its cell size and index in the class, and
// the cells a chunk of the class holds.
func split(loc uint32) (k, size, i, per int) {
	k = int(loc &^ coldBit >> classShift)
	size = (k + 1) * cellStep
	return k, size, int(loc & cellMask), cellChunk / size
}

// cell returns the bytes of cell loc.
func (s *coldStore) cell(loc uint32) []byte {
	k, size, i, per := split(loc)
	c := s.class[k].chunks[i/per]
	return c[i%per*size : (i%per+1)*size]
}

// alloc returns the location of an unused cell of at least n bytes (n ≤
// maxCell), taking chunks from mem.
func (s *coldStore) alloc(n int, mem *regions) uint32 {
	k := (n - 1) / cellStep
	per := cellChunk / ((k + 1) * cellStep)
	cl := &s.class[k]
	s.bytes += int64(k+1) * cellStep
	s.n++
	var i int
	if m := len(cl.free); m > 0 {
		i = int(cl.free[m-1])
		cl.free = cl.free[:m-1]
	} else {
		if len(cl.chunks) == 0 || cl.used == per {
			b, mapped := newCells(mem)
			cl.chunks, cl.mapped, cl.live = append(cl.chunks, b), append(cl.mapped, mapped), append(cl.live, 0)
			cl.used = 0
		}
		i = (len(cl.chunks)-1)*per + cl.used
		cl.used++
	}
	cl.live[i/per]++
	return coldBit | uint32(k)<<classShift | uint32(i)
}

// release frees cell loc.
func (s *coldStore) release(loc uint32) {
	k, size, i, per := split(loc)
	cl := &s.class[k]
	cl.free = append(cl.free, uint32(i))
	if cl.live[i/per]--; cl.live[i/per] == 0 && cl.mapped[i/per] {
		anonmem.Discard(cl.chunks[i/per])
	}
	s.bytes -= int64(size)
	s.n--
}

// newCells returns a chunk of cellChunk bytes, mapped outside the Go heap
// where mem allows it, and whether it is.
func newCells(mem *regions) ([]byte, bool) {
	if mem != nil {
		if b := mapped.Map(cellChunk); b != nil {
			mem.cells = append(mem.cells, b)
			return b, true
		}
	}
	return make([]byte, cellChunk), false
}

// codec encodes entries of W words against a template.
type codec struct {
	tmpl []uint64
	// word offsets of the references: First, FirstFrame, and the word
	// holding each Half's ISN with the ISN's bit shift in it
	first, frame int
	isn          [2]int
	isnShift     [2]uint
	// The prediction of each word: the first calibrate encodings try them
	// all and count which was best where; later ones use the word's
	// winner, which keeps an encoding a single pass.
	pred  []uint8
	tally [][nPreds]uint16
	tried int
	out   [maxCell + 4*binary.MaxVarintLen64]byte // scratch of encode
}

// calibrate is how many encodings try every prediction.
const calibrate = 64

// newCodec returns a codec for entries of Conn[T].
func newCodec[T any]() codec {
	var c Conn[T]
	word := func(off uintptr) (int, uint) { return int(off / 8), uint(off%8) * 8 }
	var k codec
	k.first, _ = word(unsafe.Offsetof(c.First))
	k.frame, _ = word(unsafe.Offsetof(c.FirstFrame))
	for d := range c.Half {
		k.isn[d], k.isnShift[d] = word(unsafe.Offsetof(c.Half) + uintptr(d)*unsafe.Sizeof(c.Half[0]) + unsafe.Offsetof(c.Half[0].ISN))
	}
	n := int(unsafe.Sizeof(c) / 8)
	k.pred, k.tally = make([]uint8, n), make([][nPreds]uint16, n)
	return k
}

// Predictions of a word (the low 4 bits of its first varint): 64-bit ones,
// and for the 32-bit halves one of three shifts each (none, the client's
// ISN offset, the server's), lo + 3·hi.
const (
	predPlain  = iota // the template's word
	predTime          // shifted by First's offset
	predFrame         // shifted by FirstFrame's offset
	predHalves        // predHalves + lo + 3·hi: each half shifted on its own
	nPreds     = predHalves + 9
)

// refs are an entry's offsets from the template: First, FirstFrame (as
// the 64-bit predictions' shifts), and the two ISNs (the halves' shifts,
// after none).
type refs struct {
	wide [3]uint64
	half [3]uint32
}

func (k *codec) refsOf(w []uint64) refs {
	r := refs{wide: [3]uint64{0, w[k.first] - k.tmpl[k.first], w[k.frame] - k.tmpl[k.frame]}}
	for d := range 2 {
		r.half[d+1] = uint32(w[k.isn[d]]>>k.isnShift[d]) - uint32(k.tmpl[k.isn[d]]>>k.isnShift[d])
	}
	return r
}

func zig(d uint64) uint64   { return d<<1 ^ uint64(int64(d)>>63) }
func unzig(z uint64) uint64 { return z>>1 ^ -(z & 1) }
func zig32(d uint32) uint64 { return uint64(d<<1 ^ uint32(int32(d)>>31)) }
func unzig32(z uint64) uint32 {
	v := uint32(z)
	return v>>1 ^ -(v & 1)
}

// uvarintLen is the length of x as a varint.
func uvarintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

// put writes x as a varint at b[p:] and returns the position after it.
func put(b []byte, p int, x uint64) int {
	for x >= 0x80 {
		b[p] = byte(x) | 0x80
		x >>= 7
		p++
	}
	b[p] = byte(x)
	return p + 1
}

// get reads the varint at b[p:] and returns it and the position after it.
func get(b []byte, p int) (uint64, int) {
	var x uint64
	for s := uint(0); ; s += 7 {
		c := b[p]
		p++
		x |= uint64(c&0x7f) << s
		if c < 0x80 {
			return x, p
		}
	}
}

// best returns the cheapest prediction of word x against t, counting it
// in the calibration's tally of word i.
func (k *codec) best(i int, x, t uint64, r *refs) uint8 {
	pred, n := uint8(predPlain), 1000
	for m := range 3 {
		if v := zig(x - t - r.wide[m]); v < 1<<60 && uvarintLen(v<<4) < n {
			pred, n = uint8(m), uvarintLen(v<<4)
		}
	}
	lo, hi := uint32(x)-uint32(t), uint32(x>>32)-uint32(t>>32)
	bl, bh := 0, 0
	for m := 1; m < 3; m++ {
		if zig32(lo-r.half[m]) < zig32(lo-r.half[bl]) {
			bl = m
		}
		if zig32(hi-r.half[m]) < zig32(hi-r.half[bh]) {
			bh = m
		}
	}
	if uvarintLen(zig32(lo-r.half[bl])<<4)+uvarintLen(zig32(hi-r.half[bh])) < n {
		pred = uint8(predHalves + bl + 3*bh)
	}
	k.tally[i][pred]++
	return pred
}

// encode returns w's encoding (valid until the next call), or nil when it
// would not fit a cell.
func (k *codec) encode(w []uint64) []byte {
	r := k.refsOf(w)
	learn := k.tried < calibrate
	if k.tried++; k.tried == calibrate {
		for i, c := range k.tally {
			k.pred[i] = uint8(predPlain)
			for m, n := range c {
				if n > c[k.pred[i]] {
					k.pred[i] = uint8(m)
				}
			}
		}
	}
	b := k.out[:]
	nmap := (len(w) + 7) / 8
	p := put(b, nmap, zig(r.wide[1]))
	p = put(b, p, zig(r.wide[2]))
	p = put(b, p, uint64(r.half[1]))
	p = put(b, p, uint64(r.half[2]))
	tmpl := k.tmpl[:len(w)]
	var m uint64 // the bitmap's word being filled
	for i, x := range w {
		if i%64 == 0 && i > 0 {
			binary.LittleEndian.PutUint64(b[i/8-8:], m)
			m = 0
		}
		t := tmpl[i]
		if x == t {
			continue
		}
		m |= 1 << (i % 64)
		pred := k.pred[i]
		if learn {
			pred = k.best(i, x, t, &r)
		}
		if pred < predHalves {
			if v := zig(x - t - r.wide[pred]); v < 1<<60 {
				p = put(b, p, v<<4|uint64(pred))
				if p > maxCell {
					return nil
				}
				continue
			}
			pred = predHalves // too wide: the plain halves
		}
		s := pred - predHalves
		p = put(b, p, zig32(uint32(x)-uint32(t)-r.half[s%3])<<4|uint64(pred))
		p = put(b, p, zig32(uint32(x>>32)-uint32(t>>32)-r.half[s/3]))
		if p > maxCell {
			return nil
		}
	}
	var last [8]byte
	binary.LittleEndian.PutUint64(last[:], m)
	copy(b[len(w)/64*8:nmap], last[:])
	return b[:p]
}

// decode writes into w the entry b encodes, its first n words (all of
// them when n is len(w)).
func (k *codec) decode(b []byte, w []uint64, n int) {
	copy(w[:n], k.tmpl)
	var r refs
	var v uint64
	p := (len(w) + 7) / 8
	v, p = get(b, p)
	r.wide[1] = unzig(v)
	v, p = get(b, p)
	r.wide[2] = unzig(v)
	v, p = get(b, p)
	r.half[1] = uint32(v)
	v, p = get(b, p)
	r.half[2] = uint32(v)
	for j, m := range b[:(n+7)/8] {
		for m != 0 {
			i := j*8 + bits.TrailingZeros8(m)
			m &= m - 1
			if i >= n {
				return
			}
			t := w[i]
			v, p = get(b, p)
			if pred := v & 15; pred < predHalves {
				w[i] = t + r.wide[pred] + unzig(v>>4)
			} else {
				s := pred - predHalves
				lo := uint32(t) + r.half[s%3] + unzig32(v>>4)
				v, p = get(b, p)
				hi := uint32(t>>32) + r.half[s/3] + unzig32(v)
				w[i] = uint64(hi)<<32 | uint64(lo)
			}
		}
	}
}

// entryWords returns c's entry as words.
func entryWords[T any](c *Conn[T]) []uint64 {
	return unsafe.Slice((*uint64)(unsafe.Pointer(c)), unsafe.Sizeof(*c)/8)
}
