package anonmem

import "sync/atomic"

// Counter maps and unmaps as Map and Unmap do, counting the bytes it holds
// mapped: memory runtime.MemStats does not see, which its owner adds to
// what it reports.
type Counter struct{ n atomic.Int64 }

// Map maps n bytes of zeroed anonymous memory, counted; nil when it cannot.
func (c *Counter) Map(n int) []byte {
	b := Map(n)
	if b != nil {
		c.n.Add(int64(len(b)))
	}
	return b
}

// Unmap unmaps b, as c's Map returned it; nil is nothing to unmap.
func (c *Counter) Unmap(b []byte) {
	if b != nil {
		c.n.Add(-int64(len(b)))
		Unmap(b)
	}
}

// Bytes is how much c holds mapped.
func (c *Counter) Bytes() int64 { return c.n.Load() }
