package zeek

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// A Table finds the connections Zeek's timers remove without looking at
// every one: each session sits in a min-heap keyed by a time no later than
// its expiry (the earliest capture time at which Expired holds, given its
// tracker's state). A segment that moves the expiry earlier (a close
// completes, say) moves the session up at once; one that moves it later
// (most segments: the connection is active again) leaves the key early,
// and a sweep that finds it not yet expired puts it back with its true
// expiry. A sweep thus touches only the sessions due, and removes them in
// the order they started, as a scan of the whole table would.

// expiry is the earliest capture time (Unix ns) at which Expired holds as
// the tracker is now: Expired(t) is t >= expiry for every t, since each of
// Zeek's timers depends on the state, fixed until the next segment, and on
// how much time has passed. math.MaxInt64 when never (not started).
func (z *Tracker) expiry() int64 {
	if !z.started {
		return math.MaxInt64
	}
	after := reassembly.After
	o, r := &z.ep[z.side(true)], &z.ep[z.side(false)]
	next := after(z.last, inactivityTimeout)
	if !z.handshakeEnd {
		next = after(z.last, handshakeInactTime)
	}
	if z.closed {
		next = min(next, after(z.closeAt, closeDelay))
	}
	if z.attemptAt != 0 && (o.state == epSynSent || o.state == epSynAckSent) && r.state == epInactive {
		next = min(next, after(z.attemptAt, attemptDelay))
	}
	if z.resetAt != 0 {
		next = min(next, after(z.resetAt, resetDelay))
	}
	if z.partialAt != 0 && o.state != epInactive && r.state != epInactive && (!o.didClose || !r.didClose) &&
		o.state != epReset && r.state != epReset {
		next = min(next, after(z.partialAt, partialCloseDelay))
	}
	lingered := (o.didClose || r.didClose) &&
		((o.didClose && r.didClose) || o.state == epReset || r.state == epReset ||
			o.state == epInactive || r.state == epInactive)
	if lingered || o.state == epInactive && r.state == epInactive {
		next = min(next, after(z.last, connectionLinger+sessionTimer+time.Nanosecond)) // idle > linger
	}
	return next
}

// expiryHeap is a min-heap of sessions by their key, which each item
// holds (so that sifting compares without reading the sessions) beside
// session.exp; a session's hi is its index + 1, 0 when not in the heap.
type expiryHeap []expiryItem

type expiryItem struct {
	exp int64
	s   *session
}

func (h *expiryHeap) push(s *session) {
	*h = append(*h, expiryItem{s.exp, s})
	s.hi = int32(len(*h))
	h.up(len(*h) - 1)
}

// remove takes s out of the heap.
func (h *expiryHeap) remove(s *session) {
	i := int(s.hi) - 1
	last := len(*h) - 1
	if i != last {
		h.swap(i, last)
	}
	(*h)[last] = expiryItem{}
	*h = (*h)[:last]
	s.hi = 0
	if i != last {
		h.down(i)
		h.up(i)
	}
}

// earlier makes s's key exp, no later than its key was.
func (h expiryHeap) earlier(s *session, exp int64) {
	s.exp = exp
	h[s.hi-1].exp = exp
	h.up(int(s.hi) - 1)
}

func (h expiryHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].s.hi, h[j].s.hi = int32(i+1), int32(j+1)
}

func (h expiryHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if h[p].exp <= h[i].exp {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h expiryHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h[r].exp < h[l].exp {
			m = r
		}
		if h[i].exp <= h[m].exp {
			return
		}
		h.swap(i, m)
		i = m
	}
}

// noteExpiry updates s's place in the heap after a segment: at once when
// its expiry moved earlier than its key, lazily (at a sweep) when later.
func (t *Table) noteExpiry(s *session) {
	exp := s.z.expiry()
	switch {
	case s.hi == 0:
		s.exp = exp
		t.exp.push(s)
	case exp < s.exp:
		t.exp.earlier(s, exp)
	}
}

// expired returns the sessions expired by now, in the order they
// started; the others whose key was due go back with their true expiry.
func (t *Table) expired(now int64) []*session {
	t.due = t.due[:0]
	for len(t.exp) > 0 && t.exp[0].exp <= now {
		s := t.exp[0].s
		t.exp.remove(s)
		if exp := s.z.expiry(); exp > now {
			s.exp = exp
			t.exp.push(s)
			continue
		}
		t.due = append(t.due, s)
	}
	slices.SortFunc(t.due, func(a, b *session) int { return cmp.Compare(a.order, b.order) })
	return t.due
}
