//go:build !linux

package reassembly

// canMap: elsewhere the table's chunks are Go slices.
const canMap = false

func mapAnon(int) []byte   { return nil }
func unmapAnon([]byte)     {}
func discardAnon(b []byte) {}
