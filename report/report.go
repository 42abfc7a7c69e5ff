package report

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/capture"
)

// Schema names the version of the machine-readable output (docs/design.md §5).
const Schema = "tcpflow-check/v1"

// Input describes one capture that was read.
type Input struct {
	Name  string
	Stats capture.Stats
	// Err is the damage that ended reading early, if any (a truncated or
	// corrupt file). What was read before it is still analyzed and reported.
	Err error
	// Interrupted names the signal (SIGINT, SIGTERM) that stopped reading
	// this input early; what was read before it is analyzed and reported.
	Interrupted string
}

// Summary is what is known once every input has been read.
type Summary struct {
	// Schema is informational; the writers always write the package's
	// Schema, which is the version of the format they produce.
	Schema   string
	Inputs   []Input
	Capture  capture.Stats // totals over Inputs
	Analysis analyze.Stats // the analyzer's counters
	Elapsed  time.Duration // wall clock; omitted with Options.NoElapsed
	// Gate is the verdict of `check` on these inputs, for the formats that
	// show it (html); nil outside check.
	Gate *Gate
}

// Gate is a check run's verdict as the report shows it: the policy, the
// status, and the rules that did not hold. Package check fills it in; this
// package only writes it.
type Gate struct {
	Policy string
	Status string // "pass", "fail" or "error" (an input could not be read)
	Held   int    // rules that held
	Rules  []GateRule
}

// GateRule is one rule that failed or warned.
type GateRule struct {
	Rule    string // e.g. "fail_on: syn_unanswered"
	Line    int    // its line in the policy; 0 for built-in rules
	Level   string // "fail" or "warn"
	Input   string // "" for rules over all inputs
	Message string
}

// NeedsTimeline reports whether format draws each connection's segments,
// so that the analysis must record them (analyze.Config.Timeline): html's
// ladders do.
func NeedsTimeline(format string) bool { return format == "html" }

// Options tunes the writers. The zero value (or a nil *Options) means the
// defaults.
type Options struct {
	// Timeline adds each connection's timeline (every segment with both
	// peers' states) to json, jsonl and yaml records. Default off.
	Timeline bool
	// NoElapsed leaves the wall-clock time out of every format, so that
	// output depends on the capture alone (golden tests). Default off.
	NoElapsed bool
	// Color colours the text output and the ladder with ANSI escapes. The
	// caller decides (a terminal, no NO_COLOR); libraries never look.
	// Default off.
	Color bool
	// Width wraps the text output's lines and the ladder's at this many
	// columns, with hanging indents; a ladder's rows stay aligned. Default
	// 0: no wrapping.
	Width int
	// StreamWidth wraps the lines Live streams, one a finding, at this
	// many columns. Default 0: one line each, whatever Width, so that a
	// pipe gets lines for grep and tail.
	StreamWidth int
	// MaxExamples is how many findings of each kind the text output shows,
	// with their connection and evidence. Default (0): up to 10, fewer when
	// many kinds compete, so that the output fits one screen (about 40
	// lines). When errors or warnings are present, info kinds are one line
	// each, naming a few connections.
	MaxExamples int
	// Live writes each finding the moment the analyzer reports it (Sink's
	// Finding), before its connection ends: text prints one line per
	// finding, jsonl one {"type":"finding",...} line. The other formats are
	// documents of records and ignore it. Default off: findings appear with
	// their connection.
	Live bool
}

func (o *Options) withDefaults() Options {
	var d Options
	if o != nil {
		d = *o
	}
	if d.MaxExamples <= 0 {
		d.MaxExamples = 10
	}
	if d.Width < 0 {
		d.Width = 0
	}
	return d
}

// Writer is an analyze.Sink that writes records as connections end, and the
// summary at Close. Records appear in the order End is called. A Writer is
// not safe for concurrent use.
type Writer interface {
	analyze.Sink
	// Close writes what remains (for most formats, the summary) and returns
	// the first error met writing to the underlying io.Writer. It does not
	// close that io.Writer. A nil s is an empty summary.
	Close(s *Summary) error
}

var formats = []string{"text", "json", "jsonl", "yaml", "zeek", "html"}

// Formats returns the names NewWriter accepts, the default ("text") first.
func Formats() []string { return append([]string(nil), formats...) }

// NewWriter returns a Writer for format, writing to w. An empty format means
// "text". An unknown format is an error that lists the valid ones.
func NewWriter(format string, w io.Writer, opts *Options) (Writer, error) {
	o := opts.withDefaults()
	b := base{w: w, opts: o}
	switch format {
	case "", "text":
		return newTextWriter(b, opts == nil || opts.MaxExamples <= 0), nil
	case "json":
		return &jsonWriter{base: b}, nil
	case "jsonl":
		return &jsonlWriter{base: b}, nil
	case "yaml":
		return &yamlWriter{base: b}, nil
	case "zeek":
		return &zeekWriter{base: b}, nil
	case "html":
		return newHTMLWriter(b), nil
	}
	return nil, fmt.Errorf("report: unknown format %q (valid: %s)", format, strings.Join(formats, ", "))
}

// base holds what every writer needs: the destination, the first write
// error, a reused buffer, and a tally of the records written, used where the
// Summary's analyzer counters were left empty.
type base struct {
	w    io.Writer
	opts Options
	err  error
	buf  bytes.Buffer
	t    tally
	// the streamed findings of connections not yet ended, by connection
	// id (Options.Live), to say at End where the final value differs
	streamed map[uint64][]streamedFinding
	clock    time.Time // the latest capture time printed (Options.Live)
	rec      []byte    // scratch of appendRecord
	memo     recMemo   // of appendRecord
}

// BorrowsRecords tells the analyzer (analyze.Borrower) that the text,
// json, jsonl and zeek writers keep nothing of a record once End returns
// (the text writer copies what its examples show), so that it need not
// make each anew.
func (t *textWriter) BorrowsRecords() bool  { return true }
func (j *jsonWriter) BorrowsRecords() bool  { return true }
func (j *jsonlWriter) BorrowsRecords() bool { return true }
func (z *zeekWriter) BorrowsRecords() bool  { return true }

// appendRecord writes c's record (json, jsonl) to the buffer.
func (b *base) appendRecord(c *analyze.Conn) {
	b.rec = b.memo.appendRecord(b.rec[:0], c, b.opts.Timeline)
	b.buf.Write(b.rec)
}

// streamedFinding is what a live line said of a finding.
type streamedFinding struct {
	kind analyze.Kind
	by   string
	dur  time.Duration
}

// stream notes that f of connection id was streamed, and returns the time
// to print it at: when it was judged, never before a line already
// printed, so that the lines read in capture order.
func (b *base) stream(id uint64, f *analyze.Finding) time.Time {
	if b.streamed == nil {
		b.streamed = make(map[uint64][]streamedFinding)
	}
	if f.HasDuration {
		b.streamed[id] = append(b.streamed[id], streamedFinding{f.Kind, f.By, f.Duration})
	}
	return b.tick(f.Judged, f.Time)
}

// tick advances the printed clock to the first non-zero of ts.
func (b *base) tick(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			if t.After(b.clock) {
				b.clock = t
			}
			break
		}
	}
	return b.clock
}

// findingUpdate is a streamed finding whose final value differs: f as the record
// has it, was the duration streamed.
type findingUpdate struct {
	f   *analyze.Finding
	was time.Duration
}

// changed returns the findings of c, ending, whose duration differs from
// what was streamed of them, for update lines.
func (b *base) changed(c *analyze.Conn) []findingUpdate {
	sent, ok := b.streamed[c.ID]
	if !ok {
		return nil
	}
	delete(b.streamed, c.ID)
	var out []findingUpdate
	for i := range c.Findings {
		f := &c.Findings[i]
		for j := range sent {
			if s := &sent[j]; s.kind == f.Kind && s.by == f.By && f.HasDuration {
				if s.dur != f.Duration {
					out = append(out, findingUpdate{f, s.dur})
				}
				s.kind = "" // matched
				break
			}
		}
	}
	return out
}

// write is flush with p after what buf holds, p not copied when buf is
// empty.
func (b *base) write(p []byte) {
	if b.buf.Len() > 0 {
		b.buf.Write(p)
		b.flush()
		return
	}
	if b.err == nil {
		_, b.err = b.w.Write(p)
	}
}

// flush writes buf to w in one call (so that a record is never split
// between two writes, which matters for pipes in live mode) and resets it.
// After the first error nothing more is written.
func (b *base) flush() {
	if b.err == nil && b.buf.Len() > 0 {
		_, b.err = b.w.Write(b.buf.Bytes())
	}
	b.buf.Reset()
}

// tally counts the connections a writer has been given.
type tally struct {
	conns   uint64
	byState map[string]uint64
	byKind  map[analyze.Kind]uint64
	rtt     analyze.Histogram
	// the latest conn_state and kind counted, and how many times in a row
	// (not yet in the maps): the records a flood ends one after the other
	// look alike, and the maps hash a string per count
	state  string
	nState uint64
	kind   analyze.Kind
	nKind  uint64
}

func (t *tally) add(c *analyze.Conn) {
	t.conns++
	if t.byState == nil {
		t.byState = make(map[string]uint64)
		t.byKind = make(map[analyze.Kind]uint64)
	}
	if s := c.ConnState; s != "" {
		if t.nState > 0 && s != t.state {
			t.byState[t.state] += t.nState
			t.nState = 0
		}
		t.state = s
		t.nState++
	}
	for i := range c.Findings {
		k := c.Findings[i].Kind
		if t.nKind > 0 && k != t.kind {
			t.byKind[t.kind] += t.nKind
			t.nKind = 0
		}
		t.kind = k
		t.nKind++
	}
	if c.Handshake.Complete && c.Handshake.HasRTT {
		t.rtt.Observe(c.Handshake.RTT)
	}
}

// settle puts the counts in a row into the maps.
func (t *tally) settle() {
	if t.nState > 0 {
		t.byState[t.state] += t.nState
		t.nState = 0
	}
	if t.nKind > 0 {
		t.byKind[t.kind] += t.nKind
		t.nKind = 0
	}
}

// analysis returns s's analyzer counters, with the parts the analyzer left
// empty filled from the tally of the records actually written.
func (t *tally) analysis(s *Summary) analyze.Stats {
	t.settle()
	a := s.Analysis
	if a.Connections == 0 {
		a.Connections = t.conns
	}
	if a.ByConnState == nil {
		a.ByConnState = t.byState
	}
	if a.ByKind == nil {
		a.ByKind = t.byKind
	}
	if a.HandshakeRTT.Count == 0 {
		a.HandshakeRTT = t.rtt
	}
	return a
}

// orEmpty returns a non-nil summary.
func orEmpty(s *Summary) *Summary {
	if s == nil {
		return &Summary{}
	}
	return s
}
