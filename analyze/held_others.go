//go:build !linux

package analyze

// heldCanMap: elsewhere the held records' chunks are on the Go heap.
const heldCanMap = false

func heldMapAnon(int) []byte { return nil }

func heldUnmap([]byte) {}
