package prefetch

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestLinesChangesNothing prefetches every start and length over a buffer
// ending at a page's end (where a line past the range would be another
// page): the bytes stay as they were, and nothing faults.
func TestLinesChangesNothing(t *testing.T) {
	const size = 3 * 4096
	buf := make([]byte, size+4096)
	off := 4096 - int(uintptr(unsafe.Pointer(&buf[0]))%4096) // page-aligned start
	b := buf[off : off+size-4096]
	for i := range b {
		b[i] = byte(i * 7)
	}
	want := bytes.Clone(b)
	for start := 0; start < 200; start++ {
		for _, n := range []int{0, 1, 7, 8, 63, 64, 65, 128, 1000, len(b) - start} {
			if start+n <= len(b) {
				Lines(unsafe.Pointer(unsafe.SliceData(b[start:])), uintptr(n))
			}
		}
	}
	if !bytes.Equal(b, want) {
		t.Fatal("prefetching changed the bytes")
	}
}

// BenchmarkLines reads 1 KiB records at random over 256 MiB, the way an
// eviction reaches a connection idle for long: read at once, and read with
// the next record prefetched while this one is summed.
func BenchmarkLines(b *testing.B) {
	const rec, n = 1024, 256 << 20 / 1024
	mem := make([]uint64, n*rec/8)
	for i := range mem {
		mem[i] = uint64(i) // pages of their own, not the shared zero page
	}
	order := rand.Perm(n)
	at := func(i int) []uint64 { return mem[order[i%n]*rec/8:][:rec/8] }
	for _, ahead := range []bool{false, true} {
		name := "plain"
		if ahead {
			name = "prefetched"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var s uint64
			for i := range b.N {
				if ahead {
					next := at(i + 1)
					Lines(unsafe.Pointer(&next[0]), rec)
				}
				for _, w := range at(i) {
					s += w
				}
				for range 200 { // the work between two evictions
					s = s*6364136223846793005 + 1
				}
			}
			sink = s
		})
	}
}

var sink uint64
