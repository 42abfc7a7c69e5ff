package analyze

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// The deadlines of the open connections live in a 4-ary min-heap (with a
// lane for keys set in time order, see timerHeap) keyed by capture time (nanoseconds), so that a sweep looks only at the connections
// whose next deadline has come instead of judging every open connection
// every second. A connection's key is a lower bound of the earliest
// capture time at which a sweep could change anything about it but the
// duration of a finding still under way (see conn.due; those durations are
// caught up lazily, conn.catchUp); a segment moves the key only when it
// brings the deadline forward, so the steady per-segment path does not
// touch the heap. A key that has come but is found too early (the idle
// deadline moved on) is re-keyed without judging. The heap keeps each key
// beside its element, and each element's index in a dense array of its
// own (by an id the element keeps, 0 when not in the heap), so that
// sifting reads and writes only the heap's arrays, never the elements, a
// cache miss each on a connection long idle; and a connection keeps its
// own key (conn.tkey), so that a segment compares its deadline without
// reading the heap at all. No allocation per timer.

// never is the key of a connection with no deadline.
const never = math.MaxInt64

// timerEntry is a place in a timerHeap: the key, the element, and its id
// (pos[id] is the entry's place).
type timerEntry[T any] struct {
	key int64
	x   T
	id  int32 // -1 for a lane entry removed
}

// timerHeap is a 4-ary min-heap of elements by their key, beside a lane:
// a queue of entries in the order of their keys. A key no smaller than
// the lane's last joins the lane's end, and the smallest of a lane is its
// first, so a key set in time order (the handshake deadlines of a SYN
// flood, one per SYN; the TIME_WAITs of records held) is added and taken
// without sifting through the heap: the idlest connection's deadline at
// the cap is the lane's first, where the heap's root would take a dozen
// cache misses to replace. A lane entry removed out of order is marked
// and passed over when it comes first; the lane is packed when those
// outnumber the rest. An element keeps its id+1 in a timerID, 0 when it
// is not in the heap.
type timerHeap[T any] struct {
	a    []timerEntry[T]
	lane []timerEntry[T] // keys in order from head, entries removed among them
	head int             // the lane's first entry in use (none when head == len(lane))
	dead int             // lane entries removed, not yet passed or packed
	pos  []int32         // by id: index+1 in a, -(index+1) in lane, 0 for an id not in use
	free []int32         // ids not in use
}

// timerID is what an element keeps of its place in a timerHeap: its id+1,
// 0 when not in the heap.
type timerID int32

func (h *timerHeap[T]) len() int { return len(h.a) + len(h.lane) - h.head - h.dead }

// min returns the element with the smallest key and the key; the heap
// must not be empty.
func (h *timerHeap[T]) min() (T, int64) {
	if h.head < len(h.lane) && (len(h.a) == 0 || h.lane[h.head].key <= h.a[0].key) {
		e := &h.lane[h.head]
		return e.x, e.key
	}
	return h.a[0].x, h.a[0].key
}

// set puts x (its id kept in *id) in the heap with key, or moves it to
// where its new key belongs.
func (h *timerHeap[T]) set(x T, id *timerID, key int64) {
	if *id != 0 {
		if i := h.pos[*id-1]; i > 0 {
			i := int(i - 1)
			h.a[i].key = key
			if !h.up(i) {
				h.down(i)
			}
			return
		}
		h.remove(id)
	}
	var n int32
	if k := len(h.free); k > 0 {
		n, h.free = h.free[k-1], h.free[:k-1]
	} else {
		n = int32(len(h.pos))
		h.pos = append(h.pos, 0)
	}
	*id = timerID(n + 1)
	e := timerEntry[T]{key: key, x: x, id: n}
	if k := len(h.lane); k == h.head || h.lane[k-1].key <= key {
		if k == cap(h.lane) && 4*(h.head+h.dead) >= k {
			h.pack() // rather than grow with what was passed or removed
		}
		h.lane = append(h.lane, e)
		h.pos[n] = -int32(len(h.lane))
		return
	}
	h.a = append(h.a, e)
	h.up(len(h.a) - 1)
}

// remove takes the element of *id out of the heap, if it is in it.
func (h *timerHeap[T]) remove(id *timerID) {
	if *id == 0 {
		return
	}
	n := int32(*id - 1)
	*id = 0
	p := h.pos[n]
	h.pos[n] = 0
	h.free = append(h.free, n)
	if p < 0 {
		h.removeLane(int(-p - 1))
		return
	}
	i, last := int(p-1), len(h.a)-1
	if i != last {
		h.a[i] = h.a[last]
		h.pos[h.a[i].id] = int32(i + 1)
	}
	h.a[last] = timerEntry[T]{}
	h.a = h.a[:last]
	if i != last {
		if !h.up(i) {
			h.down(i)
		}
	}
}

// removeLane takes lane entry i out: the first is passed over with any
// removed behind it, another is marked, and the lane is packed when the
// marked outnumber the rest.
func (h *timerHeap[T]) removeLane(i int) {
	h.lane[i].id = -1 // its key stays: the lane's last key bounds the next
	h.dead++
	for h.head < len(h.lane) && h.lane[h.head].id < 0 {
		h.head++
		h.dead--
	}
	if h.dead > 64 && 2*h.dead > len(h.lane)-h.head {
		h.pack()
	}
}

// pack moves the lane's entries in use to its start, in order.
func (h *timerHeap[T]) pack() {
	k := 0
	for _, e := range h.lane[h.head:] {
		if e.id >= 0 {
			h.lane[k] = e
			h.pos[e.id] = -int32(k + 1)
			k++
		}
	}
	clear(h.lane[k:])
	h.lane, h.head, h.dead = h.lane[:k], 0, 0
}

// up moves entry i towards the root while its key is smaller than its
// parent's; it reports whether it moved.
func (h *timerHeap[T]) up(i int) bool {
	e, moved := h.a[i], false
	for i > 0 {
		p := (i - 1) / 4
		if h.a[p].key <= e.key {
			break
		}
		h.a[i] = h.a[p]
		h.pos[h.a[i].id] = int32(i + 1)
		i, moved = p, true
	}
	h.a[i] = e
	h.pos[e.id] = int32(i + 1)
	return moved
}

// down moves entry i away from the root while a child's key is smaller.
func (h *timerHeap[T]) down(i int) {
	e, n := h.a[i], len(h.a)
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m, mk := c, h.a[c].key
		for j := c + 1; j < c+4 && j < n; j++ {
			if jk := h.a[j].key; jk < mk {
				m, mk = j, jk
			}
		}
		if mk >= e.key {
			break
		}
		h.a[i] = h.a[m]
		h.pos[h.a[i].id] = int32(i + 1)
		i = m
	}
	h.a[i] = e
	h.pos[e.id] = int32(i + 1)
}

// schedule brings rc's key in the heap in line with its next deadline
// after a segment: the key only ever moves forward in time lazily (when it
// comes due), but at once when the deadline came earlier.
func (a *Analyzer) schedule(rc *reassembly.Conn[conn]) {
	c := &rc.Data
	d := c.due(rc, a)
	if c.tslot != 0 && c.tkey <= d {
		return
	}
	c.setTimer(rc.Ref(), d, a)
}

// setTimer puts c (ref) in the heap with key d, or moves it there.
func (c *conn) setTimer(ref uint32, d int64, a *Analyzer) {
	a.timers.set(ref, &c.tslot, d)
	c.tkey = d
}

// soonDue reports whether rc has a deadline within CompactIdle (so that
// keeping it compact would be undone soon), after moving its key on to its
// next deadline: a key moves forward lazily, and one left at a deadline
// that no longer applies (the handshake's, once it completed) would thaw
// the connection for nothing.
func (a *Analyzer) soonDue(rc *reassembly.Conn[conn]) bool {
	c := &rc.Data
	d := c.due(rc, a)
	if c.tslot != 0 && c.tkey < d {
		c.setTimer(rc.Ref(), d, a)
	}
	return d < a.now+int64(a.cfg.CompactIdle)
}

// unschedule takes rc out of the heap before it leaves the table.
func (a *Analyzer) unschedule(rc *reassembly.Conn[conn]) { a.timers.remove(&rc.Data.tslot) }

// dueConns collects, in activity order (the order of the table, as the
// sweep over all connections had), the connections whose deadline has come
// at a.now. Keys that came too early are moved on.
func (a *Analyzer) dueConns() []*reassembly.Conn[conn] {
	now := a.now
	a.due = a.due[:0]
	for a.timers.len() > 0 {
		id, key := a.timers.min()
		if key > now {
			break
		}
		rc := a.tab.Get(id)
		c := &rc.Data
		if d := c.due(rc, a); d > now {
			c.setTimer(id, d, a)
			continue
		}
		a.timers.remove(&c.tslot)
		a.due = append(a.due, rc)
	}
	slices.SortFunc(a.due, func(x, y *reassembly.Conn[conn]) int { return cmp.Compare(x.Data.seq, y.Data.seq) })
	return a.due
}

// dueHeld collects, in the order they were held, the held records whose
// TIME_WAIT is over at a.now (all of them with all).
func (a *Analyzer) dueHeld(all bool) []heldDue {
	a.dueH = a.dueH[:0]
	for a.held.len() > 0 {
		ref, until := a.held.min()
		if !all && until > a.now {
			break
		}
		h := a.heldRecs.at(ref)
		a.held.remove(&h.tslot)
		a.dueH = append(a.dueH, heldDue{entry: h.seqEntry, a: h.seqA, ref: ref, phase: h.phase})
	}
	slices.SortFunc(a.dueH, func(x, y heldDue) int { return x.pos().Compare(y.pos()) })
	return a.dueH
}

// due returns the earliest capture time (ns) at which judging the
// connection between segments could change anything but the duration of a
// finding whose condition is still under way: a waiting condition reaching
// its timeout, the close linger, or the idle timeout. It mirrors judge's
// non-final part and over; being early is harmless (judging changes
// nothing then), being late is not. The durations that grow with the
// capture clock are brought to the latest sweep when the connection is
// next looked at (conn.catchUp), not by judging it at every sweep.
func (c *conn) due(rc *reassembly.Conn[conn], a *Analyzer) int64 {
	cfg := &a.cfg
	d := int64(never)
	at := func(t int64, after time.Duration) {
		if n := later(t, after); n < d {
			d = n
		}
	}
	at(rc.Last, cfg.IdleTimeout)
	if c.rstSeen {
		at(c.rstAt, cfg.CloseLinger)
	}
	client, server := &c.p[ClientToServer], &c.p[ServerToClient]
	if client.finAcked && server.finAcked {
		at(max(client.finAckTime, server.finAckTime), cfg.CloseLinger)
	}
	if client.syn.count > 0 && !c.synNotCaptured && !c.midstream && !c.answered && c.slot(a, slotSynUnanswered) == 0 {
		at(client.syn.time, cfg.HandshakeTimeout)
	}
	if c.synackValid && !c.midstream && !c.simOpen && !c.hsDone && c.slot(a, slotMissingAck) == 0 {
		at(c.synackTime, cfg.HandshakeTimeout)
	}
	for i := range c.p {
		x, o := &c.p[i], &c.p[i^1]
		if o.finAcked && x.quiet.on && c.slot(a, slotHalfClose+i) == 0 {
			at(x.quiet.since, cfg.HalfCloseTimeout)
		}
		if x.zero.on && c.slot(a, slotZeroWindow+i) == 0 {
			at(x.zero.since, cfg.ZeroWindowTimeout)
		}
	}
	return d
}

// catchUp brings c to where the sweeps since it was last looked at would
// have left it: every sweep used to judge a connection whose finding was
// still growing, so a finding's duration reads as of the latest sweep
// until a segment (or the end) judges the connection again — and stays
// there when the condition ends without such a judgement (an RST cutting
// a FIN's wait short). Judging at the latest sweep alone does what judging
// at each did: between segments only those durations change, and no
// deadline passed unjudged (a due connection was judged in its sweep).
func (c *conn) catchUp(rc *reassembly.Conn[conn], a *Analyzer) {
	if c.judged == a.sweeps {
		return
	}
	c.judged = a.sweeps
	if len(c.findings(a)) > 0 && !c.finalized {
		c.judge(rc, a.swept, false, a)
	}
}
