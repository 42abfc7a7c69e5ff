package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/pcapgen"
)

const realPcap = "../../testdata/pcaps/real/"

func needFilters(t *testing.T) {
	t.Helper()
	if _, err := capture.NewLinkFilter("tcp", 0); err != nil {
		t.Skipf("BPF filters need libpcap: %v", err)
	}
}

// TestSplitOperands pins the rule that tells a file from a filter word.
func TestSplitOperands(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "trace") // exists, no capture extension
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args          []string
		files, filter []string
	}{
		{[]string{realPcap + "refused.pcap", "tcp", "port", "80"}, []string{realPcap + "refused.pcap"}, []string{"tcp", "port", "80"}},
		{[]string{"-", "host", "10.0.0.1"}, []string{"-"}, []string{"host", "10.0.0.1"}},
		{[]string{plain, dir, "missing.pcapng", "old.pcap.gz", "net", "10.0.0.0/8"}, []string{plain, dir, "missing.pcapng", "old.pcap.gz"}, []string{"net", "10.0.0.0/8"}},
		{[]string{"tcp", "port", "80"}, []string{}, []string{"tcp", "port", "80"}},
		{[]string{"port", "80", realPcap + "refused.pcap"}, []string{}, []string{"port", "80", realPcap + "refused.pcap"}}, // once the filter starts, all is filter
		{[]string{realPcap + "refused.pcap"}, []string{realPcap + "refused.pcap"}, nil},
	} {
		files, filter := splitOperands(c.args)
		if !slices.Equal(files, c.files) || !slices.Equal(filter, c.filter) {
			t.Errorf("%q: files %q filter %q; want %q and %q", c.args, files, filter, c.files, c.filter)
		}
	}
}

// TestTcpdumpHabits runs -r and trailing filter words on analyze, ladder and
// check, as tcpdump users type them.
func TestTcpdumpHabits(t *testing.T) {
	needFilters(t)
	const f = realPcap + "port-reuse.pcap" // two connections to port 8080
	conns := func(out string) int { return strings.Count(out, `"type":"connection"`) }
	for _, c := range []struct {
		args []string
		want int // connections
	}{
		{[]string{"-r", f, "--format", "jsonl"}, 2},
		{[]string{"-r", f, "--format", "jsonl", "tcp", "port", "8080"}, 2},
		{[]string{"-r", f, "--format", "jsonl", "tcp", "port", "9"}, 0},
		{[]string{"analyze", "--format", "jsonl", f, "tcp port 9"}, 0},
		{[]string{"analyze", "--format", "jsonl", "--read", f, "--read", realPcap + "refused.pcap"}, 3},
	} {
		code, out, errOut := runCmd(t, nil, c.args...)
		if code != 0 || conns(out) != c.want {
			t.Errorf("%q: exit %d, %d connections; want 0 and %d\n%s", c.args, code, conns(out), c.want, errOut)
		}
	}
	// ladder and check take the same operands.
	if code, out, errOut := runCmd(t, nil, "ladder", "-r", f, "--conn", "1", "tcp", "port", "8080"); code != 0 || !strings.Contains(out, "connection #1") {
		t.Errorf("ladder -r FILE FILTER: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runCmd(t, nil, "ladder", "--conn", "1", f, "tcp", "port", "9"); code != 2 || !strings.Contains(errOut, "no connection 1") {
		t.Errorf("ladder with a filter matching nothing: exit %d %s", code, errOut)
	}
	pol := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(pol, []byte("fail_on: [connection_refused]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := runCmd(t, nil, "check", "--policy", pol, "-r", realPcap+"refused.pcap"); code != 1 {
		t.Errorf("check -r refused.pcap: exit %d, want 1\n%s", code, out)
	}
	// The filter drops both packets: the refusal is gone, and a trace with
	// nothing left to judge fails on its own rule.
	if code, out, _ := runCmd(t, nil, "check", "--policy", pol, realPcap+"refused.pcap", "port", "9"); code != 1 ||
		!strings.Contains(out, "filtered 2") || !strings.Contains(out, "passed: fail_on: connection_refused") {
		t.Errorf("check with a filter dropping the refusal: exit %d\n%s", code, out)
	}
	// The filter once, and a word that was meant as a file.
	if code, _, errOut := runCmd(t, nil, "analyze", "--filter", "tcp", f, "port", "80"); code != 2 || !strings.Contains(errOut, "filter is given twice") {
		t.Errorf("--filter and filter words: exit %d %s", code, errOut)
	}
	if code, _, errOut := runCmd(t, nil, f, "traces/today"); code != 2 || !strings.Contains(errOut, `"traces/today" was read as the start of a filter`) {
		t.Errorf("a missing file without extension: exit %d %s", code, errOut)
	}
	// The rule is in the help of each command that reads captures.
	for _, cmd := range []string{"analyze", "ladder", "check"} {
		if _, out, _ := runCmd(t, nil, "help", cmd); !strings.Contains(out, "the first that is none of these starts a BPF filter") {
			t.Errorf("help %s does not state the file/filter rule", cmd)
		}
	}
}

// TestListInterfaces checks -D: numbered as tcpdump -D numbers them, the
// loopback among them; without libpcap, what to install.
func TestListInterfaces(t *testing.T) {
	if _, err := capture.Interfaces(); err != nil {
		code, _, errOut := runCmd(t, nil, "-D")
		if code != 2 || !strings.Contains(errOut, "libpcap") {
			t.Errorf("-D without libpcap: exit %d %q", code, errOut)
		}
		return
	}
	for _, args := range [][]string{{"-D"}, {"--list-interfaces"}, {"live", "-D"}} {
		code, out, errOut := runCmd(t, nil, args...)
		if code != 0 || !regexp.MustCompile(`(?m)^1\.\S+`).MatchString(out) || !regexp.MustCompile(`(?m)^\d+\.lo .*Loopback`).MatchString(out) {
			t.Errorf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
}

// TestUnopenableInput: an input that cannot be opened gives one error on
// stderr and nothing on stdout, for analyze and ladder alike.
func TestUnopenableInput(t *testing.T) {
	for _, args := range [][]string{{"analyze", "nosuch.pcap"}, {"ladder", "nosuch.pcap"}, {"nosuch.pcap"}, {"analyze", "--format", "json", "nosuch.pcap"}} {
		code, out, errOut := runCmd(t, nil, args...)
		if code != 2 || out != "" || strings.Count(errOut, "nosuch.pcap") != 1 || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2, nothing, one error line", args, code, out, errOut)
		}
	}
}

// TestLadderWithoutFindings: a clean capture's connections are drawn when
// there are few, listed with their ids when there are many.
func TestLadderWithoutFindings(t *testing.T) {
	code, out, _ := runCmd(t, nil, "ladder", realPcap+"normal-close.pcap")
	if code != 0 || !strings.Contains(out, "connection #1") || !strings.Contains(out, "SYN_SENT") {
		t.Errorf("one clean connection: exit %d, want it drawn\n%s", code, out)
	}
	p := filepath.Join(t.TempDir(), "seven.pcap")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pcapgen.WriteSynthetic(f, pcapgen.Synthetic{Conns: 7}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	code, out, errOut := runCmd(t, nil, "ladder", p)
	if code != 0 || !strings.Contains(out, "7 connections; draw one with --conn ID") || strings.Contains(out, "│") {
		t.Fatalf("seven clean connections: exit %d, want a list\n%s%s", code, out, errOut)
	}
	for id := 1; id <= 7; id++ {
		if !regexp.MustCompile(`(?m)^\s+` + string(rune('0'+id)) + `\s+198\.18\.`).MatchString(out) {
			t.Errorf("list lacks connection %d:\n%s", id, out)
		}
	}
}

// TestFlagsThatCannotApply: a flag with no effect on the output asked for
// is refused rather than ignored.
func TestFlagsThatCannotApply(t *testing.T) {
	pol := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(pol, []byte("fail_on: [reset]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"analyze", "--timeline", realPcap + "refused.pcap"}, "--timeline has no place in --format text"},
		{[]string{"analyze", "--timeline", "--format", "zeek", realPcap + "refused.pcap"}, "--timeline has no place in --format zeek"},
		{[]string{"live", "-i", "lo", "--timeline"}, "--timeline has no place in --format text"},
		{[]string{"check", "--policy", pol, "--max-findings", "0", realPcap + "refused.pcap"}, "--max-findings must be at least 1"},
	} {
		code, out, errOut := runCmd(t, nil, c.args...)
		if code != 2 || out != "" || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and %q", c.args, code, out, errOut, c.want)
		}
	}
	code, out, _ := runCmd(t, nil, "analyze", "--timeline", "--format", "jsonl", realPcap+"refused.pcap")
	if code != 0 || !strings.Contains(out, `"timeline":[`) {
		t.Errorf("--timeline with jsonl: exit %d\n%s", code, out)
	}
}

// TestPlainNumbers: durations in JSON and YAML are written in decimal, as
// the README shows them, never with an exponent.
func TestPlainNumbers(t *testing.T) {
	exp := regexp.MustCompile(`[0-9]e-[0-9]`)
	for _, format := range []string{"json", "jsonl", "yaml"} {
		code, out, _ := runCmd(t, nil, append([]string{"analyze", "--format", format}, captures(t)...)...)
		if code != 0 && code != 2 {
			t.Fatalf("%s: exit %d", format, code)
		}
		if m := exp.FindString(out); m != "" {
			t.Errorf("%s output has a number with an exponent (%q)", format, m)
		}
		if !strings.Contains(out, "0.0000") {
			t.Errorf("%s output has no sub-millisecond duration to check", format)
		}
	}
}
