package main

import (
	"io"
	"os"

	"github.com/gopacket/gopacket/pcapgo"

	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// runJSON runs the command and decodes its JSON output; exit codes other
// than 0 and 1 fail the test.
func runJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(args, nil, &out, &errb); code > 1 {
		t.Fatalf("%v: exit %d: %s", args, code, errb.String())
	}
	var v map[string]any
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out.String())
	}
	return v
}

// connRef is evidence citing another connection by id.
var connRef = regexp.MustCompile(`connection #[0-9]+`)

// byInput groups the objects of list by their field key, dropping the
// fields in drop and the ids evidence cites: connection ids number the
// connections of the whole run.
func byInput(list any, key string, drop ...string) map[string][]map[string]any {
	out := make(map[string][]map[string]any)
	items, _ := list.([]any)
	for _, it := range items {
		m := it.(map[string]any)
		for _, d := range drop {
			delete(m, d)
		}
		unref(m)
		in := m[key].(string)
		out[in] = append(out[in], m)
	}
	return out
}

func unref(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "evidence" {
				x[k] = connRef.ReplaceAllString(s, "connection #N")
			}
			unref(e)
		}
	case []any:
		for _, e := range x {
			unref(e)
		}
	}
}

// Each input is a capture of its own: run together, in either order, every
// recorded capture gets exactly the records and the check results it gets
// alone (connection ids aside: they number the run's connections).
func TestEachInputItsOwnCapture(t *testing.T) {
	files, err := filepath.Glob(realPcaps + "*.pcap")
	if err != nil || len(files) < 10 {
		t.Fatalf("captures: %v %v", files, err)
	}
	reversed := slices.Clone(files)
	slices.Reverse(reversed)
	policy := writePolicy(t, `fail_on: [syn_unanswered, missing_third_ack, half_close_stuck, fin_unacked, last_ack_missing, zero_window_stuck]
max:
  connection_refused: 0
`)

	alone := make(map[string][]map[string]any)
	aloneCheck := make(map[string][]map[string]any)
	aloneRules := make(map[string][]map[string]any)
	for _, f := range files {
		got := byInput(runJSON(t, "analyze", "--format", "json", "--deterministic", f)["connections"], "input", "id")
		alone[f] = got[f]
		chk := runJSON(t, "check", "--policy", policy, "--format", "json", f)
		aloneCheck[f] = byInput(chk["findings"], "input", "conn_id")[f]
		aloneRules[f] = byInput(chk["rules"], "input", "findings")[f]
	}
	for _, order := range [][]string{files, reversed} {
		name := "sorted"
		if order[0] != files[0] {
			name = "reversed"
		}
		t.Run(name, func(t *testing.T) {
			got := byInput(runJSON(t, append([]string{"analyze", "--format", "json", "--deterministic"}, order...)...)["connections"], "input", "id")
			chk := runJSON(t, append([]string{"check", "--policy", policy, "--format", "json"}, order...)...)
			gotCheck := byInput(chk["findings"], "input", "conn_id")
			gotRules := byInput(chk["rules"], "input", "findings")
			for _, f := range files {
				if len(alone[f]) == 0 {
					t.Errorf("%s: no connections alone", f)
				}
				if !reflect.DeepEqual(got[f], alone[f]) {
					t.Errorf("analyze %s: records with the other files differ from alone:\n got %v\nwant %v", f, got[f], alone[f])
				}
				if !reflect.DeepEqual(gotCheck[f], aloneCheck[f]) {
					t.Errorf("check %s: findings with the other files differ from alone:\n got %v\nwant %v", f, gotCheck[f], aloneCheck[f])
				}
				if !reflect.DeepEqual(gotRules[f], aloneRules[f]) {
					t.Errorf("check %s: rule results with the other files differ from alone:\n got %v\nwant %v", f, gotRules[f], aloneRules[f])
				}
			}
		})
	}
}

// A capture cut in pieces (tcpdump -C) read with --continuous is one
// capture: its connections carry across the files, whatever order the files
// are named in, and match the uncut capture's records frame for frame.
func TestContinuousJoinsRotatedFiles(t *testing.T) {
	whole := realPcaps + "half-close-with-data.pcap"
	dir := t.TempDir()
	parts := splitPcap(t, whole, dir, 4)
	want := runJSON(t, "analyze", "--format", "json", "--deterministic", whole)["connections"].([]any)
	for _, order := range [][]string{parts, {parts[1], parts[0]}} {
		got := runJSON(t, append([]string{"analyze", "--format", "json", "--deterministic", "--continuous"}, order...)...)["connections"].([]any)
		if len(got) != len(want) {
			t.Fatalf("--continuous %v: %d connections, want %d as the whole capture", order, len(got), len(want))
		}
		for i := range got {
			g, w := got[i].(map[string]any), want[i].(map[string]any)
			if !strings.Contains(g["input"].(string), "+") {
				t.Errorf("input %q does not name the set", g["input"])
			}
			delete(g, "input")
			delete(w, "input")
			if !reflect.DeepEqual(g, w) {
				t.Errorf("--continuous %v:\n got %v\nwant %v", order, g, w)
			}
		}
	}
	// check holds the set to the policy as one trace.
	pol := writePolicy(t, "fail_on: [half_close_stuck, fin_unacked, last_ack_missing, missing_third_ack]\nexpect_per_file: {min_connections: 1}\n")
	chk := runJSON(t, append([]string{"check", "--policy", pol, "--format", "json", "--continuous"}, parts...)...)
	ins := chk["inputs"].([]any)
	if chk["verdict"] != "pass" || len(ins) != 1 || ins[0].(map[string]any)["name"] != parts[0]+"+"+parts[1] {
		t.Errorf("check --continuous: verdict %v, inputs %v; want pass on one input naming both files", chk["verdict"], ins)
	}
	// Without --continuous each piece is its own capture: the connection
	// is cut in two.
	sep := runJSON(t, append([]string{"analyze", "--format", "json", "--deterministic"}, parts...)...)["connections"].([]any)
	if len(sep) != 2 {
		t.Errorf("the pieces read apart: %d connections, want 2", len(sep))
	}
}

// splitPcap writes the first n frames of the pcap src to one file under dir
// and the rest to a second, as tcpdump -C would rotate it, and returns them.
func splitPcap(t *testing.T, src, dir string, n int) []string {
	t.Helper()
	r := openPcap(t, src)
	names := []string{filepath.Join(dir, "trace.pcap"), filepath.Join(dir, "trace.pcap1")}
	var outs []*os.File
	var ws []*pcapgo.Writer
	for _, name := range names {
		o, err := os.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		w := pcapgo.NewWriterNanos(o)
		if err := w.WriteFileHeader(r.Snaplen(), r.LinkType()); err != nil {
			t.Fatal(err)
		}
		outs, ws = append(outs, o), append(ws, w)
	}
	for i := 0; ; i++ {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		w := ws[0]
		if i >= n {
			w = ws[1]
		}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	return names
}

// openPcap opens the pcap src for reading frames, closed with the test.
func openPcap(t *testing.T, src string) *pcapgo.Reader {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
