package reassembly

import (
	"net/netip"
	"unsafe"

	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/prefetch"
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

	ref uint32 // its id: its place in Table.links, stable while it is in the table, frozen or not
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

// Table maps keys to connections. Each connection has an id (its ref, 1
// and up), which keys its link: where its entry is and its neighbours in
// the activity list. An entry is in a slot of the slab, chunks that never
// move (so a *Conn stays valid while it is in its slot and the table is
// reachable), addressed by a slot ref: chunk<<chunkShift | index, plus one
// so that 0 means none; where the entries hold no pointer the chunks are
// outside the Go heap (see slab.go). Or it is frozen, compact in the cold
// store (cold.go), until something reaches it. The index (index.go) maps
// keys to ids. The zero value is not usable; call NewTable.
type Table[T any] struct {
	ix         index
	links      []link      // by id-1
	freeIDs    []uint32    // ids not in use
	chunks     [][]Conn[T] // chunk k holds up to min(firstChunk<<k, maxChunk) entries
	live       []uint32    // entries in use, by chunk
	free       minRefs     // slot refs of removed entries, for reuse, lowest first
	head, tail uint32      // ids: the least and the most recently active
	mem        *regions    // the memory mapped outside the Go heap; nil when none can be
	mapEntries bool        // chunks may be mapped: the entries hold no pointer
	emptied    []uint32    // chunks whose last entry was removed since the last Insert or Remove

	cold    coldStore
	codec   codec
	scratch *Conn[T] // of decoding a frozen entry for a look (Scan, find)
	cursor  uint32   // id of the latest connection FreezeIdle looked at, 0 for none
	thawed  []uint32 // ids thawed since the last FreezeIdle, and ones it left for later
	again   []uint32 // scratch of FreezeIdle
}

// link is where a connection's entry is (a slot ref, or a cold store
// location with coldBit) and its neighbours' ids in the activity list
// (oldest first), 0 for none. A free id's loc is 0.
type link struct {
	loc, prev, next uint32
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
	t := &Table[T]{codec: newCodec[T](), scratch: new(Conn[T])}
	t.initSlab()
	return t
}

// at returns the entry in slot ref (not 0).
func (t *Table[T]) at(ref uint32) *Conn[T] {
	i := ref - 1
	return &t.chunks[i>>chunkShift][i&(maxChunk-1)]
}

// link returns id's link.
func (t *Table[T]) link(id uint32) *link { return &t.links[id-1] }

// Len is the number of connections in the table.
func (t *Table[T]) Len() int { return t.ix.n }

// Lookup returns the connection for k, thawed if it was frozen, or nil.
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
	id := t.newID()
	ref := t.alloc()
	t.links[id-1] = link{loc: ref}
	c := t.at(ref)
	*c = Conn[T]{} // cleared in place: a literal with fields is built on the stack and copied
	c.Key, c.ref = k, id
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
	t.ix.insert(&k, id)
	t.pushBack(id)
	return c
}

// newID returns an unused id.
func (t *Table[T]) newID() uint32 {
	if n := len(t.freeIDs); n > 0 {
		id := t.freeIDs[n-1]
		t.freeIDs = t.freeIDs[:n-1]
		return id
	}
	if len(t.links) == cap(t.links) {
		t.growLinks()
	}
	t.links = t.links[:len(t.links)+1]
	t.links[len(t.links)-1] = link{}
	return uint32(len(t.links))
}

// growLinks doubles the room for links. Once large they are mapped
// outside the Go heap, as the slab and the index are: a million
// connections' links (12 MB) would otherwise count twice in the garbage
// collector's heap goal.
func (t *Table[T]) growLinks() {
	n := max(2*cap(t.links), 256)
	size := n * int(unsafe.Sizeof(link{}))
	var links []link
	var b []byte
	if t.mem != nil && size >= minMapped {
		b = mapped.Map(size)
	}
	if b != nil {
		links = unsafe.Slice((*link)(unsafe.Pointer(unsafe.SliceData(b))), n)[:len(t.links)]
	} else {
		links = make([]link, len(t.links), n)
	}
	copy(links, t.links)
	if t.mem != nil {
		mapped.Unmap(t.mem.links)
		t.mem.links = b
	}
	t.links = links
}

// alloc returns the ref of an unused slot (counted in use): a removed
// one, or the next of the last chunk, or the first of a new chunk.
func (t *Table[T]) alloc() uint32 {
	var ref uint32
	if len(t.free) > 0 {
		ref = t.free.pop()
	} else {
		k := len(t.chunks) - 1
		if k < 0 || len(t.chunks[k]) == cap(t.chunks[k]) {
			k++
			t.chunks = append(t.chunks, t.newChunk(min(firstChunk<<min(k, chunkShift), maxChunk)))
			t.live = append(t.live, 0)
		}
		ch := &t.chunks[k]
		*ch = (*ch)[:len(*ch)+1]
		ref = uint32(k<<chunkShift|(len(*ch)-1)) + 1
	}
	t.live[(ref-1)>>chunkShift]++
	return ref
}

// minRefs is a binary min-heap of slot refs. Taking the lowest free slot
// first keeps the slots in use packed at the start of the slab, so that
// when fewer connections are in slots (frozen or gone) the last chunks
// empty and go back to the kernel instead of staying half used.
type minRefs []uint32

func (h *minRefs) push(r uint32) {
	*h = append(*h, r)
	a := *h
	i := len(a) - 1
	for i > 0 {
		p := (i - 1) / 2
		if a[p] <= r {
			break
		}
		a[i] = a[p]
		i = p
	}
	a[i] = r
}

func (h *minRefs) pop() uint32 {
	a := *h
	top, last := a[0], a[len(a)-1]
	a = a[:len(a)-1]
	*h = a
	i, n := 0, len(a)
	for n > 0 {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && a[c+1] < a[c] {
			c++
		}
		if last <= a[c] {
			break
		}
		a[i] = a[c]
		i = c
	}
	if n > 0 {
		a[i] = last
	}
	return top
}

// release frees slot ref; its chunk's pages go back to the kernel at the
// next Insert or Remove if it emptied.
func (t *Table[T]) release(ref uint32) {
	t.free.push(ref)
	k := (ref - 1) >> chunkShift
	if t.live[k]--; t.live[k] == 0 && t.mem != nil && t.mem.chunk[k] != nil {
		t.emptied = append(t.emptied, k)
	}
}

// Touch marks c as the most recently active connection.
func (t *Table[T]) Touch(c *Conn[T]) {
	id := c.ref
	if t.tail == id {
		return
	}
	// c is not the newest, so it has a next; take it out and put it after
	// the newest.
	links := t.links
	l := &links[id-1]
	if t.cursor == id {
		t.cursor = l.prev
	}
	if l.prev != 0 {
		links[l.prev-1].next = l.next
	} else {
		t.head = l.next
	}
	links[l.next-1].prev = l.prev
	links[t.tail-1].next = id
	l.prev, l.next, t.tail = t.tail, 0, id
}

// Oldest returns the least recently active connection, or nil.
func (t *Table[T]) Oldest() *Conn[T] { return t.Get(t.head) }

// PrefetchOldest asks for the oldest connection's entry to be brought into
// the cache, when it is in a slot (a frozen one is decoded anyway): the
// one a table at its cap evicts next.
func (t *Table[T]) PrefetchOldest() {
	if t.head != 0 {
		t.prefetch(t.head)
	}
}

// prefetch asks for the entry of connection id to be brought into the
// cache, when it is in a slot.
func (t *Table[T]) prefetch(id uint32) {
	if loc := t.link(id).loc; loc&coldBit == 0 {
		prefetch.Lines(unsafe.Pointer(t.at(loc)), unsafe.Sizeof(Conn[T]{}))
	}
}

// Next returns the connection active next after c (towards the most
// recent), or nil; with Oldest it walks the table in activity order.
func (t *Table[T]) Next(c *Conn[T]) *Conn[T] { return t.Get(t.link(c.ref).next) }

// Ref returns c's id in its table: stable while c is in the table, frozen
// or not (Table.Get), and reused once it is removed.
func (c *Conn[T]) Ref() uint32 { return c.ref }

// Get returns the connection of id (Conn.Ref), thawing it if it was
// frozen; nil for 0.
func (t *Table[T]) Get(id uint32) *Conn[T] {
	if id == 0 {
		return nil
	}
	if loc := t.link(id).loc; loc&coldBit == 0 {
		return t.at(loc)
	}
	return t.thaw(id)
}

// Remove takes c out of the table. c stays valid until the next Insert or
// thaw (a Lookup, Get, Oldest or Next that reaches a frozen connection),
// which may recycle its slot, or the next Remove.
func (t *Table[T]) Remove(c *Conn[T]) {
	if !c.inTable {
		return
	}
	if len(t.emptied) > 0 {
		t.discardEmpty() // while a table drains, its chunks go back as they empty
	}
	c.inTable = false
	id := c.ref
	t.ix.removeRef(&c.Key, id)
	t.unlink(id)
	t.release(t.link(id).loc)
	t.links[id-1] = link{}
	t.freeIDs = append(t.freeIDs, id)
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

// pushBack makes id the most recently active.
func (t *Table[T]) pushBack(id uint32) {
	l := t.link(id)
	l.prev, l.next = t.tail, 0
	if t.tail != 0 {
		t.link(t.tail).next = id
	} else {
		t.head = id
	}
	t.tail = id
}

// unlink takes id out of the activity list. When it is where FreezeIdle
// stopped, its predecessor takes that place (it was looked at too).
func (t *Table[T]) unlink(id uint32) {
	l := t.link(id)
	if t.cursor == id {
		t.cursor = l.prev
	}
	if l.prev != 0 {
		t.link(l.prev).next = l.next
	} else if t.head == id {
		t.head = l.next
	}
	if l.next != 0 {
		t.link(l.next).prev = l.prev
	} else if t.tail == id {
		t.tail = l.prev
	}
	l.prev, l.next = 0, 0
}
