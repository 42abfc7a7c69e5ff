package reassembly

import (
	"testing"
	"unsafe"
)

// TestCount: a Count counts past 32 bits, holds at MaxCount rather than
// wrapping, and does not go below zero.
func TestCount(t *testing.T) {
	var c Count
	c.Dec()
	if c.N() != 0 {
		t.Fatalf("Dec of 0 gives %d", c.N())
	}
	for _, n := range []uint64{1, 255, 256, 1<<32 - 1, 1 << 32, 1<<32 + 12345, MaxCount - 1} {
		c.set(n)
		c.Inc()
		if c.N() != n+1 {
			t.Errorf("%d + 1 = %d", n, c.N())
		}
		c.Dec()
		if c.N() != n {
			t.Errorf("%d + 1 - 1 = %d", n, c.N())
		}
	}
	c.set(MaxCount)
	c.Inc()
	if c.N() != MaxCount {
		t.Errorf("Inc at MaxCount gives %d, want it held at %d", c.N(), uint64(MaxCount))
	}
}

// TestHalfIsSmall: two Halves are in every connection's entry.
func TestHalfIsSmall(t *testing.T) {
	if n := unsafe.Sizeof(Half{}); n > 104 {
		t.Errorf("Half is %d bytes, want at most 104", n)
	}
}
