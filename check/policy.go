package check

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tcpflow-check/tcpflow-check/analyze"
)

// Policy is what `tcpflow-check check` holds a run's findings to: which
// findings fail the build (or only warn), how many of a kind are allowed
// over all inputs and per input, which findings to ignore and why, severity
// overrides, expectations about the traffic itself, and the analysis
// timeouts. Load one with LoadPolicy or ParsePolicy; docs/check.md documents
// every key with a worked example.
//
// The zero Policy has no rules; ParsePolicy refuses one, because a policy
// that cannot fail would pass every build.
type Policy struct {
	// Name is the file the policy was read from, for messages.
	Name string
	// FailOn fails on any finding of these kinds (fail_on).
	FailOn []KindRule
	// WarnOn reports findings of these kinds as warnings without failing
	// (warn_on).
	WarnOn []KindRule
	// FailOnSeverity fails on any finding at or above a severity
	// (fail_on_severity); nil when unset.
	FailOnSeverity *SeverityRule
	// WarnOnSeverity warns on any finding at or above a severity
	// (warn_on_severity); nil when unset.
	WarnOnSeverity *SeverityRule
	// Max limits the findings of a kind over all inputs together (max).
	Max []Limit
	// MaxPerFile limits the findings of a kind in each input (max_per_file).
	MaxPerFile []Limit
	// Ignore lists the findings no rule counts (ignore).
	Ignore []IgnoreRule
	// Severity overrides the catalogue's severity of a kind (severity).
	Severity map[analyze.Kind]analyze.Severity
	// Expect holds expectations about all inputs together (expect); nil when unset.
	Expect *Expect
	// ExpectPerFile holds expectations each input must meet on its own
	// (expect_per_file); nil when unset.
	ExpectPerFile *Expect
	// Timeouts override the analysis defaults (timeouts).
	Timeouts Timeouts
	// CutTrace (trace_end: cut) says the traces were cut out of longer
	// captures, so a condition pending at a trace's end may have finished
	// after it: pending conditions follow the timeouts, as in analyze. The
	// default (trace_end: finished) holds a trace to be the record of a
	// finished test, where whatever is still pending at its end never
	// finished and is a finding of its kind, however short.
	CutTrace bool
	// TraceEndLine is the line of trace_end; 0 when unset.
	TraceEndLine int
}

// KindRule is one kind of a fail_on or warn_on list.
type KindRule struct {
	Kind analyze.Kind
	Line int // in the policy file
}

// SeverityRule is fail_on_severity or warn_on_severity.
type SeverityRule struct {
	Severity analyze.Severity
	Line     int
}

// Limit is one entry of max or max_per_file: at most Max findings of Kind.
type Limit struct {
	Kind analyze.Kind
	Max  int
	Line int
}

// IgnoreRule matches findings that no rule counts. Every field that is set
// must match; unset fields match anything. Reason is required, so that the
// policy says why.
type IgnoreRule struct {
	Kinds      []analyze.Kind // kind: one kind or a list; empty = every kind
	ServerPort uint16         // server_port: the server's port; 0 = any
	Port       uint16         // port: either peer's port; 0 = any
	Host       netip.Addr     // host: either peer's address; invalid = any
	CIDR       netip.Prefix   // cidr: either peer's address in this prefix; invalid = any
	Client     netip.Prefix   // client: the client's address (an IP or a CIDR); invalid = any
	Server     netip.Prefix   // server: the server's address (an IP or a CIDR); invalid = any
	Input      string         // input: a glob (path.Match) on the input's base name; "" = any
	Reason     string
	Line       int
}

// Expect is expectations about the traffic in the traces (expect,
// expect_per_file). Unset fields expect nothing.
type Expect struct {
	Line            int
	MinConnections  *int           // min_connections
	MaxConnections  *int           // max_connections
	ConnectionsTo   []ConnsTo      // connections_to
	HandshakeRTTP99 time.Duration  // handshake_rtt_p99: the 99th percentile of handshake RTTs at most this; 0 = unset
	HandshakeRTTMax time.Duration  // handshake_rtt_max: every handshake RTT at most this; 0 = unset
	MaxConnState    []StateLimit   // max_conn_state: at most Max connections with this Zeek conn_state
	MaxFinalState   []StateLimit   // max_final_state: at most Max connections in which a peer ended in this state
	lines           map[string]int // key → line, for the rule names
}

// ConnsTo is one entry of connections_to: between Min and Max connections
// to Port (on Host, when set).
type ConnsTo struct {
	Port uint16
	Host netip.Prefix // host: an IP or a CIDR; invalid = any
	Min  int          // default 1
	Max  *int
	Line int
}

// StateLimit is one entry of max_conn_state or max_final_state.
type StateLimit struct {
	State string
	Max   int
	Line  int
}

// Timeouts override the analysis defaults; zero fields keep them.
type Timeouts struct {
	Handshake  time.Duration // handshake: SYN or SYN-ACK waiting for its answer
	HalfClose  time.Duration // half_close: CLOSE_WAIT before half_close_stuck
	ZeroWindow time.Duration // zero_window: a zero window before zero_window_stuck
	MSL        time.Duration // msl: maximum segment lifetime (TIME_WAIT = 2·MSL)
}

// PolicyError is one thing wrong with a policy, at a line and column of its
// file. ParsePolicy joins them (errors.Join); errors.As finds the first.
type PolicyError struct {
	File         string
	Line, Column int // 1-based; 0 when unknown
	Msg          string
}

func (e *PolicyError) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// ErrNoRules is wrapped by the error for a policy that has nothing that
// could fail.
var ErrNoRules = errors.New("policy has no rules")

// LoadPolicy reads and parses the policy file name.
func LoadPolicy(name string) (*Policy, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("check: policy: %w", err)
	}
	return ParsePolicy(name, data)
}

// The keys of each mapping, in the order docs/check.md lists them.
var (
	policyKeys = []string{"fail_on", "fail_on_severity", "warn_on", "warn_on_severity", "max", "max_per_file",
		"ignore", "severity", "expect", "expect_per_file", "timeouts", "trace_end"}
	ignoreKeys   = []string{"kind", "server_port", "port", "host", "cidr", "client", "server", "input", "reason"}
	expectKeys   = []string{"min_connections", "max_connections", "connections_to", "handshake_rtt_p99", "handshake_rtt_max", "max_conn_state", "max_final_state"}
	connsToKeys  = []string{"port", "host", "min", "max"}
	timeoutKeys  = []string{"handshake", "half_close", "zero_window", "msl"}
	yamlLineExpr = regexp.MustCompile(`line (\d+)`)
)

// ParsePolicy parses a policy from data; name is the file it came from, for
// messages. Every error names the line and column: unknown keys, unknown
// finding kinds, bad values and durations, duplicate keys. All of them are
// reported, joined.
func ParsePolicy(name string, data []byte) (*Policy, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		pe := &PolicyError{File: name, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
		if m := yamlLineExpr.FindStringSubmatch(err.Error()); m != nil {
			pe.Line, _ = strconv.Atoi(m[1])
		}
		return nil, pe
	}
	p := &Policy{Name: name}
	d := &decoder{file: name}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &PolicyError{File: name, Msg: ErrNoRules.Error() + ": the file is empty"}
	}
	root := resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, d.errorf(root, "a policy is a mapping of keys (fail_on, max, ignore, ...), not a %s", nodeKind(root))
	}
	d.mapping(root, policyKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "fail_on":
			p.FailOn = d.kindRules(v)
		case "warn_on":
			p.WarnOn = d.kindRules(v)
		case "fail_on_severity":
			if s, ok := d.severity(v); ok {
				p.FailOnSeverity = &SeverityRule{Severity: s, Line: k.Line}
			}
		case "warn_on_severity":
			if s, ok := d.severity(v); ok {
				p.WarnOnSeverity = &SeverityRule{Severity: s, Line: k.Line}
			}
		case "max":
			p.Max = d.limits(v)
		case "max_per_file":
			p.MaxPerFile = d.limits(v)
		case "ignore":
			p.Ignore = d.ignores(v)
		case "severity":
			p.Severity = d.severities(v)
		case "expect":
			p.Expect = d.expect(v)
		case "expect_per_file":
			p.ExpectPerFile = d.expect(v)
		case "timeouts":
			p.Timeouts = d.timeouts(v)
		case "trace_end":
			p.CutTrace, p.TraceEndLine = d.traceEnd(v), k.Line
		}
	})
	if len(d.errs) == 0 && !p.hasRules() {
		d.errs = append(d.errs, &PolicyError{File: name, Line: root.Line, Column: root.Column,
			Msg: ErrNoRules.Error() + ": nothing could fail (add fail_on, fail_on_severity, max, max_per_file, expect or expect_per_file)"})
	}
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	return p, nil
}

func (p *Policy) hasRules() bool {
	return len(p.FailOn) > 0 || p.FailOnSeverity != nil || len(p.Max) > 0 || len(p.MaxPerFile) > 0 ||
		p.Expect.hasRules() || p.ExpectPerFile.hasRules() || len(p.WarnOn) > 0 || p.WarnOnSeverity != nil
}

func (e *Expect) hasRules() bool {
	return e != nil && (e.MinConnections != nil || e.MaxConnections != nil || len(e.ConnectionsTo) > 0 ||
		e.HandshakeRTTP99 > 0 || e.HandshakeRTTMax > 0 || len(e.MaxConnState) > 0 || len(e.MaxFinalState) > 0)
}

// Rules counts the rules a policy holds (each kind of fail_on, each limit,
// each expectation), for `policy check`.
func (p *Policy) Rules() int {
	n := len(p.FailOn) + len(p.WarnOn) + len(p.Max) + len(p.MaxPerFile)
	if p.FailOnSeverity != nil {
		n++
	}
	if p.WarnOnSeverity != nil {
		n++
	}
	for _, e := range []*Expect{p.Expect, p.ExpectPerFile} {
		if e != nil {
			n += len(e.expectations())
		}
	}
	return n
}

// SeverityOf returns k's severity under the policy's overrides.
func (p *Policy) SeverityOf(k analyze.Kind, def analyze.Severity) analyze.Severity {
	if s, ok := p.Severity[k]; ok {
		return s
	}
	return def
}
