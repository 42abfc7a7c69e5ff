package reassembly

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// TestCodecRoundTrip encodes entries that differ from the template in
// every way a word can (small and large differences, in times, frames,
// sequence numbers, random bits) and checks each decodes to itself.
func TestCodecRoundTrip(t *testing.T) {
	k := newCodec[payload]()
	var tmpl Conn[payload]
	tmpl.First, tmpl.FirstFrame = 1_700_000_000_000_000_000, 1000
	tmpl.Half[0].ISN, tmpl.Half[1].ISN = 0x12345678, 0xfedcba98
	k.tmpl = append([]uint64(nil), entryWords(&tmpl)...)
	r := rand.New(rand.NewPCG(1, 2))
	encoded := 0
	for n := range 20000 {
		c := tmpl
		w := entryWords(&c)
		dt, df := r.Int64N(1e11)-5e10, r.Uint64N(1e6)
		c.First += dt
		c.FirstFrame += df
		c.Half[0].ISN += r.Uint32()
		c.Half[1].ISN += r.Uint32()
		for range r.IntN(12) {
			i := r.IntN(len(w))
			switch r.IntN(5) {
			case 0:
				w[i] = r.Uint64() // anything
			case 1:
				w[i] += uint64(dt) + r.Uint64N(1000) // a time
			case 2:
				w[i] += df + r.Uint64N(10) // a frame
			case 3:
				w[i] = uint64(uint32(w[i])+c.Half[1].ISN-tmpl.Half[1].ISN+r.Uint32N(100)) | w[i]&^0xffffffff // a sequence number
			default:
				w[i] -= r.Uint64N(5) // a small change, either way
			}
		}
		if n%1000 == 0 {
			for i := range w {
				w[i] = r.Uint64() // nothing like the template: too big for a cell
			}
		}
		b := k.encode(w)
		if b == nil {
			continue
		}
		encoded++
		if len(b) > maxCell {
			t.Fatalf("encoding of %d bytes", len(b))
		}
		var got Conn[payload]
		k.decode(append([]byte(nil), b...), entryWords(&got), len(w))
		if got != c {
			t.Fatalf("entry %d did not decode to itself", n)
		}
	}
	if encoded < 19000 {
		t.Errorf("only %d of 20000 entries fit a cell", encoded)
	}
}

// TestVarints: put writes the standard varint of every width, and get
// reads it back, at a buffer's end as well as with room after it.
func TestVarints(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		x := r.Uint64() >> r.UintN(64)
		var b [20]byte
		n := put(b[:], 0, x)
		if want, wn := binary.Uvarint(b[:]); want != x || wn != n {
			t.Fatalf("put(%#x) wrote %x, which reads as %#x in %d bytes", x, b[:n], want, wn)
		}
		if got, gn := get(b[:], 0); got != x || gn != n {
			t.Fatalf("get of %x: %#x in %d bytes, want %#x", b[:n], got, gn, x)
		}
		if got, gn := get(b[:n], 0); got != x || gn != n {
			t.Fatalf("get of %x at the end: %#x in %d bytes, want %#x", b[:n], got, gn, x)
		}
	}
}

// TestFreezeThaw: a table whose connections are frozen, thawed by every
// way of reaching them, removed and frozen again — enough of them for the
// slab's chunks and the cold store's to be mapped, to empty and to be
// handed back — keeps every connection's contents, its id and the
// activity order, and Scan sees what Get would.
func TestFreezeThaw(t *testing.T) {
	tab := NewTable[payload](0)
	const n = 5 * maxChunk
	keys := fill(tab, 0, n)
	num := map[Key]int{}
	for i, k := range keys {
		num[k] = i
	}
	stamp := func(c *Conn[payload]) {
		i := num[c.Key]
		c.Last, c.First = int64(1e9+i), int64(1e9+i)
		c.Data.v[i%32] = uint64(i) * 0x9e3779b97f4a7c15
		c.Data.v[(i+7)%32] = uint64(i)
	}
	want := map[Key]Conn[payload]{}
	var order []Key
	check := func(step string) {
		t.Helper()
		i := 0
		tab.Scan(func(c *Conn[payload]) {
			if i >= len(order) || c.Key != order[i] {
				t.Fatalf("%s: Scan's connection %d is %v, want %v", step, i, c.Key, order[i])
			}
			if *c != want[c.Key] {
				t.Fatalf("%s: Scan: connection %d changed", step, i)
			}
			i++
		})
		if i != len(order) || tab.Len() != len(order) {
			t.Fatalf("%s: Scan saw %d, Len %d, want %d", step, i, tab.Len(), len(order))
		}
	}
	for _, k := range keys {
		c := tab.Lookup(k)
		stamp(c)
		want[k] = *c
		order = append(order, k)
	}
	check("filled")
	tab.PrefetchOldest()
	check("filled, the oldest prefetched")
	if got := tab.FreezeIdle(int64(2e9), nil); got != n {
		t.Fatalf("froze %d, want %d", got, n)
	}
	check("frozen")
	if tab.PrefetchOldest(); tab.Frozen() != n { // a frozen one is not thawed for it
		t.Fatalf("prefetching the frozen oldest left %d frozen, want %d", tab.Frozen(), n)
	}
	check("frozen, the oldest prefetched")
	// New connections take new chunks, after the cold store's; they go
	// again, and their emptied chunks are handed back, theirs only.
	extra := fill(tab, n, n+3*maxChunk) // past the slots freezing freed
	for _, k := range extra {
		tab.Remove(tab.Lookup(k))
	}
	last := fill(tab, 2*n, 1) // an Insert: the emptied chunks go back
	tab.Remove(tab.Lookup(last[0]))
	check("others came and went")
	// Thaw a third by Lookup (touched: to the end of the order), a third
	// by Get (left in place), and remove every fifth.
	var touched []Key
	for j, k := range keys {
		switch j % 3 {
		case 0:
			c := tab.Lookup(k)
			if c == nil || *c != want[k] {
				t.Fatalf("Lookup of a frozen connection: %v", c)
			}
			tab.Touch(c)
			touched = append(touched, k)
		case 1:
			c := tab.Lookup(k)
			if c == nil || tab.Get(c.Ref()) != c {
				t.Fatal("Get of a thawed connection is not the one Lookup gave")
			}
		}
	}
	var kept []Key
	for _, k := range order {
		if num[k]%3 != 0 {
			kept = append(kept, k)
		}
	}
	order = append(kept, touched...)
	check("thawed")
	var left []Key
	for j, k := range order {
		if j%5 == 0 {
			tab.Remove(tab.Lookup(k))
			delete(want, k)
		} else {
			left = append(left, k)
		}
	}
	order = left
	check("removed")
	tab.FreezeIdle(int64(2e9), nil)
	check("frozen again")
	for c := tab.Oldest(); c != nil; c = tab.Next(c) {
		if *c != want[c.Key] {
			t.Fatal("Oldest/Next: a connection changed")
		}
	}
	check("walked")
	if tab.Frozen() != 0 {
		t.Errorf("%d still frozen after a walk that thawed them all", tab.Frozen())
	}
	// A new connection in a slot of the drained slab, and the old ones
	// frozen once more and found by key.
	tab.FreezeIdle(int64(2e9), nil)
	fill(tab, n, 1)
	for _, k := range order {
		if c := tab.Lookup(k); c == nil || *c != want[k] {
			t.Fatalf("connection %v lost", k)
		}
	}
}

// TestLocations: every class and a cell index far into it make a
// location that is cold and splits back into them.
func TestLocations(t *testing.T) {
	if nClasses > 1<<(31-classShift) {
		t.Fatalf("%d classes do not fit under coldBit", nClasses)
	}
	for k := range nClasses {
		loc := coldBit | uint32(k)<<classShift | cellMask
		if gk, size, i, _ := split(loc); gk != k || size != (k+1)*cellStep || i != cellMask || loc&coldBit == 0 {
			t.Fatalf("class %d: split(%#x) = %d, %d, %d", k, loc, gk, size, i)
		}
	}
}
