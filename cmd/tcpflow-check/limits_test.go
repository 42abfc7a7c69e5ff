package main

import (
	"bufio"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/pcapgen"
)

// writeSynFlood writes n SYNs from distinct clients to one server, spread
// over span, and returns the file.
func writeSynFlood(t *testing.T, n int, span time.Duration) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "flood.pcap")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := pcapgen.NewWriter(f, pcapgen.Format{}, pcapgen.Ethernet)
	if err != nil {
		t.Fatal(err)
	}
	server := netip.MustParseAddrPort("198.19.0.1:80")
	step := span / time.Duration(n)
	for i := range n {
		seg := capture.Segment{Time: pcapgen.CraftedStart.Add(time.Duration(i) * step), Src: pcapgen.SyntheticClient(i), Dst: server,
			Flags: capture.SYN, Seq: uint32(i) * 7919, Window: 64240}
		if err := w.WriteSegment(0, &seg); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

func starterPolicy(t *testing.T) string {
	t.Helper()
	code, out, errOut := runCmd(t, nil, "policy", "init")
	if code != 0 {
		t.Fatalf("policy init: exit %d: %s", code, errOut)
	}
	p := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCappedFloodFailsCheck is issue 13's repro: 100,000 SYNs over 10 s
// held to the starter policy with --max-conns 1000. The cap ends 99,000
// connections before their SYN could be judged unanswered; that must fail
// the check with a rule about the cap, not pass it.
func TestCappedFloodFailsCheck(t *testing.T) {
	flood := writeSynFlood(t, 100_000, 10*time.Second)
	pol := starterPolicy(t)
	code, out, errOut := runCmd(t, nil, "check", "--policy", pol, "--max-conns", "1000", "--color", "never", flood)
	if code != exitViolations {
		t.Fatalf("exit %d, want %d (fail)\n%s%s", code, exitViolations, out, errOut)
	}
	want := "99000 connection(s) ended early because the connection table was full (--max-conns 1000): their analysis is incomplete, so the trace cannot pass; raise --max-conns"
	if !strings.Contains(out, want) {
		t.Errorf("check output lacks %q:\n%s", want, out)
	}
	if !strings.Contains(out, "FAIL  analysis limit: --max-conns  (built in)") || strings.Contains(out, "PASS") {
		t.Errorf("a capped flood passes:\n%s", out)
	}

	// The records say why each connection ended, and none claims the
	// capture ended; the summary counts them.
	code, out, errOut = runCmd(t, nil, "analyze", "--format", "jsonl", "--max-conns", "1000", flood)
	if code != 0 {
		t.Fatalf("analyze: exit %d: %s", code, errOut)
	}
	var cut, limited int
	var sum struct {
		Evicted   uint64 `json:"evicted"`
		CapHit    uint64 `json:"cap_hit"`
		MemoryHit uint64 `json:"memory_hit"`
		Idle      uint64 `json:"idle_evicted"`
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var rec struct {
			Type       string `json:"type"`
			EndedEarly string `json:"ended_early"`
			Findings   []struct {
				Kind     string `json:"kind"`
				Severity string `json:"severity"`
				Evidence string `json:"evidence"`
			} `json:"findings"`
		}
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Type == "summary" {
			if err := json.Unmarshal(line, &sum); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if rec.EndedEarly == "" {
			continue
		}
		cut++
		if rec.EndedEarly != "max_conns" {
			t.Fatalf("ended_early %q, want max_conns", rec.EndedEarly)
		}
		for _, f := range rec.Findings {
			if strings.Contains(f.Evidence, "capture ended") || f.Kind == "capture_incomplete" {
				t.Fatalf("a connection ended by the cap claims the capture ended: %+v", f)
			}
			if f.Kind == "tracking_limit" && f.Severity == "warning" && strings.Contains(f.Evidence, "--max-conns 1000") &&
				strings.Contains(f.Evidence, "after the first SYN, before the handshake timeout") {
				limited++
			}
		}
	}
	if cut != 99_000 || limited != cut {
		t.Errorf("%d records ended by the cap, %d with their tracking_limit finding; want 99000 each", cut, limited)
	}
	if sum.CapHit != 99_000 || sum.Evicted != 99_000 || sum.MemoryHit != 0 || sum.Idle != 0 {
		t.Errorf("summary counts %+v, want evicted = cap_hit = 99000", sum)
	}
}

// TestUncappedFloodNoLimit: the same flood, small enough for the default
// cap, ends no connection early and fails on syn_unanswered alone.
func TestUncappedFloodNoLimit(t *testing.T) {
	flood := writeSynFlood(t, 2000, 10*time.Second)
	code, out, _ := runCmd(t, nil, "check", "--policy", starterPolicy(t), "--color", "never", flood)
	if code != exitViolations || !strings.Contains(out, "syn_unanswered") || strings.Contains(out, "analysis limit") {
		t.Errorf("exit %d, want a failure on syn_unanswered and no limit:\n%s", code, out)
	}
}
