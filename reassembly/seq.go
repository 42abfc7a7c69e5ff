package reassembly

// Sequence numbers live modulo 2³² (RFC 9293 §3.4). These helpers compare
// them by the signed distance int32(a-b), which is correct whenever the two
// numbers are less than 2³¹ apart — always the case within one window.

// SeqDiff returns a-b as a signed distance in sequence space.
func SeqDiff(a, b uint32) int32 { return int32(a - b) }

// SeqLT reports whether a comes before b.
func SeqLT(a, b uint32) bool { return int32(a-b) < 0 }

// SeqLE reports whether a comes before b or equals it.
func SeqLE(a, b uint32) bool { return int32(a-b) <= 0 }

// SeqGT reports whether a comes after b.
func SeqGT(a, b uint32) bool { return int32(a-b) > 0 }

// SeqGE reports whether a comes after b or equals it.
func SeqGE(a, b uint32) bool { return int32(a-b) >= 0 }

// SeqInWindow reports whether lo <= x < lo+size in sequence space.
func SeqInWindow(x, lo, size uint32) bool { return x-lo < size }
