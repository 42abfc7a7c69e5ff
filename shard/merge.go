package shard

import (
	"slices"
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/analyze/zeek"
)

// evKind is which Sink call an event is.
type evKind uint8

const (
	evFinding evKind = iota
	evEnd
	evHandshake
	evOver
	evZeek
)

// event is one Sink call a shard made, kept until the merge.
type event struct {
	pos  analyze.Pos
	kind evKind
	conn *analyze.Conn
	f    analyze.Finding
	rtt  time.Duration
	zeek *zeek.Record
	kept kept // End's record, when the shard lent it (conn is nil till the merge)
}

// kept is a copy of a record the shard's analyzer lent the tap
// (analyze.Borrower), in the event until the merge hands it on: records
// of one finding resting on up to two frames, and no timeline — every
// one a flood ends. The batches' events are reused, and so is it.
type kept struct {
	on     bool
	c      analyze.Conn
	f      [1]analyze.Finding
	frames [2]uint64
}

// fits reports whether c can be kept.
func fits(c *analyze.Conn) bool {
	return len(c.Findings) <= 1 && len(c.Timeline) == 0 &&
		(len(c.Findings) == 0 || len(c.Findings[0].Frames) <= len(kept{}.frames))
}

// keep copies c, which fits.
func (k *kept) keep(c *analyze.Conn) {
	k.on = true
	k.c = *c
	if len(c.Findings) == 1 {
		k.f[0] = c.Findings[0]
		k.f[0].Frames = nil
		if n := len(c.Findings[0].Frames); n > 0 {
			k.f[0].Frames = k.frames[:copy(k.frames[:], c.Findings[0].Frames):n]
		}
	}
}

// record is the copy, its slices pointed at the copies of theirs (the
// event does not move from now until the Sink is through with it).
func (k *kept) record() *analyze.Conn {
	if len(k.c.Findings) == 1 {
		if n := len(k.f[0].Frames); n > 0 {
			k.f[0].Frames = k.frames[:n:n]
		}
		k.c.Findings = k.f[:]
	}
	return &k.c
}

// clone is a copy of c that shares nothing with it but strings.
func clone(c *analyze.Conn) *analyze.Conn {
	cp := *c
	cp.Findings = slices.Clone(c.Findings)
	for i := range cp.Findings {
		cp.Findings[i].Frames = slices.Clone(cp.Findings[i].Frames)
	}
	cp.Timeline = slices.Clone(c.Timeline)
	return &cp
}

// merge hands the events of b, which every shard is through, to the Sink
// in the order of their positions, and counts what b created.
func (x *Analyzer) merge(b *batch) {
	x.created(b)
	for s := range b.ev {
		x.evs[s] = b.ev[s].ev
	}
	x.mergeHeads(b, nil)
	for s := range b.ev {
		clear(b.ev[s].ev)
		b.ev[s].ev = b.ev[s].ev[:0]
	}
	x.entries += uint64(b.n)
}

// mergeStream is merge for b, a Finish the shards are going through: their
// events reach the Sink as the shards' streams bring them, and neither
// side holds more than a few chunks of them.
func (x *Analyzer) mergeStream(b *batch) {
	x.created(b)
	for s, w := range x.shards {
		x.evs[s] = w.st.next()
	}
	x.mergeHeads(b, func(s int) []event {
		st := x.shards[s].st
		st.recycle(x.evs[s])
		return st.next()
	})
	b.wg.Wait()
	x.entries += uint64(b.n)
}

// mergeHeads delivers the events of x.evs, each shard's in the order of
// their positions, least position first (ties to the lower shard). When a
// shard's are all delivered, more (if not nil) gives its next ones, none
// at the end.
func (x *Analyzer) mergeHeads(b *batch, more func(shard int) []event) {
	evs, heads := x.evs, x.heads
	clear(heads)
	for {
		best := -1
		for s, h := range heads {
			if h < len(evs[s]) && (best < 0 || evs[s][h].pos.Compare(evs[best][heads[best]].pos) < 0) {
				best = s
			}
		}
		if best < 0 {
			return
		}
		x.deliver(b, &evs[best][heads[best]])
		if heads[best]++; heads[best] == len(evs[best]) && more != nil {
			evs[best], heads[best] = more(best), 0
		}
	}
}

// created numbers the connections b's entries created, and counts the
// most open at once.
func (x *Analyzer) created(b *batch) {
	for i := 0; i < b.n; i++ {
		if b.e[i].kind != kindSegment {
			continue
		}
		own := int(b.e[i].owner)
		n := int(b.open[own][i])
		if n == 0 {
			continue
		}
		x.ids.created(x.entries + uint64(i) + 1)
		for s := range b.open {
			if s != own {
				n += int(b.open[s][i])
			}
		}
		if n > x.maxOpen {
			x.maxOpen = n
		}
	}
}

// deliver makes the Sink call e stands for, with the final connection ids.
func (x *Analyzer) deliver(b *batch, e *event) {
	if e.kept.on {
		e.conn = e.kept.record()
	}
	var entry uint64 // of the connection, before renumbering
	if e.conn != nil {
		entry = e.conn.ID
		if x.sink != nil {
			e.conn.Renumber(x.ids.id)
		}
	}
	switch {
	case x.sink == nil:
	case e.kind == evFinding:
		e.f.Renumber(x.ids.id)
		x.sink.Finding(e.conn, &e.f)
	case e.kind == evEnd:
		x.sink.End(e.conn)
	case e.kind == evHandshake:
		x.sink.(analyze.EventSink).Handshake(e.rtt)
	case e.kind == evOver:
		x.sink.(analyze.EventSink).Over(e.conn)
	case e.kind == evZeek:
		x.sink.(analyze.ZeekSink).ZeekEnd(e.zeek)
	}
	if e.kind == evEnd {
		i := e.pos.Entry - x.entries - 1 // in b
		x.ids.ended(entry, e.pos, i < uint64(b.n) && b.e[i].kind == kindSegment && b.open[b.e[i].owner][i] > 0)
	}
}

// tap is a shard's Sink: it keeps every call, with its position, in the
// batch being analyzed. It borrows the analyzer's records (analyze.Borrower)
// when the Sink it hands them on to does: it then keeps copies.
type tap struct {
	shard  int
	an     *analyze.Analyzer
	b      *batch
	st     *stream // while set (Finish), the events go there instead
	borrow bool
}

// BorrowsRecords implements analyze.Borrower.
func (t *tap) BorrowsRecords() bool { return t.borrow }

// next returns the place of the next event, zero but for its position.
// The caller fills it in, then calls t.done.
func (t *tap) next() *event {
	var e *event
	if t.st != nil {
		e = t.st.slot()
	} else {
		e = slot(&t.b.ev[t.shard].ev)
	}
	e.pos = t.an.Position()
	return e
}

// done hands on what next began.
func (t *tap) done() {
	if t.st != nil {
		t.st.filled()
	}
}

// slot extends *evs by one zero event (the events beyond its length are
// zero: clear, after the merge) and returns it.
func slot(evs *[]event) *event {
	if len(*evs) == cap(*evs) {
		*evs = slices.Grow(*evs, 1)
	}
	*evs = (*evs)[:len(*evs)+1]
	return &(*evs)[len(*evs)-1]
}

func (t *tap) Finding(c *analyze.Conn, f *analyze.Finding) {
	e := t.next()
	e.kind, e.conn, e.f = evFinding, c, *f
	e.f.Frames = append([]uint64(nil), f.Frames...) // f is the analyzer's, and may change
	t.done()
}

func (t *tap) End(c *analyze.Conn) {
	e := t.next()
	e.kind = evEnd
	switch {
	case !t.borrow:
		e.conn = c
	case fits(c):
		e.kept.keep(c)
	default:
		e.conn = clone(c)
	}
	t.done()
}

func (t *tap) handshake(rtt time.Duration) {
	e := t.next()
	e.kind, e.rtt = evHandshake, rtt
	t.done()
}

// over keeps c as it is now: a record held through TIME_WAIT changes
// before End, and End renumbers its own.
func (t *tap) over(c *analyze.Conn) {
	var snap *analyze.Conn
	if t.borrow {
		snap = clone(c)
	} else {
		cp := *c
		cp.Findings = append([]analyze.Finding(nil), c.Findings...)
		snap = &cp
	}
	e := t.next()
	e.kind, e.conn = evOver, snap
	t.done()
}

func (t *tap) zeekEnd(r *zeek.Record) {
	e := t.next()
	e.kind, e.zeek = evZeek, r
	t.done()
}

// sinkFor is t as a Sink with the optional interfaces next has, so that the
// shards do (only) the work next asks for.
func (t *tap) sinkFor(next analyze.Sink) analyze.Sink {
	if b, ok := next.(analyze.Borrower); ok {
		t.borrow = b.BorrowsRecords()
	}
	_, events := next.(analyze.EventSink)
	_, zk := next.(analyze.ZeekSink)
	switch {
	case events && zk:
		return allTap{t}
	case events:
		return eventTap{t}
	case zk:
		return zeekTap{t}
	}
	return t
}

type eventTap struct{ *tap }

func (t eventTap) Handshake(rtt time.Duration) { t.handshake(rtt) }
func (t eventTap) Over(c *analyze.Conn)        { t.over(c) }

type zeekTap struct{ *tap }

func (t zeekTap) ZeekEnd(r *zeek.Record) { t.zeekEnd(r) }

type allTap struct{ *tap }

func (t allTap) Handshake(rtt time.Duration) { t.handshake(rtt) }
func (t allTap) Over(c *analyze.Conn)        { t.over(c) }
func (t allTap) ZeekEnd(r *zeek.Record)      { t.zeekEnd(r) }
