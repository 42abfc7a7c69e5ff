package anonmem

import "testing"

// TestCounter: what a Counter maps is counted until it is unmapped, and
// the mapping is zeroed memory one can write.
func TestCounter(t *testing.T) {
	if !CanMap {
		t.Skip("nothing is mapped on this platform")
	}
	var c Counter
	b := c.Map(1 << 16)
	if b == nil || len(b) != 1<<16 || c.Bytes() != 1<<16 {
		t.Fatalf("mapped %d bytes, counted %d; want 65536 of each", len(b), c.Bytes())
	}
	if b[len(b)-1] != 0 {
		t.Fatal("mapped memory not zero")
	}
	b[0] = 1
	c.Unmap(nil)
	if c.Bytes() != 1<<16 {
		t.Fatalf("unmapping nil changed the count to %d", c.Bytes())
	}
	c.Unmap(b)
	if c.Bytes() != 0 {
		t.Fatalf("%d bytes counted after unmapping", c.Bytes())
	}
}
