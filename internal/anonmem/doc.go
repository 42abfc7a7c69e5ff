// Package anonmem maps anonymous memory outside the Go heap, for
// pointer-free arrays the garbage collector should neither scan nor count
// in its heap goal (the connection table's slab, index and cold store, the
// held records). Where the platform has no such mapping, Map returns nil
// and callers fall back to Go slices.
package anonmem
