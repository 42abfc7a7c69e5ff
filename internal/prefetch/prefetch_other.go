//go:build !amd64

package prefetch

import "unsafe"

// lines does nothing where no prefetch is written: it is only a hint.
func lines(unsafe.Pointer, uintptr) {}
