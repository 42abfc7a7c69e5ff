package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/analyze/zeek"
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
		endConn(w, c)
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

// endConn ends c on w as the analyzer would: End, and for a writer that
// wants Zeek's records, a ZeekRecord of c (the one Zeek would log for a
// connection its timers did not split).
func endConn(w Writer, c *analyze.Conn) {
	w.End(c)
	if zs, ok := w.(analyze.ZeekSink); ok {
		zs.ZeekEnd(zeekRecordOf(c))
	}
}

func zeekRecordOf(c *analyze.Conn) *zeek.Record {
	return &zeek.Record{
		UID: "C" + string(base62(nil, c.ID)), Input: c.Input, Orig: c.Client, Resp: c.Server,
		Start: c.Start, End: c.End, OrigBytes: c.ClientBytes, RespBytes: c.ServerBytes,
		ConnState: zeek.ConnState(c.ConnState), History: c.History, OrigPkts: c.ClientPackets, RespPkts: c.ServerPackets,
		OrigIPBytes: 40 * c.ClientPackets, RespIPBytes: 40 * c.ServerPackets,
	}
}

// base62 appends n in base 62 (0-9, A-Z, a-z), most significant digit first.
func base62(b []byte, n uint64) []byte {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var tmp [11]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = digits[n%62]
		n /= 62
		if n == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}
