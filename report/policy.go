package report

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path"
	"regexp"
	"sort"
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
		return nil, fmt.Errorf("report: policy: %w", err)
	}
	return ParsePolicy(name, data)
}

// The keys of each mapping, in the order docs/check.md lists them.
var (
	policyKeys = []string{"fail_on", "fail_on_severity", "warn_on", "warn_on_severity", "max", "max_per_file",
		"ignore", "severity", "expect", "expect_per_file", "timeouts"}
	ignoreKeys   = []string{"kind", "server_port", "port", "host", "cidr", "client", "server", "input", "reason"}
	expectKeys   = []string{"min_connections", "max_connections", "connections_to", "handshake_rtt_p99", "handshake_rtt_max", "max_conn_state", "max_final_state"}
	connsToKeys  = []string{"port", "host", "min", "max"}
	timeoutKeys  = []string{"handshake", "half_close", "zero_window", "msl"}
	zeekStates   = []string{"S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"}
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

// Apply sets the timeouts the policy overrides in cfg.
func (t Timeouts) Apply(cfg *analyze.Config) {
	set := func(dst *time.Duration, v time.Duration) {
		if v > 0 {
			*dst = v
		}
	}
	set(&cfg.HandshakeTimeout, t.Handshake)
	set(&cfg.HalfCloseTimeout, t.HalfClose)
	set(&cfg.ZeroWindowTimeout, t.ZeroWindow)
	set(&cfg.MSL, t.MSL)
}

// decoder walks the YAML tree and collects every error.
type decoder struct {
	file string
	errs []error
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) error {
	e := &PolicyError{File: d.file, Line: n.Line, Column: n.Column, Msg: fmt.Sprintf(format, args...)}
	d.errs = append(d.errs, e)
	return e
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return fmt.Sprintf("scalar %q", n.Value)
	}
	return "document"
}

// mapping calls fn for each key of n, in order, after checking that the key
// is one of keys and not repeated.
func (d *decoder) mapping(n *yaml.Node, keys []string, fn func(key string, k, v *yaml.Node)) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "expected a mapping with keys %s, got a %s", strings.Join(keys, ", "), nodeKind(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if !contains(keys, k.Value) {
			d.errorf(k, "unknown key %q%s (valid: %s)", k.Value, suggest(k.Value, keys), strings.Join(keys, ", "))
			continue
		}
		if line, dup := seen[k.Value]; dup {
			d.errorf(k, "key %q repeated (first at line %d)", k.Value, line)
			continue
		}
		seen[k.Value] = k.Line
		fn(k.Value, k, v)
	}
}

// kvs calls fn for each key of a free-form mapping (kinds, states), checking
// repeats only.
func (d *decoder) kvs(n *yaml.Node, what string, fn func(k, v *yaml.Node)) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "expected a mapping of %s, got a %s", what, nodeKind(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if line, dup := seen[k.Value]; dup {
			d.errorf(k, "key %q repeated (first at line %d)", k.Value, line)
			continue
		}
		seen[k.Value] = k.Line
		fn(k, v)
	}
}

// list returns the items of a sequence; a scalar is a list of one.
func (d *decoder) list(n *yaml.Node) []*yaml.Node {
	n = resolve(n)
	switch n.Kind {
	case yaml.SequenceNode:
		out := make([]*yaml.Node, len(n.Content))
		for i, c := range n.Content {
			out[i] = resolve(c)
		}
		return out
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil
		}
		return []*yaml.Node{n}
	}
	d.errorf(n, "expected a list, got a %s", nodeKind(n))
	return nil
}

func kindNames() []string {
	names := make([]string, len(analyze.Catalogue))
	for i, c := range analyze.Catalogue {
		names[i] = string(c.Kind)
	}
	return names
}

func (d *decoder) kind(n *yaml.Node) (analyze.Kind, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errorf(n, "expected a finding kind, got a %s", nodeKind(n))
		return "", false
	}
	k := analyze.Kind(n.Value)
	if _, ok := analyze.KindSeverity(k); !ok {
		d.errorf(n, "unknown finding kind %q%s (kinds: %s)", n.Value, suggest(n.Value, kindNames()), strings.Join(kindNames(), ", "))
		return "", false
	}
	return k, true
}

func (d *decoder) kindRules(n *yaml.Node) []KindRule {
	var out []KindRule
	seen := map[analyze.Kind]bool{}
	for _, c := range d.list(n) {
		if k, ok := d.kind(c); ok {
			if seen[k] {
				d.errorf(c, "kind %q listed twice", k)
				continue
			}
			seen[k] = true
			out = append(out, KindRule{Kind: k, Line: c.Line})
		}
	}
	return out
}

func (d *decoder) severity(n *yaml.Node) (analyze.Severity, bool) {
	s, ok := analyze.ParseSeverity(n.Value)
	if n.Kind != yaml.ScalarNode || !ok {
		d.errorf(n, "expected a severity (info, warning, error), got %s", nodeKind(n))
		return 0, false
	}
	return s, true
}

func (d *decoder) int(n *yaml.Node, min int) (int, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		d.errorf(n, "expected a whole number, got a %s", nodeKind(n))
		return 0, false
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil || v < min {
		d.errorf(n, "expected a whole number ≥ %d, got %s", min, n.Value)
		return 0, false
	}
	return v, true
}

func (d *decoder) port(n *yaml.Node) (uint16, bool) {
	v, ok := d.int(n, 1)
	if !ok {
		return 0, false
	}
	if v > 65535 {
		d.errorf(n, "port %d out of range 1–65535", v)
		return 0, false
	}
	return uint16(v), true
}

func (d *decoder) duration(n *yaml.Node) (time.Duration, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "expected a duration such as 500ms or 3s, got a %s", nodeKind(n))
		return 0, false
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		if _, numErr := strconv.ParseFloat(n.Value, 64); numErr == nil {
			d.errorf(n, "duration %q needs a unit, such as %ss or %sms", n.Value, n.Value, n.Value)
		} else {
			d.errorf(n, "bad duration %q: use a number and a unit, such as 500ms, 3s, 1m", n.Value)
		}
		return 0, false
	}
	if v <= 0 {
		d.errorf(n, "duration %q must be positive", n.Value)
		return 0, false
	}
	return v, true
}

func (d *decoder) addr(n *yaml.Node) (netip.Addr, bool) {
	a, err := netip.ParseAddr(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		d.errorf(n, "expected an IP address, got %s", nodeKind(n))
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// prefix accepts a CIDR, or an IP as a single-address prefix.
func (d *decoder) prefix(n *yaml.Node) (netip.Prefix, bool) {
	if n.Kind == yaml.ScalarNode {
		if p, err := netip.ParsePrefix(n.Value); err == nil {
			return p.Masked(), true
		}
		if a, err := netip.ParseAddr(n.Value); err == nil {
			a = a.Unmap()
			return netip.PrefixFrom(a, a.BitLen()), true
		}
	}
	d.errorf(n, "expected an IP address or a CIDR (10.0.0.0/8), got %s", nodeKind(n))
	return netip.Prefix{}, false
}

func (d *decoder) limits(n *yaml.Node) []Limit {
	var out []Limit
	d.kvs(n, "finding kinds to counts", func(k, v *yaml.Node) {
		kind, ok := d.kind(k)
		if !ok {
			return
		}
		if m, ok := d.int(v, 0); ok {
			out = append(out, Limit{Kind: kind, Max: m, Line: k.Line})
		}
	})
	return out
}

func (d *decoder) severities(n *yaml.Node) map[analyze.Kind]analyze.Severity {
	out := map[analyze.Kind]analyze.Severity{}
	d.kvs(n, "finding kinds to severities", func(k, v *yaml.Node) {
		kind, ok := d.kind(k)
		if !ok {
			return
		}
		if s, ok := d.severity(v); ok {
			out[kind] = s
		}
	})
	return out
}

func (d *decoder) ignores(n *yaml.Node) []IgnoreRule {
	var out []IgnoreRule
	for _, item := range d.list(n) {
		r := IgnoreRule{Line: item.Line}
		matchers := 0
		d.mapping(item, ignoreKeys, func(key string, k, v *yaml.Node) {
			if key != "reason" {
				matchers++
			}
			switch key {
			case "kind":
				for _, c := range d.list(v) {
					if kind, ok := d.kind(c); ok {
						r.Kinds = append(r.Kinds, kind)
					}
				}
			case "server_port":
				r.ServerPort, _ = d.port(v)
			case "port":
				r.Port, _ = d.port(v)
			case "host":
				r.Host, _ = d.addr(v)
			case "cidr":
				if p, err := netip.ParsePrefix(v.Value); v.Kind == yaml.ScalarNode && err == nil {
					r.CIDR = p.Masked()
				} else {
					d.errorf(v, "expected a CIDR such as 10.0.0.0/8, got %s", nodeKind(v))
				}
			case "client":
				r.Client, _ = d.prefix(v)
			case "server":
				r.Server, _ = d.prefix(v)
			case "input":
				if _, err := path.Match(v.Value, ""); v.Kind != yaml.ScalarNode || err != nil {
					d.errorf(v, "expected a file name pattern such as health-*.pcap, got %s", nodeKind(v))
				} else {
					r.Input = v.Value
				}
			case "reason":
				if v.Kind != yaml.ScalarNode || strings.TrimSpace(v.Value) == "" {
					d.errorf(v, "reason must be a sentence saying why these findings are ignored")
				} else {
					r.Reason = v.Value
				}
			}
		})
		if resolve(item).Kind != yaml.MappingNode {
			continue
		}
		if r.Reason == "" {
			d.errorf(item, "ignore rule without a reason: say why these findings do not matter")
		}
		if matchers == 0 {
			d.errorf(item, "ignore rule matches every finding: give a kind, port, host, cidr, client, server or input")
		}
		out = append(out, r)
	}
	return out
}

func (d *decoder) expect(n *yaml.Node) *Expect {
	e := &Expect{Line: n.Line, lines: map[string]int{}}
	d.mapping(n, expectKeys, func(key string, k, v *yaml.Node) {
		e.lines[key] = k.Line
		switch key {
		case "min_connections":
			if m, ok := d.int(v, 0); ok {
				e.MinConnections = &m
			}
		case "max_connections":
			if m, ok := d.int(v, 0); ok {
				e.MaxConnections = &m
			}
		case "connections_to":
			for _, item := range d.list(v) {
				c := ConnsTo{Min: 1, Line: item.Line}
				hasPort := false
				d.mapping(item, connsToKeys, func(key string, k, v *yaml.Node) {
					switch key {
					case "port":
						c.Port, hasPort = d.port(v)
					case "host":
						c.Host, _ = d.prefix(v)
					case "min":
						c.Min, _ = d.int(v, 0)
					case "max":
						if m, ok := d.int(v, 0); ok {
							c.Max = &m
						}
					}
				})
				if resolve(item).Kind != yaml.MappingNode {
					continue
				}
				if !hasPort {
					d.errorf(item, "connections_to entry needs a port")
					continue
				}
				e.ConnectionsTo = append(e.ConnectionsTo, c)
			}
		case "handshake_rtt_p99":
			e.HandshakeRTTP99, _ = d.duration(v)
		case "handshake_rtt_max":
			e.HandshakeRTTMax, _ = d.duration(v)
		case "max_conn_state":
			d.kvs(v, "Zeek conn_states to counts", func(k, v *yaml.Node) {
				if !contains(zeekStates, k.Value) {
					d.errorf(k, "unknown conn_state %q%s (Zeek's: %s)", k.Value, suggest(k.Value, zeekStates), strings.Join(zeekStates, ", "))
					return
				}
				if m, ok := d.int(v, 0); ok {
					e.MaxConnState = append(e.MaxConnState, StateLimit{State: k.Value, Max: m, Line: k.Line})
				}
			})
		case "max_final_state":
			names := stateNames()
			d.kvs(v, "peer states to counts", func(k, v *yaml.Node) {
				if _, ok := analyze.ParseState(k.Value); !ok {
					d.errorf(k, "unknown TCP state %q%s (states: %s)", k.Value, suggest(k.Value, names), strings.Join(names, ", "))
					return
				}
				if m, ok := d.int(v, 0); ok {
					e.MaxFinalState = append(e.MaxFinalState, StateLimit{State: k.Value, Max: m, Line: k.Line})
				}
			})
		}
	})
	return e
}

func stateNames() []string {
	var out []string
	for s := analyze.Closed; s.String() != "UNKNOWN"; s++ {
		out = append(out, s.String())
	}
	return out
}

func (d *decoder) timeouts(n *yaml.Node) Timeouts {
	var t Timeouts
	d.mapping(n, timeoutKeys, func(key string, k, v *yaml.Node) {
		dur, _ := d.duration(v)
		switch key {
		case "handshake":
			t.Handshake = dur
		case "half_close":
			t.HalfClose = dur
		case "zero_window":
			t.ZeroWindow = dur
		case "msl":
			t.MSL = dur
		}
	})
	return t
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns ` (did you mean "x"?)` for the candidate closest to s,
// when one is close enough to be a typo.
func suggest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	if best != "" && bestD <= max(2, len(s)/4) {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// expectation is one check of an Expect, named as the rule it is.
type expectation struct {
	name string
	line int
	eval func(s *trafficStats) (ok bool, msg string)
}

// expectations lists e's checks in a fixed order.
func (e *Expect) expectations() []expectation {
	var out []expectation
	if e.MinConnections != nil {
		m := *e.MinConnections
		out = append(out, expectation{fmt.Sprintf("min_connections: %d", m), e.lines["min_connections"], func(s *trafficStats) (bool, string) {
			return s.conns >= m, fmt.Sprintf("%d connection(s), expected at least %d", s.conns, m)
		}})
	}
	if e.MaxConnections != nil {
		m := *e.MaxConnections
		out = append(out, expectation{fmt.Sprintf("max_connections: %d", m), e.lines["max_connections"], func(s *trafficStats) (bool, string) {
			return s.conns <= m, fmt.Sprintf("%d connection(s), expected at most %d", s.conns, m)
		}})
	}
	for _, c := range e.ConnectionsTo {
		name := fmt.Sprintf("connections_to: port %d", c.Port)
		if c.Host.IsValid() {
			name = fmt.Sprintf("connections_to: %s port %d", prefixString(c.Host), c.Port)
		}
		bounds := fmt.Sprintf("at least %d", c.Min)
		if c.Max != nil {
			bounds = fmt.Sprintf("between %d and %d", c.Min, *c.Max)
		}
		name += " (" + bounds + ")"
		out = append(out, expectation{name, c.Line, func(s *trafficStats) (bool, string) {
			n := 0
			for ap, k := range s.servers {
				if ap.Port() == c.Port && (!c.Host.IsValid() || c.Host.Contains(ap.Addr())) {
					n += k
				}
			}
			return n >= c.Min && (c.Max == nil || n <= *c.Max), fmt.Sprintf("%d connection(s) to port %d, expected %s", n, c.Port, bounds)
		}})
	}
	if e.HandshakeRTTP99 > 0 {
		lim := e.HandshakeRTTP99
		out = append(out, expectation{"handshake_rtt_p99: " + lim.String(), e.lines["handshake_rtt_p99"], func(s *trafficStats) (bool, string) {
			if len(s.rtts) == 0 {
				return true, "no complete handshake with a measured RTT"
			}
			p := s.rttQuantile(0.99)
			return p <= lim, fmt.Sprintf("handshake RTT p99 %s over %d handshake(s), limit %s (max %s)", p, len(s.rtts), lim, s.rttQuantile(1))
		}})
	}
	if e.HandshakeRTTMax > 0 {
		lim := e.HandshakeRTTMax
		out = append(out, expectation{"handshake_rtt_max: " + lim.String(), e.lines["handshake_rtt_max"], func(s *trafficStats) (bool, string) {
			if len(s.rtts) == 0 {
				return true, "no complete handshake with a measured RTT"
			}
			m := s.rttQuantile(1)
			return m <= lim, fmt.Sprintf("slowest handshake RTT %s over %d handshake(s), limit %s", m, len(s.rtts), lim)
		}})
	}
	for _, l := range e.MaxConnState {
		out = append(out, expectation{fmt.Sprintf("max_conn_state: %s ≤ %d", l.State, l.Max), l.Line, func(s *trafficStats) (bool, string) {
			n := s.connStates[l.State]
			return n <= l.Max, fmt.Sprintf("%d connection(s) with conn_state %s, allowed %d", n, l.State, l.Max)
		}})
	}
	for _, l := range e.MaxFinalState {
		out = append(out, expectation{fmt.Sprintf("max_final_state: %s ≤ %d", l.State, l.Max), l.Line, func(s *trafficStats) (bool, string) {
			n := s.finalStates[l.State]
			return n <= l.Max, fmt.Sprintf("%d connection(s) with a peer left in %s, allowed %d", n, l.State, l.Max)
		}})
	}
	return out
}

func prefixString(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// trafficStats is what expectations look at, per input or over all.
type trafficStats struct {
	conns       int
	servers     map[netip.AddrPort]int
	rtts        []time.Duration
	connStates  map[string]int
	finalStates map[string]int // connections in which a peer ended in the state
	sorted      bool
}

func newTrafficStats() *trafficStats {
	return &trafficStats{servers: map[netip.AddrPort]int{}, connStates: map[string]int{}, finalStates: map[string]int{}}
}

func (s *trafficStats) add(c *analyze.Conn) {
	s.conns++
	s.servers[netip.AddrPortFrom(c.Server.Addr().Unmap(), c.Server.Port())]++
	if c.Handshake.Complete && c.Handshake.HasRTT {
		s.rtts = append(s.rtts, c.Handshake.RTT)
		s.sorted = false
	}
	if c.ConnState != "" {
		s.connStates[c.ConnState]++
	}
	s.finalStates[c.ClientState.String()]++
	if c.ServerState != c.ClientState {
		s.finalStates[c.ServerState.String()]++
	}
}

func (s *trafficStats) merge(o *trafficStats) {
	s.conns += o.conns
	for k, v := range o.servers {
		s.servers[k] += v
	}
	s.rtts = append(s.rtts, o.rtts...)
	s.sorted = false
	for k, v := range o.connStates {
		s.connStates[k] += v
	}
	for k, v := range o.finalStates {
		s.finalStates[k] += v
	}
}

// rttQuantile is the nearest-rank quantile q of the RTTs (exact, not from a
// histogram); q = 1 is the maximum.
func (s *trafficStats) rttQuantile(q float64) time.Duration {
	if len(s.rtts) == 0 {
		return 0
	}
	if !s.sorted {
		sort.Slice(s.rtts, func(i, j int) bool { return s.rtts[i] < s.rtts[j] })
		s.sorted = true
	}
	rank := int(q*float64(len(s.rtts))+0.999999) - 1
	return s.rtts[max(0, min(rank, len(s.rtts)-1))]
}
