package analyze

import (
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"time"
	"unsafe"

	"github.com/tcpflow-check/tcpflow-check/internal/anonmem"
	"github.com/tcpflow-check/tcpflow-check/internal/slots"
	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// The records held through TIME_WAIT (Analyzer.retire) are kept small:
// a connection that ends with a FIN each way leaves its active closer in
// TIME_WAIT for 2·MSL, so a capture of many short connections holds most
// of them at once. A record without findings or a timeline (nearly all)
// is a heldRec alone, 192 bytes without a pointer, in chunks the garbage
// collector does not scan: stamps for times, the endpoints as the key,
// states and flags as bytes, and its strings (Zeek's conn_state and
// history, the input's name) as numbers in a table of the distinct ones
// held, which repeat. The record itself is built again when it is
// released. Any other record (findings, a timeline, counts beyond the
// small fields) keeps its *Conn beside the heldRec, as all did before.
// An index of open addressing (as reassembly's) finds a held record by
// its key; the timer heap holds refs. In all a held record costs heldCost
// (some 234 bytes; BenchmarkHeldCost measures it). On Linux the chunks,
// and the index when large, are anonymous memory mapped outside the Go
// heap (as reassembly's slab), so that they count once, not twice as a
// GOGC=100 heap would; the mappings go when the store empties or the
// Analyzer is unreachable.

// heldChunkBits sizes the chunks of heldRecs: 1024 of them, 192 KiB.
const heldChunkBits = 10

// heldMinSlots is the smallest index.
const heldMinSlots = 64

// heldMinMapped is the smallest index worth a mapping of its own (the
// chunks are larger).
const heldMinMapped = 64 << 10

// heldMapped maps the held records' stores outside the Go heap and counts
// them, for every Analyzer.
var heldMapped anonmem.Counter

// heldIndexCost is what the index holds per record, at most: eight bytes
// a slot, with as few as 3/8 of the slots in use just after it grew.
const heldIndexCost = 22

// The flags of a heldRec.
const (
	heldClientHi     uint8 = 1 << iota // the client is the key's higher endpoint
	heldRolesGuessed                   // Conn.RolesGuessed
	heldMidstream                      // Conn.Midstream
	heldComplete                       // Handshake.Complete
	heldHasRTT                         // Handshake.HasRTT
	heldSACK                           // Handshake.SACK
	heldFull                           // the record is in heldStore.full
)

// heldRec is a record waiting for TIME_WAIT to end, in a form without a
// pointer (its fields by size, no padding: 192 bytes). With heldFull, the
// record is the *Conn in heldStore.full, and here only what hold sets
// itself is in use (the key, the id, the stamps, the frames, the packets,
// the position, the ISN, the timer, tw and the flags). Late segments
// update last, lastFrame and packets, whichever the form.
type heldRec struct {
	key        reassembly.Key
	id         uint64 // the record's; while the slot is free, the next free ref
	firstFrame uint64
	lastFrame  uint64
	first      int64 // stamps, on the analyzer's clock
	last       int64
	twSince    int64 // when the peer in TIME_WAIT entered it
	rtt        time.Duration
	bytes      [2]uint64 // client, server
	packets    [2]uint64
	seqEntry   uint64 // where it was held (Pos.Entry; Pos.A below; Pos.B is 0 there)
	seqA       uint64
	control    [2][4]uint16 // ControlCounts: SYN, SYNACK, FIN, RST
	clientISN  uint32
	tslot      timerID // place in Analyzer.held
	history    uint32  // in heldStore.strs
	input      uint16  // in heldStore.strs
	connState  uint16  // in heldStore.strs
	syns       uint16  // Handshake.SYNCount
	synacks    uint16  // Handshake.SYNACKCount
	mss        [2]uint16
	wscale     [2]int8
	states     [2]State // client, server
	tw         Dir      // who is in TIME_WAIT
	ended      endReason
	phase      uint8 // Pos.Phase of where it was held
	flags      uint8
}

// heldStore holds the heldRecs: chunks of them by ref (ref-1 is the
// place; 0 is no record), a chain of the free slots, the index by key,
// the records kept whole, and the strings the small form names.
type heldStore struct {
	chunks [][]heldRec
	n      int    // records held
	top    uint32 // refs handed out: the next new one is top+1
	free   uint32 // the first free ref, 0 when none
	slots  []uint64
	used   int // slots in use
	seed   uint64
	full   map[uint32]*Conn
	maps   *heldMaps // where mapped memory is noted; nil when none may be made

	strs    []heldStr
	strIx   map[string]uint32
	strFree []uint32
}

// heldMaps is the memory a heldStore mapped outside the Go heap: its
// chunks, by chunk (nil for one on the Go heap), and the index's slots
// (nil when on the Go heap).
type heldMaps struct {
	chunks [][]byte
	index  []byte
}

// mapAnon maps n bytes outside the Go heap; nil when it cannot.
func (m *heldMaps) mapAnon(n int) []byte {
	if m == nil {
		return nil
	}
	return heldMapped.Map(n)
}

// unmap unmaps b, if not nil.
func (m *heldMaps) unmap(b []byte) { heldMapped.Unmap(b) }

// release unmaps every mapping; it runs when the Analyzer is unreachable.
func (m *heldMaps) release() {
	for _, b := range append(m.chunks, m.index) {
		m.unmap(b)
	}
	m.chunks, m.index = nil, nil
}

// heldStr is a string held records name, and how many do.
type heldStr struct {
	s    string
	refs int
}

// The index hashes a key's memory as five words (reassembly.Key holds no
// padding and no pointer).
var _ = [1]struct{}{}[unsafe.Sizeof(reassembly.Key{})-40]

func (s *heldStore) hash(k *reassembly.Key) uint64 {
	const m1, m2, m3 = 0xa0761d6478bd642f, 0xe7037ed1a0b428db, 0x8ebc6af09c88c6e3
	w := (*[5]uint64)(unsafe.Pointer(k))
	h := heldMix(w[0]^s.seed^m1, w[1]^m2)
	h = heldMix(h^w[2], w[3]^m3)
	return heldMix(h^w[4], m1^m2)
}

func heldMix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// at returns the record of ref.
func (s *heldStore) at(ref uint32) *heldRec {
	i := ref - 1
	return &s.chunks[i>>heldChunkBits][i&(1<<heldChunkBits-1)]
}

// find returns the ref of the record held for k, 0 when none.
func (s *heldStore) find(k *reassembly.Key) uint32 {
	if s.n == 0 {
		return 0
	}
	h := s.hash(k)
	tag := uint32(h)
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		sl := s.slots[i]
		if sl == 0 {
			return 0
		}
		if uint32(sl>>32) == tag && s.at(uint32(sl)).key == *k {
			return uint32(sl)
		}
	}
}

// add returns a new record for k, its key set and the rest zero.
func (s *heldStore) add(k *reassembly.Key) (uint32, *heldRec) {
	if s.slots == nil {
		s.seed = rand.Uint64()
		s.resize(heldMinSlots)
	}
	ref := s.free
	if ref != 0 {
		s.free = uint32(s.at(ref).id)
	} else {
		if int(s.top)>>heldChunkBits == len(s.chunks) {
			s.chunks = append(s.chunks, s.newChunk())
		}
		s.top++
		ref = s.top
	}
	h := s.at(ref)
	*h = heldRec{key: *k}
	if (s.used+1)*4 > len(s.slots)*3 {
		s.resize(2 * len(s.slots))
	}
	slots.Put(s.slots, slots.Of(s.hash(k), ref))
	s.used++
	s.n++
	return ref, h
}

// newChunk returns a chunk of zero records, mapped where it can be.
func (s *heldStore) newChunk() []heldRec {
	const n = 1 << heldChunkBits
	if s.maps == nil {
		return make([]heldRec, n)
	}
	b := s.maps.mapAnon(n * int(unsafe.Sizeof(heldRec{})))
	s.maps.chunks = append(s.maps.chunks, b)
	if b == nil {
		return make([]heldRec, n)
	}
	return unsafe.Slice((*heldRec)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

// drop frees ref's slot. When none is left held, the store starts over.
func (s *heldStore) drop(ref uint32) {
	h := s.at(ref)
	slots.Remove(s.slots, s.hash(&h.key), ref)
	s.used--
	if s.n--; s.n == 0 {
		// The memory of a crowd goes back; the first chunk and a small
		// index stay for the next record.
		if s.maps != nil {
			for _, b := range s.maps.chunks[1:] {
				s.maps.unmap(b)
			}
			s.maps.chunks = s.maps.chunks[:1]
		}
		s.chunks, s.top, s.free = s.chunks[:1], 0, 0
		if len(s.slots) > heldMinSlots {
			s.resize(heldMinSlots)
		}
		return
	}
	h.id, s.free = uint64(s.free), ref
}

// resize moves the index into n (a power of two) slots.
func (s *heldStore) resize(n int) {
	old := s.slots
	var oldMap, b []byte
	if s.maps != nil {
		oldMap, s.maps.index = s.maps.index, nil
		if n*8 >= heldMinMapped {
			b = s.maps.mapAnon(n * 8)
		}
	}
	if b != nil {
		s.maps.index = b
		s.slots = unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), n)
	} else {
		s.slots = make([]uint64, n)
	}
	for _, sl := range old {
		if sl != 0 {
			slots.Put(s.slots, sl)
		}
	}
	s.maps.unmap(oldMap)
}

// intern returns the number of str in the table, counting one more
// record naming it, and the bytes a new entry adds to the account.
func (s *heldStore) intern(str string) (uint32, int64) {
	if i, ok := s.strIx[str]; ok {
		s.strs[i].refs++
		return i, 0
	}
	if s.strIx == nil {
		s.strIx = make(map[string]uint32)
	}
	var i uint32
	if k := len(s.strFree); k > 0 {
		i, s.strFree = s.strFree[k-1], s.strFree[:k-1]
	} else {
		i = uint32(len(s.strs))
		s.strs = append(s.strs, heldStr{})
	}
	s.strs[i] = heldStr{s: str, refs: 1}
	s.strIx[str] = i
	return i, strCost(str)
}

// unref counts one record fewer naming string i, and returns it and the
// bytes its entry gave back when none is left.
func (s *heldStore) unref(i uint32) (string, int64) {
	e := &s.strs[i]
	str := e.s
	if e.refs--; e.refs > 0 {
		return str, 0
	}
	delete(s.strIx, str)
	*e = heldStr{}
	s.strFree = append(s.strFree, i)
	return str, strCost(str)
}

// strCost is what an entry of the strings table holds: the string's
// bytes, its heldStr and its slot in strIx.
func strCost(s string) int64 {
	return int64((len(s)+7)&^7) + int64(unsafe.Sizeof(heldStr{})) + 2*int64(unsafe.Sizeof("")+4)
}

// heldDue is a held record whose TIME_WAIT is over, with where it was
// held, so that sorting them reads no record.
type heldDue struct {
	entry, a uint64 // Pos.Entry, Pos.A
	ref      uint32
	phase    uint8 // Pos.Phase
}

// pos is where d's record was held.
func (d *heldDue) pos() Pos { return Pos{Entry: d.entry, Phase: d.phase, A: d.a} }

// client is the record's client endpoint.
func (h *heldRec) client() netip.AddrPort {
	lo, hi := h.key.Endpoints()
	if h.flags&heldClientHi != 0 {
		return hi
	}
	return lo
}

// lending reports whether the sink borrows its records (Borrower), as
// endRecord asks.
func (a *Analyzer) lending() bool {
	l := &a.lend
	if !l.asked {
		l.asked = true
		b, ok := a.sink.(Borrower)
		l.on = ok && b.BorrowsRecords()
	}
	return l.on
}

// heldRecord is the record of rc, which is over but for a peer in
// TIME_WAIT, for Over and hold: lent when the sink borrows records and it
// likely fits the small form (no finding, no timeline), which keeps
// nothing of it.
func (a *Analyzer) heldRecord(rc *reassembly.Conn[conn]) *Conn {
	c := &rc.Data
	if a.lending() && len(c.findings(a)) == 0 && len(c.timeline(a)) == 0 {
		return c.endRecord(rc, a)
	}
	return c.record(rc, a)
}

// hold keeps rec, the record of rc which is over but for its peer tw in
// TIME_WAIT since twSince, until until: rec itself (or a copy of it, when
// lent) when it does not fit the small form.
func (a *Analyzer) hold(rc *reassembly.Conn[conn], rec *Conn, until, twSince int64, tw Dir) {
	s := &a.heldRecs
	if s.maps == nil && anonmem.CanMap {
		s.maps = &heldMaps{}
		runtime.AddCleanup(a, (*heldMaps).release, s.maps)
	}
	ref, h := s.add(&rc.Key)
	h.id, h.firstFrame, h.lastFrame = rec.ID, rec.FirstFrame, rec.LastFrame
	h.first, h.last, h.twSince = rc.First, rc.Last, twSince
	h.packets = [2]uint64{rec.ClientPackets, rec.ServerPackets}
	// A record is held in a sweep's phaseDue or at a segment's
	// phaseSegment, whose positions have no B.
	h.seqEntry, h.seqA, h.phase = a.pos.Entry, a.pos.A, a.pos.Phase
	h.clientISN = rc.Half[ClientToServer].ISN
	h.tw = tw
	if rc.Dir(true) == ClientToServer {
		h.flags |= heldClientHi
	}
	cost := heldCost
	if !a.pack(h, rec, rc.Data.endedEarly, &cost) {
		h.flags |= heldFull
		if s.full == nil {
			s.full = make(map[uint32]*Conn)
		}
		if rec == &a.lend.rec {
			cp := *rec // no finding, no timeline (heldRecord): its own
			rec = &cp
		}
		s.full[ref] = rec
		cost += heldFullCost + int64(len(rec.Timeline))*stepCost
	}
	a.heldBytes += cost
	a.held.set(ref, &h.tslot, until)
}

// pack fills in h the fields of rec beyond those hold sets, and reports
// whether rec fits the small form; cost grows by the strings it adds to
// the table.
func (a *Analyzer) pack(h *heldRec, rec *Conn, ended endReason, cost *int64) bool {
	hs := &rec.Handshake
	if len(rec.Findings) > 0 || len(rec.Timeline) > 0 || hs.SYNCount < 0 || hs.SYNCount > 0xffff ||
		hs.SYNACKCount < 0 || hs.SYNACKCount > 0xffff || ended.String() != rec.EndedEarly {
		return false
	}
	for i := range rec.Control {
		cc := &rec.Control[i]
		if max(cc.SYN, cc.SYNACK, cc.FIN, cc.RST) > 0xffff {
			return false
		}
		h.control[i] = [4]uint16{uint16(cc.SYN), uint16(cc.SYNACK), uint16(cc.FIN), uint16(cc.RST)}
	}
	s := &a.heldRecs
	in, c1 := s.intern(rec.Input)
	cs, c2 := s.intern(rec.ConnState)
	hi, c3 := s.intern(rec.History)
	*cost += c1 + c2 + c3
	if in > 0xffff || cs > 0xffff {
		for _, i := range [...]uint32{in, cs, hi} {
			_, c := s.unref(i)
			*cost -= c
		}
		return false
	}
	h.input, h.connState, h.history = uint16(in), uint16(cs), hi
	h.bytes = [2]uint64{rec.ClientBytes, rec.ServerBytes}
	h.rtt = hs.RTT
	h.syns, h.synacks = uint16(hs.SYNCount), uint16(hs.SYNACKCount)
	h.mss, h.wscale = hs.MSS, hs.WScale
	h.states = [2]State{rec.ClientState, rec.ServerState}
	h.ended = ended
	for _, f := range [...]struct {
		on  bool
		bit uint8
	}{{rec.RolesGuessed, heldRolesGuessed}, {rec.Midstream, heldMidstream},
		{hs.Complete, heldComplete}, {hs.HasRTT, heldHasRTT}, {hs.SACK, heldSACK}} {
		if f.on {
			h.flags |= f.bit
		}
	}
	return true
}

// unhold takes the record of ref out of the store, as hold was given it
// but for what late segments changed, and returns it.
func (a *Analyzer) unhold(ref uint32) *Conn {
	s := &a.heldRecs
	h := s.at(ref)
	a.held.remove(&h.tslot)
	var rec *Conn
	cost := heldCost
	if h.flags&heldFull != 0 {
		rec = s.full[ref]
		delete(s.full, ref)
		cost += heldFullCost + int64(len(rec.Timeline))*stepCost
	} else {
		rec = &a.lend.rec
		if !a.lending() {
			rec = new(Conn)
		}
		a.unpack(rec, h, &cost)
	}
	rec.End, rec.LastFrame = a.shiftOut(timeOf(h.last)), h.lastFrame
	rec.ClientPackets, rec.ServerPackets = h.packets[0], h.packets[1]
	a.heldBytes -= cost
	s.drop(ref)
	return rec
}

// unpack makes rec the record h holds in the small form; cost grows by
// the strings the table gives back.
func (a *Analyzer) unpack(rec *Conn, h *heldRec, cost *int64) {
	s := &a.heldRecs
	lo, hi := h.key.Endpoints()
	if h.flags&heldClientHi != 0 {
		lo, hi = hi, lo
	}
	in, c1 := s.unref(uint32(h.input))
	cs, c2 := s.unref(uint32(h.connState))
	hist, c3 := s.unref(h.history)
	*cost += c1 + c2 + c3
	*rec = Conn{
		ID:           h.id,
		Input:        in,
		Client:       lo,
		Server:       hi,
		RolesGuessed: h.flags&heldRolesGuessed != 0,
		FirstFrame:   h.firstFrame,
		Start:        a.shiftOut(timeOf(h.first)),
		ClientState:  h.states[0],
		ServerState:  h.states[1],
		ConnState:    cs,
		History:      hist,
		Handshake: Handshake{
			Complete:    h.flags&heldComplete != 0,
			RTT:         h.rtt,
			HasRTT:      h.flags&heldHasRTT != 0,
			SYNCount:    int(h.syns),
			SYNACKCount: int(h.synacks),
			MSS:         h.mss,
			WScale:      h.wscale,
			SACK:        h.flags&heldSACK != 0,
		},
		ClientBytes: h.bytes[0],
		ServerBytes: h.bytes[1],
		Midstream:   h.flags&heldMidstream != 0,
		EndedEarly:  h.ended.String(),
	}
	for i, c := range h.control {
		rec.Control[i] = ControlCounts{SYN: uint64(c[0]), SYNACK: uint64(c[1]), FIN: uint64(c[2]), RST: uint64(c[3])}
	}
}
