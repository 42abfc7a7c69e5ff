package check

import (
	"fmt"
	"net/netip"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/human"
	"github.com/tcpflow-check/tcpflow-check/report"
)

// Level is what a rule does when it is not met: fail the run, or warn.
type Level uint8

// The levels.
const (
	LevelFail Level = iota
	LevelWarn
)

func (l Level) String() string {
	if l == LevelWarn {
		return "warn"
	}
	return "fail"
}

// Finding is one finding as the policy sees it: where it is, its
// severity after the policy's overrides, and whether an ignore rule or the
// baseline takes it out of the count.
type Finding struct {
	Input       string
	ConnID      uint64
	Client      netip.AddrPort
	Server      netip.AddrPort
	ClientState analyze.State // final states of the connection
	ServerState analyze.State
	ConnState   string
	analyze.Finding
	// Ignored is the reason of the ignore rule that matched, and IgnoreLine
	// its line; "" when none did.
	Ignored    string
	IgnoreLine int
	// Baseline is true when the finding was already in the baseline.
	Baseline bool
}

// Active reports whether rules count f: not ignored, not in the baseline.
func (f *Finding) Active() bool { return f.Ignored == "" && !f.Baseline }

// RuleResult is one rule evaluated on one input, or over all inputs.
type RuleResult struct {
	Rule string // e.g. "fail_on: syn_unanswered", "max: connection_refused ≤ 0"
	Line int    // the rule's line in the policy; 0 for a rule no policy can turn off

	Level   Level
	Input   string // "" for rules over all inputs
	Failed  bool
	Message string     // what was found, e.g. "1 syn_unanswered finding(s)"
	Kind    string     // the finding kind the rule is about; "" for several or none
	Found   []*Finding // the findings behind the result (counted ones)
}

// InputResult is one input: its read error, if any, and its rules.
type InputResult struct {
	Name        string
	Err         error // damage that ended reading early: the run cannot pass
	Stats       capture.Stats
	Connections int
	Rules       []RuleResult
}

// Verdict is the outcome of a check run.
type Verdict struct {
	Policy   string
	Inputs   []InputResult
	Global   []RuleResult // max and expect: rules over all inputs together
	Findings []*Finding   // every finding, in the order connections ended
	Ignored  int          // findings taken out by ignore rules
	Known    int          // findings taken out by the baseline
}

// Failed reports whether any fail-level rule failed.
func (v *Verdict) Failed() bool { return v.count(LevelFail) > 0 }

// InputErrors counts the inputs that could not be read to the end.
func (v *Verdict) InputErrors() int {
	n := 0
	for i := range v.Inputs {
		if v.Inputs[i].Err != nil {
			n++
		}
	}
	return n
}

// Status is "pass", "fail" or "error" (an unreadable input, whatever the
// rules said).
func (v *Verdict) Status() string {
	switch {
	case v.InputErrors() > 0:
		return "error"
	case v.Failed():
		return "fail"
	}
	return "pass"
}

func (v *Verdict) count(l Level) int {
	n := 0
	v.each(func(r *RuleResult) {
		if r.Failed && r.Level == l {
			n++
		}
	})
	return n
}

// each calls fn for every rule result: each input's, then the global ones.
func (v *Verdict) each(fn func(r *RuleResult)) {
	for i := range v.Inputs {
		for j := range v.Inputs[i].Rules {
			fn(&v.Inputs[i].Rules[j])
		}
	}
	for j := range v.Global {
		fn(&v.Global[j])
	}
}

// Check is an analyze.Sink that holds a run's findings to a Policy. Feed it
// the analysis of every input (each connection's Input names its input),
// then call Verdict. It keeps the findings and a few counters per input,
// not the connections.
type Checker struct {
	// Limits are the analysis limits in force, quoted by the rule that
	// fails a trace whose analysis hit one.
	Limits Limits
	// Interface is the interface check -i captured on around its command;
	// the hints about an empty trace speak of it, not of tcpdump. "" when
	// the traces are files.
	Interface string
	policy    *Policy
	baseline  *Baseline
	inputs    map[string]*inputState
	findings  []*Finding
}

// Limits are the analyzer's limits, as the command line sets them.
type Limits struct {
	MaxConns  int    // --max-conns
	MaxMemory string // --max-memory, for people ("2 GiB"); "" when none
}

type inputState struct {
	traffic  *trafficStats
	findings []*Finding
	// ended counts the connections the analysis stopped following early
	// because a limit was reached, by analyze.Ended*; limited are their
	// tracking_limit findings.
	ended   map[string]int
	limited map[string][]*Finding
}

// New returns a Check of p; b, when not nil, takes the findings it
// holds out of the count.
func New(p *Policy, b *Baseline) *Checker {
	return &Checker{policy: p, baseline: b.clone(), inputs: map[string]*inputState{}}
}

// Finding implements analyze.Sink; findings are taken with their connection.
func (c *Checker) Finding(*analyze.Conn, *analyze.Finding) {}

// End implements analyze.Sink.
func (c *Checker) End(conn *analyze.Conn) {
	in := c.input(conn.Input)
	in.traffic.add(conn)
	for i := range conn.Findings {
		f := &Finding{
			Input: conn.Input, ConnID: conn.ID, Client: conn.Client, Server: conn.Server,
			ClientState: conn.ClientState, ServerState: conn.ServerState, ConnState: conn.ConnState,
			Finding: conn.Findings[i],
		}
		f.Frames = append([]uint64(nil), f.Frames...)
		f.Severity = c.policy.SeverityOf(f.Kind, f.Severity)
		for j := range c.policy.Ignore {
			if r := &c.policy.Ignore[j]; r.matches(f) {
				f.Ignored, f.IgnoreLine = r.Reason, r.Line
				break
			}
		}
		if f.Ignored == "" && c.baseline.take(f) {
			f.Baseline = true
		}
		in.findings = append(in.findings, f)
		c.findings = append(c.findings, f)
		if f.Kind == analyze.TrackingLimit && conn.EndedEarly != "" {
			in.limited[conn.EndedEarly] = append(in.limited[conn.EndedEarly], f)
		}
	}
	if conn.EndedEarly != "" {
		in.ended[conn.EndedEarly]++
	}
}

func (c *Checker) input(name string) *inputState {
	in := c.inputs[name]
	if in == nil {
		in = &inputState{traffic: newTrafficStats(), ended: map[string]int{}, limited: map[string][]*Finding{}}
		c.inputs[name] = in
	}
	return in
}

// matches reports whether r covers f.
func (r *IgnoreRule) matches(f *Finding) bool {
	ca, sa := f.Client.Addr().Unmap(), f.Server.Addr().Unmap()
	if len(r.Kinds) > 0 && !containsKind(r.Kinds, f.Kind) {
		return false
	}
	if r.ServerPort != 0 && f.Server.Port() != r.ServerPort {
		return false
	}
	if r.Port != 0 && f.Server.Port() != r.Port && f.Client.Port() != r.Port {
		return false
	}
	if r.Host.IsValid() && ca != r.Host && sa != r.Host {
		return false
	}
	if r.CIDR.IsValid() && !r.CIDR.Contains(ca) && !r.CIDR.Contains(sa) {
		return false
	}
	if r.Client.IsValid() && !r.Client.Contains(ca) {
		return false
	}
	if r.Server.IsValid() && !r.Server.Contains(sa) {
		return false
	}
	if r.Input != "" {
		if ok, _ := path.Match(r.Input, filepath.Base(f.Input)); !ok {
			return false
		}
	}
	return true
}

func containsKind(ks []analyze.Kind, k analyze.Kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

// Verdict evaluates the policy over inputs (in their order; each is one
// suite of rules) and the findings fed so far.
func (c *Checker) Verdict(inputs []report.Input) *Verdict {
	p := c.policy
	v := &Verdict{Policy: p.Name, Findings: c.findings}
	for _, f := range c.findings {
		switch {
		case f.Ignored != "":
			v.Ignored++
		case f.Baseline:
			v.Known++
		}
	}
	all := newTrafficStats()
	var allFindings []*Finding
	for _, in := range inputs {
		ci := c.input(in.Name)
		all.merge(ci.traffic)
		allFindings = append(allFindings, ci.findings...)
		ir := InputResult{Name: in.Name, Err: in.Err, Stats: in.Stats, Connections: ci.traffic.conns}
		if in.Err == nil && in.Stats.Segments == 0 && ci.traffic.conns == 0 {
			ir.Rules = append(ir.Rules, nothingCaptured(in.Name, &in.Stats, c.Interface))
		}
		ir.Rules = append(ir.Rules, findingRules(p, ci.findings, in.Name, false)...)
		ir.Rules = append(ir.Rules, c.limitRules(ci, in.Name)...)
		if r, hit := fragmentLimitRule(&in.Stats.Fragments, in.Name); hit {
			ir.Rules = append(ir.Rules, r)
		}
		if p.ExpectPerFile != nil {
			ir.Rules = append(ir.Rules, expectRules(p.ExpectPerFile, "expect_per_file", ci.traffic, in.Name)...)
		}
		v.Inputs = append(v.Inputs, ir)
	}
	v.Global = findingRules(p, allFindings, "", true)
	if p.Expect != nil {
		v.Global = append(v.Global, expectRules(p.Expect, "expect", all, "")...)
	}
	return v
}

// limitRules fail an input whose analysis hit a limit: connections it
// stopped following early may hide any finding, so the trace cannot pass,
// whatever the policy says (an ignore rule or a severity override does not
// reach these rules). The idle timeout is not a limit of this kind: an idle
// connection ended with nothing pending lost nothing, and one with
// something pending has a tracking_limit finding the policy sees.
func (c *Checker) limitRules(in *inputState, input string) []RuleResult {
	var out []RuleResult
	for _, l := range []struct {
		why, flag, what, value string
	}{
		{analyze.EndedMaxConns, "--max-conns", "the connection table was full", fmt.Sprint(c.Limits.MaxConns)},
		{analyze.EndedMaxMemory, "--max-memory", "the memory budget was spent", c.Limits.MaxMemory},
	} {
		n := in.ended[l.why]
		if n == 0 {
			continue
		}
		limit := l.flag
		if l.value != "" && l.value != "0" {
			limit += " " + l.value
		}
		out = append(out, RuleResult{Rule: "analysis limit: " + l.flag, Level: LevelFail, Input: input,
			Kind: string(analyze.TrackingLimit), Failed: true, Found: in.limited[l.why],
			Message: fmt.Sprintf("%d connection(s) ended early because %s (%s): their analysis is incomplete, so the trace cannot pass; raise %s", n, l.what, limit, l.flag)})
	}
	return out
}

// RuleFragmentLimit fails a trace in which IP fragment reassembly gave up
// datagrams to stay within its bounds: the segments they carried were
// never analyzed. Datagrams that timed out or were impossible are the
// traffic's doing, not a limit, and do not fail it.
const RuleFragmentLimit = "analysis limit: IP fragment reassembly"

// fragmentLimitRule is RuleFragmentLimit on an input, failed when hit.
func fragmentLimitRule(f *capture.FragmentStats, input string) (RuleResult, bool) {
	if f.Limit == 0 {
		return RuleResult{}, false
	}
	return RuleResult{Rule: RuleFragmentLimit, Level: LevelFail, Input: input, Failed: true,
		Message: fmt.Sprintf("%d IP datagram(s) given up unassembled to stay within %d datagrams and %d MiB held (the first at frame %d): "+
			"the TCP segments they carried were not analyzed, so the trace cannot pass",
			f.Limit, capture.DefaultMaxFragmentDatagrams, capture.DefaultMaxFragmentBytes>>20, f.LimitFrame)}, true
}

// RuleCaptured is the rule every policy holds without saying so: a trace
// with no TCP segment to judge recorded nothing of the test, and never
// passes. Its Line is 0.
const RuleCaptured = "captured: TCP traffic"

// capturedNothingOn is nothingCaptured for check -i: the capture on iface
// around the command, where tcpdump played no part.
func capturedNothingOn(r RuleResult, iface string, st *capture.Stats) RuleResult {
	if st.Packets == 0 {
		r.Message = fmt.Sprintf("nothing was captured on %s while the command ran: no packets. Likely causes: the test's "+
			"traffic went over another interface (loopback traffic is on -i lo, not -i eth0), --filter matched nothing, "+
			"or the command made no connection", iface)
		return r
	}
	r.Message = fmt.Sprintf("nothing was captured on %s that could be judged: %s, none of them a TCP segment%s. "+
		"Likely causes: --filter matched other traffic, or the test's traffic went over another interface",
		iface, human.Plural(st.Packets, "packet"), skippedNote(st))
	return r
}

// nothingCaptured is RuleCaptured failed on an input, with the likely causes.
func nothingCaptured(input string, st *capture.Stats, iface string) RuleResult {
	r := RuleResult{Rule: RuleCaptured, Level: LevelFail, Input: input, Failed: true}
	if iface != "" {
		return capturedNothingOn(r, iface, st)
	}
	if st.Packets == 0 {
		r.Message = "nothing was captured: the trace holds no packets. Likely causes: tcpdump was stopped before it wrote " +
			"what it buffered (run it with -U --immediate-mode, and stop it with SIGINT after the test), it listened on the " +
			"wrong interface (loopback traffic is on -i lo, not -i eth0), or its filter matched nothing"
		return r
	}
	r.Message = fmt.Sprintf("nothing was captured that could be judged: %s, none of them a TCP segment%s. "+
		"Likely causes: the filter (tcpdump's or --filter) matched other traffic, or the capture listened on the wrong interface",
		human.Plural(st.Packets, "packet"), skippedNote(st))
	return r
}

// skippedNote is " (non-tcp 3 · truncated 1)": the frames skipped by
// reason; "" when none were.
func skippedNote(st *capture.Stats) string {
	var skipped []string
	for _, k := range sortedKeys(st.Skipped) {
		skipped = append(skipped, fmt.Sprintf("%s %d", k, st.Skipped[k]))
	}
	if len(skipped) == 0 {
		return ""
	}
	return " (" + strings.Join(skipped, " · ") + ")"
}

// where says where the rule comes from: its policy line, or built in.
func (r *RuleResult) where() string {
	if r.Line == 0 {
		return "built in"
	}
	return fmt.Sprintf("policy line %d", r.Line)
}

func sortedKeys(m map[string]uint64) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// findingRules evaluates the rules that count findings: per input (fail_on,
// fail_on_severity, warn_on, warn_on_severity, max_per_file) or over all
// inputs (max).
func findingRules(p *Policy, fs []*Finding, input string, global bool) []RuleResult {
	active := make([]*Finding, 0, len(fs))
	for _, f := range fs {
		if f.Active() {
			active = append(active, f)
		}
	}
	ofKind := func(k analyze.Kind) []*Finding {
		var out []*Finding
		for _, f := range active {
			if f.Kind == k {
				out = append(out, f)
			}
		}
		return out
	}
	atLeast := func(s analyze.Severity) []*Finding {
		var out []*Finding
		for _, f := range active {
			if f.Severity >= s {
				out = append(out, f)
			}
		}
		return out
	}
	var out []RuleResult
	if global {
		for _, l := range p.Max {
			found := ofKind(l.Kind)
			out = append(out, RuleResult{Rule: fmt.Sprintf("max: %s ≤ %d", l.Kind, l.Max), Line: l.Line, Kind: string(l.Kind),
				Failed: len(found) > l.Max, Found: found,
				Message: fmt.Sprintf("%d %s finding(s), allowed %d", len(found), l.Kind, l.Max)})
		}
		return out
	}
	kindRule := func(key string, r KindRule, level Level) {
		found := ofKind(r.Kind)
		out = append(out, RuleResult{Rule: key + ": " + string(r.Kind), Line: r.Line, Level: level, Input: input, Kind: string(r.Kind),
			Failed: len(found) > 0, Found: found, Message: fmt.Sprintf("%d %s finding(s)", len(found), r.Kind)})
	}
	sevRule := func(key string, r *SeverityRule, level Level) {
		found := atLeast(r.Severity)
		res := RuleResult{Rule: key + ": " + r.Severity.String(), Line: r.Line, Level: level, Input: input,
			Failed: len(found) > 0, Found: found, Message: fmt.Sprintf("%d finding(s) of severity %s or worse%s", len(found), r.Severity, kindCounts(found))}
		res.Kind = singleKind(found)
		out = append(out, res)
	}
	for _, r := range p.FailOn {
		kindRule("fail_on", r, LevelFail)
	}
	if p.FailOnSeverity != nil {
		sevRule("fail_on_severity", p.FailOnSeverity, LevelFail)
	}
	for _, l := range p.MaxPerFile {
		found := ofKind(l.Kind)
		out = append(out, RuleResult{Rule: fmt.Sprintf("max_per_file: %s ≤ %d", l.Kind, l.Max), Line: l.Line, Input: input, Kind: string(l.Kind),
			Failed: len(found) > l.Max, Found: found, Message: fmt.Sprintf("%d %s finding(s), allowed %d", len(found), l.Kind, l.Max)})
	}
	for _, r := range p.WarnOn {
		kindRule("warn_on", r, LevelWarn)
	}
	if p.WarnOnSeverity != nil {
		sevRule("warn_on_severity", p.WarnOnSeverity, LevelWarn)
	}
	return out
}

func expectRules(e *Expect, key string, s *trafficStats, input string) []RuleResult {
	var out []RuleResult
	for _, x := range e.expectations() {
		ok, msg := x.eval(s)
		out = append(out, RuleResult{Rule: key + "." + x.name, Line: x.line, Input: input, Failed: !ok, Message: msg})
	}
	return out
}

// kindCounts writes " (2 syn_unanswered, 1 missing_third_ack)", or "" for none.
func kindCounts(fs []*Finding) string {
	if len(fs) == 0 {
		return ""
	}
	var order []analyze.Kind
	n := map[analyze.Kind]int{}
	for _, f := range fs {
		if n[f.Kind] == 0 {
			order = append(order, f.Kind)
		}
		n[f.Kind]++
	}
	parts := make([]string, len(order))
	for i, k := range order {
		parts[i] = fmt.Sprintf("%d %s", n[k], k)
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func singleKind(fs []*Finding) string {
	if len(fs) == 0 {
		return ""
	}
	for _, f := range fs[1:] {
		if f.Kind != fs[0].Kind {
			return ""
		}
	}
	return string(fs[0].Kind)
}
