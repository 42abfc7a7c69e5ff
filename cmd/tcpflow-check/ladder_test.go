package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/pcapgen"
)

// writeConvs writes n connections, 10 ms apart, each built by conv(i, c),
// then one complete connection 10 s after the last, so that every earlier
// one is judged before the capture ends, and returns the file.
func writeConvs(t *testing.T, n int, conv func(i int, c *pcapgen.Conv)) string {
	t.Helper()
	server := netip.MustParseAddrPort("198.19.0.1:80")
	var segs []capture.Segment
	at := pcapgen.CraftedStart
	for i := range n {
		c := pcapgen.NewConv(pcapgen.SyntheticClient(i), server, uint32(i)*7919, 1e9+uint32(i)*104729, at)
		conv(i, c)
		segs = append(segs, c.Segs...)
		at = at.Add(10 * time.Millisecond)
	}
	last := pcapgen.NewConv(pcapgen.SyntheticClient(n), server, 1, 2, at.Add(10*time.Second))
	last.Normal(10, 10)
	segs = append(segs, last.Segs...)
	p := filepath.Join(t.TempDir(), "convs.pcap")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pcapgen.Write(f, pcapgen.Format{}, pcapgen.Ethernet, segs); err != nil {
		t.Fatal(err)
	}
	return p
}

// mixedFindings makes connection i a missing third ACK, an unanswered SYN
// or a refusal, by i mod 3, so that how bad a connection's finding is
// does not follow its id.
func mixedFindings(i int, c *pcapgen.Conv) {
	c.C(capture.SYN, 0, 0, 0)
	switch i % 3 {
	case 0:
		c.S(capture.SYN|capture.ACK, 0, 1, 0)
	case 2:
		c.S(capture.RST|capture.ACK, 0, 1, 0)
	}
}

// drawOrder is the order ladder must draw the connections with findings
// in, computed from analyze's records: the worst finding first, then the
// lower id.
func drawOrder(t *testing.T, pcap string) []uint64 {
	t.Helper()
	code, out, errOut := runCmd(t, nil, "analyze", "--format", "jsonl", pcap)
	if code != 0 {
		t.Fatalf("analyze: exit %d: %s", code, errOut)
	}
	rank := map[string]int{"info": 1, "warning": 2, "error": 3}
	type conn struct {
		id    uint64
		worst int
	}
	var conns []conn
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec struct {
			Type     string `json:"type"`
			ID       uint64 `json:"id"`
			Findings []struct {
				Severity string `json:"severity"`
			} `json:"findings"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Type != "connection" || len(rec.Findings) == 0 {
			continue
		}
		c := conn{id: rec.ID}
		for _, f := range rec.Findings {
			if rank[f.Severity] == 0 {
				t.Fatalf("connection %d: unknown severity %q", rec.ID, f.Severity)
			}
			c.worst = max(c.worst, rank[f.Severity])
		}
		conns = append(conns, c)
	}
	slices.SortFunc(conns, func(x, y conn) int {
		if x.worst != y.worst {
			return y.worst - x.worst
		}
		return int(x.id) - int(y.id)
	})
	ids := make([]uint64, len(conns))
	for i, c := range conns {
		ids[i] = c.id
	}
	return ids
}

var ladderHeader = regexp.MustCompile(`(?m)^connection #(\d+) `)

// drawn returns the ids of the connections a ladder output drew, in order.
func drawn(t *testing.T, out string) []uint64 {
	t.Helper()
	var ids []uint64
	for _, m := range ladderHeader.FindAllStringSubmatch(out, -1) {
		id, err := strconv.ParseUint(m[1], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// ladder draws the --max worst connections, in the order a full sort of
// analyze's records gives, and says how many with findings it left out.
func TestLadderMaxWorstFirst(t *testing.T) {
	const n = 40
	pcap := writeConvs(t, n, mixedFindings)
	want := drawOrder(t, pcap)
	if len(want) != n {
		t.Fatalf("analyze: %d connections with findings, want %d", len(want), n)
	}
	if slices.IsSorted(want) {
		t.Fatalf("the capture's findings are as bad in id order (%v): the test would not see a wrong order", want)
	}
	for _, max := range []int{1, 3, 7, n - 1, n, 2 * n} {
		code, out, errOut := runCmd(t, nil, "ladder", "--color", "never", "--max", fmt.Sprint(max), pcap)
		if code != 0 {
			t.Fatalf("--max %d: exit %d: %s", max, code, errOut)
		}
		k := min(max, n)
		if got := drawn(t, out); !slices.Equal(got, want[:k]) {
			t.Errorf("--max %d drew %v, want %v", max, got, want[:k])
		}
		notice := fmt.Sprintf("… and %d more connections with findings, not drawn (--max %d)", n-k, max)
		if n-k == 1 {
			notice = fmt.Sprintf("… and 1 more connection with findings, not drawn (--max %d)", max)
		}
		if has := strings.Contains(out, notice); has != (k < n) {
			t.Errorf("--max %d: notice %q shown %v, want %v:\n%s", max, notice, has, k < n, out)
		}
		if k == n && strings.Contains(out, "not drawn") {
			t.Errorf("--max %d drew every connection but says some were not:\n%s", max, out)
		}
	}
}

// A capture without findings lists its connections, at most 1000
// of them, and says how many more there are.
func TestLadderListBounded(t *testing.T) {
	for _, n := range []int{6, 1000, 1000 + 7} {
		pcap := writeConvs(t, n, func(_ int, c *pcapgen.Conv) { c.Normal(10, 10) })
		code, out, errOut := runCmd(t, nil, "ladder", "--color", "never", pcap)
		if code != 0 {
			t.Fatalf("%d connections: exit %d: %s", n, code, errOut)
		}
		total := n + 1 // and the closing one
		if want := fmt.Sprintf("No connection has findings. %d connections; draw one with --conn ID:", total); !strings.Contains(out, want) {
			t.Fatalf("%d connections: output lacks %q:\n%.2000s", n, want, out)
		}
		rows := 0
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) > 3 && f[len(f)-1] == "CLOSED" && f[len(f)-3] == "TIME_WAIT" {
				rows++
			}
		}
		if want := min(total, 1000); rows != want {
			t.Errorf("%d connections: %d rows listed, want %d", n, rows, want)
		}
		more := fmt.Sprintf("… and %d more; analyze --format jsonl lists every connection", total-1000)
		if has := strings.Contains(out, more); has != (total > 1000) {
			t.Errorf("%d connections: %q shown %v, want %v", n, more, has, total > 1000)
		}
	}
}

// ladder keeps the connections it draws, not every one with findings:
// over 40,000 refused connections, none open for long, its peak heap
// stays under twice analyze's on the same capture plus 8 MiB (the heap
// measured holds garbage not yet collected, up to GOGC's 100% over what
// is live); keeping every record would cost about 1.2 KB each, 45 MiB.
func TestLadderMemoryBounded(t *testing.T) {
	pcap := writeConvs(t, 40_000, func(_ int, c *pcapgen.Conv) {
		c.C(capture.SYN, 0, 0, 0)
		c.S(capture.RST|capture.ACK, 0, 1, 0)
	})
	var code int
	var out, errOut string
	ladder := measureHeap(func() { code, out, errOut = runCmd(t, nil, "ladder", "--color", "never", pcap) })
	if code != 0 || !strings.Contains(out, "… and 39990 more connections with findings, not drawn (--max 10)") {
		t.Fatalf("ladder: exit %d, want 0 and the count of those not drawn:\n%.3000s%s", code, out, errOut)
	}
	analyze := measureHeap(func() { code, _, errOut = runCmd(t, nil, "analyze", "--workers", "1", pcap) })
	if code != 0 {
		t.Fatalf("analyze: exit %d: %s", code, errOut)
	}
	t.Logf("peak heap: ladder %.1f MiB, analyze %.1f MiB", float64(ladder.peak)/(1<<20), float64(analyze.peak)/(1<<20))
	if ladder.peak > 2*analyze.peak+8<<20 {
		t.Errorf("ladder's peak heap %d B is more than twice analyze's %d B + 8 MiB", ladder.peak, analyze.peak)
	}
}

var ladderConn = regexp.MustCompile(`(?m)^connection #(\d+)\s+client (\S+) → server (\S+)\s+\((.+?), frames? `)

// ladder reads its files as analyze does: given analyze's files (and
// --continuous when analyze had it), --conn ID draws the connection
// analyze numbered ID, whichever file it is in; a directory stands for
// the captures under it, sorted, for analyze, check and ladder alike.
func TestLadderIDsAsAnalyze(t *testing.T) {
	dir, err := os.MkdirTemp("", "lad") // short: the joined names fit a header line
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pieces := splitPcap(t, writeConvs(t, 6, mixedFindings), dir, 5)
	tree := filepath.Join(dir, "tree")
	writeCaptureTree(t, tree, "b/refused.pcap", "a/port-reuse.pcap", "a/z/rst-by-client.pcap", "a/notes.txt")
	sets := [][]string{
		{realPcap + "refused.pcap", realPcap + "port-reuse.pcap", realPcap + "rst-by-client.pcap"},
		pieces,
		append([]string{"--continuous"}, pieces...),
		{tree},
	}
	for _, args := range sets {
		code, out, errOut := runCmd(t, nil, append([]string{"analyze", "--format", "jsonl"}, args...)...)
		if code != 0 {
			t.Fatalf("analyze %v: exit %d: %s", args, code, errOut)
		}
		n := 0
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var rec struct {
				Type, Input, Client, Server string
				ID                          uint64
			}
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatal(err)
			}
			if rec.Type != "connection" {
				continue
			}
			n++
			code, lad, errOut := runCmd(t, nil, append([]string{"ladder", "--color", "never", "--conn", fmt.Sprint(rec.ID)}, args...)...)
			if code != 0 {
				t.Fatalf("ladder %v --conn %d: exit %d: %s", args, rec.ID, code, errOut)
			}
			m := ladderConn.FindStringSubmatch(lad)
			want := []string{fmt.Sprint(rec.ID), rec.Client, rec.Server, rec.Input}
			if m == nil || !slices.Equal(m[1:], want) {
				t.Errorf("ladder %v --conn %d drew %q, want connection, client, server and input %q:\n%s", args, rec.ID, m, want, lad)
			}
		}
		if n < 3 {
			t.Fatalf("analyze %v: %d connections, want several", args, n)
		}
	}
	// The directory's captures in the order of their names, and check's
	// ids the same as analyze's.
	code, out, errOut := runCmd(t, nil, "analyze", "--format", "jsonl", tree)
	var inputs []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var rec struct{ Type, Input string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Type == "connection" && (len(inputs) == 0 || inputs[len(inputs)-1] != rec.Input) {
			inputs = append(inputs, rec.Input)
		}
	}
	want := []string{filepath.Join(tree, "a/port-reuse.pcap"), filepath.Join(tree, "a/z/rst-by-client.pcap"), filepath.Join(tree, "b/refused.pcap")}
	if code != 0 || !slices.Equal(inputs, want) {
		t.Errorf("analyze of a directory: exit %d, inputs %q, want %q: %s", code, inputs, want, errOut)
	}
	code, out, errOut = runCmd(t, nil, "check", "--policy", starterPolicy(t), "--format", "json", tree)
	var verdict struct {
		Findings []struct {
			Input, Client, Server string
			ConnID                uint64 `json:"conn_id"`
		}
	}
	if err := json.Unmarshal([]byte(out), &verdict); err != nil || len(verdict.Findings) == 0 {
		t.Fatalf("check of a directory: exit %d, %v, %d findings: %s", code, err, len(verdict.Findings), errOut)
	}
	for _, f := range verdict.Findings {
		_, lad, _ := runCmd(t, nil, "ladder", "--color", "never", "--conn", fmt.Sprint(f.ConnID), tree)
		m := ladderConn.FindStringSubmatch(lad)
		if want := []string{fmt.Sprint(f.ConnID), f.Client, f.Server, f.Input}; m == nil || !slices.Equal(m[1:], want) {
			t.Errorf("check's finding on connection %d: ladder of the directory drew %q, want %q", f.ConnID, m, want)
		}
	}
	code, _, errOut = runCmd(t, nil, "ladder", "--conn", "99", realPcap+"refused.pcap", realPcap+"rst-by-client.pcap")
	if want := "no connection 99 in " + realPcap + "refused.pcap, " + realPcap + "rst-by-client.pcap"; code != 2 || !strings.Contains(errOut, want) {
		t.Errorf("ladder --conn 99 of two files: exit %d, %q; want 2 and %q", code, errOut, want)
	}
}
