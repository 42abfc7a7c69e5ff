package shard

import "github.com/tcpflow-check/tcpflow-check/analyze"

// idMap turns entry numbers into connection ids: the id of the
// connection an entry created is one more than the connections created
// before it. It holds the connections whose record is not final yet, and
// the one each may have replaced on its tuple, whose id the port_reused
// evidence names: as many as are open, not one per packet.
//
// Every ended connection costs a few lookups, and a Go map of a million
// open connections misses the cache at each: a flood of new connections
// spent most of the merge there. So the entries of a page (pageSize
// consecutive entries) keep their ids, and the connection each replaced,
// in arrays, six bytes an entry, while the page holds at least pageKeep
// of them; a page's last few go to maps (old, prev), which so hold the few
// long-lived connections of each page.
type idMap struct {
	next   uint64            // ids handed out
	pages  []*idPage         // by page number, from first; nil once let go
	first  uint64            // the page number of pages[0]
	old    map[uint64]uint64 // entry → id, of pages let go
	prev   map[uint64]uint64 // entry → the entry of the connection it replaced
	linked uint64            // the entry whose first record ended was kept
	spare  *idPage           // a page let go, to reuse
}

const (
	pageBits = 12
	pageSize = 1 << pageBits // entries a page covers
	pageKeep = 512           // fewer ids than this: the page goes to old
)

type idPage struct {
	base uint64           // the id before the page's first
	n    int              // entries holding an id
	made int              // ids given in the page
	off  [pageSize]uint16 // id - base, 0 for none
	prev [pageSize]uint32 // the entry minus that of the connection it replaced, 0 for none
}

// page returns the page of entry e, nil if it was let go or never made.
func (m *idMap) page(e uint64) (*idPage, int) {
	p := (e - 1) >> pageBits
	if p < m.first || p-m.first >= uint64(len(m.pages)) {
		return nil, 0
	}
	return m.pages[p-m.first], int((e - 1) & (pageSize - 1))
}

// created gives the connection entry e created the next id; e is later
// than every entry before.
func (m *idMap) created(e uint64) {
	m.next++
	p := (e - 1) >> pageBits
	if len(m.pages) == 0 {
		m.first = p
	}
	for m.first+uint64(len(m.pages)) <= p {
		m.pages = append(m.pages, nil)
		if n := len(m.pages); n > 1 {
			m.settle(m.first + uint64(n) - 2) // it will get no more
		}
	}
	pg := m.pages[p-m.first]
	if pg == nil {
		pg = m.spare
		m.spare = nil
		if pg == nil {
			pg = new(idPage)
		}
		pg.base, pg.made = m.next-1, 0
		m.pages[p-m.first] = pg
	}
	pg.off[(e-1)&(pageSize-1)] = uint16(m.next - pg.base)
	pg.n++
	pg.made++
}

// id is the id of the connection entry e created.
func (m *idMap) id(e uint64) uint64 {
	if pg, i := m.page(e); pg != nil {
		if o := pg.off[i]; o != 0 {
			return pg.base + uint64(o)
		}
		return 0
	}
	return m.old[e]
}

// forget drops the id of entry e.
func (m *idMap) forget(e uint64) {
	p := (e - 1) >> pageBits
	pg, i := m.page(e)
	if pg == nil {
		delete(m.old, e)
		return
	}
	if pg.off[i] == 0 {
		return
	}
	pg.off[i] = 0
	pg.n--
	m.settle(p)
}

// settle lets page p go to old when few ids are left in it and it gets no
// more (a later page was made), and drops the pages let go at the front.
func (m *idMap) settle(p uint64) {
	pg := m.pages[p-m.first]
	last := m.first + uint64(len(m.pages)) - 1
	if pg == nil || pg.n >= pageKeep || (p == last && pg.n > 0) {
		return
	}
	if pg.n > 0 && m.old == nil {
		m.old = make(map[uint64]uint64)
	}
	for i, o := range pg.off {
		if o == 0 {
			continue
		}
		e := p<<pageBits + uint64(i) + 1
		m.old[e] = pg.base + uint64(o)
		if d := pg.prev[i]; d != 0 {
			m.setPrev(e, e-uint64(d), nil, 0)
		}
	}
	clear(pg.off[:])
	clear(pg.prev[:])
	pg.n = 0
	m.pages[p-m.first] = nil
	m.spare = pg
	k := 0
	for k < len(m.pages)-1 && m.pages[k] == nil {
		k++
	}
	if k > 0 {
		m.first += uint64(k)
		m.pages = append(m.pages[:0], m.pages[k:]...)
	}
}

// ended forgets the connection entry x created, whose record was final at
// pos, unless pos's entry created a connection (replaced says so) which it
// may have replaced: a reused port or a record held in TIME_WAIT ends
// first, before the entry's limits end others, so the first record to end
// there is kept for the new connection's evidence until that one ends.
func (m *idMap) ended(x uint64, pos analyze.Pos, replaced bool) {
	if v := m.takePrev(x); v != 0 {
		m.forget(v)
	}
	if replaced && pos.OfSegment() && x != pos.Entry && m.linked != pos.Entry {
		m.linked = pos.Entry
		if pg, i := m.page(pos.Entry); m.id(pos.Entry) != 0 {
			m.setPrev(pos.Entry, x, pg, i)
			return
		}
	}
	m.forget(x)
}

// setPrev notes that the connection of entry e replaced that of entry x;
// pg and i are e's page and place (pg nil: none).
func (m *idMap) setPrev(e, x uint64, pg *idPage, i int) {
	if d := e - x; pg != nil && d < 1<<32 {
		pg.prev[i] = uint32(d)
		return
	}
	if m.prev == nil {
		m.prev = make(map[uint64]uint64)
	}
	m.prev[e] = x
}

// takePrev returns (and forgets) the entry of the connection entry x's
// replaced, 0 when none.
func (m *idMap) takePrev(x uint64) uint64 {
	if pg, i := m.page(x); pg != nil {
		if d := pg.prev[i]; d != 0 {
			pg.prev[i] = 0
			return x - uint64(d)
		}
	}
	if len(m.prev) == 0 {
		return 0
	}
	v := m.prev[x]
	delete(m.prev, x)
	return v
}
