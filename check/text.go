package check

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/tcpflow-check/tcpflow-check/internal/human"
	"github.com/tcpflow-check/tcpflow-check/report"
)

// Options tunes the check writers. The zero value (or nil) means the
// defaults.
type Options struct {
	// MaxFindings is how many findings behind one failed rule the text and
	// github outputs show (the JUnit file carries them all). Default 5.
	MaxFindings int
	// Color colours the text output. Default off.
	Color bool
	// Width wraps the text output's lines at this many columns, with
	// hanging indents. Default 0: no wrapping.
	Width int
}

func (o *Options) withDefaults() Options {
	var d Options
	if o != nil {
		d = *o
	}
	if d.MaxFindings <= 0 {
		d.MaxFindings = 5
	}
	return d
}

// WriteText writes v for a person reading a CI log: every rule that
// failed or warned, on which input, with the findings behind it and their
// evidence (frames, seq/ack arithmetic), the unreadable inputs, the ignored
// findings and why, the rules that passed, and a one-line verdict last.
func WriteText(w io.Writer, v *Verdict, opts *Options) error {
	o := opts.withDefaults()
	p := human.Painter{On: o.Color}
	var b bytes.Buffer
	put := func(line string, hang int) { b.WriteString(human.Wrap(line, o.Width, hang) + "\n") }
	conns := 0
	for i := range v.Inputs {
		conns += v.Inputs[i].Connections
	}
	findings := human.Plural(uint64(len(v.Findings)), "finding")
	if v.Ignored > 0 || v.Known > 0 {
		findings += fmt.Sprintf(" (%d ignored, %d known from the baseline)", v.Ignored, v.Known)
	}
	b.WriteString(human.WrapList(p.Bold("tcpflow-check check")+"  ", []string{"policy " + v.Policy,
		human.Plural(uint64(len(v.Inputs)), "input"), human.Plural(uint64(conns), "connection"), findings}, " · ", o.Width, 2) + "\n")

	for i := range v.Inputs {
		in := &v.Inputs[i]
		if in.Err != nil {
			b.WriteString("\n")
			put(fmt.Sprintf("%s %s: %v", p.Red("ERROR"), in.Name, in.Err), ruleHang)
			put("      the readable part was checked; a damaged trace never passes", ruleHang+2)
		}
	}
	for i := range v.Inputs {
		in := &v.Inputs[i]
		if note := report.BackwardsNote(&in.Stats, in.Stats.BackFrame, in.Name); note != "" {
			fmt.Fprintf(&b, "\n%s %s\n", p.Yellow("CLOCK"), note)
		}
	}
	for _, level := range []Level{LevelFail, LevelWarn} {
		v.each(func(r *RuleResult) {
			if r.Failed && r.Level == level {
				writeRuleText(&b, r, o, p)
			}
		})
	}
	if v.Ignored > 0 {
		fmt.Fprintf(&b, "\nignored: %s\n", human.Plural(uint64(v.Ignored), "finding"))
		shown := 0
		for _, f := range v.Findings {
			if f.Ignored == "" {
				continue
			}
			if shown == o.MaxFindings {
				fmt.Fprintf(&b, "  … and %d more\n", v.Ignored-shown)
				break
			}
			shown++
			put(fmt.Sprintf("  %s #%d %s → %s in %s — %s (ignore rule at line %d)", f.Kind, f.ConnID,
				human.AddrPort(f.Client), human.AddrPort(f.Server), filepath.Base(f.Input), f.Ignored, f.IgnoreLine), 4)
		}
	}
	if passed := passedRules(v); len(passed) > 0 {
		b.WriteString("\n" + human.WrapList(p.Green("passed:")+" ", passed, " · ", o.Width, len("passed: ")) + "\n")
	}
	b.WriteString("\n")
	put(verdictLine(v, p), len("verdict: "))
	_, err := w.Write(b.Bytes())
	return err
}

func writeRuleText(b *bytes.Buffer, r *RuleResult, o Options, p human.Painter) {
	tag := p.Red("FAIL ")
	if r.Level == LevelWarn {
		tag = p.Yellow("WARN ")
	}
	where := "over all inputs"
	if r.Input != "" {
		where = "in " + r.Input
	}
	b.WriteString("\n")
	b.WriteString(human.Wrap(fmt.Sprintf("%s %s  (%s)", tag, p.Bold(r.Rule), r.where()), o.Width, ruleHang) + "\n")
	b.WriteString(human.Wrap(fmt.Sprintf("      %s: %s", where, r.Message), o.Width, ruleHang+2) + "\n")
	for i, f := range r.Found {
		if i == o.MaxFindings {
			b.WriteString(human.Wrap(fmt.Sprintf("      … and %d more (all of them are in the --junit and --format json output)", len(r.Found)-i),
				o.Width, ruleHang+2) + "\n")
			break
		}
		writeFinding(b, f, r.Input == "", p, o.Width)
	}
}

// ruleHang is where the lines of a failed rule start, and (plus two) where
// they continue when wrapped; a finding's evidence is indented four more.
const ruleHang = 6

func writeFinding(b *bytes.Buffer, f *Finding, withInput bool, p human.Painter, width int) {
	parts := []human.Part{{Text: fmt.Sprintf("#%d", f.ConnID)},
		{Sep: "  ", Text: human.AddrPort(f.Client) + " → " + human.AddrPort(f.Server)},
		{Sep: "  ", Text: p.Severity(f.Severity) + " " + string(f.Kind)}}
	sep := " · "
	if len(f.Frames) > 0 {
		parts = append(parts, human.Part{Sep: "  ", Text: human.Frames(f.Frames, len(f.Frames))})
	}
	if f.HasDuration {
		parts = append(parts, human.Part{Sep: sep, Text: "lasted " + human.Duration(f.Duration)})
	}
	parts = append(parts, human.Part{Sep: sep, Text: fmt.Sprintf("final client %s / server %s", f.ClientState, f.ServerState)})
	if withInput {
		parts = append(parts, human.Part{Sep: sep, Text: f.Input})
	}
	b.WriteString(human.WrapParts("      ", parts, width, ruleHang+2) + "\n")
	if f.Evidence != "" {
		b.WriteString(human.Wrap("          "+f.Evidence, width, ruleHang+6) + "\n")
	}
}

// passedRules names the rules that passed, each once, with the number of
// inputs it passed on when it is a per-input rule.
func passedRules(v *Verdict) []string {
	var order []string
	count := map[string]int{}
	perInput := map[string]bool{}
	v.each(func(r *RuleResult) {
		if r.Failed {
			return
		}
		if count[r.Rule] == 0 {
			order = append(order, r.Rule)
		}
		count[r.Rule]++
		perInput[r.Rule] = r.Input != ""
	})
	out := make([]string, len(order))
	for i, name := range order {
		out[i] = name
		if perInput[name] {
			out[i] += fmt.Sprintf(" (%s)", human.Plural(uint64(count[name]), "input"))
		}
	}
	return out
}

// verdictLine is the last line of the text output: PASS, FAIL or ERROR and why.
func verdictLine(v *Verdict, p human.Painter) string {
	total, failed, warned := 0, []string{}, 0
	v.each(func(r *RuleResult) {
		total++
		switch {
		case r.Failed && r.Level == LevelFail:
			name := r.Rule
			if r.Input != "" {
				name += " on " + filepath.Base(r.Input)
			}
			failed = append(failed, name)
		case r.Failed:
			warned++
		}
	})
	var s string
	switch {
	case v.InputErrors() > 0:
		var names []string
		for i := range v.Inputs {
			if v.Inputs[i].Err != nil {
				names = append(names, filepath.Base(v.Inputs[i].Name))
			}
		}
		s = p.Red("ERROR") + fmt.Sprintf(" — %s could not be read to the end (%s)", human.Plural(uint64(len(names)), "input"), strings.Join(names, ", "))
		if len(failed) > 0 {
			s += fmt.Sprintf("; %d of %d checks failed", len(failed), total)
		}
	case len(failed) > 0:
		shown := failed
		if len(shown) > 3 {
			shown = append(shown[:3:3], fmt.Sprintf("… %d more", len(failed)-3))
		}
		s = p.Red("FAIL") + fmt.Sprintf(" — %d of %d checks failed: %s", len(failed), total, strings.Join(shown, "; "))
	default:
		s = p.Green("PASS") + fmt.Sprintf(" — %d checks passed on %s", total, human.Plural(uint64(len(v.Inputs)), "input"))
	}
	if warned > 0 {
		s += fmt.Sprintf(" (%s)", human.Plural(uint64(warned), "warning"))
	}
	return "verdict: " + s
}
