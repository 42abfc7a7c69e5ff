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

	"github.com/tcpflow-check/tcpflow-check/analyze"
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

// floodHeapBound is what check of a flood may hold at its peak: ConnCost
// for each connection tracked at once, 3 KiB for each connection's
// finding that the verdict keeps (its evidence, frames and record), and
// 64 MiB for the rest (reader buffers, the policy, the runtime).
func floodHeapBound(tracked, conns int) uint64 {
	return uint64(tracked)*uint64(analyze.ConnCost) + uint64(conns)*3<<10 + 64<<20
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
// the check with a rule about the cap, not pass it. (One worker: the counts
// are those of one table; TestWorkersLimitSplit has the cap split.)
func TestCappedFloodFailsCheck(t *testing.T) {
	flood := writeSynFlood(t, 100_000, 10*time.Second)
	pol := starterPolicy(t)

	// The default cap holds every connection: the flood fails on its
	// unanswered SYNs alone. In check every SYN is pending until the trace
	// ends, so all 100,000 are tracked at once.
	var code int
	var out, errOut string
	use := measureHeap(func() { code, out, errOut = runCmd(t, nil, "check", "--policy", pol, "--color", "never", flood) })
	t.Logf("default cap: peak heap %.1f MiB, allocated %.1f MiB", float64(use.peak)/(1<<20), float64(use.allocated)/(1<<20))
	if code != exitViolations || !strings.Contains(out, "FAIL  fail_on: syn_unanswered") || strings.Contains(out, "analysis limit") {
		t.Fatalf("default cap: exit %d, want %d, a failure on syn_unanswered and no limit\n%s%s", code, exitViolations, out, errOut)
	}
	if bound := floodHeapBound(100_000, 100_000); use.peak > bound {
		t.Errorf("default cap: peak heap %d B, want under %d", use.peak, bound)
	}

	use = measureHeap(func() {
		code, out, errOut = runCmd(t, nil, "check", "--policy", pol, "--workers", "1", "--max-conns", "1000", "--color", "never", flood)
	})
	t.Logf("--max-conns 1000: peak heap %.1f MiB, allocated %.1f MiB", float64(use.peak)/(1<<20), float64(use.allocated)/(1<<20))
	if code != exitViolations {
		t.Fatalf("exit %d, want %d (fail)\n%s%s", code, exitViolations, out, errOut)
	}
	want := "99000 connection(s) ended early because the connection table was full (--max-conns 1000): their analysis is incomplete, so the trace cannot pass; raise --max-conns"
	if !strings.Contains(flat(out), want) {
		t.Errorf("check output lacks %q:\n%s", want, out)
	}
	if !strings.Contains(out, "FAIL  analysis limit: --max-conns  (built in)") || strings.Contains(out, "PASS") {
		t.Errorf("a capped flood passes:\n%s", out)
	}
	if bound := floodHeapBound(1000, 100_000); use.peak > bound {
		t.Errorf("--max-conns 1000: peak heap %d B, want under %d", use.peak, bound)
	}

	// The records say why each connection ended, and none claims the
	// capture ended; the summary counts them. (A tenth of the flood and of
	// the cap, to keep the output small.)
	flood = writeSynFlood(t, 10_000, 10*time.Second)
	code, out, errOut = runCmd(t, nil, "analyze", "--format", "jsonl", "--workers", "1", "--max-conns", "100", flood)
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
			if f.Kind == "tracking_limit" && f.Severity == "warning" && strings.Contains(f.Evidence, "--max-conns 100)") &&
				strings.Contains(f.Evidence, "after the first SYN, before the handshake timeout") {
				limited++
			}
		}
	}
	if cut != 9_900 || limited != cut {
		t.Errorf("%d records ended by the cap, %d with their tracking_limit finding; want 9900 each", cut, limited)
	}
	if sum.CapHit != 9_900 || sum.Evicted != 9_900 || sum.MemoryHit != 0 || sum.Idle != 0 {
		t.Errorf("summary counts %+v, want evicted = cap_hit = 9900", sum)
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

// TestMemoryBudgetFailsCheck: a flood beyond --max-memory ends the idlest
// connections for want of memory, and check fails naming the budget (one
// worker: one budget, not shares of it).
func TestMemoryBudgetFailsCheck(t *testing.T) {
	flood := writeSynFlood(t, 2000, 10*time.Second)
	code, out, errOut := runCmd(t, nil, "check", "--policy", starterPolicy(t), "--workers", "1", "--max-memory", "1MiB", "--color", "never", flood)
	if code != exitViolations {
		t.Fatalf("exit %d, want %d\n%s%s", code, exitViolations, out, errOut)
	}
	if !strings.Contains(out, "FAIL  analysis limit: --max-memory  (built in)") ||
		!strings.Contains(flat(out), "ended early because the memory budget was spent (--max-memory 1 MiB): their analysis is incomplete, so the trace cannot pass; raise --max-memory") {
		t.Errorf("check output lacks the memory rule:\n%s", out)
	}
	code, out, _ = runCmd(t, nil, "analyze", "--format", "json", "--workers", "1", "--max-memory", "1MiB", flood)
	var doc struct {
		Summary struct {
			Evicted   uint64 `json:"evicted"`
			MemoryHit uint64 `json:"memory_hit"`
			MaxOpen   int    `json:"max_open"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 {
		t.Fatalf("analyze: exit %d, %v", code, err)
	}
	// 1 MiB holds 1 MiB / analyze.ConnCost connections.
	s, fit := doc.Summary, int(1<<20/analyze.ConnCost)
	if s.MemoryHit == 0 || s.Evicted != s.MemoryHit || s.MaxOpen > fit {
		t.Errorf("summary %+v: want connections ended by the budget and at most %d open", s, fit)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"2GiB": 2 << 30, "512MiB": 512 << 20, "64KiB": 64 << 10, "1G": 1e9, "300M": 300e6,
		"1.5GiB": 3 << 29, "4096": 4096, "4096B": 4096, "none": 0, "0": 0, " 2 GiB ": 2 << 30} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "lots", "-1G", "1PiB0", "2 GB of RAM"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
	code, _, errOut := runCmd(t, nil, "analyze", "--max-memory", "lots", "x.pcap")
	if code != exitError || !strings.Contains(errOut, `--max-memory: "lots" is not a size`) {
		t.Errorf("exit %d, %q: want a usage error", code, errOut)
	}
}

// TestDefaultMaxMemory: half of MemAvailable, or of the cgroup's limit when
// that is smaller; nothing when neither is known.
func TestDefaultMaxMemory(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	saved := memoryFiles
	t.Cleanup(func() { memoryFiles = saved })
	meminfo := write("meminfo", "MemTotal:       24000000 kB\nMemFree:         1000000 kB\nMemAvailable:    8388608 kB\n")
	for _, c := range []struct {
		name           string
		cg2, cg1       string
		want           int64
		missingMeminfo bool
	}{
		{name: "meminfo", cg2: "max\n", want: 4 << 30},
		{name: "cgroup2", cg2: "2147483648\n", want: 1 << 30},
		{name: "cgroup1", cg1: "1073741824\n", want: 512 << 20},
		{name: "cgroup1-unlimited", cg1: "9223372036854771712\n", want: 4 << 30},
		{name: "cgroup-larger", cg2: "17179869184\n", want: 4 << 30},
		{name: "nothing", missingMeminfo: true, want: 0},
	} {
		memoryFiles.meminfo, memoryFiles.cgroup2, memoryFiles.cgroup1 = meminfo, filepath.Join(dir, "none2"), filepath.Join(dir, "none1")
		if c.missingMeminfo {
			memoryFiles.meminfo = filepath.Join(dir, "none")
		}
		if c.cg2 != "" {
			memoryFiles.cgroup2 = write(c.name+"-2", c.cg2)
		}
		if c.cg1 != "" {
			memoryFiles.cgroup1 = write(c.name+"-1", c.cg1)
		}
		if got := defaultMaxMemory(); got != c.want {
			t.Errorf("%s: default %d, want %d", c.name, got, c.want)
		}
	}
	memoryFiles = saved
	if real := defaultMaxMemory(); real <= 0 {
		t.Errorf("this machine's default budget is %d", real)
	} else {
		t.Logf("default --max-memory here: %s", sizeText(real))
	}
}
