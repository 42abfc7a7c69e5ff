package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/ipfrag"
	"github.com/tcpflow-check/tcpflow-check/internal/pcapgen"
	"github.com/tcpflow-check/tcpflow-check/report"
)

// fragmentedCapture writes a normal connection, IPv4 or IPv6, whose 3000-byte
// response travels in three IP fragments sent last first, followed by the
// first fragment of a datagram whose rest never comes; with whole, every
// packet is sent unfragmented instead. It returns the file's path.
func fragmentedCapture(t *testing.T, v6, whole bool) string {
	t.Helper()
	client, server := pcapgen.CraftedClient, pcapgen.CraftedServer
	if v6 {
		client, server = pcapgen.CraftedClient6, pcapgen.CraftedServer6
	}
	c := pcapgen.NewConv(client, server, 1000, 5000, pcapgen.CraftedStart)
	c.Normal(100, 3000)
	var buf bytes.Buffer
	w, err := pcapgen.NewWriter(&buf, pcapgen.Format{}, pcapgen.Ethernet)
	if err != nil {
		t.Fatal(err)
	}
	var fr pcapgen.Framer
	off := pcapgen.Ethernet.IPOffset()
	for i := range c.Segs {
		s := &c.Segs[i]
		f, err := fr.Frame(pcapgen.Ethernet, s)
		if err != nil {
			t.Fatal(err)
		}
		pieces := [][]byte{f}
		if s.Len == 3000 && !whole {
			if pieces, err = ipfrag.Split(f, off, 1400, 77); err != nil {
				t.Fatal(err)
			}
			pieces[0], pieces[len(pieces)-1] = pieces[len(pieces)-1], pieces[0]
		}
		for _, p := range pieces {
			if err := w.WriteFrame(0, s.Time, p, len(p)); err != nil {
				t.Fatal(err)
			}
		}
		if i == len(c.Segs)-1 && !whole {
			orphan, err := ipfrag.Split(f, off, 8, 78)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.WriteFrame(0, s.Time, orphan[0], len(orphan[0])); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	name := "whole.pcap"
	if !whole {
		name = "fragmented.pcap"
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestFragmentsEveryFormat reads a connection whose response came in IP
// fragments: it is analyzed as the same connection sent whole, and every
// output format says what reassembly did.
func TestFragmentsEveryFormat(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		frag, whole := fragmentedCapture(t, v6, false), fragmentedCapture(t, v6, true)
		var docs [2]struct {
			Connections []map[string]any `json:"connections"`
			Inputs      []report.InputRecord
			Summary     report.SummaryRecord
		}
		for i, path := range []string{frag, whole} {
			code, out, errs := runCmd(t, nil, "analyze", "--format", "json", path)
			if code != 0 {
				t.Fatalf("analyze %s: exit %d: %s", path, code, errs)
			}
			if err := json.Unmarshal([]byte(out), &docs[i]); err != nil {
				t.Fatal(err)
			}
		}
		fc, wc := docs[0].Connections, docs[1].Connections
		if len(fc) != 1 || len(wc) != 1 {
			t.Fatalf("v6 %v: %d and %d connections, want 1 and 1", v6, len(fc), len(wc))
		}
		for _, k := range []string{"client", "server", "conn_state", "history", "client_state", "server_state", "client_bytes", "server_bytes", "packets", "findings"} {
			if a, b := jsonOf(t, fc[0][k]), jsonOf(t, wc[0][k]); a != b {
				t.Errorf("v6 %v: %s is %s fragmented, %s whole", v6, k, a, b)
			}
		}
		if fc[0]["history"] != "ShADadFf" || fc[0]["conn_state"] != "SF" {
			t.Errorf("v6 %v: %v %v, want SF ShADadFf", v6, fc[0]["conn_state"], fc[0]["history"])
		}
		// The response is the 6th segment; its fragments are frames 6-8,
		// and it is analyzed at frame 8; the orphan is frame 13.
		want := capture.FragmentStats{Fragments: 4, Reassembled: 1, Unfinished: 1, UnfinishedFrame: 13}
		if got := docs[0].Summary.IPFragments; got == nil || *got != want {
			t.Errorf("v6 %v: summary ip_fragments %+v, want %+v", v6, got, want)
		}
		if got := docs[0].Inputs[0].IPFragments; got == nil || *got != want {
			t.Errorf("v6 %v: input ip_fragments %+v, want %+v", v6, got, want)
		}
		if got := docs[1].Summary.IPFragments; got != nil {
			t.Errorf("v6 %v: ip_fragments %+v in a capture without fragments", v6, got)
		}
		if got := docs[0].Summary.Skipped["fragment"]; got != 3 {
			t.Errorf("v6 %v: %d frames skipped as fragment, want 3", v6, got)
		}
		for _, format := range []string{"text", "jsonl", "yaml", "html"} {
			code, out, errs := runCmd(t, nil, "analyze", "--format", format, frag)
			if code != 0 {
				t.Fatalf("--format %s: exit %d: %s", format, code, errs)
			}
			wantText := map[string]string{
				"text":  "fragments:  4 IP fragments, 1 datagram reassembled; given up: 1 unfinished at the end (the first at frame 13)",
				"jsonl": `"ip_fragments":{"fragments":4,"reassembled":1,`,
				"yaml":  "ip_fragments:\n",
				"html":  "fragments: 4 IP fragments, 1 datagram reassembled; given up: 1 unfinished at the end (the first at frame 13)",
			}[format]
			if !strings.Contains(flat(out), flat(wantText)) { // text is wrapped at the width
				t.Errorf("v6 %v: --format %s does not say %q", v6, format, wantText)
			}
		}
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestFragmentLimitFailsCheck: a trace in which reassembly had to give up
// datagrams at its limit (1100 first fragments that never get the rest,
// beside a normal connection) never passes check, whatever the policy;
// analyze says so in its summary.
func TestFragmentLimitFailsCheck(t *testing.T) {
	c := pcapgen.NewConv(pcapgen.CraftedClient, pcapgen.CraftedServer, 1000, 5000, pcapgen.CraftedStart)
	c.Normal(100, 3000)
	var buf bytes.Buffer
	w, err := pcapgen.NewWriter(&buf, pcapgen.Format{}, pcapgen.Ethernet)
	if err != nil {
		t.Fatal(err)
	}
	var fr pcapgen.Framer
	for i := range c.Segs {
		s := &c.Segs[i]
		f, err := fr.Frame(pcapgen.Ethernet, s)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteFrame(0, s.Time, f, len(f)); err != nil {
			t.Fatal(err)
		}
		if s.Len == 3000 {
			for id := range uint32(1100) {
				pieces, err := ipfrag.Split(f, pcapgen.Ethernet.IPOffset(), 1400, id)
				if err != nil {
					t.Fatal(err)
				}
				if err := w.WriteFrame(0, s.Time, pieces[0], len(pieces[0])); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "fragment-flood.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd(t, nil, "check", "--policy", starterPolicy(t), "--color", "never", path)
	if code != exitViolations {
		t.Fatalf("exit %d, want %d (fail)\n%s%s", code, exitViolations, out, errOut)
	}
	want := "76 IP datagram(s) given up unassembled to stay within 1024 datagrams and 16 MiB held (the first at frame 7)"
	if !strings.Contains(flat(out), want) || !strings.Contains(out, "FAIL  analysis limit: IP fragment reassembly  (built in)") {
		t.Errorf("check output lacks the fragment limit rule (%q):\n%s", want, out)
	}
	_, out, _ = runCmd(t, nil, "analyze", "--color", "never", path)
	if want := "given up: 76 at the reassembly limit (the first at frame 7), 1024 unfinished at the end (the first at frame 83)"; !strings.Contains(flat(out), want) {
		t.Errorf("analyze does not say %q:\n%s", want, out)
	}
}

// TestFragmentsZeekRow: the GTP trace whose outer IP packets come in
// fragments gives, through --format zeek, Zeek's whole conn.log row
// (Baseline/core.tunnels.gtp.outer_ip_frag) but the uids: the bytes and
// packets of the reassembled datagrams, the gaps of the 4 datagrams whose
// last fragment is missing, and one tunnel parent.
func TestFragmentsZeekRow(t *testing.T) {
	pcap := filepath.Join(corpusDir(), "pcaps", "zeek", "tunnels__gtp__gtp1_gn_normal_incl_fragmentation.pcap")
	if _, err := os.Stat(pcap); err != nil {
		t.Skipf("corpus not present: %v", err)
	}
	rows := zeekRows(t, pcap)
	if len(rows) == 1 && rows[0]["tunnel_parents"] != "-" && !strings.Contains(rows[0]["tunnel_parents"], ",") {
		rows[0]["tunnel_parents"] = "one"
	}
	wantRows(t, rows, []map[string]string{{
		"id.orig_h": "10.131.47.185", "id.orig_p": "1923", "id.resp_h": "79.101.110.141", "id.resp_p": "80",
		"duration": "0.069783", "orig_bytes": "2100", "resp_bytes": "56702", "conn_state": "SF", "missed_bytes": "5760",
		"history": "ShADadfgF", "orig_pkts": "27", "resp_pkts": "41", "tunnel_parents": "one",
	}})
}
