package analyze

import (
	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// recordBox is a record with room for one finding resting on up to two
// frames, allocated as one.
type recordBox struct {
	c      Conn
	f      [1]Finding
	frames [2]uint64
}

// record builds the connection's record as known now.
func (c *conn) record(rc *reassembly.Conn[conn], a *Analyzer) *Conn {
	cs, sc := &rc.Half[ClientToServer], &rc.Half[ServerToClient]
	fs := c.findings(a)
	var (
		r        *Conn
		findings []Finding
		frames   []uint64 // room for the findings' frames
	)
	if len(fs) == 1 && len(fs[0].Frames) <= len(recordBox{}.frames) {
		// One allocation for the record of most connections with a
		// finding (every one a SYN flood evicts at the cap).
		b := new(recordBox)
		r, findings, frames = &b.c, b.f[:], b.frames[:0]
	} else {
		r = new(Conn)
		if len(fs) > 0 {
			findings = make([]Finding, len(fs))
			n := 0
			for i := range fs {
				n += len(fs[i].Frames)
			}
			frames = make([]uint64, 0, n)
		}
	}
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
		r.Timeline = append([]Step(nil), tl...)
	}
	return r
}
