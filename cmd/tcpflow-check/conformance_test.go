package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/capture"
)

// The conformance run compares our records, produced by the real pipeline
// (capture → reassembly → analyze), with the ground truth other projects
// published for the captures in ../shared/corpus: Zeek's conn.log
// baselines, tshark's per-stream control counts and handshake
// completeness, Suricata's expected flow states. It prints agreement per
// source and every disagreement, and fails below the agreement floors below.
// Differences we accept on purpose are listed, with a reason each, in
// testdata/conformance/accepted.tsv.

// requireCorpus makes a missing corpus a failure (make conformance), not a skip.
var requireCorpus = flag.Bool("require-corpus", false, "fail, not skip, when the conformance corpus is absent")

func corpusDir() string {
	if d := os.Getenv("TCPFLOW_CORPUS"); d != "" {
		return d
	}
	return "../../../shared/corpus"
}

// corpusRun analyzes every corpus capture once per checksum mode, lazily.
// (Zeek's truth is compared with --format zeek instead: zeekLog.)
type corpusRun struct {
	dir   string
	cache map[string][]*analyze.Conn // key: path + "|" + mode
	errs  map[string]error
}

func (r *corpusRun) conns(t *testing.T, path string, verify bool) []*analyze.Conn {
	key := path + "|" + strconv.FormatBool(verify)
	if c, ok := r.cache[key]; ok {
		return c
	}
	var col recordCollector
	an := analyze.New(nil, &col)
	e := &env{stdout: nil, stderr: nil}
	_, err := readInputs(e, []string{path}, &capture.Config{VerifyChecksums: verify}, an)
	r.cache[key] = col.conns
	r.errs[key] = err
	return col.conns
}

type recordCollector struct{ conns []*analyze.Conn }

func (c *recordCollector) Finding(*analyze.Conn, *analyze.Finding) {}
func (c *recordCollector) End(r *analyze.Conn)                     { c.conns = append(c.conns, r) }

// tupleKey is an unordered pair of endpoints.
func tupleKey(a, b netip.AddrPort) string {
	x, y := a.String(), b.String()
	if x > y {
		x, y = y, x
	}
	return x + " " + y
}

func parseEndpoint(h, p string) (netip.AddrPort, bool) {
	a, err := netip.ParseAddr(h)
	if err != nil {
		return netip.AddrPort{}, false
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(n)), true
}

// byTuple groups records by unordered tuple, in the order they started.
func byTuple(conns []*analyze.Conn) map[string][]*analyze.Conn {
	m := make(map[string][]*analyze.Conn)
	for _, c := range conns {
		k := tupleKey(c.Client, c.Server)
		m[k] = append(m[k], c)
	}
	for _, l := range m {
		sort.SliceStable(l, func(i, j int) bool { return l[i].FirstFrame < l[j].FirstFrame })
	}
	return m
}

type tally struct {
	name          string
	total, agree  int
	accepted      int
	disagreements []string
}

func (t *tally) add(ok bool, accepted bool, what string) {
	switch {
	case ok:
		t.total++
		t.agree++
	case accepted:
		t.accepted++
	default:
		t.total++
		t.disagreements = append(t.disagreements, what)
	}
}

func (t *tally) pct() float64 {
	if t.total == 0 {
		return 100
	}
	return 100 * float64(t.agree) / float64(t.total)
}

func (t *tally) String() string {
	return fmt.Sprintf("%-28s %5d/%-5d %6.2f%%  (+%d accepted differences)", t.name, t.agree, t.total, t.pct(), t.accepted)
}

// accepted differences: source, file, field, reason.
type acceptRule struct {
	source, file, field, reason string
	used                        *bool // a difference it accepts was met
}

func loadAccepted(t *testing.T) []acceptRule {
	f, err := os.Open("../../testdata/conformance/accepted.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rules []acceptRule
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := strings.Split(line, "\t")
		if len(p) != 4 || p[3] == "" {
			t.Fatalf("accepted.tsv: %q: want source<TAB>file<TAB>field<TAB>reason", line)
		}
		rules = append(rules, acceptRule{p[0], p[1], p[2], p[3], new(bool)})
	}
	return rules
}

// isAccepted reports whether a rule accepts a difference in field of file;
// differs says whether there is one (the rule is then marked used).
func isAccepted(rules []acceptRule, source, file, field string, differs bool) bool {
	for _, r := range rules {
		if r.source == source && (r.file == file || r.file == "*") && (r.field == field || r.field == "*") {
			*r.used = *r.used || differs
			return true
		}
	}
	return false
}

// unusedRules fails the rules of accepted.tsv that accepted no difference:
// what they excuse agrees now, and the file must say only what is true.
func unusedRules(t *testing.T, rules []acceptRule) {
	for _, r := range rules {
		if !*r.used {
			t.Errorf("accepted.tsv: %s %s %s accepts no difference any more: drop it", r.source, r.file, r.field)
		}
	}
}

func TestConformance(t *testing.T) {
	dir := corpusDir()
	if _, err := os.Stat(filepath.Join(dir, "pcaps")); err != nil {
		if *requireCorpus {
			t.Fatalf("conformance: no corpus at %s. It is a folder of public captures with the results Zeek, tshark "+
				"and Suricata published for them (from zeek/zeek testing/btest/Traces, OISF/suricata-verify, "+
				"the-tcpdump-group/tcpdump tests and gopacket's testdata; see its README.md and INDEX.md): put it "+
				"at ../shared/corpus beside the repository or name it with TCPFLOW_CORPUS", dir)
		}
		t.Skipf("conformance: no corpus at %s (../shared/corpus beside the repo, or TCPFLOW_CORPUS); skipping", dir)
	}
	rules := loadAccepted(t)
	run := &corpusRun{dir: dir, cache: map[string][]*analyze.Conn{}, errs: map[string]error{}}

	// Zeek: through --format zeek, whose records follow Zeek's lifetimes
	// (the other formats' records follow the TCP connection: a trace
	// Zeek splits by its timers has more conn.log lines than connections).
	zs, zh := &tally{name: "zeek conn_state"}, &tally{name: "zeek history"}
	// Zeek's tunnel uids name its own UDP connections and IP tunnels: only
	// whether a record has parents, and how many, can agree.
	zt := &tally{name: "zeek tunnel_parents count"}
	fs, fh := &perFile{name: "zeek conn_state per file"}, &perFile{name: "zeek history per file"}
	ts, tc := &tally{name: "tshark SYN/FIN/RST counts"}, &tally{name: "tshark handshake complete"}
	ss := &tally{name: "suricata tcp.state"}

	pcaps, _ := filepath.Glob(filepath.Join(dir, "pcaps", "*", "*"))
	sort.Strings(pcaps)
	files := 0
	for _, pcap := range pcaps {
		source := filepath.Base(filepath.Dir(pcap))
		base := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(pcap), ".pcapng"), ".pcap")
		truth := filepath.Join(dir, "truth", source, base)
		files++
		// Every capture must be handled: no panic, no hang (the run returns).
		run.conns(t, pcap, false)

		if rows := readZeek(t, truth+".zeek.tsv"); len(rows) > 0 {
			zeekPerFile(t, source+"/"+base, rows, zeekLog(t, pcap, rows[0].validated), rules, zeekTallies{zs, zh, zt, fs, fh})
		}
		if streams := readTshark(t, truth+".tshark.json"); len(streams) > 0 {
			ours := byTuple(run.conns(t, pcap, false))
			used := map[string]int{}
			name := source + "/" + base
			for _, st := range streams {
				a, ok1 := parseEndpoint(st.AAddr, strconv.Itoa(st.APort))
				b, ok2 := parseEndpoint(st.BAddr, strconv.Itoa(st.BPort))
				if !ok1 || !ok2 {
					continue
				}
				k := tupleKey(a, b)
				i := used[k]
				used[k]++
				var got *analyze.Conn
				if l := ours[k]; i < len(l) {
					got = l[i]
				}
				want := fmt.Sprintf("S%d/%d SA%d/%d F%d/%d R%d/%d", st.SynA2B, st.SynB2A, st.SynackA2B, st.SynackB2A, st.FinA2B, st.FinB2A, st.RstA2B, st.RstB2A)
				gotS := "missing"
				if got != nil {
					ca, cb := got.Control[0], got.Control[1]
					if got.Client != a {
						ca, cb = cb, ca
					}
					gotS = fmt.Sprintf("S%d/%d SA%d/%d F%d/%d R%d/%d", ca.SYN, cb.SYN, ca.SYNACK, cb.SYNACK, ca.FIN, cb.FIN, ca.RST, cb.RST)
				}
				ts.add(gotS == want, isAccepted(rules, "tshark", name, "counts", gotS != want), fmt.Sprintf("%s %s: control counts want %s got %s", name, k, want, gotS))
				if st.SynA2B+st.SynB2A > 0 {
					theirs := st.CompletenessOr&7 == 7
					mine := got != nil && got.Handshake.Complete
					tc.add(theirs == mine, isAccepted(rules, "tshark", name, "complete", theirs != mine), fmt.Sprintf("%s %s: handshake complete want %v got %v", name, k, theirs, mine))
				}
			}
		}
		for _, exp := range readSuricata(t, truth+".suricata.json") {
			conns := run.conns(t, pcap, false)
			var match []*analyze.Conn
			for _, c := range conns {
				if exp.matches(c) {
					match = append(match, c)
				}
			}
			name := source + "/" + base
			if len(match) != exp.Count || exp.Count == 0 {
				if exp.Count > 0 {
					ss.add(false, isAccepted(rules, "suricata", name, "tcp.state", true), fmt.Sprintf("%s: %d flows match %v, want %d", name, len(match), exp.filter, exp.Count))
				}
				continue
			}
			for _, c := range match {
				got := suricataState(c)
				ss.add(got == exp.State, isAccepted(rules, "suricata", name, "tcp.state", got != exp.State), fmt.Sprintf("%s %s: tcp.state want %s got %s (client %s, server %s)", name, tupleKey(c.Client, c.Server), exp.State, got, c.ClientState, c.ServerState))
			}
		}
	}

	unusedRules(t, rules)
	t.Logf("conformance over %d captures in %s:", files, dir)
	for _, x := range []fmt.Stringer{zs, zh, fs, fh, zt, ts, tc, ss} {
		t.Logf("  %s", x)
	}
	for _, x := range []*tally{zs, zh, zt, ts, tc, ss} {
		for _, d := range x.disagreements {
			t.Logf("  disagree [%s] %s", x.name, d)
		}
	}
	for _, x := range []*perFile{fs, fh} {
		t.Logf("  worst files, %s:", x.name)
		for _, w := range x.worst(10) {
			t.Logf("    %s", w)
		}
	}
	for _, x := range []struct {
		t interface {
			pct() float64
			fmt.Stringer
		}
		floor float64
	}{
		{zs, conformanceFloor["zeek conn_state"]}, {zh, conformanceFloor["zeek history"]},
		{fs, conformanceFloor["zeek conn_state per file"]}, {fh, conformanceFloor["zeek history per file"]},
		{zt, conformanceFloor["zeek tunnel_parents"]},
		{ts, conformanceFloor["tshark counts"]}, {tc, conformanceFloor["tshark complete"]}, {ss, conformanceFloor["suricata"]},
	} {
		if x.t.pct() < x.floor {
			t.Errorf("%s fell below its floor %.2f%%", x.t, x.floor)
		}
	}
}

// parentCount is how many uids a conn.log tunnel_parents field lists.
func parentCount(v string) int {
	if v == "-" || v == "(empty)" || v == "" {
		return 0
	}
	return strings.Count(v, ",") + 1
}

// conformanceFloor pins the agreement reached, so a regression fails.
var conformanceFloor = map[string]float64{
	// Zeek through --format zeek (conformance_zeek_test.go), per
	// connection and per file.
	"zeek conn_state":          100,
	"zeek history":             100,
	"zeek conn_state per file": 100,
	"zeek history per file":    100,
	"zeek tunnel_parents":      100,
	"tshark counts":            98,
	"tshark complete":          98,
	"suricata":                 80,
}

// suricataState maps both peers' states to Suricata's one session state.
func suricataState(c *analyze.Conn) string {
	cs, ss := c.ClientState, c.ServerState
	done := func(s analyze.State) bool { return s == analyze.Closed || s == analyze.TimeWait }
	switch {
	case done(cs) && done(ss) && (cs != analyze.Closed || ss != analyze.Closed || c.Control[0].RST+c.Control[1].RST > 0 || c.Control[0].FIN+c.Control[1].FIN > 0):
		return "closed"
	case cs == analyze.SynSent && (ss == analyze.Closed || ss == analyze.Listen):
		return "syn_sent"
	case ss == analyze.SynRcvd:
		return "syn_recv"
	case cs == analyze.Established && ss == analyze.Established:
		return "established"
	}
	switch ss {
	case analyze.CloseWait:
		return "close_wait"
	case analyze.LastAck:
		return "last_ack"
	case analyze.FinWait1:
		return "fin_wait1"
	case analyze.FinWait2:
		return "fin_wait2"
	case analyze.Closing:
		return "closing"
	case analyze.TimeWait:
		return "time_wait"
	case analyze.Closed:
		return "closed"
	}
	return strings.ToLower(ss.String())
}

type zeekRow struct {
	orig, resp         netip.AddrPort
	connState, history string
	validated          bool
	guessed            bool // tshark-single-stream: Zeek's orientation is a guess
	tunnels            int  // how many tunnel_parents; -1 when the baseline has no such column
}

func readZeek(t *testing.T, path string) []zeekRow {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var cols map[string]int
	var rows []zeekRow
	for sc.Scan() {
		p := strings.Split(sc.Text(), "\t")
		if cols == nil {
			cols = map[string]int{}
			for i, c := range p {
				cols[c] = i
			}
			continue
		}
		get := func(k string) string {
			if i, ok := cols[k]; ok && i < len(p) {
				v := p[i]
				if v == "-" || v == "(empty)" {
					return ""
				}
				return v
			}
			return ""
		}
		if get("primary") != "1" || get("proto") != "tcp" {
			continue
		}
		o, ok1 := parseEndpoint(get("id.orig_h"), get("id.orig_p"))
		r, ok2 := parseEndpoint(get("id.resp_h"), get("id.resp_p"))
		if !ok1 || !ok2 {
			continue
		}
		tunnels := -1
		if i, ok := cols["tunnel_parents"]; ok && i < len(p) && p[i] != "" {
			tunnels = parentCount(p[i])
		}
		rows = append(rows, zeekRow{orig: o, resp: r, connState: get("conn_state"), history: get("history"), validated: get("checksums") == "validated",
			guessed: strings.HasPrefix(get("tuple_source"), "tshark-single-stream"), tunnels: tunnels})
	}
	return rows
}

type tsharkStream struct {
	AAddr          string `json:"a_addr"`
	APort          int    `json:"a_port"`
	BAddr          string `json:"b_addr"`
	BPort          int    `json:"b_port"`
	SynA2B         int    `json:"syn_a2b"`
	SynB2A         int    `json:"syn_b2a"`
	SynackA2B      int    `json:"synack_a2b"`
	SynackB2A      int    `json:"synack_b2a"`
	FinA2B         int    `json:"fin_a2b"`
	FinB2A         int    `json:"fin_b2a"`
	RstA2B         int    `json:"rst_a2b"`
	RstB2A         int    `json:"rst_b2a"`
	CompletenessOr int    `json:"completeness_or"`
}

func readTshark(t *testing.T, path string) []tsharkStream {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var doc struct {
		Streams []tsharkStream `json:"streams"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Errorf("%s: %v", path, err)
	}
	return doc.Streams
}

type suricataExp struct {
	Count  int
	State  string
	filter map[string]any
}

func (e *suricataExp) matches(c *analyze.Conn) bool {
	for k, v := range e.filter {
		s := fmt.Sprint(v)
		switch k {
		case "dest_port":
			if strconv.Itoa(int(c.Server.Port())) != s {
				return false
			}
		case "src_port":
			if strconv.Itoa(int(c.Client.Port())) != s {
				return false
			}
		case "dest_ip":
			if a, err := netip.ParseAddr(s); err != nil || a != c.Server.Addr() {
				return false
			}
		case "src_ip":
			if a, err := netip.ParseAddr(s); err != nil || a != c.Client.Addr() {
				return false
			}
		}
	}
	return true
}

func readSuricata(t *testing.T, path string) []suricataExp {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var doc struct {
		Tests []struct {
			Args             []string         `json:"args"`
			FlowExpectations []map[string]any `json:"flow_expectations"`
		} `json:"tests"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Errorf("%s: %v", path, err)
		return nil
	}
	seen := map[string]bool{}
	var out []suricataExp
	for _, tt := range doc.Tests {
		for _, fe := range tt.FlowExpectations {
			st, ok := fe["tcp.state"].(string)
			if !ok {
				continue
			}
			if fe["proto"] != nil && fe["proto"] != "TCP" {
				continue
			}
			cnt, _ := fe["count"].(float64)
			e := suricataExp{Count: int(cnt), State: st, filter: map[string]any{}}
			for _, k := range []string{"dest_port", "src_port", "dest_ip", "src_ip"} {
				if v, ok := fe[k]; ok {
					e.filter[k] = v
				}
			}
			key := fmt.Sprint(e.Count, e.State, e.filter)
			if !seen[key] {
				seen[key] = true
				out = append(out, e)
			}
		}
	}
	return out
}
