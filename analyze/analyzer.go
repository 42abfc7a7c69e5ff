package analyze

import (
	"cmp"
	"slices"
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze/zeek"
	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// sweepEvery is how often (in capture time) the connections whose deadline
// has come are judged for timeouts that passed without a segment of their
// own (timers.go keeps the deadlines).
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
	now       int64 // the capture clock (a stamp): the latest segment time seen
	finishing bool  // Finish is ending the connections at the capture's end
	nextSweep int64 // NoTime before the first segment
	// shift is the whole seconds taken off every time of a capture beyond
	// stamps' years (clock.go), chosen at its first frame (clocked); 0 for
	// a capture of this era.
	shift     int64
	clocked   bool
	stats     Stats
	steps     int64 // timeline steps the tracked connections keep
	heldBytes int64 // what the held records keep

	// Connections that are over but whose active closer is still in
	// TIME_WAIT: their records wait here, small, until 2·MSL has passed
	// (the state becomes CLOSED) or a new SYN reuses the tuple.
	held     timerHeap[uint32] // refs in heldRecs
	heldRecs heldStore

	// timers holds the open connections by their next deadline; a
	// connection's seq is the entry of its latest segment, the table's
	// activity order, which sweeps keep.
	timers  timerHeap[uint32]                 // by reassembly.Conn.Ref, which freezing keeps
	dueSoon func(*reassembly.Conn[conn]) bool // of freezing: a deadline within CompactIdle
	// nextCompact is when quiet connections are next frozen (compact)
	nextCompact int64
	due         []*reassembly.Conn[conn] // scratch of sweep
	dueH        []heldDue                // scratch of releaseHeld
	// sweeps counts the sweeps, swept is the capture time of the latest
	// (conn.catchUp).
	sweeps uint32
	swept  int64

	// more holds what few connections need out of line (conn.more).
	more moreSlab

	// scratch of judge: the conditions a connection ending still waited
	// for, and the evidence being written; why caches stoppedWhy
	incomplete, evidence clauses
	why                  [len(endReasons)]string

	run  statRun // of emitRecord, not yet in stats
	lend lender  // where end makes records a Borrower borrows

	// zeek is Zeek's session table, run when the sink wants ZeekRecords.
	zeek *zeek.Table

	// entry counts the calls of Add, Skip, Advance and Finish; pos is where
	// the event being emitted falls in a lone Analyzer's order (shard.go).
	entry    uint64
	pos      Pos
	entryIDs bool // connection ids are entries, for the caller to renumber
	created  int  // connections tracked right after this entry created one
}

// New returns an Analyzer reporting to sink. A nil cfg means the defaults.
func New(cfg *Config, sink Sink) *Analyzer {
	a := &Analyzer{
		cfg:         cfg.withDefaults(),
		sink:        sink,
		tab:         reassembly.NewTable[conn](1024),
		now:         reassembly.NoTime,
		nextSweep:   reassembly.NoTime,
		nextCompact: reassembly.NoTime,
		stats: Stats{
			ByConnState: make(map[string]uint64),
			ByKind:      make(map[Kind]uint64),
		},
	}
	a.dueSoon = a.soonDue
	if zs, ok := sink.(ZeekSink); ok {
		a.zeek = zeek.NewTable(func(r *zeek.Record) {
			a.pos.A = a.zeek.Born()
			r.Start, r.End = a.shiftOut(r.Start), a.shiftOut(r.End)
			zs.ZeekEnd(r)
		})
	}
	return a
}

// Config returns the configuration in force, defaults filled in.
func (a *Analyzer) Config() Config { return a.cfg }

// SetInput names the input the following segments come from; records carry it.
func (a *Analyzer) SetInput(name string) { a.input = name }

// Stats returns the counters so far.
func (a *Analyzer) Stats() *Stats {
	a.run.flush(&a.stats)
	return &a.stats
}

// Open returns the number of connections being tracked (not counting
// finished ones whose record waits for TIME_WAIT to end).
func (a *Analyzer) Open() int { return a.tab.Len() }

// Now returns the capture clock.
func (a *Analyzer) Now() time.Time { return a.shiftOut(timeOf(a.now)) }

// Add analyzes one segment. It does not allocate for a segment of a known
// connection (unless the timeline is on or a finding is made). A segment
// with a bad checksum (seg.BadChecksum) goes only to Zeek's session table,
// where it adds a 'c' to the history; no peer state sees it.
func (a *Analyzer) Add(seg *capture.Segment) {
	seg = a.clockIn(seg)
	t, ok := a.tick(seg, true)
	if !ok {
		return
	}
	if a.now >= a.nextCompact {
		a.compact()
	}
	key, srcHi := reassembly.KeyFrom(seg.Src, seg.Dst)
	rc := a.tab.Lookup(key)
	if rc != nil {
		rc.Data.catchUp(rc, a)
		if t < rc.Last {
			seg, t = monotonic(seg, rc.Last), rc.Last
		}
	}
	var reused *reassembly.Conn[conn]
	if rc != nil && rc.Reuses(seg) {
		reused = rc
	}
	var heldPrev *prevConn
	if rc == nil {
		if ref := a.heldRecs.find(&key); ref != 0 {
			h := a.heldRecs.at(ref)
			if seg.Flags&(capture.SYN|capture.ACK|capture.RST) != capture.SYN {
				// A late segment of a connection that is over (a last
				// retransmission): it belongs to the held record.
				h.last, h.lastFrame = max(t, h.last), seg.Frame
				if seg.Src == h.client() {
					h.packets[ClientToServer]++
				} else {
					h.packets[ServerToClient]++
				}
				return
			}
			heldPrev = &prevConn{id: h.id, end: h.last, clientISN: h.clientISN,
				premature: true, timeWaitFor: since(t, h.twSince), who: roleName(h.tw)}
			a.release(ref, true)
		}
	}
	if rc == nil || reused != nil {
		var prev prevConn
		if reused != nil {
			prev = a.prevOf(reused, seg)
			a.end(reused)
		} else if heldPrev != nil {
			prev = *heldPrev
		}
		if a.tab.Len() >= a.maxConns() {
			a.evict(a.tab.Oldest(), endedMaxConns)
			// At the cap, the next new connection evicts the next oldest,
			// idle for long and far out of the cache: its lines come in
			// while other segments are analyzed (a SYN flood: 15% less CPU).
			a.tab.PrefetchOldest()
		}
		a.makeRoom(ConnCost, nil)
		rc = a.tab.Insert(key, seg)
		a.nextID++
		id := a.nextID
		if a.entryIDs {
			id = a.entry
		}
		rc.Data.id = id
		rc.Data.seq = a.entry
		rc.Data.judged = a.sweeps
		if reused != nil || heldPrev != nil {
			rc.Data.noteReuse(prev, seg, 2*a.cfg.MSL, a)
		}
		a.created = a.tab.Len()
		if a.created > a.stats.MaxOpen {
			a.stats.MaxOpen = a.created
		}
	} else {
		a.tab.Touch(rc)
		rc.Data.seq = a.entry
	}
	d := rc.Dir(srcHi)
	cls := rc.Update(seg, d, t)
	c := &rc.Data
	steps := len(c.timeline(a))
	c.segment(rc, seg, d, cls, a)
	if n := len(c.timeline(a)) - steps; n != 0 {
		a.steps += int64(n)
		a.makeRoom(0, rc)
	}
	if c.over(a.now, &a.cfg) {
		a.retire(rc)
		return
	}
	a.schedule(rc)
}

// monotonic returns a copy of seg stamped at last, the time of its
// connection's latest segment, which seg's own time precedes: a
// connection's clock never goes back (the capture's did: capture.Stats
// counts it), so that its durations and RTTs are never negative.
func monotonic(seg *capture.Segment, last int64) *capture.Segment {
	s := *seg
	s.Time = timeOf(last)
	return &s
}

// Advance moves the capture clock to now without a segment (live capture
// calls it from a ticker while the wire is quiet) and judges every timeout
// that passed.
func (a *Analyzer) Advance(now time.Time) {
	a.entry++
	a.created = 0
	if t := stamp(a.shiftIn(now)); t > a.now {
		a.now = t
	}
	a.sweep(false)
	if a.zeek != nil {
		a.at(phaseZeekAdvance)
		a.zeek.Sweep(timeOf(a.now), a.input)
	}
}

// Finish ends the capture. end is when the capture stopped as its source
// says it — pcapng's isb_endtime, the stop of a live capture or of a
// capture around a command; zero when the source says nothing. The
// capture's end is the later of end and the last segment, and every
// condition still pending is judged against it (docs/design.md §4): a CLOSE_WAIT
// that began 2 s before end lasted 2 s. Every connection ends and its
// record goes to the Sink; the analyzer then starts over, clock and
// connections, so that the next input is a capture of its own (its
// connection ids keep counting, unique in the run).
func (a *Analyzer) Finish(end time.Time) {
	a.entry++
	a.created = 0
	if t := stamp(a.shiftIn(end)); t > a.now {
		a.now = t
	}
	a.finishing = true
	a.sweep(true)
	a.finishing = false
	a.releaseHeld(true)
	if a.zeek != nil {
		a.at(phaseZeekFlush)
		a.zeek.Flush(a.input)
	}
	a.now, a.nextSweep, a.nextCompact = reassembly.NoTime, reassembly.NoTime, reassembly.NoTime
	a.clocked, a.shift = false, 0
}

// Flush is Finish at the last segment: the source did not say when the
// capture stopped.
func (a *Analyzer) Flush() { a.Finish(time.Time{}) }

// sweep judges timeouts and ends connections that are over: those whose
// deadline has come, in the table's activity order. With final, it ends
// them all.
func (a *Analyzer) sweep(final bool) {
	a.nextSweep = later(a.now, sweepEvery)
	a.releaseHeld(false)
	if final {
		for rc := a.tab.Oldest(); rc != nil; {
			next := a.tab.Next(rc)
			a.pos = Pos{Entry: a.entry, Phase: phaseFinal, A: rc.Data.seq}
			rc.Data.judge(rc, a.now, true, a)
			a.end(rc)
			rc = next
		}
		return
	}
	// A connection judged in this sweep is first brought to the previous
	// one, as it would have been judged there.
	prev := a.swept
	a.sweeps++
	a.swept = a.now
	for _, rc := range a.dueConns() {
		c := &rc.Data
		a.pos = Pos{Entry: a.entry, Phase: phaseDue, A: c.seq}
		if c.judged != a.sweeps {
			stale := c.judged != a.sweeps-1
			c.judged = a.sweeps
			if stale && len(c.findings(a)) > 0 {
				c.judge(rc, prev, false, a)
			}
		}
		if since(a.now, rc.Last) >= a.cfg.IdleTimeout {
			a.evict(rc, endedIdle)
			continue
		}
		c.judge(rc, a.now, false, a)
		if c.over(a.now, &a.cfg) {
			a.retire(rc)
			continue
		}
		a.schedule(rc)
	}
	clear(a.due)
	a.compact()
}

// compactEvery is how often (capture time) a large table's quiet
// connections are frozen: between sweeps too, so that a connection is
// kept compact soon after CompactIdle has passed.
const compactEvery = sweepEvery / 4

// compact freezes the quiet connections of a large table (Config.CompactAbove).
// Every *reassembly.Conn obtained before may be invalid after.
func (a *Analyzer) compact() {
	a.nextCompact = later(a.now, compactEvery)
	if a.cfg.CompactAbove >= 0 && a.tab.Len() >= a.cfg.CompactAbove {
		a.tab.FreezeIdle(a.now-int64(a.cfg.CompactIdle), a.dueSoon)
	}
}

// retire ends a connection that is over. Its record is final but for
// TIME_WAIT: when a peer is still in it, the record is held (small) until
// 2·MSL has passed, so the table keeps only live connections.
func (a *Analyzer) retire(rc *reassembly.Conn[conn]) {
	c := &rc.Data
	c.judge(rc, a.now, true, a)
	until, twSince, tw := int64(reassembly.NoTime), int64(0), ClientToServer
	for i := range c.p {
		if c.p[i].state == TimeWait {
			if u := later(c.p[i].timeWaitSince, 2*a.cfg.MSL); u > until {
				until, twSince, tw = u, c.p[i].timeWaitSince, reassembly.Dir(i)
			}
		}
	}
	if until <= a.now {
		a.end(rc)
		return
	}
	rec := a.heldRecord(rc)
	a.over(rec)
	a.hold(rc, rec, until, twSince, tw)
	a.steps -= int64(len(c.timeline(a)))
	c.dropMore(a)
	a.unschedule(rc)
	a.tab.Remove(rc)
}

// releaseHeld emits the held records whose TIME_WAIT is over (all of them
// with all, at the end of the input: TIME_WAIT then stays, honestly).
func (a *Analyzer) releaseHeld(all bool) {
	phase := phaseHeld
	if all {
		phase = phaseFinalHeld
	}
	for _, d := range a.dueHeld(all) {
		a.pos = d.pos().heldAt(a.entry, phase)
		a.release(d.ref, !all)
	}
	if cap(a.dueH) > 1<<16 {
		a.dueH = nil // what the end of a crowd needed goes back
	}
}

// release emits a held record; with closed, TIME_WAIT has ended (2·MSL
// passed, or a new SYN recycled the tuple) and the peer is CLOSED.
func (a *Analyzer) release(ref uint32, closed bool) {
	rec := a.unhold(ref)
	if closed {
		if rec.ClientState == TimeWait {
			rec.ClientState = Closed
		}
		if rec.ServerState == TimeWait {
			rec.ServerState = Closed
		}
	}
	a.emitRecord(rec)
}

// evict ends rc before its time, for why (endedMaxConns, ...): its
// record says so, and so do the counters.
func (a *Analyzer) evict(rc *reassembly.Conn[conn], why endReason) {
	a.stats.Evicted++
	switch why {
	case endedMaxConns:
		a.stats.CapHit++
	case endedMaxMemory:
		a.stats.MemoryHit++
	case endedIdle:
		a.stats.IdleEvicted++
	}
	rc.Data.endedEarly = why
	a.end(rc)
}

// end emits rc's record and removes it from the table.
func (a *Analyzer) end(rc *reassembly.Conn[conn]) {
	c := &rc.Data
	c.judge(rc, a.now, true, a)
	rec := c.endRecord(rc, a)
	a.steps -= int64(len(c.timeline(a)))
	c.dropMore(a)
	a.unschedule(rc)
	a.tab.Remove(rc)
	a.over(rec)
	a.emitRecord(rec)
}

// over tells an EventSink that rec's connection is over.
func (a *Analyzer) over(rec *Conn) {
	a.recordOut(rec)
	if es, ok := a.sink.(EventSink); ok {
		es.Over(rec)
	}
}

// handshake tells an EventSink that a handshake completed in rtt.
func (a *Analyzer) handshake(rtt time.Duration) {
	if es, ok := a.sink.(EventSink); ok {
		es.Handshake(rtt)
	}
}

func (a *Analyzer) emitRecord(rec *Conn) {
	a.stats.Connections++
	a.run.count(rec, &a.stats)
	if rec.Handshake.HasRTT {
		a.stats.HandshakeRTT.Observe(rec.Handshake.RTT)
	}
	if a.sink != nil {
		a.sink.End(rec)
	}
}

// statRun counts a run of records with the same conn_state and findings
// of the same kinds (at most one) before it goes into Stats' maps: the
// connections a flood ends one after the other all look alike, and the
// maps hash a string per count.
type statRun struct {
	connState string
	kind      Kind // of the one finding, if nk is 1
	nk        int
	n         uint64
}

// count counts rec: in the run when it is alike, else in st's maps.
func (r *statRun) count(rec *Conn, st *Stats) {
	switch fs := rec.Findings; {
	case r.n > 0 && rec.ConnState == r.connState && len(fs) == r.nk && (r.nk == 0 || fs[0].Kind == r.kind):
		r.n++
		return
	case len(fs) <= 1:
		r.flush(st)
		*r = statRun{connState: rec.ConnState, nk: len(fs), n: 1}
		if len(fs) == 1 {
			r.kind = fs[0].Kind
		}
		return
	}
	st.ByConnState[rec.ConnState]++
	for i := range rec.Findings {
		st.ByKind[rec.Findings[i].Kind]++
	}
}

// flush puts the run in st's maps.
func (r *statRun) flush(st *Stats) {
	if r.n == 0 {
		return
	}
	st.ByConnState[r.connState] += r.n
	if r.nk == 1 {
		st.ByKind[r.kind] += r.n
	}
	r.n = 0
}

// emit hands a newly judged finding to the sink at once (live mode prints it).
func (a *Analyzer) emit(rc *reassembly.Conn[conn], f *Finding) {
	if a.sink == nil {
		return
	}
	f.Judged = timeOf(a.now)
	rec := rc.Data.record(rc, a)
	if a.shift != 0 {
		a.recordOut(rec)
		out := *f
		a.findingOut(&out)
		f = &out
	}
	a.sink.Finding(rec, f)
}

// sortFindings orders findings by their first frame, then kind.
func sortFindings(fs []Finding) {
	if len(fs) < 2 {
		return
	}
	slices.SortStableFunc(fs, func(x, y Finding) int {
		if c := cmp.Compare(firstFrame(&x), firstFrame(&y)); c != 0 {
			return c
		}
		return cmp.Compare(x.Kind, y.Kind)
	})
}

func firstFrame(f *Finding) uint64 {
	if len(f.Frames) == 0 {
		return 0
	}
	return f.Frames[0]
}

// OpenStates calls fn with both peers' current states for every connection
// whose exchange is not over (the gauge of open connections per state in
// live mode). A connection leaves it the moment both FINs are acknowledged
// or a reset ends it, even while its table entry lingers for late
// retransmissions; TimeWait counts those whose peer is still in TIME_WAIT.
func (a *Analyzer) OpenStates(fn func(client, server State)) {
	a.tab.Scan(func(rc *reassembly.Conn[conn]) {
		if !rc.Data.exchangeOver() {
			fn(rc.Data.p[ClientToServer].state, rc.Data.p[ServerToClient].state)
		}
	})
}

// TimeWait returns the number of connections that are over but for a peer
// in TIME_WAIT: lingering in the table, or their record held until 2·MSL
// has passed.
func (a *Analyzer) TimeWait() int {
	n := 0
	a.tab.Scan(func(rc *reassembly.Conn[conn]) {
		c := &rc.Data
		if c.exchangeOver() && (c.p[ClientToServer].state == TimeWait || c.p[ServerToClient].state == TimeWait) {
			n++
		}
	})
	return n + a.held.len()
}
