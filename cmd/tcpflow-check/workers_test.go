package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/internal/pcapgen"
)

// workerFormats are every analyze output, with and without the timeline
// where it has a place.
var workerFormats = [][]string{
	{"--format", "text"}, {"--format", "zeek"},
	{"--format", "json"}, {"--format", "json", "--timeline"},
	{"--format", "jsonl"}, {"--format", "jsonl", "--timeline"},
	{"--format", "yaml"}, {"--format", "yaml", "--timeline"},
	{"--format", "html"}, {"--format", "html", "--timeline"},
}

// sameAcrossWorkers runs analyze with args on --workers 1 and on each of
// workers, and fails unless stdout, stderr and the exit code are the same.
func sameAcrossWorkers(t *testing.T, workers []string, args ...string) {
	t.Helper()
	base := append([]string{"analyze", "--deterministic", "--color", "never"}, args...)
	code1, out1, err1 := runCmd(t, nil, append(append([]string(nil), base...), "--workers", "1")...)
	if out1 == "" && code1 == 0 {
		t.Fatalf("%v: no output", args)
	}
	for _, w := range workers {
		code, out, errOut := runCmd(t, nil, append(append([]string(nil), base...), "--workers", w)...)
		if code != code1 || errOut != err1 {
			t.Errorf("%v --workers %s: exit %d, stderr %q; --workers 1: exit %d, stderr %q", args, w, code, errOut, code1, err1)
		}
		if out != out1 {
			t.Errorf("%v --workers %s: output differs from --workers 1 at byte %d:\n%s\n--- --workers 1:\n%s",
				args, w, firstDiff(out, out1), around(out, firstDiff(out, out1)), around(out1, firstDiff(out, out1)))
		}
	}
}

func firstDiff(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func around(s string, i int) string {
	return s[max(0, i-300):min(len(s), i+300)]
}

// TestWorkersSameOutput: every bundled capture, in every format, comes out
// of 2, 3 and 4 workers byte for byte as out of one.
func TestWorkersSameOutput(t *testing.T) {
	for _, f := range captures(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			for _, fmt := range workerFormats {
				sameAcrossWorkers(t, []string{"2", "3", "4"}, append(append([]string(nil), fmt...), f)...)
			}
		})
	}
}

// TestWorkersSameOutputSeveralInputs: ids count on across inputs, and a
// continuous set carries connections from file to file, the same with
// workers as without.
func TestWorkersSameOutputSeveralInputs(t *testing.T) {
	files := captures(t)
	for _, fmt := range [][]string{{"--format", "jsonl", "--timeline"}, {"--format", "zeek"}, {"--format", "text"}} {
		sameAcrossWorkers(t, []string{"2", "3"}, append(append([]string(nil), fmt...), files...)...)
		sameAcrossWorkers(t, []string{"2", "3"}, append(append(append([]string(nil), fmt...), "--continuous"), files...)...)
	}
}

// TestWorkersSameOutputBusy: a capture with a thousand connections open at
// a time — many batches, deadlines falling due in every shard at once,
// records held through TIME_WAIT — and a SYN flood past --max-conns's
// reach are the same with workers.
func TestWorkersSameOutputBusy(t *testing.T) {
	p := filepath.Join(t.TempDir(), "busy.pcap")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pcapgen.WriteSynthetic(f, pcapgen.Synthetic{Conns: 5000, Concurrent: 1000}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	flood := writeSynFlood(t, 20_000, 4e9)
	for _, fmt := range [][]string{{"--format", "jsonl", "--timeline"}, {"--format", "zeek"}, {"--format", "text"}} {
		sameAcrossWorkers(t, []string{"2", "3", "4"}, append(append([]string(nil), fmt...), p, flood)...)
	}
}

// TestWorkersSameOutputCorpus runs TestWorkersSameOutput's comparison over
// the conformance corpus (TCPFLOW_CORPUS, or ../shared/corpus beside the
// repository), when it is there.
func TestWorkersSameOutputCorpus(t *testing.T) {
	dir := filepath.Join(corpusDir(), "pcaps")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no corpus at %s (TCPFLOW_CORPUS names it)", dir)
	}
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		t.Fatalf("no captures under %s", dir)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			for _, fmt := range workerFormats {
				sameAcrossWorkers(t, []string{"2"}, append(append([]string(nil), fmt...), f)...)
			}
			sameAcrossWorkers(t, []string{"3", "4"}, "--format", "jsonl", "--timeline", f)
			sameAcrossWorkers(t, []string{"3", "4"}, "--format", "zeek", f)
		})
	}
}

// TestWorkersSameVerdict: check's verdict, in every format, and its JUnit
// file are the same with workers, for every bundled capture.
func TestWorkersSameVerdict(t *testing.T) {
	pol := starterPolicy(t)
	dir := t.TempDir()
	for _, f := range captures(t) {
		for _, format := range []string{"text", "json", "github"} {
			var junit [2][]byte
			var outs [2]string
			var codes [2]int
			for i, w := range []string{"1", "3"} {
				ju := filepath.Join(dir, "junit-"+w+".xml")
				codes[i], outs[i], _ = runCmd(t, nil, "check", "--policy", pol, "--color", "never", "--format", format,
					"--junit", ju, "--workers", w, f)
				var err error
				if junit[i], err = os.ReadFile(ju); err != nil {
					t.Fatal(err)
				}
			}
			if codes[0] != codes[1] || outs[0] != outs[1] {
				t.Errorf("check --format %s %s: --workers 3 exit %d:\n%s\n--workers 1 exit %d:\n%s", format, f, codes[1], outs[1], codes[0], outs[0])
			}
			if !bytes.Equal(junit[0], junit[1]) {
				t.Errorf("check %s: JUnit differs with --workers 3:\n%s\n--workers 1:\n%s", f, junit[1], junit[0])
			}
		}
	}
}

// TestWorkersLimitSplit: with workers, --max-conns is split among them, each
// ending its own idlest connection when its share is full, and the
// tracking_limit evidence says so.
func TestWorkersLimitSplit(t *testing.T) {
	flood := writeSynFlood(t, 10_000, 4e9)
	code, out, errOut := runCmd(t, nil, "analyze", "--format", "jsonl", "--max-conns", "1000", "--workers", "2", flood)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	const each = 605 // 500 + ⌊4·√500 + 16⌋: the even share and the margin for the hash's unevenness
	if got := analyze.Share(1000, 2); got != each {
		t.Fatalf("Share(1000, 2) = %d, want %d", got, each)
	}
	want := "the connection table was full (--max-conns 1000) and this was the idlest connection of its worker's (--workers 2: each holds 605)"
	if n := strings.Count(out, want); n < 10_000-2*each || n > 10_000-1000 {
		t.Errorf("%d tracking_limit findings say %q; want between %d and %d", n, want, 10_000-2*each, 10_000-1000)
	}
	m := regexp.MustCompile(`"max_open":(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no max_open in the summary:\n%s", around(out, len(out)))
	}
	if n, _ := strconv.Atoi(m[1]); n < 1000 || n > 2*each {
		t.Errorf("max_open %d, want between 1000 and 2·%d", n, each)
	}
}

// TestLiveWorkers: live capture on loopback spread over 3 workers streams
// the refusals as they happen, and its records carry ids 1…n in the order
// the connections began, each once, as one worker numbers them.
func TestLiveWorkers(t *testing.T) {
	needLive(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	refused, port := freePort(t), ln.Addr().(*net.TCPAddr).Port
	p := startLive(t, "-i", "lo", "--format", "jsonl", "--workers", "3",
		fmt.Sprintf("tcp port %d or tcp port %d", refused, port))
	const normal, refusals = 24, 4
	refuse := func(n int) {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", refused), hang); err == nil {
			c.Close()
			t.Fatalf("port %d accepted a connection", refused)
		}
		// Streamed, not held for the end: the n-th refusal's line comes
		// while the capture runs (and so everything before it was read).
		deadline := time.Now().Add(hang)
		for {
			out, _ := p.output()
			if strings.Count(out, `"type":"finding","id"`) >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("refusal %d not streamed within %s:\n%s", n, hang, out)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for i := 0; i < normal; i++ {
		exchange(t, ln)
		if i%(normal/refusals) == normal/refusals-1 {
			refuse(i/(normal/refusals) + 1)
		}
	}
	if code := p.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
	stdout, _ := p.output()
	var ids, firsts []uint64
	var streamed int
	var sum struct {
		Connections uint64 `json:"connections"`
	}
	for _, line := range strings.Split(stdout, "\n") {
		var rec struct {
			Type       string `json:"type"`
			ID         uint64 `json:"id"`
			FirstFrame uint64 `json:"first_frame"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		switch rec.Type {
		case "connection":
			ids, firsts = append(ids, rec.ID), append(firsts, rec.FirstFrame)
		case "finding":
			streamed++
		case "summary":
			json.Unmarshal([]byte(line), &sum)
		}
	}
	if len(ids) != normal+refusals || streamed < refusals {
		t.Fatalf("%d records and %d streamed findings, want %d and %d at least:\n%s", len(ids), streamed, normal+refusals, refusals, stdout)
	}
	byFirst := make(map[uint64]uint64) // id by first frame
	for i, id := range ids {
		byFirst[firsts[i]] = id
	}
	slices.Sort(firsts)
	for i, f := range firsts {
		if byFirst[f] != uint64(i+1) {
			t.Errorf("the connection beginning at frame %d has id %d, want %d (ids in the order connections begin)", f, byFirst[f], i+1)
		}
	}
	if sum.Connections != uint64(normal+refusals) {
		t.Errorf("summary counts %d connections, want %d", sum.Connections, normal+refusals)
	}
}

// TestWorkersDefault: without --workers, analyze, check and live run one
// worker per core, and --workers 1 is one analyzer.
func TestWorkersDefault(t *testing.T) {
	for _, name := range []string{"analyze", "check", "live"} {
		cmd, _, err := newRoot(&env{}).Find([]string{name})
		if err != nil {
			t.Fatal(err)
		}
		var w workersFlag
		w.register(pflag.NewFlagSet(name, pflag.ContinueOnError))
		if f := cmd.Flags().Lookup("workers"); f == nil || f.DefValue != "0" {
			t.Fatalf("%s --workers: %v, want a default of 0", name, f)
		}
		if got, want := w.count(), runtime.GOMAXPROCS(0); got != want {
			t.Errorf("%s: %d workers by default, want %d (one per core)", name, got, want)
		}
	}
	one := workersFlag{n: 1}
	an, stop := one.newEngine(nil, nil)
	defer stop()
	if _, ok := an.(*analyze.Analyzer); !ok {
		t.Errorf("--workers 1 runs %T, want one *analyze.Analyzer", an)
	}
}
