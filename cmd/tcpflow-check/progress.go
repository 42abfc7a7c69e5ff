package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/tcpflow-check/tcpflow-check/capture"
)

// progressEvery is how many segments pass between two updates of the
// progress bar: often enough to move, rarely enough to cost nothing.
const progressEvery = 4096

// progress shows, on standard error, how far the reading of one input is:
// bytes read of the file's size, packets per second and the time left, or
// a spinner for standard input and pipes, whose size is unknown. It is
// drawn only when standard error is a terminal (see showProgress): never
// in pipes, files or CI logs. A nil *progress draws nothing.
type progress struct {
	bar   *progressbar.ProgressBar
	r     *capture.Reader
	name  string
	start time.Time
}

// showProgress decides whether progress is drawn on w: only on a terminal,
// and not when TERM is "dumb".
func showProgress(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && os.Getenv("TERM") != "dumb"
}

// newProgress starts the progress of reading r (named name), or returns nil
// when standard error is not a terminal.
func (e *env) newProgress(name string, r *capture.Reader) *progress {
	if !showProgress(e.stderr) {
		return nil
	}
	size := int64(-1) // a spinner
	if name != "-" {
		if st, err := os.Stat(name); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
	}
	width := 30
	if f, ok := e.stderr.(*os.File); ok {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 && cols < 100 {
			width = max(10, cols-70)
		}
	}
	bar := progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(e.stderr),
		progressbar.OptionSetDescription(name),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(width),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(e.stderr) }), // the last state stays, as curl's
		progressbar.OptionSpinnerType(14),
		progressbar.OptionUseANSICodes(true),
	)
	bar.RenderBlank()
	return &progress{bar: bar, r: r, name: name, start: time.Now()}
}

// update redraws the bar with the bytes and packets read so far.
func (p *progress) update() {
	if p == nil {
		return
	}
	st := p.r.Stats()
	if secs := time.Since(p.start).Seconds(); secs > 0 {
		p.bar.Describe(fmt.Sprintf("%s  %s pkt/s", p.name, perSecond(float64(st.Packets)/secs)))
	}
	p.bar.Set64(p.r.BytesRead())
}

// done draws the bar at its end and leaves it on its line.
func (p *progress) done() {
	if p == nil {
		return
	}
	p.update()
	p.bar.Finish()
}

// perSecond writes a rate for the bar: 870, 85k, 1.2M.
func perSecond(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
