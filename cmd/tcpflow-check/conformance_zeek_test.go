package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"testing"
)

// Zeek agreement per file, through the CLI's --format zeek: the conn.log a
// user puts beside the one Zeek wrote. Counted per connection, one trace
// with a thousand connections outweighs fifty small ones; counted per file,
// each trace weighs as many connections as it has, at most
// zeekFileWeightCap, so every trace counts and the small ones are not
// drowned out.

// zeekFileWeightCap is the most one trace weighs in the per-file figures.
const zeekFileWeightCap = 50

// zeekLogLine is one record of the conn.log --format zeek wrote.
type zeekLogLine struct {
	orig, resp         netip.AddrPort
	connState, history string
	tunnels            int // how many tunnel_parents
	used               bool
}

// readZeekLog parses a conn.log (Zeek's ASCII format: #fields names the
// columns) into its TCP records.
func readZeekLog(t *testing.T, log []byte) []*zeekLogLine {
	var cols map[string]int
	var out []*zeekLogLine
	sc := bufio.NewScanner(bytes.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		p := strings.Split(sc.Text(), "\t")
		if p[0] == "#fields" {
			cols = map[string]int{}
			for i, c := range p[1:] {
				cols[c] = i
			}
			continue
		}
		if strings.HasPrefix(p[0], "#") || cols == nil {
			continue
		}
		get := func(k string) string {
			if i, ok := cols[k]; ok && i < len(p) && p[i] != "-" {
				return p[i]
			}
			return ""
		}
		if get("proto") != "tcp" {
			continue
		}
		o, ok1 := parseEndpoint(get("id.orig_h"), get("id.orig_p"))
		r, ok2 := parseEndpoint(get("id.resp_h"), get("id.resp_p"))
		if !ok1 || !ok2 {
			t.Errorf("conn.log line %q: bad endpoints", sc.Text())
			continue
		}
		tunnels := 0
		if i, ok := cols["tunnel_parents"]; ok && i < len(p) {
			tunnels = parentCount(p[i])
		}
		out = append(out, &zeekLogLine{orig: o, resp: r, connState: get("conn_state"), history: get("history"), tunnels: tunnels})
	}
	return out
}

// fileScore is one trace's agreement on one field.
type fileScore struct {
	name     string
	ok, n    int
	accepted int
}

func (f *fileScore) count(ok, accepted bool) {
	switch {
	case ok:
		f.n++
		f.ok++
	case accepted:
		f.accepted++
	default:
		f.n++
	}
}

func (f fileScore) weight() float64 { return float64(min(f.n, zeekFileWeightCap)) }

// lost is the weight the trace's disagreements cost.
func (f fileScore) lost() float64 {
	if f.n == 0 {
		return 0
	}
	return f.weight() * float64(f.n-f.ok) / float64(f.n)
}

// perFile is a field's agreement counted per file.
type perFile struct {
	name  string
	files []fileScore
}

func (p *perFile) pct() float64 {
	var w, ok float64
	for _, f := range p.files {
		if f.n == 0 {
			continue
		}
		w += f.weight()
		ok += f.weight() * float64(f.ok) / float64(f.n)
	}
	if w == 0 {
		return 100
	}
	return 100 * ok / w
}

func (p *perFile) String() string {
	n, rows, acc := 0, 0, 0
	for _, f := range p.files {
		if f.n > 0 {
			n++
		}
		rows += f.n
		acc += f.accepted
	}
	return fmt.Sprintf("%-28s %6.2f%% over %d files (%d rows; +%d accepted differences)", p.name, p.pct(), n, rows, acc)
}

// worst lists the traces whose disagreements cost most, worst first.
func (p *perFile) worst(k int) []string {
	fs := append([]fileScore(nil), p.files...)
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].lost() > fs[j].lost() })
	var out []string
	for _, f := range fs {
		if len(out) == k || f.lost() == 0 {
			break
		}
		out = append(out, fmt.Sprintf("%s %d/%d (costs %.2f of the weight)", f.name, f.ok, f.n, f.lost()))
	}
	return out
}

// zeekTallies are where zeekPerFile counts: per connection and per file.
type zeekTallies struct {
	state, hist, tunnels *tally
	fileState, fileHist  *perFile
}

// zeekPerFile compares, for one trace, the conn.log --format zeek wrote with
// Zeek's rows, and appends the trace's scores to state and hist. Each Zeek
// row takes the first unused record of its tuple that agrees with it, else
// the first unused one: conn.log order is removal order, not start order.
func zeekPerFile(t *testing.T, name string, rows []zeekRow, log []byte, rules []acceptRule, z zeekTallies) {
	lines := readZeekLog(t, log)
	byKey := map[string][]*zeekLogLine{}
	for _, l := range lines {
		k := tupleKey(l.orig, l.resp)
		byKey[k] = append(byKey[k], l)
	}
	s, h := fileScore{name: name}, fileScore{name: name}
	for _, r := range rows {
		cands := byKey[tupleKey(r.orig, r.resp)]
		var got *zeekLogLine
		for _, l := range cands {
			if !l.used && (r.connState == "" || l.connState == r.connState) && (r.history == "" || l.history == r.history) {
				got = l
				break
			}
		}
		for _, l := range cands {
			if got == nil && !l.used {
				got = l
			}
		}
		gs, gh, orient := "(no record)", "(no record)", ""
		if got != nil && r.tunnels >= 0 {
			z.tunnels.add(got.tunnels == r.tunnels, isAccepted(rules, "zeek", name, "tunnel_parents", got.tunnels != r.tunnels),
				fmt.Sprintf("%s %s: tunnel_parents want %d got %d", name, tupleKey(r.orig, r.resp), r.tunnels, got.tunnels))
		}
		if got != nil {
			got.used = true
			gs, gh = got.connState, got.history
			if got.orig != r.orig && !r.guessed {
				orient = fmt.Sprintf(" (orig %s, Zeek's %s)", got.orig, r.orig)
			}
		}
		k := tupleKey(r.orig, r.resp)
		if r.connState != "" {
			ok := gs == r.connState
			acc := isAccepted(rules, "zeek", name, "conn_state", !ok)
			z.state.add(ok, acc, fmt.Sprintf("%s %s: conn_state want %s got %s", name, k, r.connState, gs))
			s.count(ok, acc)
		}
		if r.history != "" {
			ok := gh == r.history && orient == ""
			// 'X' is Zeek's application analyzer giving up; we run
			// no application analyzers (accepted.tsv, zeek * X).
			acc := isAccepted(rules, "zeek", name, "history", !ok) ||
				(strings.ReplaceAll(r.history, "X", "") == gh && orient == "" && isAccepted(rules, "zeek", "*", "X", !ok))
			z.hist.add(ok, acc, fmt.Sprintf("%s %s: history want %s got %s%s", name, k, r.history, gh, orient))
			h.count(ok, acc)
		}
	}
	if s.n+s.accepted > 0 {
		z.fileState.files = append(z.fileState.files, s)
	}
	if h.n+h.accepted > 0 {
		z.fileHist.files = append(z.fileHist.files, h)
	}
}

// zeekLog runs analyze --format zeek on pcap as a user would.
func zeekLog(t *testing.T, pcap string, verify bool) []byte {
	args := []string{"analyze", "--format", "zeek"}
	if verify {
		args = append(args, "--verify-checksums")
	}
	var out, errb bytes.Buffer
	if code := run(append(args, pcap), strings.NewReader(""), &out, &errb); code != exitOK && code != exitError {
		t.Errorf("%s: analyze --format zeek exited %d: %s", pcap, code, errb.String())
	}
	return out.Bytes()
}
