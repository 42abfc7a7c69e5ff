package main

import (
	"runtime"
	"time"

	"github.com/spf13/pflag"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/shard"
)

// engine is what the commands ask of the analysis: one analyze.Analyzer,
// or a shard.Analyzer spreading it over the cores with the same output.
type engine interface {
	Add(seg *capture.Segment)
	Advance(now time.Time)
	Finish(end time.Time)
	SetInput(name string)
	Stats() *analyze.Stats
	Open() int
	OpenStates(fn func(client, server analyze.State))
	TimeWait() int
}

// workersFlag is --workers, for the commands that analyze at speed.
type workersFlag struct{ n int }

func (w *workersFlag) register(fs *pflag.FlagSet) {
	fs.IntVar(&w.n, "workers", 0, "analyzer goroutines the connections are spread over, by a hash of their tuple; the output is the same for every count (default 0: one per core). --max-conns and --max-memory are split evenly among them: --workers 1 for the limits of one table")
}

func (w *workersFlag) validate() error {
	if w.n < 0 {
		return usagef("--workers must not be negative, not %d", w.n)
	}
	return nil
}

// count is the number of workers in force: --workers, or one per core.
func (w *workersFlag) count() int {
	if w.n > 0 {
		return w.n
	}
	return runtime.GOMAXPROCS(0)
}

// spareCore reports whether a core is left for reading ahead (decompressing
// a gzip file) beside the goroutines an analysis on n workers keeps busy:
// the reader, which is the one worker when n is 1, and the n workers.
func spareCore(n int) bool {
	busy := 1
	if n > 1 {
		busy += n
	}
	return runtime.GOMAXPROCS(0) > busy
}

// newEngine returns the analysis for cfg and sink on --workers workers, and
// what stops its goroutines (after Finish).
func (w *workersFlag) newEngine(cfg *analyze.Config, sink analyze.Sink) (engine, func()) {
	if n := w.count(); n > 1 {
		x := shard.New(cfg, sink, n)
		return x, x.Close
	}
	return analyze.New(cfg, sink), func() {}
}

// syncer is an engine that holds segments in batches (shard.Analyzer).
type syncer interface{ Sync() }

// syncEngine hands the Sink what an holds in batches, if it batches: the
// input is quiet (a live wire, a pipe), and who watches the output should
// see what the segments so far made.
func syncEngine(an engine) {
	if s, ok := an.(syncer); ok {
		s.Sync()
	}
}
