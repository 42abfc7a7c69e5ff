package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tcpflow-check/tcpflow-check/analyze"
)

func TestNewWriterFormats(t *testing.T) {
	if got, want := Formats(), []string{"text", "json", "jsonl", "yaml", "zeek", "html"}; !slices.Equal(got, want) {
		t.Errorf("Formats() = %v, want %v", got, want)
	}
	for _, f := range append(Formats(), "") {
		w, err := NewWriter(f, &bytes.Buffer{}, nil)
		if err != nil || w == nil {
			t.Errorf("NewWriter(%q) = %v, %v", f, w, err)
		}
	}
	_, err := NewWriter("xml", &bytes.Buffer{}, nil)
	if err == nil {
		t.Fatal("NewWriter(xml) succeeded")
	}
	for _, f := range Formats() {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not list %q", err, f)
		}
	}
}

// keys returns m's keys, sorted.
func keys(m map[string]any) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

func sorted(s ...string) []string { sort.Strings(s); return s }

// docs/design.md §5 field names, which are a contract.
var (
	recordFields = sorted("type", "id", "input", "client", "server", "first_frame", "last_frame", "start",
		"duration_s", "client_state", "server_state", "conn_state", "history", "handshake", "client_bytes",
		"server_bytes", "packets", "findings", "midstream", "roles_guessed")
	handshakeFields = sorted("complete", "rtt_s", "syn_count", "synack_count", "mss", "wscale", "sack")
	findingFields   = sorted("kind", "severity", "frames", "time", "duration_s", "evidence", "by")
	stepFields      = sorted("frame", "time", "dir", "flags", "seq", "ack", "len", "win", "client_state",
		"server_state", "note")
	summaryFields = sorted("packets", "bytes", "segments", "connections", "by_conn_state", "by_kind",
		"handshake_rtt", "skipped", "link_types", "encapsulations", "bad_checksum", "evicted", "cap_hit",
		"max_open", "capture_start", "capture_end", "elapsed_s")
)

func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, b)
	}
	return m
}

func TestJSONDocument(t *testing.T) {
	out := render(t, "json", &Options{Timeline: true}, allConns(), testSummary())
	doc := decodeJSON(t, out)
	if got, want := keys(doc), sorted("schema", "connections", "inputs", "summary"); !slices.Equal(got, want) {
		t.Fatalf("top-level keys %v, want %v", got, want)
	}
	if doc["schema"] != "tcpflow-check/v1" {
		t.Errorf("schema = %v", doc["schema"])
	}
	conns := doc["connections"].([]any)
	if len(conns) != 5 {
		t.Fatalf("%d connections, want 5", len(conns))
	}

	clean := conns[0].(map[string]any)
	// The clean connection has every optional field but duration_s/by in findings.
	if got, want := keys(clean), sorted(append(recordFields, "timeline")...); !slices.Equal(got, want) {
		t.Errorf("record keys %v, want %v", got, want)
	}
	hs := clean["handshake"].(map[string]any)
	if got := keys(hs); !slices.Equal(got, handshakeFields) {
		t.Errorf("handshake keys %v, want %v", got, handshakeFields)
	}
	for k, want := range map[string]any{
		"type": "connection", "id": 1.0, "input": "trace.pcap", "client": "10.0.0.1:41234",
		"server": "10.0.0.2:80", "first_frame": 1.0, "last_frame": 10.0,
		"start": "2026-11-21T10:00:00.000123Z", "duration_s": 0.0125,
		"client_state": "TIME_WAIT", "server_state": "CLOSED", "conn_state": "SF", "history": "ShADadFf",
		"client_bytes": 120.0, "server_bytes": 4096.0,
	} {
		if clean[k] != want {
			t.Errorf("clean[%q] = %v, want %v", k, clean[k], want)
		}
	}
	if !reflect.DeepEqual(clean["packets"], []any{6.0, 4.0}) {
		t.Errorf("packets = %v", clean["packets"])
	}
	if hs["rtt_s"] != 0.000231 || hs["complete"] != true || !reflect.DeepEqual(hs["mss"], []any{1460.0, 1460.0}) {
		t.Errorf("handshake = %v", hs)
	}
	if f := clean["findings"].([]any); len(f) != 0 {
		t.Errorf("clean findings = %v, want []", f)
	}
	tl := clean["timeline"].([]any)
	if len(tl) != 10 {
		t.Fatalf("timeline has %d steps, want 10", len(tl))
	}
	s1 := tl[1].(map[string]any)
	if got, want := keys(s1), slices.DeleteFunc(slices.Clone(stepFields), func(s string) bool { return s == "note" }); !slices.Equal(got, want) {
		t.Errorf("step keys %v, want %v", got, want)
	}
	if s1["dir"] != "s>c" || s1["flags"] != "S." || s1["ack"] != 1.0 || s1["client_state"] != "ESTABLISHED" ||
		s1["server_state"] != "SYN_RCVD" || s1["time"] != "2026-11-21T10:00:00.000323Z" {
		t.Errorf("step 2 = %v", s1)
	}

	// A refused connection: no RTT, a finding without duration.
	ref := conns[1].(map[string]any)
	if _, ok := ref["handshake"].(map[string]any)["rtt_s"]; ok {
		t.Error("rtt_s present for a handshake that never completed")
	}
	if !reflect.DeepEqual(ref["handshake"].(map[string]any)["mss"], []any{1460.0, nil}) {
		t.Errorf("mss = %v, want [1460 null]", ref["handshake"].(map[string]any)["mss"])
	}
	f := ref["findings"].([]any)[0].(map[string]any)
	if got, want := keys(f), sorted("kind", "severity", "frames", "time", "evidence", "by"); !slices.Equal(got, want) {
		t.Errorf("finding keys %v, want %v", got, want)
	}
	if f["kind"] != "connection_refused" || f["severity"] != "warning" || f["by"] != "server" ||
		!reflect.DeepEqual(f["frames"], []any{11.0, 12.0}) {
		t.Errorf("finding = %v", f)
	}

	// Several findings, one with a duration and one without "by".
	leak := conns[2].(map[string]any)["findings"].([]any)
	if len(leak) != 3 {
		t.Fatalf("leak has %d findings, want 3", len(leak))
	}
	hc := leak[1].(map[string]any)
	if got := keys(hc); !slices.Equal(got, findingFields) {
		t.Errorf("finding keys %v, want %v", got, findingFields)
	}
	if hc["duration_s"] != 3.19 || hc["kind"] != "half_close_stuck" || hc["time"] != "2026-11-21T10:00:01.040123Z" {
		t.Errorf("half_close_stuck = %v", hc)
	}
	if _, ok := leak[2].(map[string]any)["by"]; ok {
		t.Error(`"by" present though the finding has none`)
	}

	// IPv6 in brackets.
	v6 := conns[3].(map[string]any)
	if v6["client"] != "[2001:db8::1]:50000" || v6["server"] != "[2001:db8::2]:443" || v6["midstream"] != true {
		t.Errorf("v6 = %v %v midstream %v", v6["client"], v6["server"], v6["midstream"])
	}

	sum := doc["summary"].(map[string]any)
	if got := keys(sum); !slices.Equal(got, summaryFields) {
		t.Errorf("summary keys %v, want %v", got, summaryFields)
	}
	if sum["connections"] != 5.0 || sum["elapsed_s"] != 1.234 || sum["packets"] != 31.0 {
		t.Errorf("summary = %v", sum)
	}
	if !reflect.DeepEqual(sum["by_conn_state"], map[string]any{"SF": 1.0, "REJ": 1.0, "S2": 1.0, "RSTR": 1.0, "S0": 1.0}) {
		t.Errorf("by_conn_state = %v", sum["by_conn_state"])
	}
	rtt := sum["handshake_rtt"].(map[string]any)
	if got, want := keys(rtt), sorted("count", "min_s", "p50_s", "p90_s", "p99_s", "max_s"); !slices.Equal(got, want) {
		t.Errorf("handshake_rtt keys %v, want %v", got, want)
	}
	if rtt["count"] != 2.0 || rtt["min_s"] != 0.000231 || rtt["max_s"] != 0.0011 {
		t.Errorf("handshake_rtt = %v", rtt)
	}
	in := doc["inputs"].([]any)[0].(map[string]any)
	if in["name"] != "trace.pcap" || in["packets"] != 31.0 {
		t.Errorf("input = %v", in)
	}
}

func TestJSONNoElapsed(t *testing.T) {
	for _, format := range []string{"json", "jsonl", "yaml", "text"} {
		with := render(t, format, nil, nil, testSummary())
		without := render(t, format, &Options{NoElapsed: true}, nil, testSummary())
		for _, c := range []struct {
			out  []byte
			want bool
		}{{with, true}, {without, false}} {
			got := bytes.Contains(c.out, []byte("elapsed_s")) || bytes.Contains(c.out, []byte("analyzed in 1.23s"))
			if got != c.want {
				t.Errorf("%s: elapsed shown = %v, want %v:\n%s", format, got, c.want, c.out)
			}
		}
	}
}

// The summary's analyzer counters win over the writer's own tally.
func TestSummaryAnalysisWins(t *testing.T) {
	s := testSummary()
	s.Analysis.Connections = 9
	s.Analysis.ByConnState = map[string]uint64{"SF": 9}
	s.Analysis.ByKind = map[analyze.Kind]uint64{analyze.Reset: 2}
	s.Analysis.HandshakeRTT.Observe(5 * time.Millisecond)
	s.Analysis.Evicted, s.Analysis.CapHit = 1, 2
	s.Capture.Dropped = 7
	sum := decodeJSON(t, render(t, "json", nil, allConns(), s))["summary"].(map[string]any)
	if sum["connections"] != 9.0 || !reflect.DeepEqual(sum["by_conn_state"], map[string]any{"SF": 9.0}) ||
		!reflect.DeepEqual(sum["by_kind"], map[string]any{"reset": 2.0}) || sum["evicted"] != 1.0 ||
		sum["cap_hit"] != 2.0 || sum["dropped"] != 7.0 {
		t.Errorf("summary = %v", sum)
	}
	if rtt := sum["handshake_rtt"].(map[string]any); rtt["count"] != 1.0 || rtt["max_s"] != 0.005 {
		t.Errorf("handshake_rtt = %v", rtt)
	}
}

// Records are written as connections end, not held until Close.
func TestStreaming(t *testing.T) {
	for _, format := range []string{"json", "jsonl", "yaml", "zeek"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := NewWriter(format, &buf, nil)
			if err != nil {
				t.Fatal(err)
			}
			if buf.Len() != 0 {
				t.Errorf("NewWriter wrote %q before any connection", buf.String())
			}
			endConn(w, cleanConn())
			if !strings.Contains(buf.String(), "10.0.0.1") {
				t.Fatalf("after End, output lacks the record:\n%s", buf.String())
			}
			n := buf.Len()
			endConn(w, refusedConn())
			if buf.Len() == n || !strings.Contains(buf.String()[n:], "10.0.0.2") {
				t.Errorf("second End wrote %q", buf.String()[n:])
			}
			if err := w.Close(testSummary()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestJSONL(t *testing.T) {
	out := render(t, "jsonl", &Options{NoElapsed: true, Timeline: true}, allConns(), testSummary())
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d lines, want 5 connections + 1 summary:\n%s", len(lines), out)
	}
	for i, line := range lines {
		m := decodeJSON(t, []byte(line))
		want := "connection"
		if i == len(lines)-1 {
			want = "summary"
		}
		if m["type"] != want {
			t.Errorf("line %d type = %v, want %s", i+1, m["type"], want)
		}
		if want == "connection" {
			if m["id"] != float64(i+1) {
				t.Errorf("line %d id = %v", i+1, m["id"])
			}
			continue
		}
		wantKeys := slices.DeleteFunc(sorted(append(summaryFields, "type", "schema", "inputs")...),
			func(s string) bool { return s == "elapsed_s" })
		if got := keys(m); !slices.Equal(got, wantKeys) {
			t.Errorf("summary keys %v, want %v", got, wantKeys)
		}
		if m["schema"] != Schema || m["connections"] != 5.0 {
			t.Errorf("summary = %v", m)
		}
	}
}

// normalize turns YAML- or JSON-decoded values into JSON's vocabulary, so
// that the two documents compare equal when they say the same thing.
func normalize(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("re-encoding %T: %v", v, err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestYAMLMatchesJSON(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  *Options
		conns []*analyze.Conn
	}{
		{"all", nil, allConns()},
		{"timeline", &Options{Timeline: true}, allConns()},
		{"none", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSummary()
			s.Inputs = append(s.Inputs, Input{Name: "bad.pcap", Err: errors.New("capture: bad.pcap: frame 3: truncated\nsecond line")})
			j := render(t, "json", tc.opts, tc.conns, s)
			y := render(t, "yaml", tc.opts, tc.conns, s)
			var fromJSON, fromYAML any
			if err := json.Unmarshal(j, &fromJSON); err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal(y, &fromYAML); err != nil {
				t.Fatalf("yaml: %v\n%s", err, y)
			}
			if a, b := normalize(t, fromJSON), normalize(t, fromYAML); !reflect.DeepEqual(a, b) {
				ja, _ := json.MarshalIndent(a, "", " ")
				jb, _ := json.MarshalIndent(b, "", " ")
				t.Errorf("yaml and json differ (-json +yaml):\n%s", lineDiff(string(ja), string(jb)))
			}
		})
	}
}

// zeekCut reads a conn.log as zeek-cut does: by the #fields header. It
// checks that every record line has as many columns as #fields.
func zeekCut(t *testing.T, log []byte) (header map[string]string, rows []map[string]string) {
	t.Helper()
	header = make(map[string]string)
	var fields []string
	sc := bufio.NewScanner(bytes.NewReader(log))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#separator ") {
			header["separator"] = strings.TrimPrefix(line, "#separator ")
			continue
		}
		if strings.HasPrefix(line, "#") {
			k, v, _ := strings.Cut(line[1:], "\t")
			header[k] = v
			if k == "fields" {
				fields = strings.Split(v, "\t")
			}
			continue
		}
		if fields == nil {
			t.Fatalf("line %d: record before #fields", n)
		}
		cols := strings.Split(line, "\t")
		if len(cols) != len(fields) {
			t.Fatalf("line %d: %d columns, #fields has %d: %q", n, len(cols), len(fields), line)
		}
		row := make(map[string]string, len(cols))
		for i, c := range cols {
			if c == "" {
				t.Errorf("line %d: column %s is empty (Zeek writes %q or %q)", n, fields[i], zeekUnset, zeekEmpty)
			}
			row[fields[i]] = c
		}
		rows = append(rows, row)
	}
	return header, rows
}

func TestZeek(t *testing.T) {
	single := cleanConn()
	single.ID = 62*62 + 1 // "C101"
	single.End = single.Start
	out := render(t, "zeek", nil, append(allConns(), single), testSummary())
	header, rows := zeekCut(t, out)
	for k, want := range map[string]string{
		"separator":     `\x09`,
		"set_separator": ",",
		"empty_field":   "(empty)",
		"unset_field":   "-",
		"path":          "conn",
		"open":          "2026-11-21-10-00-00",
		"close":         "2026-11-21-10-00-04",
		"types":         "time\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]",
		"fields":        "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents",
	} {
		if header[k] != want {
			t.Errorf("#%s = %q, want %q", k, header[k], want)
		}
	}
	if len(rows) != 6 {
		t.Fatalf("%d rows, want 6", len(rows))
	}
	want := []map[string]string{
		{"ts": "1795255200.000123", "uid": "C1", "id.orig_h": "10.0.0.1", "id.orig_p": "41234", "id.resp_h": "10.0.0.2",
			"id.resp_p": "80", "proto": "tcp", "duration": "0.012500", "orig_bytes": "120", "resp_bytes": "4096",
			"conn_state": "SF", "history": "ShADadFf", "orig_pkts": "6", "resp_pkts": "4", "orig_ip_bytes": "240", "resp_ip_bytes": "160",
			"missed_bytes": "0", "tunnel_parents": "-"},
		{"uid": "C2", "conn_state": "REJ", "history": "Sr", "duration": "0.000100"},
		{"id.orig_h": "2001:db8::1", "id.resp_h": "2001:db8::2", "id.resp_p": "443", "conn_state": "RSTR", "history": "^DdR"},
		// Zero duration: duration and bytes unset, as Zeek does.
		{"uid": "C101", "duration": "-", "orig_bytes": "-", "resp_bytes": "-"},
	}
	for i, row := range []map[string]string{rows[0], rows[1], rows[3], rows[5]} {
		for k, v := range want[i] {
			if row[k] != v {
				t.Errorf("row %s: %s = %q, want %q", row["uid"], k, row[k], v)
			}
		}
	}
	if got := time.Unix(1795255200, 0).UTC(); !got.Equal(t0.Truncate(time.Second)) {
		t.Errorf("epoch 1795255200 is %v, want %v", got, t0)
	}
}

func TestZeekString(t *testing.T) {
	for in, want := range map[string]string{
		"":         "-",
		"-":        `\x2d`,
		"(empty)":  `\x28empty)`,
		"ShADadFf": "ShADadFf",
		"a\tb\nc":  `a\x09b\x0ac`,
		`a\b`:      `a\x5cb`,
	} {
		if got := string(zeekString(nil, in)); got != want {
			t.Errorf("zeekString(%q) = %q, want %q", in, got, want)
		}
	}
	for n, want := range map[uint64]string{0: "0", 61: "z", 62: "10", 3845: "101"} {
		if got := string(base62(nil, n)); got != want {
			t.Errorf("base62(%d) = %q, want %q", n, got, want)
		}
	}
}

// errWriter fails after n successful writes.
type errWriter struct {
	n     int
	calls int
}

var errDisk = errors.New("disk full")

func (w *errWriter) Write(p []byte) (int, error) {
	w.calls++
	if w.calls > w.n {
		return 0, errDisk
	}
	return len(p), nil
}

func TestWriteErrorReturnedByClose(t *testing.T) {
	for _, format := range Formats() {
		t.Run(format, func(t *testing.T) {
			ew := &errWriter{n: 1} // the first record goes out, then the disk fills
			if format == "text" || format == "html" {
				ew.n = 0 // text and html write once, at Close
			}
			w, _ := NewWriter(format, ew, nil)
			for _, c := range allConns() {
				endConn(w, c)
			}
			if err := w.Close(testSummary()); !errors.Is(err, errDisk) {
				t.Errorf("Close = %v, want %v", err, errDisk)
			}
			if ew.calls > ew.n+1 {
				t.Errorf("%d writes, want none after the failing one", ew.calls)
			}
		})
	}
}

func TestFormatTime(t *testing.T) {
	for _, tc := range []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 11, 21, 10, 0, 0, 123000, time.UTC), "2026-11-21T10:00:00.000123Z"},
		{time.Date(2026, 11, 21, 10, 0, 0, 123456789, time.UTC), "2026-11-21T10:00:00.123456789Z"},
		{time.Date(2026, 11, 21, 11, 0, 0, 0, time.FixedZone("CET", 3600)), "2026-11-21T10:00:00.000000Z"},
	} {
		if got := formatTime(tc.in); got != tc.want {
			t.Errorf("formatTime(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A record with nothing in it (the zero Conn) must not break any writer:
// output stays well-formed.
func TestZeroConn(t *testing.T) {
	zero := &analyze.Conn{Findings: []analyze.Finding{{Kind: "new_kind_from_the_future"}}}
	for _, format := range Formats() {
		out := render(t, format, &Options{Timeline: true}, []*analyze.Conn{zero}, nil)
		switch format {
		case "json":
			decodeJSON(t, out)
		case "jsonl":
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				decodeJSON(t, []byte(l))
			}
		case "yaml":
			var m map[string]any
			if err := yaml.Unmarshal(out, &m); err != nil {
				t.Errorf("yaml: %v", err)
			}
		case "zeek":
			_, rows := zeekCut(t, out)
			if len(rows) != 1 || rows[0]["id.orig_h"] != "-" || rows[0]["ts"] != "-" {
				t.Errorf("zeek rows = %v", rows)
			}
		case "text":
			if !strings.Contains(string(out), "info    new_kind_from_the_future × 1\n") {
				t.Errorf("unknown kind not shown:\n%s", out)
			}
		}
	}
	var buf bytes.Buffer
	if err := Ladder(&buf, zero, nil); err != nil || !strings.Contains(buf.String(), "no timeline recorded") {
		t.Errorf("Ladder(zero) = %v:\n%s", err, buf.String())
	}
}
