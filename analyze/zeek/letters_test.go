package zeek

import (
	"math/rand/v2"
	"testing"
)

// TestLetters: every letter of the alphabet, at every place, reads back as
// written, and rewriting one leaves its neighbours (which share its bytes)
// alone; past maxHistory letters are dropped.
func TestLetters(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var want [maxHistory]byte
	var l letters
	for k := range maxHistory {
		want[k] = alphabet[rng.IntN(len(alphabet))]
		l.add(want[k])
	}
	l.add('S')
	for range 2000 {
		k := rng.IntN(maxHistory)
		want[k] = alphabet[rng.IntN(len(alphabet))]
		l.set(k, want[k])
		if got := string(l.appendTo(nil)); got != string(want[:]) {
			t.Fatalf("after setting letter %d to %c: %q, want %q", k, want[k], got, want[:])
		}
	}
	if l.n != maxHistory {
		t.Errorf("%d letters kept, want %d", l.n, maxHistory)
	}
}
