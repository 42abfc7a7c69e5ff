package analyze

import (
	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// A Borrower is a Sink that can keep nothing of the records it is handed
// by End (and by Over, if it is an EventSink) once the call returns: not
// the *Conn, nor its Findings, their Frames or its Timeline (its strings it
// may keep). When BorrowsRecords says so, the records of the connections
// that end are all made in the same place, reused, with no allocation: a
// SYN flood at the cap ends a connection per segment.
type Borrower interface {
	Sink
	// BorrowsRecords reports whether the sink keeps nothing of its
	// records. It is asked once, at the first connection that ends.
	BorrowsRecords() bool
}

// lender is where the records of ending connections are made when the
// sink borrows them (Borrower).
type lender struct {
	asked, on bool
	rec       Conn
	findings  []Finding
	frames    []uint64
	timeline  []Step
}

// recordBox is a record with room for one finding resting on up to two
// frames, allocated as one.
type recordBox struct {
	c      Conn
	f      [1]Finding
	frames [2]uint64
}

// endRecord is record for a connection that ends now: its record goes to
// the sink, which may borrow it (Borrower).
func (c *conn) endRecord(rc *reassembly.Conn[conn], a *Analyzer) *Conn {
	l := &a.lend
	if !l.asked {
		l.asked = true
		b, ok := a.sink.(Borrower)
		l.on = ok && b.BorrowsRecords()
	}
	if !l.on {
		return c.record(rc, a)
	}
	fs := c.findings(a)
	if len(fs) > cap(l.findings) {
		l.findings = make([]Finding, len(fs))
	}
	n := 0
	for i := range fs {
		n += len(fs[i].Frames)
	}
	if n > cap(l.frames) {
		l.frames = make([]uint64, 0, n)
	}
	c.fill(&l.rec, rc, a, fs, l.findings[:len(fs)], l.frames[:0], l.timeline[:0])
	if cap(l.rec.Timeline) > cap(l.timeline) {
		l.timeline = l.rec.Timeline
	}
	return &l.rec
}

// record builds the connection's record as known now.
func (c *conn) record(rc *reassembly.Conn[conn], a *Analyzer) *Conn {
	fs := c.findings(a)
	if len(fs) == 1 && len(fs[0].Frames) <= len(recordBox{}.frames) {
		// One allocation for the record of most connections with a
		// finding (every one a SYN flood evicts at the cap).
		b := new(recordBox)
		c.fill(&b.c, rc, a, fs, b.f[:], b.frames[:0], nil)
		return &b.c
	}
	r := new(Conn)
	var (
		findings []Finding
		frames   []uint64 // room for the findings' frames
	)
	if len(fs) > 0 {
		findings = make([]Finding, len(fs))
		n := 0
		for i := range fs {
			n += len(fs[i].Frames)
		}
		frames = make([]uint64, 0, n)
	}
	c.fill(r, rc, a, fs, findings, frames, nil)
	return r
}

// fill makes r the connection's record as known now: its findings fs
// copied to findings (of their length), their frames to frames (with room
// for them all), its timeline appended to timeline.
func (c *conn) fill(r *Conn, rc *reassembly.Conn[conn], a *Analyzer, fs, findings []Finding, frames []uint64, timeline []Step) {
	cs, sc := &rc.Half[ClientToServer], &rc.Half[ServerToClient]
	*r = Conn{
		ID:            c.id,
		Input:         a.input,
		Client:        rc.Client(),
		Server:        rc.Server(),
		RolesGuessed:  rc.RolesGuessed,
		FirstFrame:    rc.FirstFrame,
		LastFrame:     rc.LastFrame,
		Start:         timeOf(rc.First),
		End:           timeOf(rc.Last),
		ClientState:   c.p[ClientToServer].state,
		ServerState:   c.p[ServerToClient].state,
		ConnState:     string(c.z.ConnState()),
		History:       c.z.History(),
		ClientBytes:   cs.Bytes,
		ServerBytes:   sc.Bytes,
		ClientPackets: cs.Packets,
		ServerPackets: sc.Packets,
		Midstream:     c.midstream,
		EndedEarly:    c.endedEarly.String(),
		Handshake: Handshake{
			Complete:    c.hsComplete,
			RTT:         c.rtt,
			HasRTT:      c.hasRTT,
			SYNCount:    int(c.p[ClientToServer].syn.count),
			SYNACKCount: int(c.p[ServerToClient].synack.count),
			MSS:         [2]uint16{cs.MSS, sc.MSS},
			WScale:      [2]int8{-1, -1},
			SACK:        cs.SACK && sc.SACK,
		},
	}
	for i, h := range [2]*reassembly.Half{cs, sc} {
		r.Control[i] = ControlCounts{SYN: h.Syns.N(), SYNACK: h.SynAcks.N(), FIN: h.Fins.N(), RST: h.Rsts.N()}
	}
	if cs.SynSeen {
		r.Handshake.WScale[0] = cs.WScale
	}
	if sc.SynSeen {
		r.Handshake.WScale[1] = sc.WScale
	}
	if len(fs) > 0 {
		r.Findings = findings
		copy(r.Findings, fs)
		for i := range r.Findings {
			f := &r.Findings[i]
			if len(f.Frames) == 0 {
				f.Frames = nil
				continue
			}
			n := len(frames)
			frames = append(frames, f.Frames...)
			f.Frames = frames[n:len(frames):len(frames)]
		}
		sortFindings(r.Findings)
	}
	if tl := c.timeline(a); len(tl) > 0 {
		r.Timeline = append(timeline, tl...)
	}
}
