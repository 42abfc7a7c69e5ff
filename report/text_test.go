package report

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/internal/human"
)

// incident is a typical bad day: a capture from a test run where a server
// leaks CLOSE_WAIT connections, a port is closed, and one host is down.
func incident() []*analyze.Conn {
	var conns []*analyze.Conn
	id := uint64(0)
	add := func(c *analyze.Conn, n int) {
		for range n {
			id++
			c2 := *c
			c2.ID = id
			c2.Client = netip.AddrPortFrom(c.Client.Addr(), uint16(40000+id))
			conns = append(conns, &c2)
		}
	}
	add(cleanConn(), 30)
	add(leakConn(), 14)
	add(refusedConn(), 3)
	add(unansweredConn(), 1)
	add(v6Conn(), 2)
	return conns
}

func textOf(t *testing.T, opts *Options, conns []*analyze.Conn, s *Summary) string {
	t.Helper()
	return string(render(t, "text", opts, conns, s))
}

func TestTextIncident(t *testing.T) {
	s := testSummary()
	s.Capture.Dropped = 2
	s.Analysis.Evicted, s.Analysis.IdleEvicted = 1, 1
	out := textOf(t, &Options{NoElapsed: true}, incident(), s)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) > 40 {
		t.Errorf("%d lines, want one screen (≤ 40):\n%s", len(lines), out)
	}
	for _, want := range []string{
		"tcpflow-check  trace.pcap: 31 packets, 50 TCP connections, 2026-11-21 10:00:00.000123 → 10:00:04.300123 UTC (4.3s)",
		"verdict:    15 errors, 5 warnings, 30 info in 20 of 50 connections",
		"conn_state: SF 30 · S2 14 · REJ 3 · RSTR 2 · S0 1",
		"dropped:    2 by the kernel, 0 by the interface",
		"ended early: 1 idle, 0 at the connection cap",
		"error   half_close_stuck × 14 — one side's FIN was acknowledged",
		"  #31  10.0.0.1:40031 → 10.0.0.3:5432  frames 20,21 · by server · lasted 3.19s · final client FIN_WAIT_2 / server CLOSE_WAIT",
		"      client FIN (frame 20) acknowledged by frame 21; server sent no FIN for 3.190s",
		"  #33  10.0.0.1:40033 → 10.0.0.3:5432",
		"  … and 11 more",
		"; 15 connections left half-open when the capture ended\nhalf-open:  client FIN_WAIT_2 / server CLOSE_WAIT × 14 (#31, #32, #33 …) · client SYN_SENT / server CLOSED × 1 (#48)\n",
		"error   syn_unanswered × 1",
		"warning connection_refused × 3 — RST answering a SYN: nobody listening\n  #45  10.0.0.1:40045 → 10.0.0.2:8080  frames 11,12 · by server · final client CLOSED / server CLOSED\n      RST,ACK ack 1 = ISN_c+1 answers the SYN 0.1ms later: port 8080 closed\n  #46",
		"\ninfo    capture_incomplete × 14 — acks of data never captured, gaps, or the capture ending mid-teardown · e.g. #31, #32, #33 …\ninfo    syn_retransmitted × 14 — the same SYN sent again · e.g. #31, #32, #33 …\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Worst first, then by count.
	order := []string{"half_close_stuck ×", "syn_unanswered ×", "connection_refused ×", "reset ×",
		"capture_incomplete ×", "syn_retransmitted ×", "midstream ×"}
	last := -1
	for _, k := range order {
		i := strings.Index(out, k)
		if i < last {
			t.Errorf("%q out of order:\n%s", k, out)
		}
		last = i
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colour without Options.Color")
	}
	// With MaxExamples set, it is the cap whatever the screen.
	out = textOf(t, &Options{NoElapsed: true, MaxExamples: 10}, incident(), s)
	if !strings.Contains(out, "  #40  10.0.0.1:40040") || strings.Contains(out, "#41 ") || !strings.Contains(out, "  … and 4 more") {
		t.Errorf("MaxExamples 10 does not show exactly 10 half_close_stuck examples:\n%s", out)
	}
}

func TestTextMaxExamplesBoundsMemory(t *testing.T) {
	var buf strings.Builder
	w, _ := NewWriter("text", &buf, &Options{MaxExamples: 3, NoElapsed: true})
	for i := range 1000 {
		c := leakConn()
		c.ID = uint64(i + 1)
		w.End(c)
	}
	tw := w.(*textWriter)
	for k, g := range tw.groups {
		if len(g.examples) > 3 {
			t.Errorf("%s keeps %d examples, want ≤ 3", k, len(g.examples))
		}
	}
	if err := w.Close(nil); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if n := strings.Count(out, "10.0.0.3:5432"); n != 3 {
		t.Errorf("%d examples shown, want 3 (info kinds are one line):\n%s", n, out)
	}
	if !strings.Contains(out, "half_close_stuck × 1000") || !strings.Contains(out, "… and 997 more") {
		t.Errorf("counts wrong:\n%s", out)
	}
}

func TestTextNoFindings(t *testing.T) {
	out := textOf(t, &Options{NoElapsed: true}, []*analyze.Conn{cleanConn(), cleanConn()}, testSummary())
	if !strings.Contains(out, "verdict:    no findings — nothing wrong in 2 connections") {
		t.Errorf("no clear all-clear:\n%s", out)
	}
	if strings.Contains(out, "×") {
		t.Errorf("finding groups without findings:\n%s", out)
	}
	out = textOf(t, nil, nil, &Summary{Inputs: []Input{{Name: "udp.pcap"}}})
	if !strings.Contains(out, "no TCP connections") {
		t.Errorf("empty capture not called out:\n%s", out)
	}
}

func TestTextColor(t *testing.T) {
	out := textOf(t, &Options{Color: true}, allConns(), testSummary())
	for _, want := range []string{"\x1b[1;31merror  \x1b[0m", "\x1b[33mwarning\x1b[0m", "\x1b[36minfo   \x1b[0m",
		"\x1b[1mhalf_close_stuck\x1b[0m"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%q", want, out)
		}
	}
}

func TestTextManyInputs(t *testing.T) {
	a, b := refusedConn(), refusedConn()
	b.Input, b.ID = "other.pcap", 9
	s := testSummary()
	s.Inputs = append(s.Inputs, Input{Name: "other.pcap"})
	out := textOf(t, nil, []*analyze.Conn{a, b}, s)
	if !strings.Contains(out, "  #2 trace.pcap  10.0.0.1") || !strings.Contains(out, "  #9 other.pcap  10.0.0.1") {
		t.Errorf("examples do not name their input:\n%s", out)
	}
	if !strings.Contains(out, "tcpflow-check  trace.pcap, other.pcap:") {
		t.Errorf("header does not name the inputs:\n%s", out)
	}
}

// TestTextWidthWraps: with a width, no line of the text output is wider,
// colour or not, and evidence continues under a hanging indent.
func TestTextWidthWraps(t *testing.T) {
	for _, color := range []bool{false, true} {
		out := textOf(t, &Options{Width: 60, Color: color}, []*analyze.Conn{leakConn(), refusedConn()}, testSummary())
		hanging := false
		for _, line := range strings.Split(out, "\n") {
			if n := human.Columns(line); n > 60 {
				t.Errorf("color %v: a line of %d columns, want ≤ 60: %q", color, n, line)
			}
			if strings.HasPrefix(line, "        ") && !strings.HasPrefix(line, "         ") {
				hanging = true
			}
		}
		if !hanging || !strings.Contains(out, "server sat in") {
			t.Errorf("color %v: no evidence continued under a hanging indent:\n%s", color, out)
		}
		if unwrapped := textOf(t, &Options{Color: color}, []*analyze.Conn{leakConn(), refusedConn()}, testSummary()); strings.Join(strings.Fields(unwrapped), " ") != strings.Join(strings.Fields(out), " ") {
			t.Errorf("color %v: wrapping changed the words:\n%s\nunwrapped:\n%s", color, out, unwrapped)
		}
	}
}

func TestLive(t *testing.T) {
	out := textOf(t, &Options{Live: true, NoElapsed: true}, []*analyze.Conn{leakConn()}, testSummary())
	want := "10:00:01.040123 error   half_close_stuck  #3  10.0.0.1:41240 → 10.0.0.3:5432  frames 20,21 · by server · lasted 3.19s: client FIN (frame 20) acknowledged by frame 21;"
	if !strings.HasPrefix(strings.Split(out, "\n")[1], want) {
		t.Errorf("live line 2 is not %q:\n%s", want, out)
	}
	if !strings.Contains(out, "\n\ntcpflow-check  trace.pcap") {
		t.Errorf("summary not set apart after live lines:\n%s", out)
	}
	if out := textOf(t, nil, []*analyze.Conn{leakConn()}, testSummary()); !strings.HasPrefix(out, "tcpflow-check") {
		t.Errorf("findings printed early without Live:\n%s", out)
	}

	jl := string(render(t, "jsonl", &Options{Live: true, NoElapsed: true}, []*analyze.Conn{leakConn()}, testSummary()))
	lines := strings.Split(strings.TrimSpace(jl), "\n")
	if len(lines) != 3+1+1 {
		t.Fatalf("%d jsonl lines, want 3 findings + 1 connection + 1 summary:\n%s", len(lines), jl)
	}
	f := decodeJSON(t, []byte(lines[1]))
	if f["type"] != "finding" || f["id"] != 3.0 || f["kind"] != "half_close_stuck" || f["duration_s"] != 3.19 ||
		f["client"] != "10.0.0.1:41240" || f["by"] != "server" {
		t.Errorf("finding line = %v", f)
	}
	if c := decodeJSON(t, []byte(lines[3])); c["type"] != "connection" {
		t.Errorf("line 4 = %v, want the connection", c)
	}
}

func TestTextManyDamagedInputs(t *testing.T) {
	s := testSummary()
	for i := range 5 {
		s.Inputs = append(s.Inputs, Input{Name: fmt.Sprintf("bad%d.pcap", i), Err: errTruncated})
	}
	out := textOf(t, nil, nil, s)
	if n := strings.Count(out, "input error: "); n != 3 || !strings.Contains(out, "  … and 2 more damaged inputs\n") {
		t.Errorf("%d input errors named, want 3 and a count:\n%s", n, out)
	}
}

// A frame dropped for a bad IPv4 header checksum counts in Skipped and in
// BadChecksum; a segment read with a bad TCP checksum in BadChecksum only.
// Each is said once, for what it is.
func TestTextBadChecksums(t *testing.T) {
	s := testSummary()
	s.Capture.Skipped = map[string]uint64{"bad checksum": 1}
	s.Capture.BadChecksum = 7
	out := textOf(t, &Options{NoElapsed: true}, []*analyze.Conn{cleanConn()}, s)
	if !strings.Contains(out, "skipped:    bad checksum 1\n") {
		t.Errorf("the dropped frame is not counted once:\n%s", out)
	}
	if !strings.Contains(out, "checksums:  6 segments with a bad TCP checksum") {
		t.Errorf("the segments read with a bad TCP checksum are not named:\n%s", out)
	}
	s.Capture.BadChecksum = 1
	if out := textOf(t, &Options{NoElapsed: true}, []*analyze.Conn{cleanConn()}, s); strings.Contains(out, "checksums:") {
		t.Errorf("no segment had a bad TCP checksum, yet:\n%s", out)
	}
}
