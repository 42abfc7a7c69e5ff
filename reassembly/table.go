package reassembly

import (
	"net/netip"

	"github.com/tcpflow-check/tcpflow-check/capture"
)

// Conn is one connection in the table. Data is the caller's per-connection
// state, stored inline in the table's slab of entries: a connection costs
// no allocation of its own (none at all when a removed entry is recycled),
// and when Data holds no pointer neither does the entry, so the garbage
// collector never scans the slab.
type Conn[T any] struct {
	Key        Key
	Half       [2]Half // indexed by Dir: Half[ClientToServer] is what the client sent
	First      int64   // capture time of the first segment (Stamp)
	Last       int64   // capture time of the latest segment (Stamp)
	FirstFrame uint64
	LastFrame  uint64
	Data       T

	ref, prev, next uint32 // its own and its neighbours' in the activity list (oldest first) refs; 0 for none
	// RolesGuessed is set when no SYN told who the client is and the roles
	// come from the SYN-ACK's direction or from port heuristics.
	RolesGuessed bool
	// Flipped is set when the first segment came from the peer we call the
	// server (a SYN-ACK first, or port heuristics).
	Flipped  bool
	clientHi bool // the client is the key's higher endpoint
	inTable  bool
}

// Client is the connection's client endpoint.
func (c *Conn[T]) Client() netip.AddrPort { return c.Key.endpoint(c.clientHi) }

// Server is the connection's server endpoint.
func (c *Conn[T]) Server() netip.AddrPort { return c.Key.endpoint(!c.clientHi) }

// DirOf returns the direction of seg within c.
func (c *Conn[T]) DirOf(seg *capture.Segment) Dir {
	_, srcHi := KeyFrom(seg.Src, seg.Dst)
	return c.Dir(srcHi)
}

// Dir returns the direction of a segment whose source is the key's higher
// endpoint when srcHi (as KeyFrom reports it).
func (c *Conn[T]) Dir(srcHi bool) Dir {
	if srcHi == c.clientHi {
		return ClientToServer
	}
	return ServerToClient
}

// Update records seg (in direction d, at capture time t: Stamp(seg.Time))
// in the bookkeeping and classifies it.
func (c *Conn[T]) Update(seg *capture.Segment, d Dir, t int64) Class {
	c.Last, c.LastFrame = t, seg.Frame
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

// Table maps keys to connections. Its entries live in chunks that never
// move (so a *Conn stays valid while it is in the table and the table is
// reachable), addressed by a ref: chunk<<chunkShift | index, plus one so
// that 0 means none; where the entries hold no pointer the chunks are
// outside the Go heap (see slab.go). The index (index.go) maps keys to
// refs. The zero value is not usable; call NewTable.
type Table[T any] struct {
	ix         index
	chunks     [][]Conn[T] // chunk k holds up to min(firstChunk<<k, maxChunk) entries
	live       []uint32    // entries in use, by chunk
	free       []uint32    // refs of removed entries, for reuse
	head, tail uint32
	mem        *regions // the memory mapped outside the Go heap; nil when none can be
	mapEntries bool     // chunks may be mapped: the entries hold no pointer
	emptied    []uint32 // chunks whose last entry was removed since the last Insert or Remove
}

// Chunk sizes: a small table stays small, a large one grows by chunks of
// maxChunk entries (a few MB).
const (
	chunkShift = 12
	maxChunk   = 1 << chunkShift
	firstChunk = 16
)

// NewTable returns an empty table. (hint, the connections expected, is
// not needed: the table grows by chunks and never copies its entries.)
func NewTable[T any](hint int) *Table[T] {
	t := &Table[T]{}
	t.initSlab()
	return t
}

// at returns the entry of ref (not 0).
func (t *Table[T]) at(ref uint32) *Conn[T] {
	i := ref - 1
	return &t.chunks[i>>chunkShift][i&(maxChunk-1)]
}

// Len is the number of connections in the table.
func (t *Table[T]) Len() int { return t.ix.n }

// Lookup returns the connection for k, or nil.
func (t *Table[T]) Lookup(k Key) *Conn[T] {
	return t.find(&k)
}

// Insert adds a new connection for seg's tuple, replacing none: the caller
// must Remove an existing one first. Roles: the sender of a SYN without ACK
// is the client; the receiver of a SYN-ACK is the client; otherwise port
// heuristics decide and RolesGuessed is set.
func (t *Table[T]) Insert(k Key, seg *capture.Segment) *Conn[T] {
	if len(t.emptied) > 0 {
		t.discardEmpty()
	}
	ref := t.alloc()
	t.live[(ref-1)>>chunkShift]++
	c := t.at(ref)
	*c = Conn[T]{Key: k, ref: ref}
	_, srcHi := KeyFrom(seg.Src, seg.Dst)
	c.clientHi = srcHi
	switch seg.Flags & (capture.SYN | capture.ACK) {
	case capture.SYN:
	case capture.SYN | capture.ACK:
		c.clientHi = !srcHi
		c.RolesGuessed, c.Flipped = true, true
	default:
		c.RolesGuessed = true
		if likelyServer(seg.Src.Port(), seg.Dst.Port()) {
			c.clientHi = !srcHi
			c.Flipped = true
		}
	}
	c.inTable = true
	t.ix.insert(&k, ref)
	t.pushBack(c)
	return c
}

// alloc returns the ref of an unused entry: a removed one, or the next of
// the last chunk, or the first of a new chunk.
func (t *Table[T]) alloc() uint32 {
	if n := len(t.free); n > 0 {
		r := t.free[n-1]
		t.free = t.free[:n-1]
		return r
	}
	k := len(t.chunks) - 1
	if k < 0 || len(t.chunks[k]) == cap(t.chunks[k]) {
		k++
		t.chunks = append(t.chunks, t.newChunk(min(firstChunk<<min(k, chunkShift), maxChunk)))
		t.live = append(t.live, 0)
	}
	ch := &t.chunks[k]
	*ch = (*ch)[:len(*ch)+1]
	return uint32(k<<chunkShift|(len(*ch)-1)) + 1
}

// Touch marks c as the most recently active connection.
func (t *Table[T]) Touch(c *Conn[T]) {
	if t.tail == c.ref {
		return
	}
	// c is not the newest, so it has a next; take it out and put it after
	// the newest.
	if c.prev != 0 {
		t.at(c.prev).next = c.next
	} else {
		t.head = c.next
	}
	t.at(c.next).prev = c.prev
	t.at(t.tail).next = c.ref
	c.prev, c.next, t.tail = t.tail, 0, c.ref
}

// Oldest returns the least recently active connection, or nil.
func (t *Table[T]) Oldest() *Conn[T] { return t.get(t.head) }

// Next returns the connection active next after c (towards the most
// recent), or nil; with Oldest it walks the table in activity order.
func (t *Table[T]) Next(c *Conn[T]) *Conn[T] { return t.get(c.next) }

// get returns the entry of ref, nil for 0.
func (t *Table[T]) get(ref uint32) *Conn[T] {
	if ref == 0 {
		return nil
	}
	return t.at(ref)
}

// Remove takes c out of the table. c stays valid until the next Insert,
// which may recycle it, or the next Remove.
func (t *Table[T]) Remove(c *Conn[T]) {
	if !c.inTable {
		return
	}
	if len(t.emptied) > 0 {
		t.discardEmpty() // while a table drains, its chunks go back as they empty
	}
	c.inTable = false
	t.ix.removeRef(&c.Key, c.ref)
	t.unlink(c)
	t.free = append(t.free, c.ref)
	k := (c.ref - 1) >> chunkShift
	if t.live[k]--; t.live[k] == 0 && t.mem != nil && t.mem.chunk[k] != nil {
		t.emptied = append(t.emptied, k)
	}
}

// Range calls fn for each connection, oldest activity first, until fn returns
// false. fn may Remove the connection it is given.
func (t *Table[T]) Range(fn func(*Conn[T]) bool) {
	for c := t.Oldest(); c != nil; {
		next := t.Next(c)
		if !fn(c) {
			return
		}
		c = next
	}
}

func (t *Table[T]) pushBack(c *Conn[T]) {
	c.prev, c.next = t.tail, 0
	if t.tail != 0 {
		t.at(t.tail).next = c.ref
	} else {
		t.head = c.ref
	}
	t.tail = c.ref
}

func (t *Table[T]) unlink(c *Conn[T]) {
	if c.prev != 0 {
		t.at(c.prev).next = c.next
	} else if t.head == c.ref {
		t.head = c.next
	}
	if c.next != 0 {
		t.at(c.next).prev = c.prev
	} else if t.tail == c.ref {
		t.tail = c.prev
	}
	c.prev, c.next = 0, 0
}
