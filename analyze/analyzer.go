package analyze

import (
	"sort"
	"time"

	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// sweepEvery is how often (in capture time) every connection is checked for
// timeouts that passed without a segment of its own.
const sweepEvery = time.Second

// Analyzer follows every connection of a stream of segments and reports each
// connection's record and findings to its Sink. Segments must come in
// capture order. An Analyzer is not safe for concurrent use.
type Analyzer struct {
	cfg       Config
	sink      Sink
	tab       *reassembly.Table[conn]
	input     string
	nextID    uint64
	now       time.Time // the capture clock: the latest segment time seen
	nextSweep time.Time
	stats     Stats
}

// New returns an Analyzer reporting to sink. A nil cfg means the defaults.
func New(cfg *Config, sink Sink) *Analyzer {
	return &Analyzer{
		cfg:  cfg.withDefaults(),
		sink: sink,
		tab:  reassembly.NewTable[conn](1024),
		stats: Stats{
			ByConnState: make(map[string]uint64),
			ByKind:      make(map[Kind]uint64),
		},
	}
}

// Config returns the configuration in force, defaults filled in.
func (a *Analyzer) Config() Config { return a.cfg }

// SetInput names the input the following segments come from; records carry it.
func (a *Analyzer) SetInput(name string) { a.input = name }

// Stats returns the counters so far.
func (a *Analyzer) Stats() *Stats { return &a.stats }

// Open returns the number of connections being tracked.
func (a *Analyzer) Open() int { return a.tab.Len() }

// Now returns the capture clock.
func (a *Analyzer) Now() time.Time { return a.now }

// Add analyzes one segment. It does not allocate for a segment of a known
// connection (unless the timeline is on or a finding is made).
func (a *Analyzer) Add(seg *capture.Segment) {
	a.stats.Segments++
	if seg.Time.After(a.now) {
		a.now = seg.Time
	}
	if !a.nextSweep.IsZero() && !a.now.Before(a.nextSweep) {
		a.sweep(false)
	}
	if a.nextSweep.IsZero() {
		a.nextSweep = a.now.Add(sweepEvery)
	}

	key := reassembly.KeyOf(seg.Src, seg.Dst)
	rc := a.tab.Lookup(key)
	var reused *reassembly.Conn[conn]
	if rc != nil && rc.Reuses(seg) {
		reused = rc
	}
	if rc == nil || reused != nil {
		var prev prevConn
		if reused != nil {
			prev = a.prevOf(reused, seg)
			a.end(reused)
		}
		if a.tab.Len() >= a.cfg.MaxConns {
			a.stats.CapHit++
			a.end(a.tab.Oldest())
		}
		rc = a.tab.Insert(key, seg)
		a.nextID++
		rc.Data.init(a.nextID, rc, &a.cfg)
		if reused != nil {
			rc.Data.noteReuse(prev, seg, 2*a.cfg.MSL)
		}
		if n := a.tab.Len(); n > a.stats.MaxOpen {
			a.stats.MaxOpen = n
		}
	} else {
		a.tab.Touch(rc)
	}
	d := rc.DirOf(seg)
	cls := rc.Update(seg, d)
	c := &rc.Data
	c.segment(rc, seg, d, cls, a)
	if c.finished(a.now, &a.cfg) {
		a.end(rc)
	}
}

// Advance moves the capture clock to now without a segment (live capture
// calls it from a ticker while the wire is quiet) and judges every timeout
// that passed.
func (a *Analyzer) Advance(now time.Time) {
	if now.After(a.now) {
		a.now = now
	}
	a.sweep(false)
}

// Flush ends every connection: pending conditions are judged as the end of
// the capture demands (DESIGN §4) and each record goes to the Sink. Call it
// at the end of each input.
func (a *Analyzer) Flush() {
	a.sweep(true)
	a.nextSweep = time.Time{}
}

// sweep judges timeouts and ends connections that are over. With final, it
// ends them all.
func (a *Analyzer) sweep(final bool) {
	a.nextSweep = a.now.Add(sweepEvery)
	for rc := a.tab.Oldest(); rc != nil; {
		next := rc.NextActive()
		c := &rc.Data
		switch {
		case final:
			c.judge(rc, a.now, true, a)
			a.end(rc)
		case a.now.Sub(rc.Last) >= a.cfg.IdleTimeout:
			a.stats.Evicted++
			c.judge(rc, a.now, true, a)
			a.end(rc)
		default:
			c.judge(rc, a.now, false, a)
			if c.finished(a.now, &a.cfg) {
				a.end(rc)
			}
		}
		rc = next
	}
}

// end emits rc's record and removes it from the table.
func (a *Analyzer) end(rc *reassembly.Conn[conn]) {
	c := &rc.Data
	c.judge(rc, a.now, true, a)
	rec := c.record(rc, a.input)
	a.stats.Connections++
	a.stats.ByConnState[rec.ConnState]++
	for i := range rec.Findings {
		a.stats.ByKind[rec.Findings[i].Kind]++
	}
	if rec.Handshake.HasRTT {
		a.stats.HandshakeRTT.Observe(rec.Handshake.RTT)
	}
	a.tab.Remove(rc)
	if a.sink != nil {
		a.sink.End(rec)
	}
}

// emit hands a newly judged finding to the sink at once (live mode prints it).
func (a *Analyzer) emit(rc *reassembly.Conn[conn], f *Finding) {
	if a.sink == nil {
		return
	}
	rec := rc.Data.record(rc, a.input)
	a.sink.Finding(rec, f)
}

// sortFindings orders findings by their first frame, then kind.
func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		fi, fj := firstFrame(&fs[i]), firstFrame(&fs[j])
		if fi != fj {
			return fi < fj
		}
		return fs[i].Kind < fs[j].Kind
	})
}

func firstFrame(f *Finding) uint64 {
	if len(f.Frames) == 0 {
		return 0
	}
	return f.Frames[0]
}
