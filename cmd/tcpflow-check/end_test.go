package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

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
