package check

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze"
)

// TestPolicyStarterLoads: what `policy init` prints must load as it is.
func TestPolicyStarterLoads(t *testing.T) {
	p, err := ParsePolicy("starter.yaml", []byte(StarterPolicy))
	if err != nil {
		t.Fatalf("the starter policy does not load: %v", err)
	}
	if len(p.FailOn) == 0 || len(p.Max) == 0 || p.Expect == nil || p.Timeouts.Handshake != 3*time.Second {
		t.Errorf("starter policy lost its rules: %+v", p)
	}
}

// TestPolicyExamplesLoad: every example policy shipped in testdata/policies loads.
func TestPolicyExamplesLoad(t *testing.T) {
	files, _ := filepath.Glob("../testdata/policies/*.yaml")
	if len(files) == 0 {
		t.Fatal("no example policies under testdata/policies")
	}
	for _, f := range files {
		if _, err := LoadPolicy(f); err != nil {
			t.Errorf("%v", err)
		}
	}
}

func TestPolicyFull(t *testing.T) {
	src := `fail_on: [missing_third_ack, syn_unanswered]
fail_on_severity: error
warn_on: reset
warn_on_severity: warning
max:
  connection_refused: 2
max_per_file:
  reset: 1
ignore:
  - kind: [connection_refused, reset]
    server_port: 9999
    port: 9999
    host: 10.0.0.1
    cidr: 10.0.0.0/8
    client: 10.0.0.0/24
    server: 10.0.0.2
    input: health-*.pcap
    reason: readiness probe
severity:
  reset: error
expect:
  min_connections: 1
  max_connections: 100
  connections_to:
    - {port: 443, min: 1}
    - {port: 80, host: 10.0.0.0/8, min: 0, max: 3}
  handshake_rtt_p99: 50ms
  handshake_rtt_max: 1s
  max_conn_state: {S0: 0, REJ: 1}
  max_final_state: {CLOSE_WAIT: 0}
expect_per_file:
  min_connections: 1
timeouts: {handshake: 3s, half_close: 1ms, zero_window: 5s, msl: 30s}
`
	p, err := ParsePolicy("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(p.FailOn); got != 2 || p.FailOn[0].Kind != analyze.MissingThirdAck || p.FailOn[0].Line != 1 {
		t.Errorf("fail_on = %+v", p.FailOn)
	}
	if p.FailOnSeverity == nil || p.FailOnSeverity.Severity != analyze.Error || p.WarnOnSeverity.Severity != analyze.Warning {
		t.Errorf("severity rules = %+v %+v", p.FailOnSeverity, p.WarnOnSeverity)
	}
	if len(p.WarnOn) != 1 || p.Max[0] != (Limit{analyze.ConnectionRefused, 2, 6}) || p.MaxPerFile[0].Kind != analyze.Reset {
		t.Errorf("warn_on %+v max %+v max_per_file %+v", p.WarnOn, p.Max, p.MaxPerFile)
	}
	ig := p.Ignore[0]
	if len(ig.Kinds) != 2 || ig.ServerPort != 9999 || ig.Port != 9999 || ig.Host != netip.MustParseAddr("10.0.0.1") ||
		ig.CIDR != netip.MustParsePrefix("10.0.0.0/8") || ig.Server != netip.MustParsePrefix("10.0.0.2/32") ||
		ig.Input != "health-*.pcap" || ig.Reason != "readiness probe" || ig.Line != 10 {
		t.Errorf("ignore = %+v", ig)
	}
	if p.Severity[analyze.Reset] != analyze.Error {
		t.Errorf("severity = %v", p.Severity)
	}
	e := p.Expect
	if *e.MinConnections != 1 || *e.MaxConnections != 100 || len(e.ConnectionsTo) != 2 || e.ConnectionsTo[0].Min != 1 ||
		*e.ConnectionsTo[1].Max != 3 || e.HandshakeRTTP99 != 50*time.Millisecond || e.HandshakeRTTMax != time.Second ||
		len(e.MaxConnState) != 2 || e.MaxFinalState[0].State != "CLOSE_WAIT" {
		t.Errorf("expect = %+v", e)
	}
	if p.Timeouts != (Timeouts{3 * time.Second, time.Millisecond, 5 * time.Second, 30 * time.Second}) {
		t.Errorf("timeouts = %+v", p.Timeouts)
	}
	if n := p.Rules(); n != 2+1+1+1+1+1+9+1 {
		t.Errorf("Rules() = %d", n)
	}
}

// TestPolicyErrors: each broken policy is refused with the line (and column)
// of the mistake; a typo never passes.
func TestPolicyErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string // substrings of the error, in order
	}{
		{"bad yaml", "fail_on: [syn_unanswered\nmax: 0\n", []string{"p.yaml:"}},
		{"unknown top key", "fail_on: [reset]\nfail_onn: [reset]\n", []string{`p.yaml:2:1: unknown key "fail_onn" (did you mean "fail_on"?)`}},
		{"unknown kind in list", "fail_on:\n  - reset\n  - syn_unanswerd\n", []string{`p.yaml:3:5: unknown finding kind "syn_unanswerd" (did you mean "syn_unanswered"?)`}},
		{"unknown kind in max", "max:\n  refused: 0\n", []string{`p.yaml:2:3: unknown finding kind "refused"`}},
		{"unknown kind in severity", "fail_on: [reset]\nseverity: {resets: info}\n", []string{`p.yaml:2:12: unknown finding kind "resets"`}},
		{"bad severity", "fail_on_severity: fatal\n", []string{"p.yaml:1:19: expected a severity"}},
		{"duration without unit", "fail_on: [reset]\ntimeouts:\n  handshake: 3\n", []string{`p.yaml:3:14: duration "3" needs a unit`}},
		{"bad duration", "fail_on: [reset]\ntimeouts:\n  half_close: soon\n", []string{`p.yaml:3:15: bad duration "soon"`}},
		{"negative duration", "fail_on: [reset]\ntimeouts:\n  msl: -1s\n", []string{"p.yaml:3:8: duration \"-1s\" must be positive"}},
		{"unknown timeout", "fail_on: [reset]\ntimeouts:\n  handshak: 3s\n", []string{`p.yaml:3:3: unknown key "handshak"`}},
		{"bad trace_end", "fail_on: [reset]\ntrace_end: partial\n", []string{`p.yaml:2:12: trace_end must be finished (the trace is the record of a finished test) or cut (cut out of a longer capture), not "partial"`}},
		{"negative max", "max:\n  reset: -1\n", []string{"p.yaml:2:10: expected a whole number ≥ 0"}},
		{"max not a number", "max:\n  reset: none\n", []string{"p.yaml:2:10: expected a whole number"}},
		{"ignore without reason", "fail_on: [reset]\nignore:\n  - port: 80\n", []string{"p.yaml:3:5: ignore rule without a reason"}},
		{"ignore matching everything", "fail_on: [reset]\nignore:\n  - reason: noise\n", []string{"p.yaml:3:5: ignore rule matches every finding"}},
		{"ignore unknown key", "fail_on: [reset]\nignore:\n  - prot: 80\n    reason: x\n", []string{`p.yaml:3:5: unknown key "prot" (did you mean "port"?)`}},
		{"ignore bad cidr", "fail_on: [reset]\nignore:\n  - cidr: 10.0.0.0/33\n    reason: x\n", []string{"p.yaml:3:11: expected a CIDR"}},
		{"ignore bad port", "fail_on: [reset]\nignore:\n  - port: 70000\n    reason: x\n", []string{"p.yaml:3:11: port 70000 out of range"}},
		{"unknown conn_state", "expect:\n  max_conn_state: {S9: 0}\n", []string{`p.yaml:2:20: unknown conn_state "S9"`}},
		{"unknown final state", "expect:\n  max_final_state: {CLOSEWAIT: 0}\n", []string{`p.yaml:2:21: unknown TCP state "CLOSEWAIT" (did you mean "CLOSE_WAIT"?)`}},
		{"connections_to without port", "expect:\n  connections_to: [{min: 1}]\n", []string{"p.yaml:2:20: connections_to entry needs a port"}},
		{"duplicate key", "fail_on: [reset]\nfail_on: [syn_unanswered]\n", []string{`p.yaml:2:1: key "fail_on" repeated (first at line 1)`}},
		{"kind listed twice", "fail_on: [reset, reset]\n", []string{`p.yaml:1:18: kind "reset" listed twice`}},
		{"not a mapping", "- fail_on\n", []string{"p.yaml:1:1: a policy is a mapping"}},
		{"empty", "", []string{"p.yaml: policy has no rules"}},
		{"no rules", "timeouts:\n  handshake: 3s\n", []string{"p.yaml:1:1: policy has no rules"}},
		{"every error reported", "fail_onn: [x]\nmax:\n  nope: 1\n", []string{`p.yaml:1:1: unknown key "fail_onn"`, `p.yaml:3:3: unknown finding kind "nope"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePolicy("p.yaml", []byte(tc.src))
			if err == nil {
				t.Fatalf("accepted: %+v", p)
			}
			msg := err.Error()
			rest := msg
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("error %q does not contain %q", msg, w)
				}
				rest = rest[i+len(w):]
			}
			var pe *PolicyError
			if !errors.As(err, &pe) || pe.File != "p.yaml" {
				t.Errorf("not a *PolicyError naming the file: %#v", err)
			}
			if tc.name != "empty" && pe != nil && pe.Line == 0 {
				t.Errorf("no line in %v", err)
			}
		})
	}
}

// TestPolicyFixtures: the broken policies under testdata/policy name their line.
func TestPolicyFixtures(t *testing.T) {
	for file, want := range map[string]string{
		"bad-yaml.yaml":         "bad-yaml.yaml:",
		"unknown-key.yaml":      "unknown-key.yaml:4:1: unknown key \"fail_onn\"",
		"unknown-kind.yaml":     "unknown-kind.yaml:3:5: unknown finding kind \"syn_unanswerd\"",
		"bad-duration.yaml":     "bad-duration.yaml:3:14: duration \"3\" needs a unit",
		"ignore-no-reason.yaml": "ignore-no-reason.yaml:3:5: ignore rule without a reason",
		"no-rules.yaml":         "no-rules.yaml:2:1: policy has no rules",
	} {
		_, err := LoadPolicy(filepath.Join("testdata/policy", file))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want it to contain %q", file, err, want)
		}
	}
	if _, err := LoadPolicy("testdata/policy/does-not-exist.yaml"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestIgnoreMatches(t *testing.T) {
	f := &Finding{Input: "dir/health-1.pcap", Client: netip.MustParseAddrPort("10.0.0.1:40000"),
		Server: netip.MustParseAddrPort("10.0.1.2:9999"), Finding: analyze.Finding{Kind: analyze.ConnectionRefused}}
	for _, tc := range []struct {
		name string
		r    IgnoreRule
		want bool
	}{
		{"kind", IgnoreRule{Kinds: []analyze.Kind{analyze.ConnectionRefused}}, true},
		{"other kind", IgnoreRule{Kinds: []analyze.Kind{analyze.Reset}}, false},
		{"server port", IgnoreRule{ServerPort: 9999}, true},
		{"server port is not the client's", IgnoreRule{ServerPort: 40000}, false},
		{"port either side", IgnoreRule{Port: 40000}, true},
		{"port neither", IgnoreRule{Port: 80}, false},
		{"host client", IgnoreRule{Host: netip.MustParseAddr("10.0.0.1")}, true},
		{"host other", IgnoreRule{Host: netip.MustParseAddr("10.0.0.3")}, false},
		{"cidr server", IgnoreRule{CIDR: netip.MustParsePrefix("10.0.1.0/24")}, true},
		{"cidr none", IgnoreRule{CIDR: netip.MustParsePrefix("192.168.0.0/16")}, false},
		{"client", IgnoreRule{Client: netip.MustParsePrefix("10.0.0.0/24")}, true},
		{"client is not server", IgnoreRule{Client: netip.MustParsePrefix("10.0.1.0/24")}, false},
		{"server", IgnoreRule{Server: netip.MustParsePrefix("10.0.1.2/32")}, true},
		{"input glob", IgnoreRule{Input: "health-*.pcap"}, true},
		{"input other", IgnoreRule{Input: "api-*.pcap"}, false},
		{"all fields must match", IgnoreRule{ServerPort: 9999, Kinds: []analyze.Kind{analyze.Reset}}, false},
	} {
		if got := tc.r.matches(f); got != tc.want {
			t.Errorf("%s: matches = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRTTQuantile(t *testing.T) {
	s := newTrafficStats()
	for i := 100; i >= 1; i-- {
		s.rtts = append(s.rtts, time.Duration(i)*time.Millisecond)
	}
	if got := s.rttQuantile(0.99); got != 99*time.Millisecond {
		t.Errorf("p99 = %v", got)
	}
	if got := s.rttQuantile(1); got != 100*time.Millisecond {
		t.Errorf("max = %v", got)
	}
	if got := s.rttQuantile(0.5); got != 50*time.Millisecond {
		t.Errorf("p50 = %v", got)
	}
}

// trace_end: finished is the default; cut says the traces were cut out of
// longer captures.
func TestPolicyTraceEnd(t *testing.T) {
	for src, cut := range map[string]bool{
		"fail_on: [reset]\n":                      false,
		"fail_on: [reset]\ntrace_end: finished\n": false,
		"fail_on: [reset]\ntrace_end: cut\n":      true,
	} {
		p, err := ParsePolicy("p.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		if p.CutTrace != cut {
			t.Errorf("%q: CutTrace = %v, want %v", src, p.CutTrace, cut)
		}
	}
}
