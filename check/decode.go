package check

import (
	"fmt"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/analyze/zeek"
)

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
	var names []string
	for _, c := range analyze.Catalogue() {
		names = append(names, string(c.Kind))
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
				if !contains(connStates, k.Value) {
					d.errorf(k, "unknown conn_state %q%s (Zeek's: %s)", k.Value, suggest(k.Value, connStates), strings.Join(connStates, ", "))
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

// connStates names Zeek's conn_states, for max_conn_state.
var connStates = func() []string {
	var out []string
	for _, c := range zeek.ConnStates() {
		out = append(out, string(c))
	}
	return out
}()

func stateNames() []string {
	var out []string
	for s := analyze.Closed; s.String() != "UNKNOWN"; s++ {
		out = append(out, s.String())
	}
	return out
}

// traceEnd reads trace_end: finished (the default) or cut; it reports
// whether the traces are cut out of longer captures.
func (d *decoder) traceEnd(n *yaml.Node) bool {
	n = resolve(n)
	switch n.Value {
	case "finished":
		return false
	case "cut":
		return true
	}
	d.errorf(n, "trace_end must be finished (the trace is the record of a finished test) or cut (cut out of a longer capture), not %q", n.Value)
	return false
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
