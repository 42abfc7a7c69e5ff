package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcpflow-check/tcpflow-check/analyze"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (-want +got):\n%s", path, lineDiff(string(want), string(got)))
	}
}

// lineDiff is a small line-by-line diff, enough to show what moved.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("-" + wl + "\n+" + gl + "\n")
		}
	}
	return b.String()
}

// render runs conns through a writer of format and closes it with s.
func render(t *testing.T, format string, opts *Options, conns []*analyze.Conn, s *Summary) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(format, &buf, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		for i := range c.Findings {
			w.Finding(c, &c.Findings[i])
		}
		w.End(c)
	}
	if err := w.Close(s); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	det := &Options{NoElapsed: true}
	infoOnly := v6Conn()
	infoOnly.Findings = infoOnly.Findings[:1] // midstream only
	withErr := testSummary()
	withErr.Inputs = append(withErr.Inputs, Input{Name: "trace2.pcap", Err: errTruncated})
	for _, tc := range []struct {
		name   string
		format string
		opts   *Options
		conns  []*analyze.Conn
		sum    *Summary
	}{
		{"all.txt", "text", det, allConns(), testSummary()},
		{"all-color.txt", "text", &Options{NoElapsed: true, Color: true, MaxExamples: 1}, allConns(), testSummary()},
		{"clean.txt", "text", det, []*analyze.Conn{cleanConn()}, testSummary()},
		{"info-only.txt", "text", det, []*analyze.Conn{infoOnly, cleanConn()}, testSummary()},
		{"empty.txt", "text", det, nil, &Summary{Inputs: []Input{{Name: "empty.pcap"}}}},
		{"input-error.txt", "text", det, allConns(), withErr},
		{"all.json", "json", det, allConns(), testSummary()},
		{"timeline.json", "json", &Options{NoElapsed: true, Timeline: true}, []*analyze.Conn{cleanConn()}, testSummary()},
		{"empty.json", "json", det, nil, &Summary{}},
		{"all.jsonl", "jsonl", det, allConns(), withErr},
		{"all.yaml", "yaml", det, allConns(), testSummary()},
		{"empty.yaml", "yaml", det, nil, &Summary{}},
		{"all.zeek", "zeek", det, allConns(), testSummary()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, tc.name, render(t, tc.format, tc.opts, tc.conns, tc.sum))
		})
	}
}

func TestGoldenLadder(t *testing.T) {
	noTimeline := leakConn()
	noTimeline.Timeline = nil
	for _, tc := range []struct {
		name string
		c    *analyze.Conn
		opts *Options
	}{
		{"ladder-clean.txt", cleanConn(), nil},
		{"ladder-refused.txt", refusedConn(), nil},
		{"ladder-leak.txt", leakConn(), nil},
		{"ladder-leak-color.txt", leakConn(), &Options{Color: true}},
		{"ladder-v6-no-timeline.txt", v6Conn(), nil},
		{"ladder-no-timeline.txt", noTimeline, &Options{Width: 60}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Ladder(&buf, tc.c, tc.opts); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, buf.Bytes())
		})
	}
}
