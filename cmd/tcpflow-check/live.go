package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/check"
	"github.com/tcpflow-check/tcpflow-check/metrics"
	"github.com/tcpflow-check/tcpflow-check/report"
)

// liveTick is how often the capture clock is advanced while the wire is
// quiet, so that timeouts are judged without waiting for a packet.
const liveTick = 250 * time.Millisecond

// liveOptions is the live command line, parsed.
type liveOptions struct {
	iface       string
	limits      check.Limits // as check quotes them
	capture     capture.LiveConfig
	duration    time.Duration
	count       uint64
	format      string
	report      report.Options
	analysis    analyze.Config
	workers     workersFlag
	metricsAddr string
	user        string
	policy      *check.Policy
}

func newLiveCmd(e *env) *cobra.Command {
	cmd := newCommand("live -i IFACE [flags] [BPF filter words...]", "watch an interface")
	fs := cmd.Flags()
	var o liveOptions
	var af analysisFlags
	fs.StringVarP(&o.iface, "interface", "i", "", "interface to capture on (any interface libpcap opens; \"any\" for all)")
	fs.IntVarP(&o.capture.SnapLen, "snaplen", "s", capture.DefaultSnapLen, "bytes kept of each frame (the default keeps headers only)")
	fs.BoolVarP(&o.capture.Promisc, "promisc", "p", false, "put the interface in promiscuous mode")
	bufMiB := fs.Int("buffer-size", 32, "kernel capture buffer in MiB (raise it if the kernel drops packets)")
	fs.DurationVar(&o.duration, "duration", 0, "stop after this long (default: until SIGINT or SIGTERM)")
	fs.Uint64VarP(&o.count, "count", "c", 0, "stop after this many TCP segments (default: no limit)")
	fs.StringVarP(&o.format, "format", "f", "text", "output format: text and jsonl stream findings as they are judged; json writes one document at the end")
	af.register(fs)
	o.workers.register(fs)
	timeline := fs.Bool("timeline", false, "include every connection's timeline (json, jsonl)")
	color := addColorFlag(fs)
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "serve Prometheus metrics on this address (e.g. :9109) at /metrics")
	fs.StringVarP(&o.user, "user", "Z", "", "drop privileges to this user once the capture is open (as tcpdump -Z)")
	policy := fs.String("policy", "", "judge the capture by this policy (YAML, as check): exit 1 when it is violated")
	list := fs.BoolP("list-interfaces", "D", false, "list the interfaces live can capture on, as tcpdump -D, and exit")
	cmd.RunE = func(_ *cobra.Command, args []string) error {
		if err := af.validate(); err != nil {
			return err
		}
		if err := o.workers.validate(); err != nil {
			return err
		}
		defer limitRuntime(af.cfg.MaxMemory)()
		if *list {
			return listInterfaces(e.stdout)
		}
		if o.iface == "" {
			return usagef("live: no interface given (-i IFACE; \"any\" for all)")
		}
		if o.capture.SnapLen <= 0 {
			return usagef("--snaplen must be positive, not %d", o.capture.SnapLen)
		}
		if *bufMiB <= 0 {
			return usagef("--buffer-size must be positive, not %d", *bufMiB)
		}
		if o.duration < 0 {
			return usagef("--duration must not be negative, not %s", o.duration)
		}
		switch o.format {
		case "text", "jsonl", "json":
		default:
			return usagef("live: --format must be text, jsonl or json, not %q", o.format)
		}
		colored, err := color.enabled(e.stdout)
		if err != nil {
			return err
		}
		o.report.Color = colored
		o.report.Width = textWidth(e.stdout)
		if isTTY(e.stdout) { // in a pipe, a finding a line
			o.report.StreamWidth = o.report.Width
		}
		o.capture.BufferSize = *bufMiB << 20
		o.capture.VerifyChecksums = af.verifyChecksums
		o.capture.Filter = strings.Join(args, " ")
		o.report.Live = true
		if *timeline && o.format == "text" {
			return usagef("live: --timeline has no place in --format text (it goes with json and jsonl)")
		}
		o.report.Timeline = *timeline
		o.analysis = af.cfg
		o.limits = af.limits()
		o.analysis.Timeline = *timeline
		if *policy != "" {
			p, err := check.LoadPolicy(*policy)
			if err != nil {
				return err
			}
			o.policy = p
			// The policy's timeouts replace the defaults; flags given on the
			// command line still win.
			applyTimeouts(&o.analysis, p.Timeouts)
			for name, v := range map[string]*time.Duration{
				"handshake-timeout": &o.analysis.HandshakeTimeout, "half-close-timeout": &o.analysis.HalfCloseTimeout,
				"zero-window-timeout": &o.analysis.ZeroWindowTimeout, "msl": &o.analysis.MSL, "idle-timeout": &o.analysis.IdleTimeout,
			} {
				if fs.Changed(name) {
					d, _ := fs.GetDuration(name)
					*v = d
				}
			}
		}

		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return runLive(ctx, e, &o)
	}
	return cmd
}

// runLive captures until ctx is done, the duration has passed or count
// segments were read, then flushes the analysis and writes the summary.
// Being stopped by ctx is a clean end, not an error.
func runLive(ctx context.Context, e *env, o *liveOptions) error {
	// Listen before opening the capture and dropping privileges: the
	// address may be a privileged port.
	var exp *metrics.Exporter
	var srv *http.Server
	if o.metricsAddr != "" {
		ln, err := net.Listen("tcp", o.metricsAddr)
		if err != nil {
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		exp = metrics.New()
		mux := http.NewServeMux()
		mux.Handle("/metrics", exp.Handler())
		srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		fmt.Fprintf(e.stderr, "tcpflow-check: metrics on http://%s/metrics\n", ln.Addr())
	}

	lv, err := capture.OpenLive(o.iface, &o.capture)
	if err != nil {
		return liveOpenError(err)
	}
	defer lv.Close()
	if o.user != "" {
		if err := dropPrivileges(o.user); err != nil {
			return fmt.Errorf("--user %s: %w", o.user, err)
		}
	}

	out, closeOut := newOutput(e.stdout)
	defer closeOut()
	w, err := report.NewWriter(o.format, out, &o.report)
	if err != nil {
		return &usageError{msg: err.Error()}
	}
	var sink analyze.Sink = w
	var gate *check.Checker
	if o.policy != nil {
		gate = check.New(o.policy, nil)
		gate.Limits = o.limits
		sink = teeSink{w, gate}
	}
	if exp != nil {
		sink = exp.Sink(sink) // counts, then hands on to the writer and the policy
	}
	an, stopEngine := o.workers.newEngine(&o.analysis, sink)
	defer stopEngine()
	an.SetInput(o.iface)

	filter := ""
	if o.capture.Filter != "" {
		filter = fmt.Sprintf(", filter %q", o.capture.Filter)
	}
	fmt.Fprintf(e.stderr, "tcpflow-check: capturing on %s (%s), snaplen %d%s\n",
		o.iface, capture.LinkTypeName(lv.LinkType()), o.capture.SnapLen, filter)

	start := time.Now()
	readErr := captureLoop(ctx, lv, an, exp, o, start)
	// The capture ends when it stops, not at its last packet: a condition
	// still pending is judged against the stop (docs/design.md §4).
	end := time.Now()
	lv.Close()
	an.Finish(end)
	cs := *lv.Stats()
	cs.End = end
	if exp != nil {
		exp.Update(&cs, an)
	}
	in := report.Input{Name: o.iface, Stats: cs, Err: readErr}
	sum := &report.Summary{Schema: report.Schema, Inputs: []report.Input{in}, Capture: cs,
		Analysis: *an.Stats(), Elapsed: time.Since(start)}
	if err := closeReport(w, sum, closeOut); err != nil {
		return err
	}
	if lost := cs.Dropped + cs.IfDropped; lost > 0 {
		fmt.Fprintf(e.stderr, "tcpflow-check: warning: %d packets were lost (%d dropped by the kernel, %d by the interface): "+
			"findings near a loss are less certain; narrow the filter or raise --buffer-size\n", lost, cs.Dropped, cs.IfDropped)
	}
	if readErr != nil || gate == nil {
		return readErr
	}
	v := gate.Verdict(sum.Inputs)
	if !v.Failed() {
		fmt.Fprintf(e.stderr, "tcpflow-check: policy passed\n")
		return nil
	}
	for _, r := range append(append([]check.RuleResult(nil), v.Global...), v.Inputs[0].Rules...) {
		if r.Failed && r.Level == check.LevelFail {
			fmt.Fprintf(e.stderr, "tcpflow-check: policy violated: %s (line %d): %s\n", r.Rule, r.Line, r.Message)
		}
	}
	return errViolations
}

// teeSink hands everything to two sinks.
type teeSink [2]analyze.Sink

func (t teeSink) Finding(c *analyze.Conn, f *analyze.Finding) {
	t[0].Finding(c, f)
	t[1].Finding(c, f)
}

func (t teeSink) End(c *analyze.Conn) {
	t[0].End(c)
	t[1].End(c)
}

// captureLoop feeds segments to an until the capture is told to stop. It
// advances the capture clock every liveTick when the wire is quiet.
func captureLoop(ctx context.Context, lv *capture.Live, an engine, exp *metrics.Exporter, o *liveOptions, start time.Time) error {
	var seg capture.Segment
	var n uint64
	var lastPkt, lastWall time.Time // the last segment's capture time, and the wall clock when it was read
	lastTick := start
	for {
		if ctx.Err() != nil {
			return nil
		}
		err := lv.Next(&seg)
		now := time.Now()
		switch {
		case err == nil:
			an.Add(&seg)
			lastPkt, lastWall = seg.Time, now
			n++
			if o.count > 0 && n >= o.count {
				return nil
			}
		case errors.Is(err, capture.ErrTimeout):
			// The wire is quiet: what workers hold in a batch comes out now.
			syncEngine(an)
		default:
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if now.Sub(lastTick) < liveTick {
			continue
		}
		lastTick = now
		if !lastPkt.IsZero() {
			// The capture clock is the last packet's time plus the wall
			// time since it was read: what the kernel would have stamped on
			// a packet arriving now.
			an.Advance(lastPkt.Add(now.Sub(lastWall)))
		}
		if exp != nil {
			exp.Update(lv.Stats(), an)
		}
		if o.duration > 0 && now.Sub(start) >= o.duration {
			return nil
		}
	}
}

// liveOpenError adds what to do to the errors of opening a capture.
func liveOpenError(err error) error {
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		return err
	case errors.Is(err, capture.ErrPermission):
		return fmt.Errorf("%w\n  run as root, or grant the capabilities once:\n"+
			"  sudo setcap cap_net_raw,cap_net_admin=eip $(which tcpflow-check)", err)
	case errors.Is(err, capture.ErrNoInterface):
		return fmt.Errorf("%w (ip link lists the interfaces; \"any\" captures on all)", err)
	case errors.Is(err, capture.ErrFilter):
		return &usageError{msg: err.Error()}
	}
	return err
}
