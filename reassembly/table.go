package reassembly

import (
	"net/netip"

	"github.com/tcpflow-check/tcpflow-check/capture"
)

// Conn is one connection in the table. Data is the caller's per-connection
// state, stored inline so a connection costs one allocation (none when a
// removed connection is recycled).
type Conn[T any] struct {
	Key            Key
	Client, Server netip.AddrPort
	// RolesGuessed is set when no SYN told who the client is and the roles
	// come from the SYN-ACK's direction or from port heuristics.
	RolesGuessed bool
	// Flipped is set when the first segment came from the peer we call the
	// server (a SYN-ACK first, or port heuristics).
	Flipped    bool
	Half       [2]Half // indexed by Dir: Half[ClientToServer] is what the client sent
	First      int64   // capture time of the first segment (Stamp)
	Last       int64   // capture time of the latest segment (Stamp)
	FirstFrame uint64
	LastFrame  uint64
	Data       T

	prev, next *Conn[T] // activity list, oldest first
	inTable    bool
}

// DirOf returns the direction of seg within c.
func (c *Conn[T]) DirOf(seg *capture.Segment) Dir {
	if seg.Src == c.Client {
		return ClientToServer
	}
	return ServerToClient
}

// Update records seg (in direction d) in the bookkeeping and classifies it.
func (c *Conn[T]) Update(seg *capture.Segment, d Dir) Class {
	c.Last, c.LastFrame = Stamp(seg.Time), seg.Frame
	if c.FirstFrame == 0 {
		c.First, c.FirstFrame = c.Last, seg.Frame
	}
	return c.Half[d].update(seg, &c.Half[d^1])
}

// Finished reports whether the connection's exchange is over as far as
// sequence numbers show: a RST was sent, or both FINs were sent and acknowledged.
func (c *Conn[T]) Finished() bool {
	h0, h1 := &c.Half[0], &c.Half[1]
	if h0.RstSeen || h1.RstSeen {
		return true
	}
	return h0.FinSeen && h1.FinSeen &&
		h1.AckSeen && SeqGT(h1.MaxAck, h0.FinSeq) &&
		h0.AckSeen && SeqGT(h0.MaxAck, h1.FinSeq)
}

// Reuses reports whether seg, a segment for c's tuple, starts a new
// connection instead of continuing c: it is a SYN without ACK whose ISN
// differs from the one its sender used before (or, once c is finished, a
// SYN from either side), and c is finished (see Finished) or never
// completed its handshake. A retransmitted SYN (same ISN) never reuses, nor
// does a FIN or RST, nor the first SYN of the other side (simultaneous open).
func (c *Conn[T]) Reuses(seg *capture.Segment) bool {
	if seg.Flags&(capture.SYN|capture.ACK|capture.RST) != capture.SYN {
		return false
	}
	h := &c.Half[c.DirOf(seg)]
	if c.Finished() {
		// After a RST or a complete FIN exchange a SYN is a new attempt,
		// even with the old ISN (stacks that retry a refused connect).
		return true
	}
	if !h.SynSeen || h.ISN == seg.Seq {
		// A first SYN from this side of an open connection is a
		// simultaneous open; the same ISN again is a retransmission.
		return false
	}
	// A handshake that never completed: no SYN-ACK was seen, or the client
	// never acknowledged it.
	cs, sc := &c.Half[ClientToServer], &c.Half[ServerToClient]
	if !sc.SynSeen {
		return true
	}
	return !cs.AckSeen || !SeqGT(cs.MaxAck, sc.ISN)
}

// Table maps keys to connections. The zero value is not usable; call NewTable.
type Table[T any] struct {
	m          map[Key]*Conn[T]
	head, tail *Conn[T]
	free       []*Conn[T]
}

// NewTable returns an empty table expecting up to about hint connections.
func NewTable[T any](hint int) *Table[T] {
	if hint <= 0 || hint > 1<<16 {
		hint = 1 << 10
	}
	return &Table[T]{m: make(map[Key]*Conn[T], hint)}
}

// Len is the number of connections in the table.
func (t *Table[T]) Len() int { return len(t.m) }

// Lookup returns the connection for k, or nil.
func (t *Table[T]) Lookup(k Key) *Conn[T] { return t.m[k] }

// Insert adds a new connection for seg's tuple, replacing none: the caller
// must Remove an existing one first. Roles: the sender of a SYN without ACK
// is the client; the receiver of a SYN-ACK is the client; otherwise port
// heuristics decide and RolesGuessed is set.
func (t *Table[T]) Insert(k Key, seg *capture.Segment) *Conn[T] {
	var c *Conn[T]
	if n := len(t.free); n > 0 {
		c = t.free[n-1]
		t.free[n-1] = nil
		t.free = t.free[:n-1]
		*c = Conn[T]{}
	} else {
		c = new(Conn[T])
	}
	c.Key = k
	c.Client, c.Server = seg.Src, seg.Dst
	switch seg.Flags & (capture.SYN | capture.ACK) {
	case capture.SYN:
	case capture.SYN | capture.ACK:
		c.Client, c.Server = seg.Dst, seg.Src
		c.RolesGuessed, c.Flipped = true, true
	default:
		c.RolesGuessed = true
		if likelyServer(seg.Src.Port(), seg.Dst.Port()) {
			c.Client, c.Server = seg.Dst, seg.Src
			c.Flipped = true
		}
	}
	c.inTable = true
	t.m[k] = c
	t.pushBack(c)
	return c
}

// Touch marks c as the most recently active connection.
func (t *Table[T]) Touch(c *Conn[T]) {
	if t.tail == c {
		return
	}
	t.unlink(c)
	t.pushBack(c)
}

// Oldest returns the least recently active connection, or nil.
func (t *Table[T]) Oldest() *Conn[T] { return t.head }

// Remove takes c out of the table. c stays valid until the next Insert,
// which may recycle it.
func (t *Table[T]) Remove(c *Conn[T]) {
	if !c.inTable {
		return
	}
	c.inTable = false
	delete(t.m, c.Key)
	t.unlink(c)
	t.free = append(t.free, c)
}

// Range calls fn for each connection, oldest activity first, until fn returns
// false. fn may Remove the connection it is given.
func (t *Table[T]) Range(fn func(*Conn[T]) bool) {
	for c := t.head; c != nil; {
		next := c.next
		if !fn(c) {
			return
		}
		c = next
	}
}

func (t *Table[T]) pushBack(c *Conn[T]) {
	c.prev, c.next = t.tail, nil
	if t.tail != nil {
		t.tail.next = c
	} else {
		t.head = c
	}
	t.tail = c
}

func (t *Table[T]) unlink(c *Conn[T]) {
	if c.prev != nil {
		c.prev.next = c.next
	} else if t.head == c {
		t.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else if t.tail == c {
		t.tail = c.prev
	}
	c.prev, c.next = nil, nil
}

// NextActive returns the connection active next after c (towards the most
// recent), or nil; with Table.Oldest it walks the table in activity order.
func (c *Conn[T]) NextActive() *Conn[T] { return c.next }
