package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/check"
	"github.com/tcpflow-check/tcpflow-check/report"
)

// analysisFlags are the flags every command that analyzes shares.
type analysisFlags struct {
	cfg             analyze.Config
	verifyChecksums bool
	filter          string
	continuous      bool
	maxMemory       string // --max-memory as given; "auto" is defaultMaxMemory
}

func (f *analysisFlags) register(fs *pflag.FlagSet) {
	fs.DurationVar(&f.cfg.HandshakeTimeout, "handshake-timeout", 3*time.Second, "how long a SYN or SYN-ACK may wait for its answer")
	fs.DurationVar(&f.cfg.HalfCloseTimeout, "half-close-timeout", time.Second, "how long a peer may sit in CLOSE_WAIT without sending before half_close_stuck")
	fs.DurationVar(&f.cfg.ZeroWindowTimeout, "zero-window-timeout", 5*time.Second, "how long a zero window may last before zero_window_stuck")
	fs.DurationVar(&f.cfg.MSL, "msl", 30*time.Second, "maximum segment lifetime; TIME_WAIT lasts 2·MSL of capture time")
	fs.DurationVar(&f.cfg.IdleTimeout, "idle-timeout", 5*time.Minute, "end a connection idle this long (capture time)")
	fs.IntVar(&f.cfg.MaxConns, "max-conns", 1_000_000, "most connections tracked at once; the idlest is ended early beyond it")
	fs.StringVar(&f.maxMemory, "max-memory", "auto", "memory the tracked connections may hold (2GiB, 512MiB, none); the idlest is ended early beyond it. auto: half the memory available at start (MemAvailable or the cgroup limit, whichever is smaller)")
	fs.BoolVar(&f.verifyChecksums, "verify-checksums", false, "check checksums as Zeek does without -C: ignore segments with a bad TCP checksum (--format zeek notes them as c) and drop frames with a bad IPv4 header checksum")
}

// registerContinuous adds --continuous, for commands that read files (not
// live).
func (f *analysisFlags) registerContinuous(fs *pflag.FlagSet) {
	fs.BoolVar(&f.continuous, "continuous", false, "the files are one capture cut in pieces (tcpdump -C/-G): join them in time order, connections carried across (default: each file is a capture of its own)")
}

// registerFilter adds --filter, for commands that read files.
func (f *analysisFlags) registerFilter(fs *pflag.FlagSet) {
	fs.StringVar(&f.filter, "filter", "", "BPF filter (tcpdump syntax) applied to every frame, e.g. 'host 10.0.0.5'")
}

// captureConfig is the capture configuration the flags and the operands
// ask for, for an analysis on workers workers (gzip files are read ahead
// where that leaves a core free); a filter that does not compile is a
// usage error.
func (f *analysisFlags) captureConfig(o operands, workers int) (*capture.Config, error) {
	if o.filter != "" {
		if _, err := capture.NewLinkFilter(o.filter, 0); err != nil {
			if errors.Is(err, capture.ErrNoLibpcap) {
				return nil, err // what to install, not a usage error
			}
			return nil, filterError(o, err)
		}
	}
	return &capture.Config{VerifyChecksums: f.verifyChecksums, Filter: o.filter, ReadAhead: spareCore(workers)}, nil
}

func (f *analysisFlags) validate() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"handshake-timeout", f.cfg.HandshakeTimeout}, {"half-close-timeout", f.cfg.HalfCloseTimeout},
		{"zero-window-timeout", f.cfg.ZeroWindowTimeout}, {"msl", f.cfg.MSL}, {"idle-timeout", f.cfg.IdleTimeout}} {
		if d.v <= 0 {
			return usagef("--%s must be positive, not %s", d.name, d.v)
		}
	}
	if f.cfg.MaxConns <= 0 {
		return usagef("--max-conns must be positive, not %d", f.cfg.MaxConns)
	}
	if f.maxMemory == "auto" || f.maxMemory == "" {
		f.cfg.MaxMemory = defaultMaxMemory()
	} else {
		n, err := parseSize(f.maxMemory)
		if err != nil {
			return usagef("--max-memory: %v", err)
		}
		f.cfg.MaxMemory = n
	}
	return nil
}

// limits are the analysis limits in force, as check quotes them.
func (f *analysisFlags) limits() check.Limits {
	l := check.Limits{MaxConns: f.cfg.MaxConns}
	if f.cfg.MaxMemory > 0 {
		l.MaxMemory = sizeText(f.cfg.MaxMemory)
	}
	return l
}

func newAnalyzeCmd(e *env) *cobra.Command {
	cmd := newCommand("analyze [flags] [FILE...] [FILTER...]", "analyze captures (pcap, pcapng, gzip; \"-\" = stdin)")
	cmd.Long = "Analyze captures: a one-screen summary, then the findings, worst first.\n\n" + operandRule
	fs := cmd.Flags()
	var af analysisFlags
	var in inputFlags
	var wf workersFlag
	in.register(fs)
	af.register(fs)
	af.registerContinuous(fs)
	af.registerFilter(fs)
	wf.register(fs)
	format := fs.StringP("format", "f", "text", "output format: "+strings.Join(report.Formats(), ", ")+" (html: one self-contained page with ladder diagrams)")
	timeline := fs.Bool("timeline", false, "include every connection's timeline of segments and both peers' states (json, jsonl, yaml, html)")
	color := addColorFlag(fs)
	deterministic := fs.Bool("deterministic", false, "leave wall-clock times out of the output (for golden files)")
	_ = fs.MarkHidden("deterministic")
	cmd.RunE = func(_ *cobra.Command, args []string) error {
		if err := af.validate(); err != nil {
			return err
		}
		if err := wf.validate(); err != nil {
			return err
		}
		defer limitRuntime(af.cfg.MaxMemory)()
		ops, err := in.resolve(e, args, af.filter)
		if err != nil {
			return err
		}
		if len(ops.files) == 0 {
			return usagef("analyze: no capture file given (use - for standard input)")
		}
		if *timeline && (*format == "text" || *format == "zeek") {
			return usagef("analyze: --timeline has no place in --format %s (it goes with json, jsonl, yaml and html; ladder draws it)", *format)
		}
		opts := &report.Options{Timeline: *timeline, NoElapsed: *deterministic, Width: textWidth(e.stdout)}
		if opts.Color, err = color.enabled(e.stdout); err != nil {
			return err
		}
		out, closeOut := newOutput(e.stdout)
		defer closeOut()
		w, err := report.NewWriter(*format, out, opts)
		if err != nil {
			return &usageError{msg: err.Error()}
		}
		cfg := af.cfg
		cfg.Timeline = *timeline || report.NeedsTimeline(*format)
		start := time.Now()
		an, stop := wf.newEngine(&cfg, w)
		defer stop()
		capCfg, err := af.captureConfig(ops, wf.count())
		if err != nil {
			return err
		}
		e.interrupt = notifyInterrupt()
		defer e.interrupt.release()
		inputs, readErr := readSet(e, ops.files, capCfg, an, af.continuous)
		if nothingRead(inputs) {
			return readErr // one error on stderr, no empty report on stdout
		}
		sum := summarize(inputs, an, time.Since(start))
		if err := closeReport(w, sum, closeOut); err != nil {
			return err
		}
		if in := &inputs[len(inputs)-1]; in.Interrupted != "" { // readSet reports one input at least
			fmt.Fprintf(e.stderr, "tcpflow-check: %s while reading %s, after %d packets: the report covers what was read\n",
				in.Interrupted, in.Name, in.Stats.Packets)
			return e.interrupt.err()
		}
		return readErr
	}
	return cmd
}

// readInputs reads the inputs each as a capture of its own (see readSet).
func readInputs(e *env, names []string, cfg *capture.Config, an engine) ([]report.Input, error) {
	return readSet(e, names, cfg, an, false)
}

// readSet feeds every input to an, each as a capture of its own: its
// connections end, judged against the input's end, before the next input
// starts, so what a file gets never depends on the others or their order.
// With continuous the inputs are one capture cut in pieces (tcpdump -C/-G):
// they are read in the time order of their first packets, connections carry
// across, frame numbers continue from file to file, and the records name the
// whole set, which it reports as one input. It reports every input, the
// damaged ones included (with what could be read of them); the error is the
// first input error, which makes the exit code 2. When e.interrupt fires,
// reading stops there: the input being read is marked Interrupted, its
// connections are ended as at its end, and the inputs after it are not read.
func readSet(e *env, names []string, cfg *capture.Config, an engine, continuous bool) ([]report.Input, error) {
	if continuous {
		names = inTimeOrder(e, names, cfg)
		an.SetInput(strings.Join(names, "+"))
	}
	var inputs []report.Input
	var first error
	var seg capture.Segment
	var frameBase uint64
	var end time.Time
	for i, name := range names {
		in := report.Input{Name: name}
		if e.interrupt.fired() {
			in.Interrupted = e.interrupt.name()
			inputs = append(inputs, in)
			break
		}
		r, sr, err := openInput(e, name, cfg)
		if err != nil {
			if errors.Is(err, errReadInterrupted) {
				in.Interrupted = e.interrupt.name()
				inputs = append(inputs, in)
				break
			}
			in.Err = err
			inputs = append(inputs, in)
			if first == nil {
				first = err
			}
			continue
		}
		r.SetInput(i)
		sr.onIdle(func() { syncEngine(an) })
		if !continuous {
			an.SetInput(name)
		}
		prog := e.newProgress(name, r)
		for n := 0; ; n++ {
			// A stopReader ends a pipe's reading itself; a regular file
			// never blocks: checking the interrupt every 64 segments keeps
			// it off the per-segment path.
			if sr == nil && n&63 == 63 && e.interrupt.fired() {
				break
			}
			if prog != nil && n%progressEvery == progressEvery-1 {
				prog.update()
			}
			err := r.Next(&seg)
			if err == nil {
				seg.Frame += frameBase
				an.Add(&seg)
				continue
			}
			if !errors.Is(err, io.EOF) && !errors.Is(err, errReadInterrupted) {
				in.Err = err
				if first == nil {
					first = err
				}
			}
			break
		}
		prog.done()
		if in.Err == nil && e.interrupt.fired() {
			// Also when the end came while draining a pipe: the user
			// stopped the run, and the exit code says so.
			in.Interrupted = e.interrupt.name()
		}
		in.Stats = *r.Stats()
		if continuous {
			frameBase += in.Stats.Packets
			if in.Stats.End.After(end) {
				end = in.Stats.End
			}
		} else {
			an.Finish(in.Stats.End)
		}
		if in.Err == nil && in.Interrupted == "" {
			in.Err = undecodable(name, &in.Stats)
		}
		if in.Err != nil && first == nil {
			first = in.Err
		}
		r.Close()
		sr.Close()
		inputs = append(inputs, in)
		if in.Interrupted != "" {
			break
		}
	}
	if continuous {
		an.Finish(end)
		inputs = []report.Input{joinInputs(inputs)}
	}
	return inputs, first
}

// joinInputs is the one input a continuous set is: the records name it, and
// check holds it to the per-input rules as one trace.
func joinInputs(parts []report.Input) report.Input {
	var in report.Input
	names := make([]string, len(parts))
	for i := range parts {
		names[i] = parts[i].Name
		in.Stats.Add(&parts[i].Stats)
		if in.Err == nil {
			in.Err = parts[i].Err
		}
		if parts[i].Interrupted != "" {
			in.Interrupted = parts[i].Interrupted
		}
	}
	in.Name = strings.Join(names, "+")
	return in
}

// inTimeOrder sorts the files of a continuous set by the time of their
// first segment (tcpdump -C names trace, trace1 … trace10, which sort badly
// by name). Standard input and files that cannot be read keep their place
// at the front, where readInputs reports them.
func inTimeOrder(e *env, names []string, cfg *capture.Config) []string {
	firsts := make(map[string]time.Time, len(names))
	var seg capture.Segment
	for _, name := range names {
		if name == "-" {
			continue
		}
		r, sr, err := openInput(e, name, cfg)
		if err != nil {
			continue
		}
		if r.Next(&seg) == nil {
			firsts[name] = seg.Time
		}
		r.Close()
		sr.Close()
	}
	out := append([]string(nil), names...)
	sort.SliceStable(out, func(i, j int) bool { return firsts[out[i]].Before(firsts[out[j]]) })
	return out
}

// openInput opens one input; "-" is the command's standard input. Under
// an interrupt, an input that may block (a pipe, FIFO, terminal) is read
// through the stopReader returned, to be closed after the reader (Close of
// a nil *stopReader does nothing).
func openInput(e *env, name string, cfg *capture.Config) (*capture.Reader, *stopReader, error) {
	c := capture.Config{}
	if cfg != nil {
		c = *cfg
	}
	if name == "-" {
		rd, sr := e.interrupt.interruptible(e.stdin)
		c.Stdin = rd
		r, err := capture.Open(name, &c)
		return r, sr, err
	}
	return e.interrupt.openFile(name, &c)
}

// nothingRead reports whether every input failed before its first packet
// (it could not be opened, or is not a capture at all).
func nothingRead(inputs []report.Input) bool {
	for i := range inputs {
		if inputs[i].Err == nil || inputs[i].Stats.Packets > 0 {
			return false
		}
	}
	return len(inputs) > 0
}

func summarize(inputs []report.Input, an engine, elapsed time.Duration) *report.Summary {
	s := &report.Summary{Schema: report.Schema, Inputs: inputs, Analysis: *an.Stats(), Elapsed: elapsed}
	for i := range inputs {
		s.Capture.Add(&inputs[i].Stats)
	}
	return s
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// isTerminal reports whether w is a character device (a terminal), and
// NO_COLOR is not set.
func isTerminal(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// undecodable is an input error when a capture had packets and every one was
// of a link type we cannot decode: nothing was analyzed, and a pipeline must
// not take that for a clean trace. (Mixed captures only count such packets.)
func undecodable(name string, st *capture.Stats) error {
	if st.Packets == 0 || st.Segments > 0 {
		return nil
	}
	if st.SkippedKind(capture.SkipLinkType) != st.Packets {
		return nil
	}
	var reason string // the first by name, when a pcapng file mixes several
	for r := range st.Reasons {
		if s := r.String(); r.Kind == capture.SkipLinkType && (reason == "" || s < reason) {
			reason = s
		}
	}
	return fmt.Errorf("capture: %s: frame 1: %s: none of its %d packets could be decoded", name, reason, st.Packets)
}

// colorFlag is the --color flag every command shares.
type colorFlag struct{ v *string }

func addColorFlag(fs *pflag.FlagSet) colorFlag {
	return colorFlag{fs.String("color", "auto", "colour the output: auto (a terminal and no NO_COLOR), always, never")}
}

// enabled says whether output to w is coloured.
func (c colorFlag) enabled(w io.Writer) (bool, error) {
	switch *c.v {
	case "always":
		return true, nil
	case "auto":
		return isTerminal(w), nil
	case "never":
		return false, nil
	}
	return false, usagef("--color must be auto, always or never, not %q", *c.v)
}
