package shard

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/capture"
)

const (
	batchSize = 4096 // entries a batch holds
	poolSize  = 4    // batches: one being filled, the rest in flight
)

// kind is what an entry of a batch asks the shards to do.
type kind uint8

const (
	kindSegment kind = iota // Add (the owner) or Skip (the others)
	kindAdvance             // Advance to seg.Time
	kindFinish              // Finish at seg.Time
)

type entry struct {
	kind  kind
	owner int32
	seg   capture.Segment
}

// batch is a run of entries every shard goes through, and what the
// shards made of it.
type batch struct {
	n int
	e [batchSize]entry
	// per shard: its open connections after each entry — for the entry's
	// owner, right after the entry created one, 0 when it created none —
	// and its events. Each shard writes only its own (no shared cache lines).
	open [][batchSize]int32
	ev   []events
	wg   sync.WaitGroup
}

// events are one shard's events of a batch, alone on their cache line.
type events struct {
	ev []event
	_  [64 - 24]byte
}

// Analyzer is an analyze.Analyzer spread over N shards. Its methods are
// those of analyze.Analyzer, with the same meaning; it is not safe for
// concurrent use, and the Sink is called from the caller's goroutine only
// (during Add, Advance, Finish and the others). Close stops its goroutines.
type Analyzer struct {
	cfg     analyze.Config
	sink    analyze.Sink
	shards  []*worker
	cur     *batch
	free    []*batch
	flight  []*batch // dispatched, oldest first
	entries uint64   // entries of the batches merged
	ids     idMap
	stats   analyze.Stats
	maxOpen int
	evs     [][]event // scratch of merge: each shard's events
	heads   []int     // and the next of them to deliver
	closed  bool
}

// worker is one shard: its Analyzer and the goroutine running it.
type worker struct {
	i  int
	an *analyze.Analyzer
	t  *tap
	in chan *batch
	st *stream // Finish's events, to the merger
}

// New returns an Analyzer of n shards (n ≥ 2) reporting to sink; cfg as for
// analyze.New.
func New(cfg *analyze.Config, sink analyze.Sink, n int) *Analyzer {
	var c analyze.Config
	if cfg != nil {
		c = *cfg
	}
	c.Workers = n
	x := &Analyzer{sink: sink, flight: make([]*batch, 0, poolSize), evs: make([][]event, n), heads: make([]int, n)}
	for i := 0; i < poolSize; i++ {
		b := &batch{open: make([][batchSize]int32, n), ev: make([]events, n)}
		x.free = append(x.free, b)
	}
	for i := 0; i < n; i++ {
		w := &worker{i: i, t: &tap{shard: i}, in: make(chan *batch, poolSize), st: newStream()}
		w.an = analyze.New(&c, w.t.sinkFor(sink))
		w.t.an = w.an
		w.an.UseEntryIDs()
		x.shards = append(x.shards, w)
		go w.run()
	}
	x.cfg = x.shards[0].an.Config()
	x.cur = x.take()
	return x
}

// Config returns the configuration in force, defaults filled in.
func (x *Analyzer) Config() analyze.Config { return x.cfg }

// Add analyzes one segment. It does not allocate.
func (x *Analyzer) Add(seg *capture.Segment) {
	e := x.next(kindSegment)
	e.seg = *seg
	e.owner = int32(owner(seg, len(x.shards)))
	if x.cur.n == batchSize {
		x.dispatch()
	}
}

// Advance moves the capture clock to now (see analyze.Analyzer.Advance);
// what it makes due reaches the Sink before it returns.
func (x *Analyzer) Advance(now time.Time) {
	x.next(kindAdvance).seg.Time = now
	x.sync()
}

// Finish ends the capture (see analyze.Analyzer.Finish); every record
// reaches the Sink before it returns. Its entry is a batch of its own,
// whose events stream (mergeStream): the records of every connection still
// open go to the Sink while the shards make them.
func (x *Analyzer) Finish(end time.Time) {
	x.sync()
	x.next(kindFinish).seg.Time = end
	x.sync()
}

// Flush is Finish at the last segment.
func (x *Analyzer) Flush() { x.Finish(time.Time{}) }

// SetInput names the input the following segments come from.
func (x *Analyzer) SetInput(name string) {
	x.sync()
	for _, w := range x.shards {
		w.an.SetInput(name)
	}
}

// Stats returns the counters so far, summed over the shards; MaxOpen is
// the most connections tracked at once by them all.
func (x *Analyzer) Stats() *analyze.Stats {
	x.sync()
	st := &x.stats
	byState, byKind := st.ByConnState, st.ByKind
	if byState == nil {
		byState, byKind = make(map[string]uint64), make(map[analyze.Kind]uint64)
	}
	clear(byState)
	clear(byKind)
	*st = analyze.Stats{ByConnState: byState, ByKind: byKind, MaxOpen: x.maxOpen}
	for _, w := range x.shards {
		s := w.an.Stats()
		st.Segments += s.Segments
		st.Connections += s.Connections
		st.Evicted += s.Evicted
		st.IdleEvicted += s.IdleEvicted
		st.CapHit += s.CapHit
		st.MemoryHit += s.MemoryHit
		for k, v := range s.ByConnState {
			st.ByConnState[k] += v
		}
		for k, v := range s.ByKind {
			st.ByKind[k] += v
		}
		st.HandshakeRTT.Merge(&s.HandshakeRTT)
	}
	return st
}

// Open returns the number of connections being tracked.
func (x *Analyzer) Open() int {
	return int(x.sum(func(a *analyze.Analyzer) int64 { return int64(a.Open()) }))
}

// OpenStates calls fn for every connection whose exchange is not over (see
// analyze.Analyzer.OpenStates), shard by shard.
func (x *Analyzer) OpenStates(fn func(client, server analyze.State)) {
	x.sync()
	for _, w := range x.shards {
		w.an.OpenStates(fn)
	}
}

// TimeWait returns the connections over but for a peer in TIME_WAIT.
func (x *Analyzer) TimeWait() int {
	return int(x.sum(func(a *analyze.Analyzer) int64 { return int64(a.TimeWait()) }))
}

// Memory returns the heap the shards hold by their own account.
func (x *Analyzer) Memory() int64 { return x.sum((*analyze.Analyzer).Memory) }

// sum adds up f over the shards, once they are through what was added.
func (x *Analyzer) sum(f func(*analyze.Analyzer) int64) int64 {
	x.sync()
	var n int64
	for _, w := range x.shards {
		n += f(w.an)
	}
	return n
}

// Close stops the shards' goroutines, after what was added is analyzed
// (but not finished: call Finish first).
func (x *Analyzer) Close() {
	if x.closed {
		return
	}
	x.sync()
	x.closed = true
	for _, w := range x.shards {
		close(w.in)
	}
}

// next appends an entry of kind k to the batch being filled.
func (x *Analyzer) next(k kind) *entry {
	b := x.cur
	e := &b.e[b.n]
	b.n++
	e.kind = k
	return e
}

// dispatch hands the batch being filled to every shard and starts another.
func (x *Analyzer) dispatch() {
	b := x.cur
	b.wg.Add(len(x.shards))
	for _, w := range x.shards {
		w.in <- b
	}
	x.flight = append(x.flight, b)
	x.cur = x.take()
}

// take returns a free batch, merging the oldest in flight when there is none.
func (x *Analyzer) take() *batch {
	if len(x.free) == 0 {
		x.mergeOldest()
	}
	b := x.free[len(x.free)-1]
	x.free = x.free[:len(x.free)-1]
	return b
}

// Sync hands the Sink everything the segments added so far made (Add holds
// them in a batch until it is full): live capture calls it when the wire
// is quiet.
func (x *Analyzer) Sync() { x.sync() }

// sync dispatches what is being filled and merges everything in flight:
// the shards are then idle and the Sink has heard all.
func (x *Analyzer) sync() {
	if x.cur.n > 0 {
		x.dispatch()
	}
	for len(x.flight) > 0 {
		x.mergeOldest()
	}
}

func (x *Analyzer) mergeOldest() {
	b := x.flight[0]
	copy(x.flight, x.flight[1:])
	x.flight = x.flight[:len(x.flight)-1]
	if b.e[0].kind == kindFinish {
		x.mergeStream(b)
	} else {
		b.wg.Wait()
		x.merge(b)
	}
	b.n = 0
	x.free = append(x.free, b)
}

// run analyzes the batches as they come.
func (w *worker) run() {
	for b := range w.in {
		w.t.b = b
		open := &b.open[w.i]
		for i := 0; i < b.n; i++ {
			e := &b.e[i]
			switch e.kind {
			case kindSegment:
				if int(e.owner) == w.i {
					w.an.Add(&e.seg)
					open[i] = int32(w.an.Created())
					continue
				}
				w.an.Skip(&e.seg)
			case kindAdvance:
				w.an.Advance(e.seg.Time)
			case kindFinish:
				w.t.st = w.st
				w.an.Finish(e.seg.Time)
				w.t.st = nil
				w.st.end()
			}
			open[i] = int32(w.an.Open())
		}
		w.t.b = nil
		b.wg.Done()
	}
}

// owner is the shard of seg's connection: a hash of its unordered tuple.
func owner(seg *capture.Segment, n int) int {
	h := mix(seg.Src) + mix(seg.Dst)
	return int((h >> 32) * uint64(n) >> 32)
}

func mix(ap netip.AddrPort) uint64 {
	a := ap.Addr().As16()
	h := binary.LittleEndian.Uint64(a[:8])*0x9e3779b97f4a7c15 ^
		binary.LittleEndian.Uint64(a[8:])*0xc2b2ae3d27d4eb4f ^
		uint64(ap.Port())*0x165667b19e3779f9
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h
}
