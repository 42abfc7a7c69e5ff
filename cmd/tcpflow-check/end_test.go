package main

import (
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// pcapngUntil writes the first n frames of the pcap src as a pcapng file
// whose Interface Statistics Block says the capture stopped after later
// than its last frame (dumpcap writes isb_endtime when it stops), and
// returns its name.
func pcapngUntil(t *testing.T, src string, n int, after time.Duration) string {
	t.Helper()
	r := openPcap(t, src)
	name := filepath.Join(t.TempDir(), filepath.Base(src)+"ng")
	o, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	w, err := pcapgo.NewNgWriter(o, r.LinkType())
	if err != nil {
		t.Fatal(err)
	}
	var first, last time.Time
	for i := 0; i < n; i++ {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = ci.Timestamp
		}
		last = ci.Timestamp
		ci.InterfaceIndex = 0
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	end := last.Add(after)
	err = w.WriteInterfaceStats(0, pcapgo.NgInterfaceStatistics{LastUpdate: end, StartTime: first, EndTime: end,
		PacketsReceived: uint64(n), PacketsDropped: 0})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return name
}

// The end of a capture is the latest of its last packet and what the
// source says: a server that sat in CLOSE_WAIT for the 2 s between its ACK
// of the client's FIN and the pcapng's isb_endtime is half_close_stuck of
// 2 s, in analyze as in check, though no packet came in those 2 s.
func TestPcapngEndTime(t *testing.T) {
	// Frames 1-7 of half-close-stuck.pcap: the handshake, a request, the
	// client's FIN (frame 6) and the server's ACK of it (frame 7).
	ng := pcapngUntil(t, realPcaps+"half-close-stuck.pcap", 7, 2*time.Second)
	conns := runJSON(t, "analyze", "--format", "json", ng)["connections"].([]any)
	if len(conns) != 1 {
		t.Fatalf("%d connections, want 1", len(conns))
	}
	c := conns[0].(map[string]any)
	f := findingOf(c, "half_close_stuck")
	if f == nil {
		t.Fatalf("no half_close_stuck: %v", c["findings"])
	}
	if d := f["duration_s"].(float64); d != 2 {
		t.Errorf("half_close_stuck duration_s %v, want 2 (the ACK at frame 7 to isb_endtime)", d)
	}
	if c["server_state"] != "CLOSE_WAIT" || c["client_state"] != "FIN_WAIT_2" {
		t.Errorf("states %v / %v, want FIN_WAIT_2 / CLOSE_WAIT", c["client_state"], c["server_state"])
	}

	doc := runJSON(t, "analyze", "--format", "json", ng)
	if in := doc["inputs"].([]any)[0].(map[string]any); in["capture_stopped"] == nil || in["capture_stopped"] == in["capture_end"] {
		t.Errorf("the input does not say when the capture stopped: %v", in)
	}
	if _, out, _ := runCmd(t, nil, "analyze", ng); !strings.Contains(flat(out), ", stopped 2s after its last packet") {
		t.Errorf("the text header does not say when the capture stopped:\n%s", out)
	}
	pol := writePolicy(t, "fail_on: [half_close_stuck]\n")
	chk := runJSON(t, "check", "--policy", pol, "--format", "json", ng)
	if chk["verdict"] != "fail" {
		t.Fatalf("check verdict %v, want fail", chk["verdict"])
	}
	var got float64 = -1
	for _, it := range chk["findings"].([]any) {
		if m := it.(map[string]any); m["kind"] == "half_close_stuck" {
			got = m["duration_s"].(float64)
		}
	}
	if got != 2 {
		t.Errorf("check: half_close_stuck duration_s %v, want 2", got)
	}

	// The same frames without the statistics block end at frame 7: 0 s.
	short := pcapngUntil(t, realPcaps+"half-close-stuck.pcap", 7, 0)
	c = runJSON(t, "analyze", "--format", "json", short)["connections"].([]any)[0].(map[string]any)
	if f := findingOf(c, "half_close_stuck"); f != nil {
		t.Errorf("ending at its last frame, the capture gives half_close_stuck: %v", f)
	}
}

func findingOf(c map[string]any, kind string) map[string]any {
	fs, _ := c["findings"].([]any)
	for _, it := range fs {
		if m := it.(map[string]any); m["kind"] == kind {
			return m
		}
	}
	return nil
}

// pendingCuts are real captures cut where a condition is still pending:
// the trace of a test that stopped there. Each names the finding a
// finished test's trace must carry, though every one is under its timeout.
var pendingCuts = []struct {
	kind   analyze.Kind
	pcap   string
	frames int
	after  time.Duration // isb_endtime after the last frame kept
	dur    float64       // the finding's duration_s
}{
	// Two SYNs, 1.016 s apart (tshark frame.time_relative), nothing back.
	{analyze.SynUnanswered, "syn-unanswered.pcap", 2, 0, 1.015567},
	// SYN, SYN-ACK (frame 2), the SYN-ACK again 1.005 s later: no ACK.
	{analyze.MissingThirdAck, "missing-third-ack.pcap", 3, 0, 1.00521},
	// The server acknowledged the client's FIN and sat in CLOSE_WAIT for
	// the 0.5 s until the capture stopped.
	{analyze.HalfCloseStuck, "half-close-stuck.pcap", 7, 500 * time.Millisecond, 0.5},
	// The client's FIN, never acknowledged, for the 0.2 s left.
	{analyze.FinUnacked, "normal-close.pcap", 8, 200 * time.Millisecond, 0.2},
	// The server's FIN (acknowledging the client's), and no last ACK.
	{analyze.LastAckMissing, "normal-close.pcap", 9, 200 * time.Millisecond, 0.2},
	// The server advertised window 0 at frame 7, still 0 at frame 8.
	{analyze.ZeroWindowStuck, "zero-window.pcap", 8, 0, 0.212014},
}

// A finished test's trace (Config.FinishedTest, what check sets) makes a
// finding of every condition pending at its end, whatever its duration,
// with evidence saying so; analyze's default keeps the timeouts and calls
// them capture_incomplete.
func TestPendingAtEndFindings(t *testing.T) {
	for _, tc := range pendingCuts {
		t.Run(string(tc.kind), func(t *testing.T) {
			ng := pcapngUntil(t, realPcaps+tc.pcap, tc.frames, tc.after)
			for _, finished := range []bool{true, false} {
				var col recordCollector
				an := analyze.New(&analyze.Config{FinishedTest: finished}, &col)
				if _, err := readInputs(&env{}, []string{ng}, nil, an); err != nil {
					t.Fatal(err)
				}
				if len(col.conns) != 1 {
					t.Fatalf("%d connections", len(col.conns))
				}
				c := col.conns[0]
				var got *analyze.Finding
				for i := range c.Findings {
					if c.Findings[i].Kind == tc.kind {
						got = &c.Findings[i]
					}
				}
				if !finished {
					if got != nil {
						t.Errorf("analyze: %s under its timeout: %+v", tc.kind, got)
					}
					if !slices.ContainsFunc(c.Findings, func(f analyze.Finding) bool { return f.Kind == analyze.CaptureIncomplete }) {
						t.Errorf("analyze: no capture_incomplete: %+v", c.Findings)
					}
					continue
				}
				if got == nil {
					t.Fatalf("finished test: no %s in %+v", tc.kind, c.Findings)
				}
				if d := got.Duration.Seconds(); math.Abs(d-tc.dur) > 1e-6 {
					t.Errorf("duration %.6fs, want %.6fs", d, tc.dur)
				}
				if !strings.Contains(got.Evidence, "still pending when the trace ended") {
					t.Errorf("evidence does not say it was pending at the end: %s", got.Evidence)
				}
			}
		})
	}
}

// analyze keeps the timeouts, but never says "no errors or warnings" over a
// server left in CLOSE_WAIT: the verdict names the connections left
// half-open with both peers' states.
func TestAnalyzeVerdictNamesHalfOpen(t *testing.T) {
	ng := pcapngUntil(t, realPcaps+"half-close-stuck.pcap", 7, 0)
	code, out, _ := runCmd(t, nil, "analyze", ng)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	want := "verdict:    no errors or warnings, but 1 connection left half-open when the capture ended; 1 info in 1 of 1 connection\n" +
		"half-open:  client FIN_WAIT_2 / server CLOSE_WAIT × 1 (#1)\n"
	if !strings.Contains(flat(out), flat(want)) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	// A clean close leaves nothing half-open.
	_, out, _ = runCmd(t, nil, "analyze", realPcaps+"normal-close.pcap")
	if strings.Contains(out, "half-open") {
		t.Errorf("a clean close is called half-open:\n%s", out)
	}
}

// In check, every pending-at-end kind fails the policy listing it, with
// evidence saying it was pending at the end; trace_end: cut turns that off
// for traces cut out of longer captures (the timeouts decide, as in analyze).
func TestCheckPendingAtEnd(t *testing.T) {
	finished := writePolicy(t, "fail_on: [syn_unanswered, missing_third_ack, half_close_stuck, fin_unacked, last_ack_missing, zero_window_stuck]\n")
	cut := writePolicy(t, "fail_on: [syn_unanswered, missing_third_ack, half_close_stuck, fin_unacked, last_ack_missing, zero_window_stuck]\ntrace_end: cut\n")
	for _, tc := range pendingCuts {
		t.Run(string(tc.kind), func(t *testing.T) {
			ng := pcapngUntil(t, realPcaps+tc.pcap, tc.frames, tc.after)
			code, out, errOut := runCmd(t, nil, "check", "--policy", finished, ng)
			want := "FAIL  fail_on: " + string(tc.kind)
			if code != 1 || !strings.Contains(flat(out), flat(want)) || !strings.Contains(flat(out), "still pending when the trace ended") {
				t.Errorf("finished test: exit %d, want 1 with %q and the pending evidence:\n%s%s", code, want, out, errOut)
			}
			if code, out, errOut := runCmd(t, nil, "check", "--policy", cut, ng); code != 0 {
				t.Errorf("trace_end: cut: exit %d, want 0 (under every timeout):\n%s%s", code, out, errOut)
			}
		})
	}
	// A clean close leaves nothing pending.
	if code, out, _ := runCmd(t, nil, "check", "--policy", finished, realPcaps+"normal-close.pcap"); code != 0 {
		t.Errorf("clean close: exit %d\n%s", code, out)
	}
}

// A trace with no packets (tcpdump killed before it wrote its buffer: a
// 24-byte pcap, the header alone) or none with a TCP segment never passes
// check, whatever the policy, and the message says what likely went wrong.
func TestCheckEmptyTrace(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(realPcaps + "normal-close.pcap")
	if err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.pcap")
	if err := os.WriteFile(empty, src[:24], 0o644); err != nil {
		t.Fatal(err)
	}
	udp := filepath.Join(dir, "udp.pcap")
	writeUDPPcap(t, udp)
	pol := writePolicy(t, "fail_on: [syn_unanswered]\n")
	for _, tc := range []struct {
		file string
		want []string
	}{
		{empty, []string{"FAIL  captured: TCP traffic  (built in)", "nothing was captured: the trace holds no packets",
			"-U --immediate-mode", "wrong interface", "filter", "verdict: FAIL"}},
		{udp, []string{"FAIL  captured: TCP traffic", "nothing was captured that could be judged: 1 packet, none of them a TCP segment (non-tcp 1)",
			"filter", "verdict: FAIL"}},
	} {
		code, out, errOut := runCmd(t, nil, "check", "--policy", pol, tc.file)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1\n%s%s", tc.file, code, out, errOut)
		}
		for _, w := range tc.want {
			if !strings.Contains(flat(out), flat(w)) {
				t.Errorf("%s: output lacks %q:\n%s", tc.file, w, out)
			}
		}
		chk := runJSON(t, "check", "--policy", pol, "--format", "json", tc.file)
		if chk["verdict"] != "fail" {
			t.Errorf("%s: json verdict %v", tc.file, chk["verdict"])
		}
		if _, out, _ := runCmd(t, nil, "check", "--policy", pol, "--format", "github", tc.file); !strings.Contains(out, "::error") {
			t.Errorf("%s: no ::error annotation:\n%s", tc.file, out)
		}
	}
	// A trace with traffic passes the same policy.
	if code, out, _ := runCmd(t, nil, "check", "--policy", pol, realPcaps+"normal-close.pcap"); code != 0 {
		t.Errorf("normal-close: exit %d\n%s", code, out)
	}
}

// writeUDPPcap writes a pcap holding one UDP datagram.
func writeUDPPcap(t *testing.T, name string) {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IPv4(192, 0, 2, 1), DstIP: net.IPv4(192, 0, 2, 2)}
	udp := &layers.UDP{SrcPort: 5353, DstPort: 53}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, udp, gopacket.Payload("query")); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1700000000, 0), CaptureLength: len(data), Length: len(data)}, data); err != nil {
		t.Fatal(err)
	}
}

// Real kernel captures of tests whose tcpdump was stopped right after them
// (scripts/record-pcaps.sh close-wait-leak syn-timeout): a server left in
// CLOSE_WAIT and a SYN into an nft DROP whose client gave up after 1 s fail
// the fail_on lists that name them, though no timeout passed; cut out of a
// longer capture (trace_end: cut) they would not.
func TestCheckRealTraceEnds(t *testing.T) {
	for _, tc := range []struct{ pcap, kind, state string }{
		{"close-wait-leak.pcap", "half_close_stuck", "final client FIN_WAIT_2 / server CLOSE_WAIT"},
		{"syn-timeout.pcap", "syn_unanswered", "final client SYN_SENT / server CLOSED"},
	} {
		pol := writePolicy(t, "fail_on: ["+tc.kind+"]\n")
		code, out, errOut := runCmd(t, nil, "check", "--policy", pol, realPcaps+tc.pcap)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1\n%s%s", tc.pcap, code, out, errOut)
		}
		assertInOrder(t, out, "FAIL  fail_on: "+tc.kind, tc.state, "still pending when the trace ended", "verdict: FAIL")
		cut := writePolicy(t, "fail_on: ["+tc.kind+"]\ntrace_end: cut\n")
		if code, out, _ := runCmd(t, nil, "check", "--policy", cut, realPcaps+tc.pcap); code != 0 {
			t.Errorf("%s with trace_end: cut: exit %d\n%s", tc.pcap, code, out)
		}
	}
}

// pcapWithout writes the pcap src without the frames in drop (1-based), as
// a capture that lost them (tcpdump -i any on loopback does), and returns it.
func pcapWithout(t *testing.T, src string, drop ...int) string {
	t.Helper()
	r := openPcap(t, src)
	name := filepath.Join(t.TempDir(), "lost-"+filepath.Base(src))
	o, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	w := pcapgo.NewWriterNanos(o)
	if err := w.WriteFileHeader(r.Snaplen(), r.LinkType()); err != nil {
		t.Fatal(err)
	}
	for i := 1; ; i++ {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return name
		}
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(drop, i) {
			continue
		}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
}

// A FIN the capture lost is proven by the peer's ACK of one more than the
// sender's last byte: the states follow it (the client ends in TIME_WAIT,
// not CLOSE_WAIT), the record notes it, and the clean close fails no gate.
func TestLostFINInferred(t *testing.T) {
	// normal-close.pcap without frame 8, the client's FIN (seq 19): the
	// server's FIN+ACK (ack 20) and the client's last ACK remain.
	lost := pcapWithout(t, realPcaps+"normal-close.pcap", 8)
	c := runJSON(t, "analyze", "--format", "json", lost)["connections"].([]any)[0].(map[string]any)
	if c["client_state"] != "TIME_WAIT" || c["server_state"] != "CLOSED" {
		t.Errorf("states %v / %v, want TIME_WAIT / CLOSED as with the FIN captured", c["client_state"], c["server_state"])
	}
	f := findingOf(c, "capture_incomplete")
	if f == nil || !strings.Contains(f["evidence"].(string), "the client's FIN (seq 19) was not captured: the server's ACK 20 at frame 8 covers one more than the client's last byte") {
		t.Errorf("the record does not note the inferred FIN: %v", c["findings"])
	}
	for _, k := range []string{"half_close_stuck", "fin_unacked", "last_ack_missing", "data_after_fin"} {
		if findingOf(c, k) != nil {
			t.Errorf("%s on a clean close with a lost FIN: %v", k, c["findings"])
		}
	}
	pol := writePolicy(t, "fail_on: [syn_unanswered, missing_third_ack, half_close_stuck, fin_unacked, last_ack_missing, data_after_fin]\n"+
		"fail_on_severity: warning\nexpect_per_file: {max_final_state: {CLOSE_WAIT: 0, FIN_WAIT_1: 0, LAST_ACK: 0}}\n")
	if code, out, _ := runCmd(t, nil, "check", "--policy", pol, lost); code != 0 {
		t.Errorf("check fails a clean close whose FIN the capture lost: exit %d\n%s", code, out)
	}
	if _, out, _ := runCmd(t, nil, "analyze", lost); strings.Contains(out, "half-open") {
		t.Errorf("analyze calls the clean close half-open:\n%s", out)
	}
}
