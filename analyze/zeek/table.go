package zeek

import (
	"encoding/binary"
	"hash/fnv"
	"net/netip"
	"time"

	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// Zeek's conn.log has its own idea of where a connection begins and ends:
// a record ends when Zeek's timers remove the connection from its session
// table (the attempt timer on an unanswered SYN, the close delay after a
// complete close, the reset delay, inactivity ...) and the next packet on
// the tuple starts a new record; a SYN with a new sequence number on a
// closed connection does too (IsReuse). The analyzer's own records follow
// the TCP connection instead (RFC 9293: a SYN opens, TIME_WAIT ends), so
// the two can count a trace's connections differently. A Table is Zeek's
// session table; its Records match conn.log one to one.

// Record is one conn.log line: a connection as Zeek delimits it, with
// Zeek's orientation (Orig is Zeek's originator, which its port heuristics
// may have flipped: the history then starts with '^').
type Record struct {
	UID        string // Zeek's form: 'C' and base62 digits; deterministic per input
	Input      string
	Orig, Resp netip.AddrPort
	Start      time.Time // the first packet
	// End is Zeek's last time: it stops advancing once both sides have
	// closed, so the final ACK of a teardown is not in the duration.
	End                      time.Time
	OrigBytes, RespBytes     uint64 // from sequence numbers, as Zeek's Size()
	ConnState                ConnState
	History                  string
	MissedBytes              uint64 // payload bytes in content gaps (the 'g' letters)
	OrigPkts, RespPkts       uint64
	OrigIPBytes, RespIPBytes uint64 // IP bytes (headers included), as Zeek's conn size analyzer
	// TunnelParents are the uids of the tunnels the connection's segments
	// came in, as Zeek fills the field (base/protocols/conn/main.zeek): the
	// innermost encapsulating connection of each segment, each once, in
	// the order first seen (at most maxTunnelParents); nil outside tunnels.
	// The uids name the tunnel (its outer addresses, and ports for a tunnel
	// in UDP) and the input; Zeek's are those of its UDP connection or IP
	// tunnel, which conn.log and tunnel.log list and this tool does not.
	TunnelParents []string
}

// Duration is End - Start.
func (r *Record) Duration() time.Duration { return r.End.Sub(r.Start) }

// session is one entry of Zeek's session table.
type session struct {
	key            reassembly.Key
	client, server netip.AddrPort // the first packet's sender and receiver
	z              Tracker
	pkts, ipBytes  [2]uint64 // by the tracker's side: 0 = client
	born           uint64    // Table.Entry when it began
	tunnels        []uint64  // Segment.Tunnel of its segments, each once; nil outside tunnels
	prev, next     *session
	order          uint64 // its place in the order sessions started
	exp            int64  // its key in Table.exp: no later than its expiry
	hi             int32  // index+1 in Table.exp, 0 when not there
	// first is the first packet's time, the record's Start: exact even
	// where Unix nanoseconds overflow (past 2262), as the tracker's times
	// are; End is first plus the tracker's duration.
	first time.Time
}

// maxTunnelParents bounds the tunnels one record lists: Zeek's set grows
// when a connection moves between tunnels (tunnel_changed), which a real
// one does once or twice.
const maxTunnelParents = 8

// sweepEvery is how often, in capture time, the table looks for
// connections Zeek's timers would have removed.
const sweepEvery = time.Second

// Table is Zeek's session table: at most one connection per tuple, listed
// in the order they started so that records come out in a deterministic
// order. Feed it every segment in capture order (Add); it hands each
// record to its end function as Zeek would remove the connection. A Table
// is not safe for concurrent use.
type Table struct {
	end        func(*Record)
	byKey      map[reassembly.Key]*session
	head, tail *session
	free       *session
	nextSweep  time.Time
	removing   uint64 // born of the session whose record is being handed out
	exp        expiryHeap
	started    uint64     // sessions linked so far, for session.order
	due        []*session // scratch of Sweep

	// Entry numbers the segment being fed, as the caller counts them; a
	// session remembers the one it began at (Born), which orders records
	// made by tables that share a stream (package shard).
	Entry uint64
}

// NewTable returns an empty table that hands records to end.
func NewTable(end func(*Record)) *Table {
	return &Table{end: end, byKey: make(map[reassembly.Key]*session)}
}

// Add feeds one segment (bad-checksum ones included: Zeek finds or makes
// the connection before it checks the TCP checksum) to its connection,
// ending the tuple's current one first when Zeek would have removed it by
// now or the segment reuses the tuple. max bounds the table.
func (t *Table) Add(seg *capture.Segment, now time.Time, max int, input string) {
	t.Tick(now, input)
	key := reassembly.KeyOf(seg.Src, seg.Dst)
	s := t.byKey[key]
	if s != nil && (s.z.Expired(seg.Time) || s.z.IsReuse(seg.Src == s.client, seg)) {
		t.remove(s, input)
		s = nil
	}
	if s == nil {
		if len(t.byKey) >= max && t.head != nil {
			t.remove(t.head, input)
		}
		s = t.alloc()
		s.key, s.client, s.server, s.born, s.first = key, seg.Src, seg.Dst, t.Entry, seg.Time
		t.byKey[key] = s
		t.link(s)
	}
	fromClient := seg.Src == s.client
	i := 1
	if fromClient {
		i = 0
	}
	s.z.Update(fromClient, seg)
	t.noteExpiry(s)
	if seg.Tunnel != 0 {
		s.addTunnel(seg.Tunnel)
	}
	if !seg.BadChecksum && !seg.HeaderCut {
		// Zeek's conn size analyzer sees only what the TCP analyzer
		// processed.
		s.pkts[i]++
		s.ipBytes[i] += uint64(seg.IPLen)
	}
}

// Tick moves the table's clock to now, a segment's time: every second of
// capture time it ends the connections Zeek's timers would have removed
// (Add does it too; a table that shares a stream with others sees every
// segment's time, its own or not).
func (t *Table) Tick(now time.Time, input string) {
	if !t.nextSweep.IsZero() && !now.Before(t.nextSweep) {
		t.Sweep(now, input)
	}
	if t.nextSweep.IsZero() {
		t.nextSweep = now.Add(sweepEvery)
	}
}

// Born returns, while a record is being handed to the end function, the
// Entry its session began at.
func (t *Table) Born() uint64 { return t.removing }

// Sweep ends the connections Zeek's timers would have removed by now.
func (t *Table) Sweep(now time.Time, input string) {
	t.nextSweep = now.Add(sweepEvery)
	for _, s := range t.expired(now.UnixNano()) {
		t.remove(s, input)
	}
	clear(t.due)
}

// Flush ends every connection (the input is over).
func (t *Table) Flush(input string) {
	for t.head != nil {
		t.remove(t.head, input)
	}
	t.nextSweep = time.Time{}
}

// remove hands s's record to t.end and removes s from the table.
func (t *Table) remove(s *session, input string) {
	r := s.record(input)
	delete(t.byKey, s.key)
	t.unlink(s)
	if s.hi != 0 {
		t.exp.remove(s)
	}
	t.removing = s.born
	*s = session{next: t.free, tunnels: s.tunnels[:0]}
	t.free = s
	t.end(r)
}

func (t *Table) alloc() *session {
	if s := t.free; s != nil {
		t.free = s.next
		s.next = nil
		return s
	}
	return new(session)
}

func (t *Table) link(s *session) {
	t.started++
	s.order = t.started
	s.prev = t.tail
	if t.tail != nil {
		t.tail.next = s
	} else {
		t.head = s
	}
	t.tail = s
}

func (t *Table) unlink(s *session) {
	if s.prev != nil {
		s.prev.next = s.next
	} else {
		t.head = s.next
	}
	if s.next != nil {
		s.next.prev = s.prev
	} else {
		t.tail = s.prev
	}
	s.prev, s.next = nil, nil
}

// record builds s's conn.log line.
func (s *session) record(input string) *Record {
	z := &s.z
	o, r := z.side(true), z.side(false)
	ends := [2]netip.AddrPort{s.client, s.server}
	rec := &Record{
		Input:       input,
		Orig:        ends[o],
		Resp:        ends[r],
		Start:       s.first,
		End:         s.first.Add(time.Duration(z.last - z.start)),
		OrigBytes:   z.size(o),
		RespBytes:   z.size(r),
		ConnState:   z.ConnState(),
		History:     z.History(),
		MissedBytes: z.missed,
		OrigPkts:    s.pkts[o],
		RespPkts:    s.pkts[r],
		OrigIPBytes: s.ipBytes[o],
		RespIPBytes: s.ipBytes[r],
	}
	rec.UID = zeekUID(rec.Start, rec.Orig, rec.Resp, input)
	for _, tun := range s.tunnels {
		rec.TunnelParents = append(rec.TunnelParents, tunnelUID(tun, input))
	}
	return rec
}

// addTunnel notes that a segment came in tunnel tun.
func (s *session) addTunnel(tun uint64) {
	for _, t := range s.tunnels {
		if t == tun {
			return
		}
	}
	if len(s.tunnels) < maxTunnelParents {
		s.tunnels = append(s.tunnels, tun)
	}
}

// tunnelUID makes the uid of tunnel tun in Zeek's form, from the tunnel's
// identity and the input's name, as zeekUID does for connections.
func tunnelUID(tun uint64, input string) string {
	h := fnv.New128a()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], tun)
	h.Write(b[:])
	h.Write([]byte(input))
	return uid96(h.Sum(nil))
}

// zeekUID makes a uid of Zeek's form ('C' and up to 17 base62 digits of 96
// bits) from what identifies the record: its first packet's time and its
// tuple, and the input's name, so that uids are the same for the same
// input, every run, and differ between captures.
func zeekUID(start time.Time, orig, resp netip.AddrPort, input string) string {
	h := fnv.New128a()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(start.UnixNano()))
	h.Write(b[:])
	for _, ap := range [2]netip.AddrPort{orig, resp} {
		a := ap.Addr().As16()
		h.Write(a[:])
		binary.BigEndian.PutUint16(b[:2], ap.Port())
		h.Write(b[:2])
	}
	h.Write([]byte(input))
	return uid96(h.Sum(nil))
}

// uid96 is the uid of Zeek's form made of the first 96 bits of sum.
func uid96(sum []byte) string {
	hi := uint64(binary.BigEndian.Uint32(sum[:4]))
	lo := binary.BigEndian.Uint64(sum[4:12])
	return string(appendBase62x96(append(make([]byte, 0, 18), 'C'), hi, lo))
}

// appendBase62x96 appends the 96-bit number hi<<64|lo in base 62, most
// significant digit first.
func appendBase62x96(b []byte, hi, lo uint64) []byte {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var tmp [17]byte
	i := len(tmp)
	for {
		// Divide the 96-bit number by 62 in 32-bit limbs.
		limbs := [3]uint64{hi & 0xffffffff, lo >> 32, lo & 0xffffffff}
		var rem uint64
		for k := range limbs {
			cur := rem<<32 | limbs[k]
			limbs[k], rem = cur/62, cur%62
		}
		hi, lo = limbs[0], limbs[1]<<32|limbs[2]
		i--
		tmp[i] = digits[rem]
		if hi == 0 && lo == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}
