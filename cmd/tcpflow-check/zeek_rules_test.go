package main

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/pcapgen"
)

// Zeek's rules, each shown on a crafted capture read through the CLI as a
// user would: analyze --format zeek, then the conn.log read by its #fields.

// zeekClient and zeekServer are endpoints whose ports are in no likely
// server list, so Zeek's first-packet flip stays out of the way.
var (
	zeekClient = netip.MustParseAddrPort("192.0.2.1:40000")
	zeekServer = netip.MustParseAddrPort("192.0.2.2:5555")
)

// frameEdit changes frame i (0-based) of a capture after it was built.
type frameEdit func(i int, frame []byte) []byte

// writeFrames writes segs as an Ethernet pcap in dir, each frame passed
// through edit, and returns its path.
func writeFrames(t *testing.T, name string, segs []capture.Segment, edit frameEdit) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapgen.NewWriter(&buf, pcapgen.Format{}, pcapgen.Ethernet)
	if err != nil {
		t.Fatal(err)
	}
	var f pcapgen.Framer
	for i := range segs {
		b, err := f.Frame(pcapgen.Ethernet, &segs[i])
		if err != nil {
			t.Fatal(err)
		}
		b = append([]byte(nil), b...)
		n := len(b)
		if edit != nil {
			b = edit(i, b)
		}
		if err := w.WriteFrame(0, segs[i].Time, b, max(n, len(b))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// zeekRows runs analyze --format zeek (with extra flags) on path and
// returns its records as column → value maps, in the order written.
func zeekRows(t *testing.T, path string, flags ...string) []map[string]string {
	t.Helper()
	var out, errb bytes.Buffer
	args := append(append([]string{"analyze", "--format", "zeek"}, flags...), path)
	if code := run(args, strings.NewReader(""), &out, &errb); code != exitOK {
		t.Fatalf("analyze exited %d: %s", code, errb.String())
	}
	var cols []string
	var rows []map[string]string
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		p := strings.Split(line, "\t")
		if p[0] == "#fields" {
			cols = p[1:]
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		row := map[string]string{}
		for i, c := range cols {
			if i < len(p) {
				row[c] = p[i]
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// wantRows compares rows with want, field by field where want names one.
func wantRows(t *testing.T, rows []map[string]string, want []map[string]string) {
	t.Helper()
	if len(rows) != len(want) {
		t.Fatalf("%d conn.log records, want %d: %v", len(rows), len(want), rows)
	}
	for i := range want {
		for k, v := range want[i] {
			if rows[i][k] != v {
				t.Errorf("record %d: %s = %q, want %q (record %v)", i+1, k, rows[i][k], v, rows[i])
			}
		}
	}
}

// badTCPChecksum flips a payload-free bit of the TCP checksum field.
func badTCPChecksum(frame []byte) []byte {
	frame[14+20+16] ^= 0x5a
	return frame
}

// badIPv4Checksum breaks the IPv4 header checksum.
func badIPv4Checksum(frame []byte) []byte {
	frame[14+10] ^= 0x5a
	return frame
}

// Zeek finds (or makes) the connection and runs its reuse test before it
// checks the TCP checksum: a bad-checksum segment adds only its 'c'. The
// capture is a host's own traffic with TCP checksum offload: every segment
// the client sends has a bad checksum. The SYN makes Zeek's first
// connection, alone ("C", OTH, no packets counted); the SYN-ACK, whose
// sequence number that connection never saw, starts a second one with the
// server as originator, and since a 'c' follows it, no flip. A bad IPv4
// header checksum (the last ACK) drops the frame before any of that.
func TestZeekBadChecksums(t *testing.T) {
	c := pcapgen.NewConv(zeekClient, zeekServer, 1000, 5000, pcapgen.CraftedStart)
	c.Handshake()
	c.Exchange(1, 1, 100, 200)
	c.CloseClientFirst(101, 201)
	last := len(c.Segs) - 1
	path := writeFrames(t, "bad-checksums.pcap", c.Segs, func(i int, f []byte) []byte {
		switch {
		case i == last:
			return badIPv4Checksum(f)
		case c.Segs[i].Src == zeekClient:
			return badTCPChecksum(f)
		}
		return f
	})
	wantRows(t, zeekRows(t, path, "--verify-checksums"), []map[string]string{
		{"id.orig_h": "192.0.2.1", "id.orig_p": "40000", "history": "C", "conn_state": "OTH", "orig_pkts": "0", "resp_pkts": "0", "orig_ip_bytes": "0"},
		{"id.orig_h": "192.0.2.2", "id.orig_p": "5555", "history": "HcADF", "conn_state": "SH",
			"orig_pkts": "4", "resp_pkts": "0", "resp_ip_bytes": "0", "missed_bytes": "0"},
	})
	// Without verification every segment counts: one ordinary connection.
	wantRows(t, zeekRows(t, path), []map[string]string{
		{"id.orig_h": "192.0.2.1", "history": "ShADadFf", "conn_state": "SF", "orig_pkts": "6", "resp_pkts": "4"},
	})
	// The analyzer's own records ignore bad-checksum segments: the
	// client was never seen, so there is one connection, from the SYN-ACK.
	var out, errb bytes.Buffer
	if code := run([]string{"analyze", "--format", "jsonl", "--verify-checksums", path}, strings.NewReader(""), &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if n := strings.Count(out.String(), `"type":"connection"`); n != 1 {
		t.Errorf("%d connection records, want 1:\n%s", n, out.String())
	}
}

// A conn.log record ends when Zeek's timers remove the connection, and the
// next packet on the tuple starts a new one: here the attempt timer (a SYN
// unanswered for tcp_attempt_delay, 5 s: the SYN is retransmitted 6 s
// later, same ISN) and the close delay (tcp_close_delay, 5 s after both
// sides closed: a last ACK retransmitted 7 s after the close). Zeek logs
// three records; the analyzer's own records follow the TCP connection:
// one.
func TestZeekRecordBoundaries(t *testing.T) {
	c := pcapgen.NewConv(zeekClient, zeekServer, 1000, 5000, pcapgen.CraftedStart)
	c.C(capture.SYN, 0, 0, 0)
	c.Wait(6 * time.Second)
	c.Normal(100, 200)
	c.Wait(7 * time.Second)
	c.C(capture.ACK, 102, 202, 0)
	path := writeFrames(t, "boundaries.pcap", c.Segs, nil)
	wantRows(t, zeekRows(t, path), []map[string]string{
		{"id.orig_h": "192.0.2.1", "history": "S", "conn_state": "S0", "orig_pkts": "1", "duration": "-"},
		{"id.orig_h": "192.0.2.1", "history": "ShADadFf", "conn_state": "SF", "orig_pkts": "6", "resp_pkts": "4",
			"orig_bytes": "100", "resp_bytes": "200", "duration": "0.008000"},
		{"id.orig_h": "192.0.2.1", "history": "A", "conn_state": "OTH", "orig_pkts": "1", "resp_pkts": "0"},
	})
	var out, errb bytes.Buffer
	if code := run([]string{"analyze", "--format", "jsonl", path}, strings.NewReader(""), &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if n := strings.Count(out.String(), `"type":"connection"`); n != 1 {
		t.Errorf("%d connection records, want 1 (one TCP connection):\n%s", n, out.String())
	}
}

// Payload the snap length cut off is not delivered to Zeek's reassembler
// (TCP_Endpoint::DataSent is given only what was captured), so the acks
// that cover it reveal content gaps: 'g' for each side, and missed_bytes
// counts them. In the capture every frame with payload keeps its Ethernet,
// IPv4 and TCP headers and no payload byte (the SYNs, whose options a snap
// length of 54 would also cut, are kept whole: TestZeekTruncatedTCPHeader).
func TestZeekSnapLength(t *testing.T) {
	c := pcapgen.NewConv(zeekClient, zeekServer, 1000, 5000, pcapgen.CraftedStart)
	c.Normal(100, 1000)
	path := writeFrames(t, "snap54.pcap", c.Segs, func(i int, f []byte) []byte {
		if c.Segs[i].Len == 0 {
			return f
		}
		return f[:14+20+20]
	})
	wantRows(t, zeekRows(t, path), []map[string]string{
		{"history": "ShADaGdgFf", "conn_state": "SF", "missed_bytes": "1100", "orig_bytes": "100", "resp_bytes": "1000",
			// IP lengths as the headers give them: SYN 52, ACKs and FIN 40, data 40+payload.
			"orig_ip_bytes": "352", "resp_ip_bytes": "1172"},
	})
	// Captured whole, the same connection has no gap.
	full := writeFrames(t, "full.pcap", c.Segs, nil)
	wantRows(t, zeekRows(t, full), []map[string]string{{"history": "ShADadFf", "missed_bytes": "0"}})
}

// A TCP header whose data offset points past the captured bytes (options
// cut off): Zeek makes the connection (its first-packet rules apply) but
// processes nothing of the segment — no history letter, no packet counted,
// OTH. The analyzer still reads flags and numbers from the fixed header.
func TestZeekTruncatedTCPHeader(t *testing.T) {
	c := pcapgen.NewConv(zeekClient, zeekServer, 1000, 5000, pcapgen.CraftedStart)
	c.S(capture.SYN|capture.ACK, 0, 1, 0) // carries MSS, window scale and SACK-permitted options
	path := writeFrames(t, "cut-options.pcap", c.Segs, func(i int, f []byte) []byte {
		return f[:14+20+20+4] // the fixed header and the MSS option
	})
	wantRows(t, zeekRows(t, path), []map[string]string{
		{"id.orig_h": "192.0.2.2", "id.orig_p": "5555", "history": "-", "conn_state": "OTH", "orig_pkts": "0", "resp_pkts": "0"},
	})
	var out, errb bytes.Buffer
	if code := run([]string{"analyze", "--format", "jsonl", path}, strings.NewReader(""), &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), `"synack_count":1`) {
		t.Errorf("the analyzer lost the SYN-ACK:\n%s", out.String())
	}
}
