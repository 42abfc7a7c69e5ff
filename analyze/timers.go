package analyze

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// The deadlines of the open connections live in a 4-ary min-heap keyed by
// capture time (nanoseconds), so that a sweep looks only at the connections
// whose next deadline has come instead of judging every open connection
// every second. A connection's key is a lower bound of the earliest
// capture time at which a sweep could change anything about it (see
// conn.due); a segment moves the key only when it brings the deadline
// forward, so the steady per-segment path does not touch the heap. A key
// that has come but is found too early (the idle deadline moved on) is
// re-keyed without judging. The index lives in the element (no allocation
// per timer).

// never is the key of a connection with no deadline.
const never = math.MaxInt64

// timed is an element of a timerHeap: it keeps its own key and position.
type timed interface {
	comparable
	heapKey() int64
	heapSlot() *int32 // index+1 in the heap, 0 when not in it
}

// timerHeap is a 4-ary min-heap of elements by their key.
type timerHeap[T timed] struct {
	a []T
}

func (h *timerHeap[T]) len() int { return len(h.a) }

// min returns the element with the smallest key; the heap must not be empty.
func (h *timerHeap[T]) min() T { return h.a[0] }

// fix puts x in the heap, or moves it to where its (changed) key belongs.
func (h *timerHeap[T]) fix(x T) {
	s := x.heapSlot()
	if *s == 0 {
		h.a = append(h.a, x)
		*s = int32(len(h.a))
		h.up(len(h.a) - 1)
		return
	}
	i := int(*s - 1)
	if !h.up(i) {
		h.down(i)
	}
}

// remove takes x out of the heap, if it is in it.
func (h *timerHeap[T]) remove(x T) {
	s := x.heapSlot()
	if *s == 0 {
		return
	}
	i, last := int(*s-1), len(h.a)-1
	*s = 0
	if i != last {
		h.a[i] = h.a[last]
		*h.a[i].heapSlot() = int32(i + 1)
	}
	var zero T
	h.a[last] = zero
	h.a = h.a[:last]
	if i != last {
		if !h.up(i) {
			h.down(i)
		}
	}
}

// up moves element i towards the root while its key is smaller than its
// parent's; it reports whether it moved.
func (h *timerHeap[T]) up(i int) bool {
	x, k, moved := h.a[i], h.a[i].heapKey(), false
	for i > 0 {
		p := (i - 1) / 4
		if h.a[p].heapKey() <= k {
			break
		}
		h.a[i] = h.a[p]
		*h.a[i].heapSlot() = int32(i + 1)
		i, moved = p, true
	}
	h.a[i] = x
	*x.heapSlot() = int32(i + 1)
	return moved
}

// down moves element i away from the root while a child's key is smaller.
func (h *timerHeap[T]) down(i int) {
	x, k, n := h.a[i], h.a[i].heapKey(), len(h.a)
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m, mk := c, h.a[c].heapKey()
		for j := c + 1; j < c+4 && j < n; j++ {
			if jk := h.a[j].heapKey(); jk < mk {
				m, mk = j, jk
			}
		}
		if mk >= k {
			break
		}
		h.a[i] = h.a[m]
		*h.a[i].heapSlot() = int32(i + 1)
		i = m
	}
	h.a[i] = x
	*x.heapSlot() = int32(i + 1)
}

// connRef is an open connection's element in Analyzer.timers.
type connRef struct{ rc *reassembly.Conn[conn] }

func (r connRef) heapKey() int64    { return r.rc.Data.tkey }
func (r connRef) heapSlot() *int32  { return &r.rc.Data.tslot }
func (h *heldRec) heapKey() int64   { return h.until }
func (h *heldRec) heapSlot() *int32 { return &h.tslot }

// schedule brings rc's key in the heap in line with its next deadline
// after a segment: the key only ever moves forward in time lazily (when it
// comes due), but at once when the deadline came earlier.
func (a *Analyzer) schedule(rc *reassembly.Conn[conn]) {
	c := &rc.Data
	d := c.due(rc, a.now, a)
	if c.tslot != 0 && c.tkey <= d {
		return
	}
	c.tkey = d
	a.timers.fix(connRef{rc})
}

// unschedule takes rc out of the heap before it leaves the table.
func (a *Analyzer) unschedule(rc *reassembly.Conn[conn]) { a.timers.remove(connRef{rc}) }

// dueConns collects, in activity order (the order of the table, as the
// sweep over all connections had), the connections whose deadline has come
// at a.now. Keys that came too early are moved on.
func (a *Analyzer) dueConns() []*reassembly.Conn[conn] {
	now := a.now
	a.due = a.due[:0]
	for a.timers.len() > 0 {
		r := a.timers.min()
		c := &r.rc.Data
		if c.tkey > now {
			break
		}
		if d := c.due(r.rc, a.now, a); d > now {
			c.tkey = d
			a.timers.fix(r)
			continue
		}
		a.timers.remove(r)
		a.due = append(a.due, r.rc)
	}
	slices.SortFunc(a.due, func(x, y *reassembly.Conn[conn]) int { return cmp.Compare(x.Data.seq, y.Data.seq) })
	return a.due
}

// dueHeld collects, in the order they were held, the held records whose
// TIME_WAIT is over at a.now (all of them with all).
func (a *Analyzer) dueHeld(all bool) []*heldRec {
	a.dueH = a.dueH[:0]
	for a.held.len() > 0 {
		h := a.held.min()
		if !all && h.until > a.now {
			break
		}
		a.held.remove(h)
		a.dueH = append(a.dueH, h)
	}
	slices.SortFunc(a.dueH, func(x, y *heldRec) int { return x.seq.Compare(y.seq) })
	return a.dueH
}

// due returns the earliest capture time (ns) at which judging the
// connection between segments could change anything: a waiting condition
// reaching its timeout, a finding of one whose duration is still growing
// (then now: every sweep updates it, as it always did), the close linger,
// or the idle timeout. It mirrors judge's non-final part and over; being
// early is harmless (judging changes nothing then), being late is not.
func (c *conn) due(rc *reassembly.Conn[conn], now int64, a *Analyzer) int64 {
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
	if client.syn.count > 0 && !c.synNotCaptured && !c.midstream && !c.answered {
		if c.slot(a, slotSynUnanswered) != 0 {
			return now
		}
		at(client.syn.time, cfg.HandshakeTimeout)
	}
	if c.synackValid && !c.midstream && !c.simOpen && !c.hsDone {
		if c.slot(a, slotMissingAck) != 0 {
			return now
		}
		at(c.synackTime, cfg.HandshakeTimeout)
	}
	for i := range c.p {
		x, o := &c.p[i], &c.p[i^1]
		if o.finAcked && x.quiet.on {
			if c.slot(a, slotHalfClose+i) != 0 {
				return now
			}
			at(x.quiet.since, cfg.HalfCloseTimeout)
		}
		if x.zero.on {
			if c.slot(a, slotZeroWindow+i) != 0 {
				return now
			}
			at(x.zero.since, cfg.ZeroWindowTimeout)
		}
		if x.finSent && !x.finAcked && !o.rstSent && !x.rstSent && c.slot(a, slotFinUnacked+i) != 0 {
			return now
		}
	}
	return d
}
