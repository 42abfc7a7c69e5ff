//go:build !linux

package anonmem

// CanMap: elsewhere nothing is mapped; callers use Go slices.
const CanMap = false

func Map(int) []byte { return nil }
func Unmap([]byte)   {}
func Discard([]byte) {}
