package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/check"
	"github.com/tcpflow-check/tcpflow-check/report"
)

func newCheckCmd(e *env) *cobra.Command {
	cmd := newCommand("check --policy P.yaml [flags] FILE|DIR... [FILTER...]\n  check --policy P.yaml -i IFACE [-w TRACE.pcapng] [flags] -- COMMAND [ARGS...]", "pass/fail verdict for CI")
	cmd.Long = "Hold captures to a policy: exit 0 when it passes, 1 when it is violated.\n\n" + operandRule +
		"\n\nWith -i, capture on IFACE while COMMAND runs and for --grace after it exits, then judge that trace:\n" +
		"exit 0 both fine, 1 policy violated, 3 the command failed (policy passed), 4 both, 2 capture error."
	fs := cmd.Flags()
	policyFile := fs.String("policy", "", "the policy the traces are held to (YAML; see tcpflow-check policy init)")
	junit := fs.String("junit", "", "also write a JUnit XML report to this file (one testsuite per input, one testcase per rule)")
	htmlFile := fs.String("html", "", "also write the HTML report (verdict, findings, ladder diagrams) to this file")
	format := fs.StringP("format", "f", "text", "output format: text, github (GitHub Actions annotations), json")
	baseline := fs.String("baseline", "", "a previous run's analyze or check --format json output: fail only on findings that are new")
	maxFindings := fs.Int("max-findings", 5, "findings shown per failed rule in the text and github output")
	color := addColorFlag(fs)
	var ao aroundOptions
	fs.StringVarP(&ao.iface, "interface", "i", "", "capture on this interface around the command given after -- (libpcap, as live)")
	fs.StringVarP(&ao.write, "write", "w", "", "with -i: also write the trace to this file (pcapng, with isb_endtime and drop counts)")
	fs.DurationVar(&ao.grace, "grace", 0, "with -i: keep capturing this long after the command exits (default: the handshake timeout)")
	fs.IntVarP(&ao.snaplen, "snaplen", "s", capture.DefaultSnapLen, "with -i: bytes kept of each frame")
	var af analysisFlags
	var in inputFlags
	in.register(fs)
	af.register(fs)
	af.registerContinuous(fs)
	af.registerFilter(fs)
	var wf workersFlag
	wf.register(fs)
	cmd.RunE = func(_ *cobra.Command, args []string) error {
		if *policyFile == "" {
			return usagef("check: --policy is required (tcpflow-check policy init > .tcpflow-check.yaml writes a starter)")
		}
		var ops operands
		var err error
		if ao.iface != "" {
			dash := cmd.ArgsLenAtDash()
			switch {
			case dash < 0 || dash == len(args):
				return usagef("check -i: give the command to run after --, e.g. check --policy p.yaml -i lo -- make test")
			case dash > 0 || len(in.read) > 0:
				return usagef("check -i captures around a command: it reads no capture files (%q)", args[0])
			case ao.snaplen <= 0:
				return usagef("--snaplen must be positive, not %d", ao.snaplen)
			case ao.grace < 0:
				return usagef("--grace must not be negative, not %s", ao.grace)
			}
			ao.command = args[dash:]
			ops.filter = af.filter
		} else {
			if ao.write != "" || fs.Changed("grace") {
				return usagef("check: -w and --grace go with -i (capture around a command)")
			}
			if ops, err = in.resolve(e, args, af.filter); err != nil {
				return err
			}
			if len(ops.files) == 0 {
				return usagef("check: no capture file or directory given")
			}
		}
		switch *format {
		case "text", "github", "json":
		default:
			return usagef("check: --format must be text, github or json, not %q", *format)
		}
		if *maxFindings < 1 {
			return usagef("check: --max-findings must be at least 1, not %d (--format json lists every finding)", *maxFindings)
		}
		opts := &check.Options{MaxFindings: *maxFindings, Width: textWidth(e.stdout)}
		colored, err := color.enabled(e.stdout)
		if err != nil {
			return err
		}
		opts.Color = colored && (*format == "text" || *color.v == "always")
		pol, err := check.LoadPolicy(*policyFile)
		if err != nil {
			return err
		}
		// The policy's timeouts replace the defaults; a flag given on the command line wins.
		cfg := af.cfg
		t := pol.Timeouts
		if fs.Changed("handshake-timeout") {
			t.Handshake = 0
		}
		if fs.Changed("half-close-timeout") {
			t.HalfClose = 0
		}
		if fs.Changed("zero-window-timeout") {
			t.ZeroWindow = 0
		}
		if fs.Changed("msl") {
			t.MSL = 0
		}
		applyTimeouts(&cfg, t)
		// A trace is the record of a finished test: what it left pending never
		// finished (unless the policy says the traces are cut from longer ones).
		cfg.FinishedTest = !pol.CutTrace
		af.cfg = cfg
		if err := af.validate(); err != nil {
			return err
		}
		if err := wf.validate(); err != nil {
			return err
		}
		cfg = af.cfg
		defer limitRuntime(af.cfg.MaxMemory)()
		var base *check.Baseline
		if *baseline != "" {
			if base, err = check.LoadBaseline(*baseline); err != nil {
				return err
			}
		}
		if ao.iface != "" && ao.grace == 0 {
			ao.grace = cfg.HandshakeTimeout
		}
		chk := check.New(pol, base)
		chk.Limits = af.limits()
		chk.Interface = ao.iface
		capCfg, err := af.captureConfig(ops, wf.count())
		if err != nil {
			return err
		}
		var sink analyze.Sink = chk
		var page *htmlReport
		if *htmlFile != "" {
			if page, err = newHTMLReport(*htmlFile); err != nil {
				return err
			}
			cfg.Timeline = true
			sink = teeSink{chk, page.w}
		}
		start := time.Now()
		an, stop := wf.newEngine(&cfg, sink)
		defer stop()
		var inputs []report.Input
		var readErr, cmdErr error
		if ao.iface != "" {
			var in report.Input
			var ran bool
			live := &capture.LiveConfig{SnapLen: ao.snaplen, Filter: capCfg.Filter, VerifyChecksums: capCfg.VerifyChecksums}
			e.interrupt = notifyInterrupt()
			defer e.interrupt.release()
			if in, ran, cmdErr, readErr = captureAround(e, &ao, live, an); !ran {
				return readErr // the capture did not open, or the command did not start: exit 2
			}
			inputs = []report.Input{in}
		} else {
			inputs, readErr = readSet(e, ops.files, capCfg, an, af.continuous)
		}
		v := chk.Verdict(inputs)
		if *junit != "" {
			if err := writeJUnitFile(*junit, v); err != nil {
				return err
			}
		}
		if page != nil {
			sum := summarize(inputs, an, time.Since(start))
			sum.Gate = gateOf(v, *policyFile)
			if err := page.close(sum); err != nil {
				return err
			}
		}
		switch *format {
		case "json":
			err = check.WriteJSON(e.stdout, v)
		case "github":
			err = check.WriteGitHub(e.stdout, v, opts)
		default:
			err = check.WriteText(e.stdout, v, opts)
		}
		if err != nil {
			return fmt.Errorf("writing output: %w", err)
		}
		if readErr != nil {
			return readErr
		}
		if in := &inputs[0]; ao.iface != "" && in.Interrupted != "" {
			fmt.Fprintf(e.stderr, "tcpflow-check: %s during %s, passed on to it: the verdict covers what was captured on %s\n",
				in.Interrupted, ao.command[0], in.Name)
			if cmdErr != nil {
				fmt.Fprintf(e.stderr, "tcpflow-check: %s: %v\n", ao.command[0], cmdErr)
			}
			return e.interrupt.err()
		}
		if ao.iface != "" {
			return aroundExit(e, ao.command[0], cmdErr, v.Failed())
		}
		if v.Failed() {
			return errViolations
		}
		return nil
	}
	return cmd
}

func writeJUnitFile(name string, v *check.Verdict) error {
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	if err := check.WriteJUnit(f, v); err != nil {
		f.Close()
		return fmt.Errorf("junit: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	return nil
}

// htmlReport is check's --html file: the report's html writer over it.
type htmlReport struct {
	f *os.File
	w report.Writer
}

func newHTMLReport(name string) (*htmlReport, error) {
	f, err := os.Create(name)
	if err != nil {
		return nil, fmt.Errorf("html: %w", err)
	}
	w, err := report.NewWriter("html", f, nil)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("html: %w", err)
	}
	return &htmlReport{f: f, w: w}, nil
}

func (h *htmlReport) close(s *report.Summary) error {
	err := h.w.Close(s)
	if cerr := h.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("html: %w", err)
	}
	return nil
}

// gateOf is v as the HTML report shows it: the rules that did not hold,
// each input's then the global ones.
func gateOf(v *check.Verdict, policy string) *report.Gate {
	g := &report.Gate{Policy: policy, Status: v.Status()}
	add := func(r *check.RuleResult) {
		if !r.Failed {
			g.Held++
			return
		}
		g.Rules = append(g.Rules, report.GateRule{Rule: r.Rule, Line: r.Line, Level: r.Level.String(),
			Input: r.Input, Message: r.Message})
	}
	for i := range v.Inputs {
		for j := range v.Inputs[i].Rules {
			add(&v.Inputs[i].Rules[j])
		}
	}
	for j := range v.Global {
		add(&v.Global[j])
	}
	return g
}

// applyTimeouts sets in cfg the timeouts a policy overrides (its non-zero
// ones): the policy is read by package check, the analysis configured here.
func applyTimeouts(cfg *analyze.Config, t check.Timeouts) {
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
