package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcpflow-check/tcpflow-check/capture"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// runCmd runs the command in-process with buffers.
func runCmd(t *testing.T, stdin []byte, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, bytes.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// flat is s with every run of white space, line breaks included, made one
// space: text output as it reads before it is wrapped to the width, for
// tests of what it says rather than of its layout.
func flat(s string) string { return strings.Join(strings.Fields(s), " ") }

// writeCaptureTree writes under dir each of names (paths relative to it):
// the bundled real capture of the same base name, or, when there is none,
// a file that is not a capture.
func writeCaptureTree(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, name := range names {
		data, err := os.ReadFile(realPcap + filepath.Base(name))
		if err != nil {
			data = []byte("not a capture")
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// captures lists the bundled captures (relative to the repo root).
func captures(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir("../../testdata/pcaps", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng") || strings.HasSuffix(p, ".gz")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no captures under testdata/pcaps")
	}
	return files
}

// TestGolden pins the text and JSON output for every bundled capture.
// go test ./cmd/tcpflow-check -update rewrites them.
func TestGolden(t *testing.T) {
	for _, pcap := range captures(t) {
		rel, _ := filepath.Rel("../../testdata/pcaps", pcap)
		for _, format := range []string{"text", "json"} {
			name := rel + "." + map[string]string{"text": "txt", "json": "json"}[format]
			t.Run(name, func(t *testing.T) {
				code, out, errOut := runCmd(t, nil, "analyze", "--format", format, "--color", "never", "--deterministic", pcap)
				if code != 0 && code != 2 {
					t.Fatalf("exit %d: %s", code, errOut)
				}
				got := out
				if errOut != "" {
					got += "--- stderr (exit " + string(rune('0'+code)) + ")\n" + errOut
				}
				golden := filepath.Join("../../testdata/golden", name)
				if *update {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if got != string(want) {
					t.Errorf("output differs from %s (run go test ./cmd/tcpflow-check -update and review the diff)\n--- got\n%s", golden, got)
				}
			})
		}
	}
}

func TestHelpAndUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, 0, "Usage:"},
		{[]string{"analyze", "--help"}, 0, "--handshake-timeout"},
		// Standard input here is a pipe (not a terminal): it is read.
		{nil, 2, "capture: -: empty file"},
		{[]string{"analyze"}, 2, "capture: -: empty file"},
		{[]string{"analyze", "--bogus", "x.pcap"}, 2, "unknown flag: --bogus"},
		{[]string{"analyze", "--format", "xml", "x.pcap"}, 2, "unknown format"},
		{[]string{"analyze", "--handshake-timeout", "-1s", "x.pcap"}, 2, "must be positive"},
		{[]string{"frobnicate"}, 2, "unknown command"},
	} {
		code, out, errOut := runCmd(t, nil, tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("%v: exit %d, output %q; want exit %d and %q", tc.args, code, out+errOut, tc.code, tc.want)
		}
	}
}

// TestBadInput: every kind of bad input exits 2 with a message naming the
// file, and never panics.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile("../../testdata/pcaps/real/normal-close.pcap")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	nothing := filepath.Join(dir, "nothing")
	if err := os.Mkdir(nothing, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(nothing, "notes.txt"), []byte("no capture here"), 0o644); err != nil {
		t.Fatal(err)
	}
	absurd := append([]byte(nil), good[:24+16]...)
	absurd[24+8], absurd[24+9], absurd[24+10], absurd[24+11] = 0xff, 0xff, 0xff, 0x7f // caplen
	for _, tc := range []struct {
		name string
		path string
		want string // in stderr besides the file name
	}{
		{"empty", write("empty.pcap", nil), "empty"},
		{"garbage", write("garbage.pcap", []byte("this is not a capture file at all, sorry")), "unknown"},
		{"cut mid-packet", write("cut.pcap", good[:len(good)-7]), "byte offset"},
		{"absurd caplen", write("absurd.pcap", absurd), "frame 1"},
		{"directory without captures", nothing, "no captures (.pcap, .pcapng, .pcap.gz, .pcapng.gz, .cap) under"},
		{"missing", filepath.Join(dir, "nope.pcap"), "no such file"},
		{"unknown link type", "../../testdata/pcaps/crafted/unknown-linktype.pcap", "unsupported link type 147"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCmd(t, nil, "analyze", "--color", "never", tc.path)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(errOut, tc.path) || !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q should name %s and say %q", errOut, tc.path, tc.want)
			}
		})
	}
	// What could be read before the damage is still reported.
	code, out, _ := runCmd(t, nil, "analyze", "-f", "jsonl", write("cut2.pcap", good[:len(good)-7]))
	if code != 2 || !strings.Contains(out, `"type":"connection"`) {
		t.Errorf("cut capture: exit %d, output %q: want the connection read before the damage", code, out)
	}
}

func TestStdinGzipAndSeveralFiles(t *testing.T) {
	raw, err := os.ReadFile("../../testdata/pcaps/real/refused.pcap")
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	code, out, errOut := runCmd(t, gz.Bytes(), "analyze", "-f", "json", "-", "../../testdata/pcaps/real/normal-close.pcap")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		Schema      string `json:"schema"`
		Connections []struct {
			Input     string `json:"input"`
			ConnState string `json:"conn_state"`
		} `json:"connections"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if doc.Schema != "tcpflow-check/v1" || len(doc.Connections) != 2 ||
		doc.Connections[0].Input != "-" || doc.Connections[0].ConnState != "REJ" ||
		doc.Connections[1].ConnState != "SF" {
		t.Errorf("got %+v", doc)
	}
	// Plain "tcpflow-check FILE" is analyze.
	if code, out, _ := runCmd(t, nil, "../../testdata/pcaps/real/refused.pcap", "--color", "never"); code != 0 || !strings.Contains(out, "connection_refused") {
		t.Errorf("plain form: exit %d\n%s", code, out)
	}
}

func TestLadder(t *testing.T) {
	code, out, errOut := runCmd(t, nil, "ladder", "--color", "never", "../../testdata/pcaps/real/refused.pcap")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"SYN seq=0", "RST", "SYN_SENT", "CLOSED", "connection_refused"} {
		if !strings.Contains(out, want) {
			t.Errorf("ladder lacks %q:\n%s", want, out)
		}
	}
	if code, _, errOut := runCmd(t, nil, "ladder", "--conn", "99", "../../testdata/pcaps/real/refused.pcap"); code != 2 || !strings.Contains(errOut, "no connection 99") {
		t.Errorf("unknown --conn: exit %d %q", code, errOut)
	}
}

func TestAnalyzeFilter(t *testing.T) {
	if _, err := capture.NewLinkFilter("tcp", 0); err != nil {
		t.Skipf("BPF filters unavailable in this build: %v", err)
	}
	const f = "../../testdata/pcaps/real/port-reuse.pcap"
	code, out, _ := runCmd(t, nil, "analyze", "-f", "jsonl", "--filter", "tcp port 9", f)
	if code != 0 || strings.Contains(out, `"type":"connection"`) || !strings.Contains(out, `"filtered"`) {
		t.Errorf("filter matching nothing: exit %d\n%s", code, out)
	}
	code, out, _ = runCmd(t, nil, "analyze", "-f", "jsonl", "--filter", "tcp port 8080", f)
	if code != 0 || strings.Count(out, `"type":"connection"`) != 2 {
		t.Errorf("filter matching the traffic: exit %d\n%s", code, out)
	}
	if code, _, errOut := runCmd(t, nil, "analyze", "--filter", "bogus((", f); code != 2 || !strings.Contains(errOut, "bad filter") {
		t.Errorf("bad filter: exit %d %q", code, errOut)
	}
}
