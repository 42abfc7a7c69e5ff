package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcpflow-check/tcpflow-check/internal/pcapgen"
)

func TestGenerate(t *testing.T) {
	dir := t.TempDir()
	manifest := filepath.Join(dir, "MANIFEST.md")
	if err := os.WriteFile(manifest, []byte("# head\n<!-- crafted:begin old -->\nstale\n<!-- crafted:end -->\ntail\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if code := run([]string{"--out", dir, "--manifest", manifest}, &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	b, _ := os.ReadFile(manifest)
	m := string(b)
	if strings.Contains(m, "stale") || !strings.HasPrefix(m, "# head\n") || !strings.HasSuffix(m, "tail\n") {
		t.Errorf("manifest section not replaced in place:\n%s", m)
	}
	for _, c := range pcapgen.Crafted() {
		if _, err := os.Stat(filepath.Join(dir, c.Name)); err != nil {
			t.Error(err)
		}
		if !strings.Contains(m, "`crafted/"+c.Name+"`") {
			t.Errorf("manifest lacks %s", c.Name)
		}
	}
}

func TestRunUsage(t *testing.T) {
	if code := run([]string{"--help"}, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Errorf("--help: exit %d", code)
	}
	if code := run([]string{"--bogus"}, &bytes.Buffer{}, &bytes.Buffer{}); code != 2 {
		t.Errorf("bad flag: exit %d, want 2", code)
	}
	var out bytes.Buffer
	if code := run([]string{"--synthetic", "3", "--concurrent", "2"}, &out, &bytes.Buffer{}); code != 0 || out.Len() < 24 {
		t.Errorf("--synthetic: exit %d, %d bytes", code, out.Len())
	}
}
