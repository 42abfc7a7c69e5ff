package analyze

import (
	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// segment is one segment's path through its connection, top to bottom:
// what its sender had received (settle), what sending it did to the sender
// (by kind, below), the window it advertised, its step in the timeline, and
// the conditions about waiting (judge). p is the sender, q the other peer.
func (c *conn) segment(rc *reassembly.Conn[conn], seg *capture.Segment, d Dir, cls reassembly.Class, a *Analyzer) {
	p := &c.p[d]
	f := seg.Flags
	t := rc.Last // seg's capture time
	c.z.Update(d == ClientToServer, seg)

	if !p.hasBase {
		p.hasBase = true
		p.base = seg.Seq
		if f&capture.SYN == 0 {
			p.base--
		}
	}
	if !c.started {
		c.start(rc, seg, d, a)
	}
	if d == ServerToClient && !c.answered {
		c.answered, c.answerTime, c.answerFrame = true, t, seg.Frame
	}

	c.settle(d, seg, a)

	switch {
	case f&capture.RST != 0:
		c.sentRST(rc, seg, d, a)
	case f&(capture.SYN|capture.ACK) == capture.SYN:
		c.sentSYN(rc, seg, d, a)
	case f&capture.SYN != 0:
		c.sentSYNACK(rc, seg, d, a)
	default:
		c.sentOther(rc, seg, d, cls, a)
	}

	switch {
	case c.p[d^1].finAcked:
		// The other peer's FIN is acknowledged: no data will come that
		// p's window could hold back.
		p.zero.stop(t, seg.Frame)
	case f&(capture.SYN|capture.FIN|capture.RST) == 0:
		c.window(p, seg, t)
	}
	if a.cfg.Timeline {
		c.step(seg, d, cls, a)
	}
	if !c.calm(t, a) {
		c.judge(rc, t, false, a)
	}
}

// start sets the initial states from the connection's first segment.
func (c *conn) start(rc *reassembly.Conn[conn], seg *capture.Segment, d Dir, a *Analyzer) {
	t := rc.Last
	c.started = true
	switch seg.Flags & (capture.SYN | capture.ACK) {
	case capture.SYN:
		// Both CLOSED until the SYN says otherwise.
	case capture.SYN | capture.ACK:
		// The client's SYN was not captured: it must have sent one, to a
		// listening server.
		c.synNotCaptured = true
		c.setState(d^1, afterSend(Closed, sendSYN), t, -1, a)
		c.setState(d, Listen, t, -1, a)
	default:
		c.midstream = true
		c.setState(ClientToServer, Established, t, -1, a)
		c.setState(ServerToClient, Established, t, -1, a)
		c.add(a, Finding{Kind: Midstream, Severity: Info, Frames: []uint64{seg.Frame}, Time: timeOf(t),
			Evidence: fmtS("first segment (frame %d, flags %s) carries no SYN: the handshake was not captured; both peers assumed ESTABLISHED", seg.Frame, seg.Flags)})
	}
}

func (c *conn) sentSYN(rc *reassembly.Conn[conn], seg *capture.Segment, d Dir, a *Analyzer) {
	p, q, t := &c.p[d], &c.p[d^1], rc.Last
	if d == ClientToServer {
		known := false
		for i := 0; i < int(c.nISN); i++ {
			if c.clientISNs[i] == seg.Seq {
				known = true
			}
		}
		if !known && int(c.nISN) < len(c.clientISNs) {
			c.clientISNs[c.nISN] = seg.Seq
			c.nISN++
		}
		c.lastSyn = t
	} else if q.state == SynSent && !c.simOpen {
		c.simOpen = true
		c.addNow(rc, a, Finding{Kind: SimultaneousOpen, Severity: Info,
			Frames: []uint64{q.syn.frame, seg.Frame}, Time: timeOf(t),
			Evidence: fmtS("the server sent its own SYN (seq %d, frame %d) while the client's SYN (frame %d) was still unanswered: the SYNs crossed",
				seg.Seq, seg.Frame, q.syn.frame)})
	}
	c.noteSyn(d, seg, t, a)
	c.setState(d, afterSend(p.state, sendSYN), t, -1, a)
	if seg.Len > 0 && p.once(repSynWithData) {
		tfo := ""
		if seg.Opts.FastOpen {
			tfo = " with a Fast Open option"
		}
		c.addNow(rc, a, Finding{Kind: SynWithData, Severity: Info, Frames: []uint64{seg.Frame}, Time: timeOf(t),
			By: roleName(d), Evidence: fmtS("SYN (frame %d) carries %d bytes of data%s (TCP Fast Open)", seg.Frame, seg.Len, tfo)})
	}
	c.addPend(p, pendSYN, seg.Seq, t, c.nextStep(a), a)
}

// noteSyn counts a SYN or SYN-ACK from peer d, remembering the first
// synKept.
func (c *conn) noteSyn(d Dir, seg *capture.Segment, t int64, a *Analyzer) {
	p, i := &c.p[d], 2*int(d)
	l := &p.syn
	if seg.Flags&capture.ACK != 0 {
		l, i = &p.synack, i+1
	}
	p.synISN, l.isn = seg.Seq, seg.Seq
	switch {
	case l.count == 0:
		l.frame, l.time = seg.Frame, t
	case l.count < synKept:
		tl := &c.x(a).syns[i]
		tl.frames[l.count-1], tl.times[l.count-1] = seg.Frame, t
	}
	l.count++
}

func (c *conn) sentSYNACK(rc *reassembly.Conn[conn], seg *capture.Segment, d Dir, a *Analyzer) {
	p, q, t := &c.p[d], &c.p[d^1], rc.Last
	valid := true
	if d == ServerToClient && c.nISN > 0 {
		// ISN_c+1 of any SYN seen, or beyond SYN data the server accepted
		// (TCP Fast Open).
		valid = seg.Ack == rc.Half[ClientToServer].Nxt
		for i := 0; i < int(c.nISN); i++ {
			if seg.Ack == c.clientISNs[i]+1 {
				valid = true
			}
		}
	} else if d == ClientToServer && q.syn.count > 0 {
		valid = seg.Ack == q.synISN+1
	}
	c.noteSyn(d, seg, t, a)
	c.setState(d, afterSend(p.state, sendSYNACK), t, -1, a)
	if !valid {
		c.badSynAck, c.badSynAckAck = true, seg.Ack
		if len(c.findingsOf(SynAckBadAck, a)) == 0 {
			want := c.clientISNs[0] + 1
			if d == ClientToServer {
				want = q.synISN + 1
			}
			ev := fmtS("SYN-ACK (frame %d) ack %d ≠ ISN_c+1 = %d", seg.Frame, seg.Ack, want)
			if c.nISN > 1 {
				ev += fmtS(" (nor any of the %d client ISNs seen)", c.nISN)
			}
			frames := []uint64{seg.Frame}
			if q.syn.count > 0 {
				frames = []uint64{q.syn.frame, seg.Frame}
			}
			c.addNow(rc, a, Finding{Kind: SynAckBadAck, Severity: Error, Frames: frames, Time: timeOf(t), By: roleName(d), Evidence: ev})
		}
		return
	}
	// synackValid is the server's SYN-ACK, the one missing_third_ack and
	// the third ACK are about. A SYN-ACK from the client (a simultaneous
	// open, or one that answers no SYN) is not it.
	if d == ServerToClient && !c.synackValid {
		c.synackValid, c.synackTime, c.synackFrame = true, t, seg.Frame
	}
	c.addPend(p, pendSYNACK, seg.Seq, t, c.nextStep(a), a)
}

// rstClass is how the receiver of a RST takes it.
type rstClass uint8

const (
	rstExact rstClass = iota
	rstInWindow
	rstOutside
)

func (c *conn) sentRST(rc *reassembly.Conn[conn], seg *capture.Segment, d Dir, a *Analyzer) {
	p, q, t := &c.p[d], &c.p[d^1], rc.Last
	if p.rstSent && seg.Seq == p.rstSeq {
		return // the same RST again
	}
	if d == ClientToServer && p.state == SynSent && c.badSynAck && !c.synackValid && seg.Seq == c.badSynAckAck {
		// RFC 9293 §3.10.7.3: a client in SYN-SENT answers an unacceptable
		// SYN-ACK with <SEQ=SEG.ACK><CTL=RST> and stays in SYN-SENT.
		if i := c.findingsOf(SynAckBadAck, a); len(i) > 0 {
			f := &c.mx(a).findings[i[0]]
			f.Frames = append(f.Frames, seg.Frame)
			f.Evidence += fmtS("; the client answered it with RST seq %d (frame %d) and stays in SYN_SENT, as RFC 9293 requires", seg.Seq, seg.Frame)
		}
		p.rstSent, p.rstFrame, p.rstSeq = false, seg.Frame, seg.Seq
		return
	}
	class, why := c.classifyRST(rc, seg, d)
	switch class {
	case rstInWindow:
		if p.once(repRstChallenge) {
			c.addNow(rc, a, Finding{Kind: RstChallengeable, Severity: Info, Frames: []uint64{seg.Frame}, Time: timeOf(t),
				By: roleName(d), Evidence: why})
		}
		return
	case rstOutside:
		if p.once(repRstInvalid) {
			c.addNow(rc, a, Finding{Kind: RstInvalid, Severity: Error, Frames: []uint64{seg.Frame}, Time: timeOf(t),
				By: roleName(d), Evidence: why})
		}
		return
	}
	who := roleName(d)
	switch {
	case d == ServerToClient && q.state == SynSent && p.state != SynRcvd && !c.synackValid:
		ev := fmtS("RST (frame %d, seq %d, ack %d = ISN_c+1) answers the SYN at frame %d: nobody listening on %s",
			seg.Frame, seg.Seq, seg.Ack, q.syn.frame, rc.Server())
		if q.syn.count > 1 {
			ev += fmtS(" (after %d SYNs)", q.syn.count)
		}
		c.addNow(rc, a, Finding{Kind: ConnectionRefused, Severity: Warning, Frames: []uint64{q.syn.frame, seg.Frame}, Time: timeOf(t),
			Duration: since(t, q.syn.time), HasDuration: true, By: who, Evidence: ev})
		c.hsDone = true
	case !c.midstream && !c.hsComplete && (p.state == SynSent || p.state == SynRcvd || q.state == SynRcvd || q.state == SynSent):
		synack := c.synackFrame
		if synack == 0 {
			synack = c.p[ServerToClient].synack.frame
		}
		frames := []uint64{seg.Frame}
		if synack != 0 {
			frames = []uint64{synack, seg.Frame}
		}
		c.addNow(rc, a, Finding{Kind: HandshakeReset, Severity: Warning, Frames: frames, Time: timeOf(t), By: who,
			Evidence: fmtS("RST from the %s (frame %d, seq %d) after the SYN-ACK (frame %d), before the handshake completed",
				who, seg.Frame, c.rel(d, seg.Seq), synack)})
		c.hsDone = true
	case p.state != Closed && p.state != TimeWait:
		ev := fmtS("RST from the %s (frame %d, seq %d = next expected seq) in %s", who, seg.Frame, c.rel(d, seg.Seq), p.state)
		frames := []uint64{seg.Frame}
		if p.finSent {
			ev += fmtS(", after its own FIN at frame %d", p.finFrame)
			frames = []uint64{p.finFrame, seg.Frame}
		} else if q.finSent {
			ev += fmtS(", after the %s's FIN at frame %d", roleName(d^1), q.finFrame)
		}
		if seg.Len > 0 {
			ev += fmtS("; the RST carries %d bytes", seg.Len)
		}
		c.addNow(rc, a, Finding{Kind: Reset, Severity: Warning, Frames: frames, Time: timeOf(t), By: who, Evidence: ev})
	}
	p.rstSent, p.rstFrame, p.rstSeq = true, seg.Frame, seg.Seq
	if !c.rstSeen {
		c.rstSeen, c.rstAt = true, t
	}
	p.quiet.cancel()
	// The receiver of a valid RST is CLOSED: its CLOSE_WAIT ends here.
	q.quiet.stop(t, seg.Frame)
	c.setState(d, afterSend(p.state, sendRST), t, -1, a)
	c.addPend(p, pendRST, seg.Seq, t, c.nextStep(a), a)
}

// classifyRST applies RFC 9293 §3.10.7 and RFC 5961 §3 as the receiver would.
func (c *conn) classifyRST(rc *reassembly.Conn[conn], seg *capture.Segment, d Dir) (rstClass, string) {
	q := &c.p[d^1]
	hp, hq := &rc.Half[d], &rc.Half[d^1]
	who := roleName(d)
	if q.state == SynSent && q.syn.count > 0 && d == ServerToClient && !c.synackValid {
		// Receiver in SYN-SENT: acceptable only if it acknowledges the SYN.
		if seg.Flags&capture.ACK != 0 && seg.Ack == q.synISN+1 {
			return rstExact, ""
		}
		if seg.Flags&capture.ACK == 0 {
			return rstOutside, fmtS("RST from the %s (frame %d) answers a SYN without an ACK: a client in SYN_SENT ignores it", who, seg.Frame)
		}
		return rstOutside, fmtS("RST from the %s (frame %d) ack %d ≠ ISN_c+1 = %d: a client in SYN_SENT ignores it", who, seg.Frame, seg.Ack, q.synISN+1)
	}
	if c.midstream && hp.Packets <= 1 {
		return rstExact, "" // nothing known to judge it by
	}
	// What the receiver expects next: the sender's next sequence number as
	// seen, or the highest the receiver acknowledged.
	nxt := hp.Nxt
	if hp.Packets <= 1 && hq.AckSeen {
		nxt = hq.MaxAck
	}
	if seg.Seq == nxt || (hq.AckSeen && seg.Seq == hq.MaxAck) {
		return rstExact, ""
	}
	lo := nxt
	if hq.AckSeen {
		lo = hq.MaxAck
	}
	win := uint32(hq.Win)
	if hq.WScale >= 0 && hp.WScale >= 0 {
		s := hq.WScale
		if s > 14 {
			s = 14
		}
		win <<= uint(s)
	} else if !hq.SynSeen || !hp.SynSeen {
		win <<= 7 // scale unknown (no handshake seen): be liberal
	}
	if win == 0 {
		win = 1
	}
	if reassembly.SeqInWindow(seg.Seq, lo, win) {
		return rstInWindow, fmtS("RST from the %s (frame %d) seq %d is inside the receiver's window [%d, %d) but ≠ RCV.NXT %d: RFC 5961 asks for a challenge ACK; state unchanged",
			who, seg.Frame, c.rel(d, seg.Seq), c.rel(d, lo), c.rel(d, lo+win), c.rel(d, lo))
	}
	off := reassembly.SeqDiff(seg.Seq, lo)
	return rstOutside, fmtS("RST from the %s (frame %d) seq %d is outside the receiver's window [%d, %d) (%+d from RCV.NXT): ignored by the receiver, likely injected",
		who, seg.Frame, c.rel(d, seg.Seq), c.rel(d, lo), c.rel(d, lo+win), off)
}

// sentOther is a segment without SYN or RST: in order, what it says of the
// handshake, its data, its acknowledgments and its FIN.
func (c *conn) sentOther(rc *reassembly.Conn[conn], seg *capture.Segment, d Dir, cls reassembly.Class, a *Analyzer) {
	p, t := &c.p[d], rc.Last
	if who := roleName(d); p.rstSent && p.once(repDataAfterReset) {
		c.addNow(rc, a, Finding{Kind: DataAfterReset, Severity: Warning, Frames: []uint64{p.rstFrame, seg.Frame}, Time: timeOf(t), By: who,
			Evidence: fmtS("the %s sent RST at frame %d and kept sending: frame %d (%s, len %d)", who, p.rstFrame, seg.Frame, seg.Flags, seg.Len)})
	}
	// Each step is taken only when it could apply (each says when), so
	// that an established peer's data or ack pays a few tests.
	if !c.hsDone || p.state == SynRcvd {
		c.sentInHandshake(rc, seg, d, a)
	}
	if seg.Len > 0 && (beforeHandshake(p.state) || p.finSent || p.quiet.on) {
		c.sentData(rc, seg, d, cls, a)
	}
	if q := &c.p[d^1]; seg.Flags&capture.ACK != 0 && (q.state == SynRcvd || q.finSent || seg.Ack == rc.Half[d^1].Nxt+1) {
		c.sentACK(rc, seg, d, a)
	}
	if seg.Flags&capture.FIN != 0 {
		c.sentFIN(seg, d, t, a)
	}
}

// sentInHandshake: the client's segment that completes the handshake, or
// the server's that shows it was completed out of sight.
func (c *conn) sentInHandshake(rc *reassembly.Conn[conn], seg *capture.Segment, d Dir, a *Analyzer) {
	p, q, t := &c.p[d], &c.p[d^1], rc.Last
	f := seg.Flags
	if d == ClientToServer && c.synackValid && !c.hsDone && !c.simOpen && f&capture.ACK != 0 {
		c.completeHandshake(rc, seg, a)
	}
	// The server sending in SYN_RCVD: it must have had the ACK we missed,
	// and the client in SYN_SENT the SYN-ACK.
	if d == ServerToClient && p.state == SynRcvd && f&capture.ACK != 0 && !c.midstream &&
		(seg.Len > 0 || f&capture.FIN != 0) && seg.Ack == q.synISN+1 {
		if !c.hsDone {
			c.hsDone, c.hsComplete = true, true
			c.hsEndTime, c.hsEndFrame = t, seg.Frame
			c.addNow(rc, a, Finding{Kind: ThirdAckNotCaptured, Severity: Info, Frames: []uint64{c.synackFrame, seg.Frame}, Time: timeOf(t), By: "client",
				Evidence: fmtS("the server sends at frame %d (seq %d, ack %d = ISN_c+1) as only an ESTABLISHED server does: the client's ACK completing the handshake was not captured", seg.Frame, c.rel(d, seg.Seq), c.rel(d^1, seg.Ack))})
		}
		c.setState(d, afterReceive(p.state, pendAckSYN), t, -1, a)
		if q.state == SynSent {
			c.setState(d^1, afterReceive(q.state, pendSYNACK), t, -1, a)
		}
	}
}

// sentData: payload from a peer not yet established or past its own FIN,
// and the end of a CLOSE_WAIT quiet stretch.
func (c *conn) sentData(rc *reassembly.Conn[conn], seg *capture.Segment, d Dir, cls reassembly.Class, a *Analyzer) {
	p, t := &c.p[d], rc.Last
	who := roleName(d)
	if !c.midstream && beforeHandshake(p.state) && !(p.state == Closed && p.rstSent) && p.once(repDataBeforeHS) {
		c.addNow(rc, a, Finding{Kind: DataBeforeHandshake, Severity: Warning, Frames: []uint64{seg.Frame}, Time: timeOf(t), By: who,
			Evidence: fmtS("the %s sent %d bytes (frame %d, seq %d) while in %s, before the handshake completed", who, seg.Len, seg.Frame, c.rel(d, seg.Seq), p.state)})
	}
	// (After an inferred FIN, data beyond it says the lost byte was data.)
	if p.finSent && !p.finInferred && reassembly.SeqGT(seg.Seq+seg.Len, p.finSeq) && p.once(repDataAfterFin) {
		c.addNow(rc, a, Finding{Kind: DataAfterFin, Severity: Error, Frames: []uint64{p.finFrame, seg.Frame}, Time: timeOf(t), By: who,
			Evidence: fmtS("the %s's FIN took seq %d (frame %d), then it sent data seq %d..%d (frame %d) beyond it", who, c.rel(d, p.finSeq), p.finFrame, c.rel(d, seg.Seq), c.rel(d, seg.Seq+seg.Len), seg.Frame)})
	}
	if cls == reassembly.New || cls == reassembly.Gap || cls == reassembly.ZeroWindowProbeNew {
		if p.quiet.on {
			p.quiet.stop(t, seg.Frame)
			p.quiet.start(t, seg.Frame)
		}
	}
}

// sentACK: acknowledgments of the other peer's SYN and FIN, pending until
// the other peer shows it received them.
func (c *conn) sentACK(rc *reassembly.Conn[conn], seg *capture.Segment, d Dir, a *Analyzer) {
	p, q, t := &c.p[d], &c.p[d^1], rc.Last
	if c.finProven(rc, seg, d) {
		c.inferFIN(rc, seg, d, a)
	}
	if q.state == SynRcvd && reassembly.SeqGT(seg.Ack, q.synISN) && reassembly.SeqLE(seg.Ack, rc.Half[d^1].Nxt) {
		c.addPend(p, pendAckSYN, q.synISN, t, c.nextStep(a), a)
	}
	if q.finSent && reassembly.SeqGT(seg.Ack, q.finSeq) {
		if !q.finAcked {
			q.finAcked, q.finAckFrame, q.finAckTime = true, seg.Frame, t
			if !p.finSent && !p.rstSent {
				p.quiet.start(t, seg.Frame)
			}
		}
		if q.state == FinWait1 || q.state == Closing || q.state == LastAck {
			c.addPend(p, pendAckFIN, q.finSeq, t, c.nextStep(a), a)
		}
	}
}

// sentFIN: the sender's first FIN moves it (FIN_WAIT_1 or LAST_ACK); a
// copy is counted; either is pending until acknowledged.
func (c *conn) sentFIN(seg *capture.Segment, d Dir, t int64, a *Analyzer) {
	p, q := &c.p[d], &c.p[d^1]
	fin := seg.Seq + seg.Len
	switch {
	case !p.finSent:
		p.finSent, p.finSeq, p.finCount = true, fin, 1
		p.finFrame, p.finLastFrame, p.finTime = seg.Frame, seg.Frame, t
		p.passive = q.finAcked || p.state == CloseWait
		p.quiet.stop(t, seg.Frame)
		c.setState(d, afterSend(p.state, sendFIN), t, -1, a)
	case fin == p.finSeq:
		p.finCount++
		p.finLastFrame = seg.Frame
	}
	c.addPend(p, pendFIN, p.finSeq, t, c.nextStep(a), a)
}

// finProven reports whether seg, from peer d, acknowledges one more than
// the other peer's last byte: only a FIN takes that sequence number, so the
// other peer sent one the capture missed (tcpdump -i any on loopback loses
// packets so).
func (c *conn) finProven(rc *reassembly.Conn[conn], seg *capture.Segment, d Dir) bool {
	q, hq := &c.p[d^1], &rc.Half[d^1]
	if seg.Flags&capture.RST != 0 || !hq.Seen || hq.FinSeen || q.finSent || q.rstSent {
		return false
	}
	if q.state != Established && q.state != CloseWait {
		return false
	}
	return seg.Ack == hq.Nxt+1
}

// inferFIN makes the FIN seg proves of the other peer as if it had been
// captured just before seg: the other peer's state follows it (FIN_WAIT_1,
// or LAST_ACK from CLOSE_WAIT), seg's sender received it, and the rest of
// seg acknowledges it. The record notes it in capture_incomplete.
func (c *conn) inferFIN(rc *reassembly.Conn[conn], seg *capture.Segment, d Dir, a *Analyzer) {
	p, q, hq, t := &c.p[d], &c.p[d^1], &rc.Half[d^1], rc.Last
	fin := hq.Nxt
	hq.Nxt++ // the FIN's sequence number
	hq.FinSeen, hq.FinSeq = true, fin
	rc.Half[d].AckUnseen.Dec() // the ack is explained: it acknowledges the FIN
	q.finSent, q.finSeq, q.finCount = true, fin, 1
	q.finFrame, q.finLastFrame, q.finTime = seg.Frame, seg.Frame, t
	q.finInferred, q.finProof, q.finProofAck = true, seg.Frame, seg.Ack
	q.passive = p.finAcked || q.state == CloseWait
	q.quiet.stop(t, seg.Frame)
	c.setState(d^1, afterSend(q.state, sendFIN), t, -1, a)
	c.receive(d, &pending{kind: pendFIN, count: 1, step: -1, seq: fin, time: t}, a)
}

// beforeHandshake reports whether a peer in s has not yet completed its
// handshake.
func beforeHandshake(s State) bool {
	switch s {
	case Closed, Listen, SynSent, SynRcvd:
		return true
	}
	return false
}

// completeHandshake judges the client's first ACK-bearing segment after a
// valid SYN-ACK.
func (c *conn) completeHandshake(rc *reassembly.Conn[conn], seg *capture.Segment, a *Analyzer) {
	client, server, t := &c.p[ClientToServer], &c.p[ServerToClient], rc.Last
	c.hsDone = true
	c.hsEndTime, c.hsEndFrame = t, seg.Frame
	wantSeq := client.syn.isn + 1
	if c.nISN > 0 {
		wantSeq = c.clientISNs[c.nISN-1] + 1
	}
	wantAck := server.synISN + 1
	// The client may have sent data (TFO, or before the SYN-ACK) since ISN_c+1.
	nxt := rc.Half[ClientToServer].Nxt - seg.SeqLen()
	seqOK := seg.Seq == wantSeq || c.synNotCaptured ||
		(reassembly.SeqGT(seg.Seq, wantSeq) && reassembly.SeqLE(seg.Seq, nxt))
	ackOK := seg.Ack == wantAck
	pure := seg.Len == 0 && seg.Flags&capture.FIN == 0
	switch {
	case ackOK && seqOK:
		c.hsComplete = true
		if c.nISN > 0 && c.lastSyn != reassembly.NoTime {
			c.rtt, c.hasRTT = since(t, c.lastSyn), true
			a.handshake(c.rtt)
		}
		if !pure {
			c.addNow(rc, a, Finding{Kind: ThirdAckNotCaptured, Severity: Info, Frames: []uint64{c.synackFrame, seg.Frame}, Time: timeOf(t), By: "client",
				Evidence: fmtS("no pure ACK completed the handshake; the client's first segment after the SYN-ACK (frame %d, len %d) has seq %d = ISN_c+1 and ack %d = ISN_s+1, so the ACK was not captured (or rode on the data)",
					seg.Frame, seg.Len, c.rel(ClientToServer, seg.Seq), c.rel(ServerToClient, seg.Ack))})
		}
	case ackOK && !pure && reassembly.SeqGT(seg.Seq, wantSeq):
		// Data beyond ISN_c+1 with the right ack: earlier segments were not captured.
		c.hsComplete = true
	default:
		var ev string
		switch {
		case !seqOK && !ackOK:
			ev = fmtS("the client's completing ACK (frame %d) has seq %d ≠ ISN_c+1 = %d and ack %d ≠ ISN_s+1 = %d", seg.Frame, seg.Seq, wantSeq, seg.Ack, wantAck)
		case !seqOK:
			ev = fmtS("the client's completing ACK (frame %d) has seq %d ≠ ISN_c+1 = %d", seg.Frame, seg.Seq, wantSeq)
		default:
			ev = fmtS("the client's completing ACK (frame %d) has ack %d ≠ ISN_s+1 = %d", seg.Frame, seg.Ack, wantAck)
		}
		c.addNow(rc, a, Finding{Kind: HandshakeBadAck, Severity: Error, Frames: []uint64{c.synackFrame, seg.Frame}, Time: timeOf(t), By: "client", Evidence: ev})
	}
}
