package reassembly

import (
	"runtime"
	"testing"
	"unsafe"
)

// BenchmarkTableLookup looks connections up in a table of a million, in an
// order that defeats the caches (as a busy link's connections interleave),
// and reports the heap the table holds beside the entries per connection.
// go test -run '^$' -bench TableLookup -benchtime 2000000x ./reassembly
func BenchmarkTableLookup(b *testing.B) {
	const n = 1 << 20
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.HeapAlloc
	tab := NewTable[struct{}](0)
	keys := fill(tab, 0, n)
	runtime.GC()
	runtime.ReadMemStats(&ms)
	held := float64(ms.HeapAlloc-min(before, ms.HeapAlloc)) - float64(len(keys))*float64(unsafe.Sizeof(Key{}))
	i := uint32(0)
	for b.Loop() {
		i = i*1664525 + 1013904223
		if tab.Lookup(keys[i&(n-1)]) == nil {
			b.Fatal("not found")
		}
	}
	b.ReportMetric(held/n, "heapB/conn")
	runtime.KeepAlive(keys)
}
