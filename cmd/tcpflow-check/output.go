package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/tcpflow-check/tcpflow-check/report"
)

const (
	// outputBatch is what batchOutput gathers before it writes: a flood of
	// evicted connections writes a record each, and one write(2) per
	// record cost more than making the record.
	outputBatch = 128 << 10
	// outputLinger is how long a record may wait in the batch: who tails
	// the output (live, or analyze of a pipe) still sees records as they
	// happen.
	outputLinger = 100 * time.Millisecond
)

// batchOutput gathers the report's writes into few large ones. A write is
// never split: a batch holds whole writes (whole records), and one too
// large for a batch goes out alone. What a write leaves in the batch goes
// out within outputLinger, when the batch is full, or at Close, whichever
// comes first. The first error of the underlying writer is returned by
// every later Write and by Close. It is safe for concurrent use (the timer
// flushes from its own goroutine).
type batchOutput struct {
	mu     sync.Mutex
	w      io.Writer
	buf    []byte
	err    error
	timer  *time.Timer // flushes what lingers; armed while buf holds some
	armed  bool
	closed bool
}

// newOutput returns where the report for w is written: w itself when it is
// a terminal (what is typed there shows at once, interleaved with stderr
// as ever), otherwise a batchOutput over w, to be closed after the report.
func newOutput(w io.Writer) (io.Writer, func() error) {
	if isTTY(w) {
		return w, func() error { return nil }
	}
	o := &batchOutput{w: w, buf: make([]byte, 0, outputBatch)}
	o.timer = time.AfterFunc(time.Hour, o.linger)
	o.timer.Stop()
	return o, o.Close
}

// Write adds p to the batch, writing the batch first when p does not fit.
func (o *batchOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return 0, o.err
	}
	if len(o.buf)+len(p) > cap(o.buf) {
		o.flush()
		if o.err != nil {
			return 0, o.err
		}
	}
	if o.closed || len(p) > cap(o.buf) {
		var n int
		n, o.err = o.w.Write(p)
		return n, o.err
	}
	o.buf = append(o.buf, p...)
	if !o.armed {
		o.armed = true
		o.timer.Reset(outputLinger)
	}
	return len(p), nil
}

// linger writes what waited outputLinger in the batch.
func (o *batchOutput) linger() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.armed = false
	o.flush()
}

// flush writes the batch (o.mu held).
func (o *batchOutput) flush() {
	if len(o.buf) > 0 && o.err == nil {
		_, o.err = o.w.Write(o.buf)
	}
	o.buf = o.buf[:0]
}

// Close writes what the batch holds and returns the first write error;
// later writes go straight through. It may be called more than once.
func (o *batchOutput) Close() error {
	o.timer.Stop()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.armed = false
	o.flush()
	o.closed = true
	return o.err
}

// closeReport writes the report's end (the summary) and then what the
// output still holds.
func closeReport(w report.Writer, sum *report.Summary, closeOut func() error) error {
	err := w.Close(sum)
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return nil
}
