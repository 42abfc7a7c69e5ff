package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/check"
)

const realPcaps = "../../testdata/pcaps/real/"

// writePolicy writes a policy file for one test and returns its path.
func writePolicy(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The minimal policy.
const minimalPolicy = `fail_on: [missing_third_ack, syn_unanswered, half_close_stuck]
max:
  connection_refused: 0
timeouts:
  handshake: 3s
  half_close: 1s
`

// TestCheckRealCaptures runs check over the recorded captures with policies
// that must pass and policies that must fail, and asserts the exit code and
// that the output names the rule, the file and the evidence.
func TestCheckRealCaptures(t *testing.T) {
	for _, tc := range []struct {
		name, policy, pcap string
		code               int
		want               []string // in the text output, in this order
	}{
		{"clean passes", minimalPolicy, "normal-close.pcap", 0,
			[]string{"passed: fail_on: missing_third_ack (1 input)", "verdict: PASS"}},
		{"refused fails max", minimalPolicy, "refused.pcap", 1,
			[]string{"FAIL  max: connection_refused ≤ 0  (policy line 3)", "connection_refused", "frames 1,2",
				"refused.pcap", "ack 2742325430 = ISN_c+1", "verdict: FAIL — 1 of 4 checks failed: max: connection_refused ≤ 0"}},
		{"unanswered SYN fails", minimalPolicy, "syn-unanswered.pcap", 1,
			[]string{"FAIL  fail_on: syn_unanswered  (policy line 1)", "in " + realPcaps + "syn-unanswered.pcap: 1 syn_unanswered finding(s)",
				"SYN(s) (ISN_c", "nothing came back from 192.0.2.2:8080", "verdict: FAIL", "fail_on: syn_unanswered on syn-unanswered.pcap"}},
		{"missing third ACK fails", minimalPolicy, "missing-third-ack.pcap", 1,
			[]string{"FAIL  fail_on: missing_third_ack", "final client SYN_SENT / server SYN_RCVD", "= ISN_c+1) sent", "verdict: FAIL"}},
		// half-close-stuck.pcap is being re-recorded: it may end before the
		// half-close timeout (capture_incomplete) or long after it
		// (half_close_stuck). Either way the server is left in CLOSE_WAIT,
		// which max_final_state catches.
		{"stuck half-close fails", `fail_on: [half_close_stuck]
timeouts: {half_close: 1ms}
expect_per_file:
  max_final_state: {CLOSE_WAIT: 0}
`, "half-close-stuck.pcap", 1,
			[]string{"FAIL", "expect_per_file.max_final_state: CLOSE_WAIT ≤ 0", "1 connection(s) with a peer left in CLOSE_WAIT, allowed 0", "verdict: FAIL"}},
		{"warnings do not fail", "warn_on: [connection_refused]\nfail_on: [syn_unanswered]\n", "refused.pcap", 0,
			[]string{"WARN  warn_on: connection_refused", "verdict: PASS", "(1 warning)"}},
		{"fail_on_severity with an override", "fail_on_severity: error\nseverity: {connection_refused: error}\n", "refused.pcap", 1,
			[]string{"FAIL  fail_on_severity: error", "1 finding(s) of severity error or worse (1 connection_refused)"}},
		{"fail_on_severity passes a warning", "fail_on_severity: error\n", "refused.pcap", 0, []string{"verdict: PASS"}},
		{"expectation on the clean trace", "expect:\n  min_connections: 2\n  connections_to: [{port: 8080}]\n  handshake_rtt_p99: 50ms\n", "normal-close.pcap", 1,
			[]string{"FAIL  expect.min_connections: 2", "1 connection(s), expected at least 2", "passed: expect.connections_to: port 8080 (at least 1) · expect.handshake_rtt_p99: 50ms"}},
		{"max_conn_state", "expect:\n  max_conn_state: {S0: 0}\n", "syn-unanswered.pcap", 1,
			[]string{"expect.max_conn_state: S0 ≤ 0", "1 connection(s) with conn_state S0, allowed 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, nil, "check", "--policy", writePolicy(t, tc.policy), "--color", "never", realPcaps+tc.pcap)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, out, errOut)
			}
			assertInOrder(t, out, tc.want...)
			if paras := strings.Split(strings.TrimRight(out, "\n"), "\n\n"); !strings.HasPrefix(paras[len(paras)-1], "verdict: ") {
				t.Errorf("the last line is not the verdict:\n%s", out)
			}
		})
	}
}

func assertInOrder(t *testing.T, out string, want ...string) {
	t.Helper()
	rest := flat(out) // text output is wrapped at the width
	for _, w := range want {
		w = flat(w)
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("output lacks %q (in this order):\n%s", w, out)
		}
		rest = rest[i+len(w):]
	}
}

// TestCheckIgnore: a refused health check on a closed port passes when an
// ignore rule (by server port, by CIDR, by host) covers it, and still fails
// when the rule does not match.
func TestCheckIgnore(t *testing.T) {
	for _, tc := range []struct {
		name, rule string
		code       int
	}{
		{"server port", "server_port: 8080", 0},
		{"cidr", "cidr: 192.0.2.0/24", 0},
		{"host and kind", "host: 192.0.2.2\n    kind: connection_refused", 0},
		{"other port", "server_port: 9999", 1},
		{"other kind", "kind: reset", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pol := writePolicy(t, "max: {connection_refused: 0}\nignore:\n  - "+tc.rule+"\n    reason: health check probes a closed port\n")
			code, out, errOut := runCmd(t, nil, "check", "--policy", pol, realPcaps+"refused.pcap")
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, out, errOut)
			}
			if tc.code == 0 {
				assertInOrder(t, out, "ignored: 1 finding", "connection_refused #1", "health check probes a closed port (ignore rule at line 3)", "verdict: PASS")
			}
		})
	}
	// The example policy shipped for this case.
	code, out, _ := runCmd(t, nil, "check", "--policy", "../../testdata/policies/health-check.yaml", realPcaps+"refused.pcap", realPcaps+"normal-close.pcap")
	if code != 0 {
		t.Errorf("health-check.yaml: exit %d\n%s", code, out)
	}
}

// TestCheckBrokenPolicy: a policy that cannot be trusted is exit 2, naming
// the line; nothing is analyzed.
func TestCheckBrokenPolicy(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"bad yaml", "fail_on: [syn_unanswered\nmax: {x: 1}\n", "policy.yaml:"},
		{"unknown key", "fail_on: [syn_unanswered]\nmax_per_fil: {reset: 1}\n", `policy.yaml:2:1: unknown key "max_per_fil" (did you mean "max_per_file"?)`},
		{"unknown kind", "fail_on: [syn_unanswered, refused]\n", `policy.yaml:1:27: unknown finding kind "refused"`},
		{"bad duration", "fail_on: [syn_unanswered]\ntimeouts: {handshake: 3 seconds}\n", `policy.yaml:2:23: bad duration "3 seconds"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, nil, "check", "--policy", writePolicy(t, tc.src), realPcaps+"normal-close.pcap")
			if code != 2 {
				t.Fatalf("exit %d, want 2\n%s%s", code, out, errOut)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q lacks %q", errOut, tc.want)
			}
		})
	}
	code, _, errOut := runCmd(t, nil, "check", realPcaps+"normal-close.pcap")
	if code != 2 || !strings.Contains(errOut, "--policy is required") {
		t.Errorf("no --policy: exit %d %q", code, errOut)
	}
	code, _, errOut = runCmd(t, nil, "check", "--policy", writePolicy(t, minimalPolicy), "--format", "xml", realPcaps+"normal-close.pcap")
	if code != 2 || !strings.Contains(errOut, "--format must be") {
		t.Errorf("bad format: exit %d %q", code, errOut)
	}
}

// TestCheckCorruptTrace: a damaged trace is exit 2 even when its readable
// part passes; that part is still checked and reported.
func TestCheckCorruptTrace(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(realPcaps + "syn-unanswered.pcap")
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.pcap")
	if err := os.WriteFile(cut, data[:len(data)-10], 0o644); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.pcap")
	if err := os.WriteFile(garbage, []byte("not a capture at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	pol := writePolicy(t, "fail_on: [missing_third_ack]\n")
	for _, in := range []string{cut, garbage} {
		code, out, errOut := runCmd(t, nil, "check", "--policy", pol, in)
		if code != 2 {
			t.Fatalf("%s: exit %d, want 2\n%s%s", in, code, out, errOut)
		}
		assertInOrder(t, out, "ERROR "+in, "a damaged trace never passes", "verdict: ERROR — 1 input could not be read to the end")
	}
	// The readable part of the cut trace is analyzed: its SYNs are there.
	code, out, _ := runCmd(t, nil, "check", "--policy", writePolicy(t, "fail_on: [syn_retransmitted]\n"), "--format", "json", cut)
	var rec check.Record
	if err := json.Unmarshal([]byte(out), &rec); err != nil || code != 2 {
		t.Fatalf("exit %d, %v\n%s", code, err, out)
	}
	if rec.Verdict != "error" || rec.Inputs[0].Error == "" || rec.Inputs[0].Connections != 1 || rec.Summary.Failed != 1 {
		t.Errorf("json verdict of a cut trace: %+v", rec)
	}
}

// TestCheckDirectory: a directory is walked for captures, sorted, and each
// is its own suite; an empty directory is an error.
func TestCheckDirectory(t *testing.T) {
	dir := t.TempDir()
	writeCaptureTree(t, dir, "b/refused.pcap", "a/normal-close.pcap", "c/notes.txt")
	junit := filepath.Join(t.TempDir(), "report.xml")
	code, out, errOut := runCmd(t, nil, "check", "--policy", writePolicy(t, minimalPolicy), "--junit", junit, dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errOut)
	}
	assertInOrder(t, out, "2 inputs", "max: connection_refused ≤ 0", "b/refused.pcap")
	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Name string `xml:"name,attr"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Suites) != 3 || !strings.HasSuffix(doc.Suites[0].Name, "a/normal-close.pcap") ||
		!strings.HasSuffix(doc.Suites[1].Name, "b/refused.pcap") || doc.Suites[2].Name != check.JUnitAllInputs {
		t.Errorf("suites: %+v", doc.Suites)
	}
	code, _, errOut = runCmd(t, nil, "check", "--policy", writePolicy(t, minimalPolicy), filepath.Join(dir, "c"))
	if code != 2 || !strings.Contains(errOut, "no captures") {
		t.Errorf("empty directory: exit %d %q", code, errOut)
	}
}

// TestCheckJUnitFile: the --junit file over the five real captures
// validates against the XSD (xmllint) and carries the evidence.
func TestCheckJUnitFile(t *testing.T) {
	junit := filepath.Join(t.TempDir(), "report.xml")
	args := []string{"check", "--policy", writePolicy(t, minimalPolicy+"expect:\n  min_connections: 1\n"), "--junit", junit}
	for _, p := range []string{"refused", "syn-unanswered", "missing-third-ack", "half-close-stuck", "normal-close"} {
		args = append(args, realPcaps+p+".pcap")
	}
	code, out, errOut := runCmd(t, nil, args...)
	if code != 1 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for _, w := range []string{`<testsuite name="` + realPcaps + `syn-unanswered.pcap"`, `<testcase name="fail_on: syn_unanswered" classname="` + realPcaps + `syn-unanswered.pcap"`,
		`<failure message="1 syn_unanswered finding(s)" type="syn_unanswered">`, "nothing came back from 192.0.2.2:8080",
		`<testsuite name="all inputs"`, `type="connection_refused"`, `<testcase name="expect.min_connections: 1" classname="all inputs" time="0"></testcase>`} {
		if !strings.Contains(s, w) {
			t.Errorf("JUnit file lacks %q\n%s", w, s)
		}
	}
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("SKIP XSD validation: xmllint not found (apt-get install libxml2-utils)")
	}
	if out, err := exec.Command(xmllint, "--noout", "--schema", "../../check/testdata/junit/junit.xsd", junit).CombinedOutput(); err != nil {
		t.Errorf("the JUnit file does not validate: %v\n%s", err, out)
	}
}

// TestCheckGitHub: --format github writes one ::error per finding behind a
// failed rule, with the file, the rule as title and the evidence, escaped
// as workflow commands want; ::warning for warn_on.
func TestCheckGitHub(t *testing.T) {
	pol := writePolicy(t, "fail_on: [syn_unanswered]\nwarn_on: [connection_refused]\n")
	code, out, errOut := runCmd(t, nil, "check", "--policy", pol, "--format", "github", realPcaps+"syn-unanswered.pcap", realPcaps+"refused.pcap")
	if code != 1 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	var errs, warns []string
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "::error "):
			errs = append(errs, l)
		case strings.HasPrefix(l, "::warning "):
			warns = append(warns, l)
		}
	}
	if len(errs) != 1 || len(warns) != 1 {
		t.Fatalf("want 1 error and 1 warning annotation, got\n%s", out)
	}
	file := strings.NewReplacer(":", "%3A", ",", "%2C").Replace(realPcaps + "syn-unanswered.pcap")
	if !strings.HasPrefix(errs[0], "::error file="+file+",title=tcpflow-check fail_on%3A syn_unanswered::syn_unanswered (error) on connection #") ||
		!strings.Contains(errs[0], "%0A") || !strings.Contains(errs[0], "nothing came back from 192.0.2.2:8080") {
		t.Errorf("error annotation: %s", errs[0])
	}
	if !strings.HasPrefix(warns[0], "::warning file=") || !strings.Contains(warns[0], "connection_refused (warning)") {
		t.Errorf("warning annotation: %s", warns[0])
	}
	assertInOrder(t, out, "::group::tcpflow-check report", "::endgroup::", "verdict: FAIL")
}

// TestCheckBaseline: an old finding passes, a new one fails.
func TestCheckBaseline(t *testing.T) {
	dir := t.TempDir()
	pol := writePolicy(t, minimalPolicy)
	// Yesterday's run: analyze --format json of refused.pcap.
	_, old, _ := runCmd(t, nil, "analyze", "--format", "json", realPcaps+"refused.pcap")
	base := filepath.Join(dir, "baseline.json")
	if err := os.WriteFile(base, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd(t, nil, "check", "--policy", pol, "--baseline", base, realPcaps+"refused.pcap")
	if code != 0 {
		t.Fatalf("known refusal: exit %d\n%s%s", code, out, errOut)
	}
	assertInOrder(t, out, "(0 ignored, 1 known from the baseline)", "verdict: PASS")
	// A new finding (an unanswered SYN) still fails.
	code, out, _ = runCmd(t, nil, "check", "--policy", pol, "--baseline", base, realPcaps+"refused.pcap", realPcaps+"syn-unanswered.pcap")
	if code != 1 || !strings.Contains(out, "FAIL  fail_on: syn_unanswered") || strings.Contains(out, "FAIL  max: connection_refused") {
		t.Fatalf("new finding: exit %d\n%s", code, out)
	}
	// check's own json is a baseline too: the run above, recorded, excuses both.
	_, js, _ := runCmd(t, nil, "check", "--policy", pol, "--format", "json", realPcaps+"refused.pcap", realPcaps+"syn-unanswered.pcap")
	base2 := filepath.Join(dir, "check.json")
	if err := os.WriteFile(base2, []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCmd(t, nil, "check", "--policy", pol, "--baseline", base2, realPcaps+"refused.pcap", realPcaps+"syn-unanswered.pcap")
	if code != 0 {
		t.Errorf("check json baseline: exit %d\n%s", code, out)
	}
	// analyze --format jsonl is a baseline too: a line per connection, then
	// the summary (whose "connections" is a count).
	_, jl, _ := runCmd(t, nil, "analyze", "--format", "jsonl", realPcaps+"refused.pcap", realPcaps+"syn-unanswered.pcap")
	base3 := filepath.Join(dir, "analyze.jsonl")
	if err := os.WriteFile(base3, []byte(jl), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCmd(t, nil, "check", "--policy", pol, "--baseline", base3, realPcaps+"refused.pcap", realPcaps+"syn-unanswered.pcap")
	if code != 0 || !strings.Contains(out, "known from the baseline") {
		t.Errorf("analyze jsonl baseline: exit %d\n%s%s", code, out, errOut)
	}
	// The same refusal twice is one known and one new: matching counts.
	code, out, _ = runCmd(t, nil, "check", "--policy", pol, "--baseline", base, realPcaps+"refused.pcap", realPcaps+"refused.pcap")
	if code != 1 || !strings.Contains(out, "1 known from the baseline") {
		t.Errorf("a baseline entry excuses one finding, not two: exit %d\n%s", code, out)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"hello": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCmd(t, nil, "check", "--policy", pol, "--baseline", bad, realPcaps+"refused.pcap")
	if code != 2 || !strings.Contains(errOut, "baseline") {
		t.Errorf("bad baseline: exit %d %q", code, errOut)
	}
}

// TestPolicyCommand: policy init prints a starter that loads; policy check
// validates and names the line of a mistake.
func TestPolicyCommand(t *testing.T) {
	code, starter, _ := runCmd(t, nil, "policy", "init")
	if code != 0 || starter != check.StarterPolicy {
		t.Fatalf("policy init: exit %d", code)
	}
	p := writePolicy(t, starter)
	code, out, errOut := runCmd(t, nil, "policy", "check", p)
	if code != 0 || !strings.Contains(out, ": ok, ") {
		t.Errorf("policy check of the starter: exit %d %s%s", code, out, errOut)
	}
	// The starter gates the real captures: clean passes, refused fails.
	if code, out, _ := runCmd(t, nil, "check", "--policy", p, realPcaps+"normal-close.pcap"); code != 0 {
		t.Errorf("starter on a clean trace: exit %d\n%s", code, out)
	}
	if code, _, _ := runCmd(t, nil, "check", "--policy", p, realPcaps+"refused.pcap"); code != 1 {
		t.Errorf("starter on a refusal: exit %d", code)
	}
	code, _, errOut = runCmd(t, nil, "policy", "check", writePolicy(t, "fail_on: [rest]\n"))
	if code != 2 || !strings.Contains(errOut, `policy.yaml:1:11: unknown finding kind "rest" (did you mean "reset"?)`) {
		t.Errorf("policy check of a typo: exit %d %q", code, errOut)
	}
	if code, _, _ := runCmd(t, nil, "policy", "frobnicate"); code != 2 {
		t.Errorf("unknown policy subcommand: exit %d", code)
	}
}

// TestCheckTimeoutFlagsWin: the policy's timeouts replace the defaults, and
// a flag on the command line wins over the policy.
func TestCheckTimeoutFlagsWin(t *testing.T) {
	// Timeouts decide only for traces cut out of longer captures: a finished
	// test's trace makes a finding of every SYN still unanswered at its end.
	pol := writePolicy(t, "fail_on: [syn_unanswered]\ntimeouts: {handshake: 1m}\ntrace_end: cut\n")
	// With a 1m handshake timeout the 7s of unanswered SYNs are not yet a finding.
	code, out, _ := runCmd(t, nil, "check", "--policy", pol, realPcaps+"syn-unanswered.pcap")
	if code != 0 {
		t.Errorf("policy timeout: exit %d\n%s", code, out)
	}
	code, out, _ = runCmd(t, nil, "check", "--policy", pol, "--handshake-timeout", "1s", realPcaps+"syn-unanswered.pcap")
	if code != 1 {
		t.Errorf("flag over policy: exit %d\n%s", code, out)
	}
}

// TestApplyTimeouts: a policy's timeouts replace the analysis defaults; the
// ones it leaves unset keep them.
func TestApplyTimeouts(t *testing.T) {
	cfg := analyze.Config{HandshakeTimeout: time.Minute, MSL: time.Hour}
	applyTimeouts(&cfg, check.Timeouts{HalfClose: time.Millisecond, MSL: 30 * time.Second})
	want := analyze.Config{HandshakeTimeout: time.Minute, HalfCloseTimeout: time.Millisecond, MSL: 30 * time.Second}
	if cfg != want {
		t.Errorf("applyTimeouts = %+v, want %+v", cfg, want)
	}
}
