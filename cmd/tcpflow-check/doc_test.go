package main

import (
	"os"
	"strings"
	"testing"

	"github.com/tcpflow-check/tcpflow-check/analyze"
)

// TestReadmeCatalogue keeps the README's finding table in step with the
// catalogue: every kind is documented there with its severity.
func TestReadmeCatalogue(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	b := string(raw)
	for _, c := range analyze.Catalogue() {
		row := "| `" + string(c.Kind) + "` | " + c.Severity.String() + " |"
		if !strings.Contains(b, row) {
			t.Errorf("README lacks the row %q", row)
		}
	}
}
