package main

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/pcapgen"
)

// ladderNotes returns the notes ("[...]") of the ladder's rows by frame.
func ladderNotes(t *testing.T, pcap string) map[string]string {
	t.Helper()
	code, out, errOut := runCmd(t, nil, "ladder", "--conn", "1", "--color", "never", pcap)
	if code != 0 {
		t.Fatalf("ladder %s: exit %d: %s", pcap, code, errOut)
	}
	notes := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		i, j := strings.LastIndex(l, "["), strings.LastIndex(l, "]")
		if len(f) > 0 && strings.Contains(l, "│") && i >= 0 && j > i {
			notes[f[0]] = l[i+1 : j]
		}
	}
	return notes
}

// TestZeroWindowProbes: the Linux stack's probes of a zero window (no
// byte, seq SND.UNA-1, in the recorded zero-window.pcap) are named
// zero-window probes; its keep-alives, the same shape into an open window
// (keep-alive.pcap), stay keep-alives.
func TestZeroWindowProbes(t *testing.T) {
	probes := ladderNotes(t, "../../testdata/pcaps/real/zero-window.pcap")
	for _, frame := range []string{"8", "10", "11", "13", "15"} {
		if probes[frame] != "zero-window probe" {
			t.Errorf("zero-window.pcap frame %s is [%s], want [zero-window probe]", frame, probes[frame])
		}
	}
	for frame, note := range probes {
		if note == "keep-alive" {
			t.Errorf("zero-window.pcap frame %s is still a keep-alive", frame)
		}
	}
	keep := ladderNotes(t, "../../testdata/pcaps/real/keep-alive.pcap")
	n := 0
	for frame, note := range keep {
		if note != "keep-alive" {
			t.Errorf("keep-alive.pcap frame %s is [%s], want [keep-alive]", frame, note)
		}
		n++
	}
	if n < 3 {
		t.Errorf("keep-alive.pcap: %d keep-alives, want 3 at least: %v", n, keep)
	}
	// The timeline in JSON carries the same note.
	_, out, _ := runCmd(t, nil, "analyze", "--timeline", "--format", "json", "../../testdata/pcaps/real/zero-window.pcap")
	if !strings.Contains(out, `"note":"zero-window probe"`) && !strings.Contains(out, `"note": "zero-window probe"`) {
		t.Error("the JSON timeline does not name the zero-window probes")
	}
}

// TestZeroWindowProbeNewByte: the probe BSD and Windows send, one new
// byte at SND.NXT into a zero window (Wireshark's "TCP ZeroWindowProbe"),
// and its repeats are named probes, never retransmissions; the byte is
// counted once as data.
func TestZeroWindowProbeNewByte(t *testing.T) {
	c := pcapgen.NewConv(netip.MustParseAddrPort("192.0.2.1:40000"), netip.MustParseAddrPort("192.0.2.2:80"),
		1000, 5000, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c.Handshake()                            // frames 1-3
	c.C(capture.PSH|capture.ACK, 1, 1, 100)  // 4
	c.S(capture.ACK, 1, 101, 0).Window = 0   // 5: the window shuts
	c.Wait(200 * time.Millisecond)           //
	c.C(capture.ACK, 101, 1, 1)              // 6: a probe of the next byte
	c.S(capture.ACK, 1, 101, 0).Window = 0   // 7
	c.Wait(400 * time.Millisecond)           //
	c.C(capture.ACK, 101, 1, 1)              // 8: the same probe again
	c.S(capture.ACK, 1, 101, 0).Window = 0   // 9
	c.Wait(100 * time.Millisecond)           //
	c.S(capture.ACK, 1, 101, 0)              // 10: the window opens
	c.C(capture.PSH|capture.ACK, 101, 1, 50) // 11: data resumes with the probed byte
	c.S(capture.ACK, 1, 151, 0)              // 12
	c.C(capture.ACK, 150, 1, 0)              // 13: a keep-alive into the open window
	c.C(capture.FIN|capture.ACK, 151, 1, 0)  // 14
	c.S(capture.FIN|capture.ACK, 1, 152, 0)  // 15
	c.C(capture.ACK, 152, 2, 0)              // 16
	path := filepath.Join(t.TempDir(), "zwp-bsd.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := pcapgen.Write(f, pcapgen.Format{}, pcapgen.Ethernet, c.Segs); err != nil {
		t.Fatal(err)
	}
	f.Close()
	notes := ladderNotes(t, path)
	for frame, want := range map[string]string{"6": "zero-window probe", "8": "zero-window probe", "13": "keep-alive"} {
		if notes[frame] != want {
			t.Errorf("frame %s is [%s], want [%s] (all: %v)", frame, notes[frame], want, notes)
		}
	}
	for frame, note := range notes {
		if note == "retransmission" {
			t.Errorf("frame %s is a retransmission", frame)
		}
	}
	_, out, _ := runCmd(t, nil, "analyze", "--format", "json", path)
	if !strings.Contains(out, `"client_bytes":150`) && !strings.Contains(out, `"client_bytes": 150`) {
		t.Errorf("the probed byte is not counted once: want client_bytes 150:\n%s", out)
	}
}
