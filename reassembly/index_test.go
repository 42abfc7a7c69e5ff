package reassembly

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/tcpflow-check/tcpflow-check/capture"
)

// TestIndexAgainstMap: random inserts, removes and lookups give what a Go
// map gives, through the index's growth and the backward shifts of its
// removals (a pool of keys a few times the table keeps the runs long).
func TestIndexAgainstMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tab := NewTable[uint32](0)
	ref := map[Key]uint32{}
	pool := make([]Key, 6000)
	segs := make([]capture.Segment, len(pool))
	for i := range pool {
		segs[i] = capture.Segment{Flags: capture.SYN,
			Src: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), uint16(rng.IntN(65536))),
			Dst: netip.MustParseAddrPort("[2001:db8::1]:443")}
		pool[i] = KeyOf(segs[i].Src, segs[i].Dst)
	}
	for op := range 300_000 {
		i := rng.IntN(len(pool))
		k := pool[i]
		c := tab.Lookup(k)
		want, ok := ref[k]
		if (c != nil) != ok || ok && c.Data != want {
			t.Fatalf("op %d: lookup of key %d: %v, want %v (%d)", op, i, c, ok, want)
		}
		switch {
		case c == nil && op < 150_000 || c == nil && rng.IntN(3) == 0:
			c = tab.Insert(k, &segs[i])
			c.Data = uint32(op)
			ref[k] = uint32(op)
		case c != nil && (op >= 150_000 || rng.IntN(3) == 0):
			tab.Remove(c)
			delete(ref, k)
		}
		if tab.Len() != len(ref) {
			t.Fatalf("op %d: Len %d, want %d", op, tab.Len(), len(ref))
		}
	}
	for i, k := range pool {
		c := tab.Lookup(k)
		if want, ok := ref[k]; (c != nil) != ok || ok && c.Data != want {
			t.Fatalf("at the end: lookup of key %d: %v, want %v", i, c, ok)
		}
	}
	if tab.ix.n != len(ref) || len(tab.ix.slots)*3 < tab.ix.n*4 {
		t.Errorf("index: %d of %d slots in use, %d keys", tab.ix.n, len(tab.ix.slots), len(ref))
	}
}
