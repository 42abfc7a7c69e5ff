package reassembly

import (
	"math/big"
	"math/rand"
	"testing"
)

// slowSeqLT is the obviously-correct reference: a comes before b when
// b-a mod 2³² lies in (0, 2³¹).
func slowSeqLT(a, b uint32) bool {
	m := new(big.Int).Lsh(big.NewInt(1), 32)
	d := new(big.Int).Sub(big.NewInt(int64(b)), big.NewInt(int64(a)))
	d.Mod(d, m)
	return d.Sign() > 0 && d.Cmp(new(big.Int).Lsh(big.NewInt(1), 31)) < 0
}

func TestSeqAgainstSlowReference(t *testing.T) {
	edge := []uint32{0, 1, 2, 1<<31 - 1, 1 << 31, 1<<31 + 1, 1<<32 - 2, 1<<32 - 1}
	check := func(a, b uint32) {
		if got, want := SeqLT(a, b), slowSeqLT(a, b); got != want {
			t.Fatalf("SeqLT(%d, %d) = %v, reference %v", a, b, got, want)
		}
		if got, want := SeqGT(a, b), slowSeqLT(b, a); got != want {
			t.Fatalf("SeqGT(%d, %d) = %v, reference %v", a, b, got, want)
		}
		if SeqLE(a, b) != (SeqLT(a, b) || a == b) || SeqGE(a, b) != (SeqGT(a, b) || a == b) {
			t.Fatalf("LE/GE inconsistent at %d, %d", a, b)
		}
	}
	for _, a := range edge {
		for _, b := range edge {
			if a-b == 1<<31 {
				continue // exactly half the space apart: undefined by RFC 1982
			}
			check(a, b)
		}
	}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 100000; i++ {
		a := r.Uint32()
		b := a + uint32(r.Intn(1<<20)) - 1<<19
		check(a, b)
	}
	if !SeqInWindow(3, 1<<32-2, 10) || SeqInWindow(9, 1<<32-2, 10) {
		t.Error("SeqInWindow across the wrap")
	}
}
