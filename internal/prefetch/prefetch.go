// Package prefetch asks the processor to bring memory into its caches
// ahead of use, so that the misses of memory about to be reached overlap
// with work instead of stalling it one after another. A prefetch is only a
// hint: it never faults, and it changes nothing a program can observe but
// its speed.
package prefetch

import "unsafe"

// Lines prefetches the cache lines holding the n bytes at p.
func Lines(p unsafe.Pointer, n uintptr) {
	if n > 0 {
		lines(p, n)
	}
}
