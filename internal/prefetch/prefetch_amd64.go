package prefetch

import "unsafe"

// lines is Lines for n > 0 (prefetch_amd64.s: PREFETCHT0 a byte of each line).
//
//go:noescape
func lines(p unsafe.Pointer, n uintptr)
