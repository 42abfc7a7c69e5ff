package reassembly

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"runtime"
	"testing"

	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/anonmem"
)

// fill inserts n connections (SYNs from distinct clients, the first from
// client number from) into t and returns their keys.
func fill[T any](t *Table[T], from, n int) []Key {
	server := netip.MustParseAddrPort("198.19.0.1:80")
	seg := capture.Segment{Dst: server, Flags: capture.SYN}
	keys := make([]Key, n)
	for j := range n {
		i := from + j
		seg.Src = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 40000)
		keys[j] = KeyOf(seg.Src, seg.Dst)
		t.Insert(keys[j], &seg)
	}
	return keys
}

type payload struct{ v [32]uint64 }

// TestSlabOffHeap: a table of pointer-free entries keeps its large chunks
// outside the Go heap, finds every connection there, and hands an emptied
// chunk's pages back at the next Insert or Remove (not before: a removed
// entry stays readable until then).
func TestSlabOffHeap(t *testing.T) {
	if !anonmem.CanMap {
		t.Skip("no anonymous mappings on this platform")
	}
	tab := NewTable[payload](0)
	keys := fill(tab, 0, 3*maxChunk)
	if !tab.mapEntries || MappedBytes() == 0 {
		t.Fatalf("no chunk mapped outside the Go heap (%d bytes mapped)", MappedBytes())
	}
	for _, k := range keys {
		c := tab.Lookup(k)
		if c == nil || c.Key != k {
			t.Fatalf("lookup of %v: %v", k, c)
		}
		c.Data.v[7] = 42
	}
	// Empty the last chunk (mapped, full size).
	last := len(tab.chunks) - 1
	if tab.mem.chunk[last] == nil {
		t.Fatalf("chunk %d is on the Go heap", last)
	}
	var removed []*Conn[payload]
	for _, k := range keys {
		if c := tab.Lookup(k); int((tab.link(c.ref).loc-1)>>chunkShift) == last {
			tab.Remove(c)
			removed = append(removed, c)
		}
	}
	for _, c := range removed {
		if c.Data.v[7] != 42 {
			t.Fatalf("a removed entry was cleared before the next Insert")
		}
	}
	fill(tab, len(keys), 1)
	cleared := 0
	for _, c := range removed {
		if c.inTable {
			continue // the one just inserted
		}
		if c.Data.v[7] == 0 && c.Key == (Key{}) {
			cleared++
		}
	}
	if cleared != len(removed)-1 {
		t.Errorf("%d of %d entries of the emptied chunk read as zeros after Insert, want all but the reused one", cleared, len(removed)-1)
	}
	if got := tab.Len(); got != len(keys)-len(removed)+1 {
		t.Errorf("Len %d", got)
	}

	// A table that drains (no Insert) hands a chunk back at the Remove
	// after the one that emptied it.
	chunkOf := func(c *Conn[payload]) int { return int((tab.link(c.ref).loc - 1) >> chunkShift) }
	var drained []*Conn[payload]
	for _, k := range keys {
		if c := tab.Lookup(k); c != nil && chunkOf(c) == last-1 {
			tab.Remove(c)
			drained = append(drained, c)
		}
	}
	if drained[0].Data.v[7] != 42 {
		t.Fatal("a removed entry was cleared by the Remove that emptied its chunk")
	}
	for _, k := range keys {
		if c := tab.Lookup(k); c != nil && chunkOf(c) == 0 {
			tab.Remove(c)
			break
		}
	}
	for _, c := range drained {
		if c.Data.v[7] != 0 {
			t.Fatal("an emptied chunk was not handed back at the next Remove")
		}
	}
}

// TestSlabPointers: entries that hold a pointer stay on the Go heap, where
// the garbage collector sees what they point to.
func TestSlabPointers(t *testing.T) {
	tab := NewTable[*payload](0)
	keys := fill(tab, 0, maxChunk)
	for k, b := range tab.mem.chunk {
		if tab.mapEntries || b != nil {
			t.Fatalf("entries with pointers are mapped outside the Go heap (chunk %d)", k)
		}
	}
	tab.Lookup(keys[0]).Data = &payload{}
	runtime.GC()
	if tab.Lookup(keys[0]).Data == nil {
		t.Fatal("lost the pointer")
	}
	for _, ty := range []any{struct{ a [2]int }{}, [0]*int{}, Key{}, Half{}} {
		if hasPointers(reflectType(ty)) {
			t.Errorf("%T has no pointer", ty)
		}
	}
	for _, ty := range []any{struct{ s string }{}, [1][]int{}, struct{ m map[int]int }{}} {
		if !hasPointers(reflectType(ty)) {
			t.Errorf("%T has a pointer", ty)
		}
	}
}

// TestSlabReleased: a dropped table unmaps its chunks once the garbage
// collector finds it unreachable.
func TestSlabReleased(t *testing.T) {
	if !anonmem.CanMap {
		t.Skip("no anonymous mappings on this platform")
	}
	r := func() *regions {
		tab := NewTable[payload](0)
		fill(tab, 0, 2*maxChunk)
		mapped := tab.mem.chunk[len(tab.chunks)-1] != nil
		// Until here the table must stay reachable: its cleanup would
		// otherwise unmap the chunks while they are being looked at.
		runtime.KeepAlive(tab)
		if !mapped {
			t.Fatal("nothing mapped")
		}
		return tab.mem
	}()
	for range 100 {
		runtime.GC()
		runtime.Gosched()
		if r.released.Load() {
			return
		}
	}
	t.Error("the chunks are still mapped after the table was dropped")
}

func reflectType(v any) reflect.Type { return reflect.TypeOf(v) }

// TestFreeSlotsLowestFirst: the free slots are handed out lowest first,
// whatever order they were freed in.
func TestFreeSlotsLowestFirst(t *testing.T) {
	var h minRefs
	r := rand.New(rand.NewPCG(5, 6))
	in := map[uint32]bool{}
	for range 5000 {
		if x := r.Uint32N(1 << 20); !in[x] {
			in[x] = true
			h.push(x)
		}
		if r.IntN(3) == 0 {
			low := uint32(1 << 31)
			for x := range in {
				low = min(low, x)
			}
			if got := h.pop(); got != low {
				t.Fatalf("pop gave %d, the lowest is %d", got, low)
			}
			delete(in, low)
		}
	}
}
