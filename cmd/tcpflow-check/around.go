package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/report"
)

// Capture around a command: check --policy P -i IFACE [-w T.pcapng] --
// COMMAND [ARGS...] captures while the command runs and for a grace period
// after it exits, then judges the trace against the moment the capture
// stopped. One line in a CI job, no tcpdump buffering to get wrong.

// aroundOptions are check's capture-around flags.
type aroundOptions struct {
	iface   string
	write   string        // the trace, as pcapng; "" writes none
	grace   time.Duration // how long to capture after the command exits; 0: the handshake timeout
	snaplen int
	command []string
}

// The exit codes of check -i beyond 0, 1 and 2 (docs/design.md §6).
const (
	exitCommandFailed = 3 // the command failed, the policy passed
	exitBothFailed    = 4 // the command failed and the policy was violated
)

// errCommandFailed and errBothFailed end check -i when the command
// failed; what failed was printed already.
var (
	errCommandFailed = errors.New("the command failed")
	errBothFailed    = errors.New("the command failed and the policy was violated")
)

// aroundDrain bounds the capture's drain after the grace period: it reads
// until the capture is quiet (two read timeouts in a row) or this long.
const aroundDrain = 2 * time.Second

// captureAround opens the capture, runs the command with the run's
// standard input and output, waits for it, captures for the grace period
// and drains what the kernel still holds, then ends the analysis at the
// moment the capture stopped. A SIGINT or SIGTERM (e.interrupt) goes on
// to the command, which is waited for as ever; the capture then stops
// without the grace period and the input is marked Interrupted. ran is false when the capture could not
// open or the command could not start (fatal says why: exit 2, before the
// command ran). Otherwise fatal is an error of the capture on the way, and
// cmdErr the command's failure (an *exec.ExitError), reported beside the
// verdict.
func captureAround(e *env, o *aroundOptions, cfg *capture.LiveConfig, an engine) (in report.Input, ran bool, cmdErr, fatal error) {
	in.Name = o.iface
	lv, err := capture.OpenLive(o.iface, cfg)
	if err != nil {
		return in, false, nil, liveOpenError(err)
	}
	defer lv.Close()
	var trace *traceFile
	if o.write != "" {
		if trace, err = createTrace(o.write, o.iface, cfg, lv); err != nil {
			return in, false, nil, err
		}
		defer trace.abort()
		lv.Dump(trace.ng)
	}
	an.SetInput(o.iface)
	start := time.Now()
	cmd := exec.Command(o.command[0], o.command[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = e.stdin, e.stdout, e.stderr
	grouped := ownGroup(e, cmd)
	if err := cmd.Start(); err != nil {
		return in, false, nil, fmt.Errorf("check: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	var seg capture.Segment
	var stopAt, drainEnd time.Time // zero until the command exits
	quiet := 0
	for {
		if in.Interrupted == "" && e.interrupt.fired() {
			in.Interrupted = e.interrupt.name()
			switch {
			case !stopAt.IsZero():
				stopAt = time.Now() // the command is over: no more grace
			case grouped:
				// The command hears it as a foreground job would; a
				// second signal kills tcpflow-check as usual.
				_ = signalGroup(cmd.Process, e.interrupt.sig)
			case e.interrupt.name() == "SIGTERM":
				// A terminal sends no SIGTERM: the command, in our group,
				// did not hear it. (A terminal's SIGINT reached it.)
				_ = cmd.Process.Signal(e.interrupt.sig)
			}
		}
		err := lv.Next(&seg)
		now := time.Now()
		switch {
		case err == nil:
			an.Add(&seg)
			quiet = 0
		case errors.Is(err, capture.ErrTimeout):
			quiet++
		default:
			fatal = err
		}
		if stopAt.IsZero() {
			select {
			case cmdErr = <-exited:
				stopAt = now.Add(o.grace)
				if in.Interrupted != "" {
					stopAt = now
				}
				drainEnd = stopAt.Add(aroundDrain)
			default:
			}
		}
		if fatal != nil || !stopAt.IsZero() && now.After(stopAt) && (quiet >= 2 || now.After(drainEnd)) {
			break
		}
	}
	if fatal != nil && stopAt.IsZero() {
		cmdErr = <-exited // the capture failed: still wait for the command
	}
	end := time.Now()
	lv.Close()
	in.Stats = *lv.Stats()
	in.Stats.End = end
	an.Finish(end)
	if trace != nil {
		if err := trace.close(start, end, &in.Stats); err != nil && fatal == nil {
			fatal = err
		}
	}
	in.Err = fatal
	return in, true, cmdErr, fatal
}

// traceFile is check -w's pcapng file.
type traceFile struct {
	name string
	f    *os.File
	ng   *pcapgo.NgWriter
}

func createTrace(name, iface string, cfg *capture.LiveConfig, lv *capture.Live) (*traceFile, error) {
	f, err := os.Create(name)
	if err != nil {
		return nil, fmt.Errorf("check: -w: %w", err)
	}
	intf := pcapgo.NgInterface{Name: iface, OS: pcapgo.DefaultNgInterface.OS, Filter: cfg.Filter,
		LinkType: lv.LinkType(), TimestampResolution: 9, SnapLength: uint32(cfg.SnapLen)}
	opts := pcapgo.DefaultNgWriterOptions
	opts.SectionInfo.Application = "tcpflow-check check"
	ng, err := pcapgo.NewNgWriterInterface(f, intf, opts)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("check: -w %s: %w", name, err)
	}
	return &traceFile{name: name, f: f, ng: ng}, nil
}

// close ends the trace with an Interface Statistics Block: when the
// capture started and stopped (isb_starttime, isb_endtime, which tell a
// reader where the capture really ended) and the packets lost.
func (t *traceFile) close(start, end time.Time, st *capture.Stats) error {
	err := t.ng.WriteInterfaceStats(0, pcapgo.NgInterfaceStatistics{
		LastUpdate: end, StartTime: start, EndTime: end,
		PacketsReceived: pcapgo.NgNoValue64, PacketsDropped: st.Dropped + st.IfDropped,
	})
	if err == nil {
		err = t.ng.Flush()
	}
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	t.f = nil
	if err != nil {
		return fmt.Errorf("check: -w %s: %w", t.name, err)
	}
	return nil
}

// abort closes the file if close was not reached.
func (t *traceFile) abort() {
	if t.f != nil {
		t.f.Close()
	}
}

// aroundExit is the error check -i ends with, given the verdict and the
// command's failure; it says on stderr how the command ended.
func aroundExit(e *env, command string, cmdErr error, violated bool) error {
	if cmdErr == nil {
		if violated {
			return errViolations
		}
		return nil
	}
	fmt.Fprintf(e.stderr, "tcpflow-check: %s: %v\n", command, cmdErr)
	if violated {
		return errBothFailed
	}
	return errCommandFailed
}
