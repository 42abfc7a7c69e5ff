package analyze

import (
	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// record builds the connection's record as known now.
func (c *conn) record(rc *reassembly.Conn[conn], a *Analyzer) *Conn {
	cs, sc := &rc.Half[ClientToServer], &rc.Half[ServerToClient]
	r := &Conn{
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
	if fs := c.findings(a); len(fs) > 0 {
		r.Findings = make([]Finding, len(fs))
		copy(r.Findings, fs)
		for i := range r.Findings {
			r.Findings[i].Frames = append([]uint64(nil), r.Findings[i].Frames...)
		}
		sortFindings(r.Findings)
	}
	if tl := c.timeline(a); len(tl) > 0 {
		r.Timeline = append([]Step(nil), tl...)
	}
	return r
}
