package main

import (
	"os"
	"strings"
	"testing"
)

// TestLiveAnyIsSLL: libpcap opens "any" with Linux cooked SLL frames (SLL2
// only when asked, as tcpdump 4.99 does); live says which, and docs/live.md
// says the same.
func TestLiveAnyIsSLL(t *testing.T) {
	doc, err := os.ReadFile("../../docs/live.md")
	if err != nil {
		t.Fatal(err)
	}
	var row string
	for _, l := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(l, "| `-i`, `--interface`") {
			row = l
		}
	}
	if !strings.Contains(row, "Linux cooked SLL frames") || strings.Contains(row, "SLL2") {
		t.Errorf("docs/live.md does not say -i any gives SLL frames: %q", row)
	}
	needLive(t)
	p := startLive(t, "-i", "any", "--format", "json", "--duration", "300ms", "tcp port 9")
	if code := p.stop(nil); code != 0 {
		_, stderr := p.output()
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if _, stderr := p.output(); !strings.Contains(stderr, "capturing on any (Linux SLL)") {
		t.Errorf("live -i any does not capture Linux SLL frames:\n%s", stderr)
	}
}
