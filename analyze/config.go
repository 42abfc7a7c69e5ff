package analyze

import (
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze/zeek"
)

// Config tunes the analysis. The zero value (or a nil *Config) means the
// defaults, which suit a capture recorded around a test run.
type Config struct {
	// HandshakeTimeout is how long a SYN may wait for an answer, and a
	// SYN-ACK for the client's ACK, before it is a finding. Default 3s.
	HandshakeTimeout time.Duration
	// HalfCloseTimeout is how long a peer may sit in CLOSE_WAIT after its
	// peer's FIN was acknowledged before it is half_close_stuck. Default 1s.
	HalfCloseTimeout time.Duration
	// ZeroWindowTimeout is how long a receiver may advertise a zero window
	// before it is zero_window_stuck. Default 5s.
	ZeroWindowTimeout time.Duration
	// MSL is the maximum segment lifetime; TIME_WAIT lasts 2·MSL of capture
	// time. Default 30s (2·MSL = 60s, as Linux).
	MSL time.Duration
	// IdleTimeout evicts a connection that saw no segment for this long
	// (capture time). Default 5m.
	IdleTimeout time.Duration
	// CloseLinger keeps a connection whose peers are both CLOSED for this
	// long before its record is final, to attribute late retransmissions.
	// Default 5s.
	CloseLinger time.Duration
	// MaxConns caps the connections tracked at once; when the table is full
	// the idlest connection is ended early (and counted). Default 1,000,000.
	MaxConns int
	// FinishedTest says the capture is the record of a finished test (what
	// check judges): at its end a condition still pending — an unanswered
	// SYN, a SYN-ACK without its ACK, a peer in CLOSE_WAIT, a FIN never
	// acknowledged, a window still 0 — is a finding of its kind whatever its
	// duration, its evidence saying it was pending when the trace ended.
	// Default false: a capture may be a window of longer traffic, and a
	// condition under its timeout at the end is capture_incomplete.
	FinishedTest bool
	// MaxMemory caps the bytes the tracked connections may use, as
	// accounted by the analyzer (ConnCost each, plus their findings and
	// timelines); when it is reached the idlest connection is ended early
	// (and counted), as with MaxConns. Default 0: no budget but MaxConns.
	MaxMemory int64
	// Workers is how many Analyzers share the stream as shards (package
	// shard), each following the connections whose tuple hashes to it:
	// each then holds its share of MaxConns and MaxMemory (1/Workers), and
	// ends its own idlest connection when its share is full. 0 or 1: alone.
	Workers int
	// CompactAbove is how many connections the table must hold before the
	// ones quiet for CompactIdle of capture time are kept compact
	// (reassembly.Table.Freeze: some 100 to 200 bytes instead of ConnCost)
	// until their next segment or deadline. Only memory changes. Default
	// 65,536; negative: never.
	CompactAbove int
	// CompactIdle is how long a connection must be quiet before it is kept
	// compact (see CompactAbove). Default 1.5s.
	CompactIdle time.Duration
	// Timeline records every segment of every connection in Conn.Timeline.
	Timeline bool
	// MaxTimeline caps the steps kept per connection. Default 100,000.
	MaxTimeline int
}

// maxMemoryText writes MaxMemory for people: "512 MiB".
func (c *Config) maxMemoryText() string {
	n := c.MaxMemory
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmtS("%d GiB", n>>30)
	case n >= 1<<20:
		return fmtS("%d MiB", n>>20)
	}
	return fmtS("%d bytes", n)
}

func (c *Config) withDefaults() Config {
	var d Config
	if c != nil {
		d = *c
	}
	def := func(v *time.Duration, x time.Duration) {
		if *v <= 0 {
			*v = x
		}
	}
	def(&d.HandshakeTimeout, 3*time.Second)
	def(&d.HalfCloseTimeout, time.Second)
	def(&d.ZeroWindowTimeout, 5*time.Second)
	def(&d.MSL, 30*time.Second)
	def(&d.IdleTimeout, 5*time.Minute)
	def(&d.CloseLinger, 5*time.Second)
	def(&d.CompactIdle, 1500*time.Millisecond)
	if d.CompactAbove == 0 {
		d.CompactAbove = 1 << 16
	}
	if d.MaxConns <= 0 {
		d.MaxConns = 1_000_000
	}
	if d.MaxTimeline <= 0 {
		d.MaxTimeline = 100_000
	}
	return d
}

// Sink receives the analysis as it happens. Implementations must not retain
// f beyond the call; c is the connection's record, complete only in End.
type Sink interface {
	// Finding is called as soon as a finding can be judged, which may be
	// before its connection ends (live mode prints it then).
	Finding(c *Conn, f *Finding)
	// End is called once per connection when its record is final.
	End(c *Conn)
}

// EventSink is a Sink that also wants to hear of a connection's progress
// the moment it happens, before its record is final (live mode's metrics).
// An Analyzer calls these when its sink implements them.
type EventSink interface {
	Sink
	// Handshake is called when a handshake completes, with the RTT the
	// record will report (SYN to the ACK completing it).
	Handshake(rtt time.Duration)
	// Over is called once per connection when its exchange is over (both
	// FINs acknowledged, a reset, or the connection ended by a timeout, a
	// limit or the end of the capture). c is its record as it will be
	// emitted but for a peer still in TIME_WAIT, which End later reports
	// CLOSED when 2·MSL has passed.
	Over(c *Conn)
}

// ZeekSink is a Sink that also wants Zeek's conn.log records (zeek.Record),
// which begin and end where Zeek's timers and reuse test put them. An
// Analyzer whose sink implements it runs Zeek's session table beside its
// own; others skip that work.
type ZeekSink interface {
	Sink
	// ZeekEnd is called once per Zeek record, when Zeek would remove the
	// connection (or the input ends).
	ZeekEnd(r *zeek.Record)
}

// Stats are the analyzer's counters for the summary.
type Stats struct {
	Segments     uint64 // TCP segments analyzed
	Connections  uint64 // connections ended (records emitted)
	Evicted      uint64 // connections ended early, for any of the reasons below
	IdleEvicted  uint64 // … by the idle timeout
	CapHit       uint64 // … because MaxConns was reached
	MemoryHit    uint64 // … because MaxMemory was reached
	MaxOpen      int    // the most connections tracked at once
	ByConnState  map[string]uint64
	ByKind       map[Kind]uint64
	HandshakeRTT Histogram // RTTs of complete handshakes
}
