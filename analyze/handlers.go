package analyze

import (
	"fmt"

	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

func fmtS(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// add appends a finding and returns its index.
func (c *conn) add(f Finding) int {
	c.findings = append(c.findings, f)
	return len(c.findings) - 1
}

// addNow appends a finding and hands it to the sink at once.
func (c *conn) addNow(rc *reassembly.Conn[conn], a *Analyzer, f Finding) {
	i := c.add(f)
	a.emit(rc, &c.findings[i])
}

func (c *conn) onSYN(rc *reassembly.Conn[conn], seg *capture.Segment, d Dir, a *Analyzer) {
	P, Q := &c.p[d], &c.p[d^1]
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
		c.lastSyn = seg.Time
	} else if Q.state == SynSent && !c.simOpen {
		c.simOpen = true
		c.addNow(rc, a, Finding{Kind: SimultaneousOpen, Severity: Info,
			Frames: []uint64{Q.syn.frames[0], seg.Frame}, Time: seg.Time,
			Evidence: fmtS("the server sent its own SYN (seq %d, frame %d) while the client's SYN (frame %d) was still unanswered: the SYNs crossed",
				seg.Seq, seg.Frame, Q.syn.frames[0])})
	}
	c.noteSyn(P, seg)
	switch P.state {
	case Closed, Listen:
		P.state = SynSent
	}
	if seg.Len > 0 && P.reported&repSynWithData == 0 {
		P.reported |= repSynWithData
		tfo := ""
		if seg.Opts.FastOpen {
			tfo = " with a Fast Open option"
		}
		c.addNow(rc, a, Finding{Kind: SynWithData, Severity: Info, Frames: []uint64{seg.Frame}, Time: seg.Time,
			By: roleName(d), Evidence: fmtS("SYN (frame %d) carries %d bytes of data%s (TCP Fast Open)", seg.Frame, seg.Len, tfo)})
	}
	c.addPend(P, pendSYN, seg.Seq, seg, c.nextStep())
}

func (c *conn) noteSyn(P *peer, seg *capture.Segment) {
	P.synISN = seg.Seq
	if seg.Flags&capture.ACK != 0 {
		P.synack.note(seg.Seq, seg.Frame, seg.Time)
	} else {
		P.syn.note(seg.Seq, seg.Frame, seg.Time)
	}
}

func (c *conn) onSYNACK(rc *reassembly.Conn[conn], seg *capture.Segment, d Dir, a *Analyzer) {
	P, Q := &c.p[d], &c.p[d^1]
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
	} else if d == ClientToServer && Q.syn.count > 0 {
		valid = seg.Ack == Q.synISN+1
	}
	c.noteSyn(P, seg)
	switch P.state {
	case Closed, Listen, SynSent:
		P.state = SynRcvd
	}
	if !valid {
		c.badSynAck, c.badSynAckAck = true, seg.Ack
		if len(c.findingsOf(SynAckBadAck)) == 0 {
			want := c.clientISNs[0] + 1
			if d == ClientToServer {
				want = Q.synISN + 1
			}
			ev := fmtS("SYN-ACK (frame %d) ack %d ≠ ISN_c+1 = %d", seg.Frame, seg.Ack, want)
			if c.nISN > 1 {
				ev += fmtS(" (nor any of the %d client ISNs seen)", c.nISN)
			}
			frames := []uint64{seg.Frame}
			if Q.syn.count > 0 {
				frames = []uint64{Q.syn.frames[0], seg.Frame}
			}
			c.addNow(rc, a, Finding{Kind: SynAckBadAck, Severity: Error, Frames: frames, Time: seg.Time, By: roleName(d), Evidence: ev})
		}
		return
	}
	if !c.synackValid {
		c.synackValid, c.synackTime, c.synackFrame = true, seg.Time, seg.Frame
	}
	c.addPend(P, pendSYNACK, seg.Seq, seg, c.nextStep())
}

// rstValidity classifies an RST from P against what its receiver expects.
type rstClass uint8

const (
	rstExact rstClass = iota
	rstInWindow
	rstOutside
)

func (c *conn) onRST(rc *reassembly.Conn[conn], seg *capture.Segment, d Dir, a *Analyzer) {
	P, Q := &c.p[d], &c.p[d^1]
	if P.rstSent && seg.Seq == P.rstSeq {
		return // the same RST again
	}
	if d == ClientToServer && P.state == SynSent && c.badSynAck && !c.synackValid && seg.Seq == c.badSynAckAck {
		// RFC 9293 §3.10.7.3: a client in SYN-SENT answers an unacceptable
		// SYN-ACK with <SEQ=SEG.ACK><CTL=RST> and stays in SYN-SENT.
		if i := c.findingsOf(SynAckBadAck); len(i) > 0 {
			f := &c.findings[i[0]]
			f.Frames = append(f.Frames, seg.Frame)
			f.Evidence += fmtS("; the client answered it with RST seq %d (frame %d) and stays in SYN_SENT, as RFC 9293 requires", seg.Seq, seg.Frame)
		}
		P.rstSent, P.rstFrame, P.rstTime, P.rstSeq = false, seg.Frame, seg.Time, seg.Seq
		return
	}
	class, why := c.classifyRST(rc, seg, d)
	switch class {
	case rstInWindow:
		if P.reported&repRstChallenge == 0 {
			P.reported |= repRstChallenge
			c.addNow(rc, a, Finding{Kind: RstChallengeable, Severity: Info, Frames: []uint64{seg.Frame}, Time: seg.Time,
				By: roleName(d), Evidence: why})
		}
		return
	case rstOutside:
		if P.reported&repRstInvalid == 0 {
			P.reported |= repRstInvalid
			c.addNow(rc, a, Finding{Kind: RstInvalid, Severity: Error, Frames: []uint64{seg.Frame}, Time: seg.Time,
				By: roleName(d), Evidence: why})
		}
		return
	}
	who := roleName(d)
	switch {
	case d == ServerToClient && Q.state == SynSent && P.state != SynRcvd && !c.synackValid:
		ev := fmtS("RST (frame %d, seq %d, ack %d = ISN_c+1) answers the SYN at frame %d: nobody listening on %s",
			seg.Frame, seg.Seq, seg.Ack, Q.syn.frames[0], rc.Server)
		if Q.syn.count > 1 {
			ev += fmtS(" (after %d SYNs)", Q.syn.count)
		}
		c.addNow(rc, a, Finding{Kind: ConnectionRefused, Severity: Warning, Frames: []uint64{Q.syn.frames[0], seg.Frame}, Time: seg.Time,
			Duration: seg.Time.Sub(Q.syn.times[0]), HasDuration: true, By: who, Evidence: ev})
		c.hsDone = true
	case !c.midstream && !c.hsComplete && (P.state == SynSent || P.state == SynRcvd || Q.state == SynRcvd || Q.state == SynSent):
		synack := c.synackFrame
		if synack == 0 {
			synack = c.p[ServerToClient].synack.frames[0]
		}
		frames := []uint64{seg.Frame}
		if synack != 0 {
			frames = []uint64{synack, seg.Frame}
		}
		c.addNow(rc, a, Finding{Kind: HandshakeReset, Severity: Warning, Frames: frames, Time: seg.Time, By: who,
			Evidence: fmtS("RST from the %s (frame %d, seq %d) after the SYN-ACK (frame %d), before the handshake completed",
				who, seg.Frame, c.rel(d, seg.Seq), synack)})
		c.hsDone = true
	case P.state != Closed && P.state != TimeWait:
		ev := fmtS("RST from the %s (frame %d, seq %d = next expected seq) in %s", who, seg.Frame, c.rel(d, seg.Seq), P.state)
		frames := []uint64{seg.Frame}
		if P.finSent {
			ev += fmtS(", after its own FIN at frame %d", P.finFrame)
			frames = []uint64{P.finFrame, seg.Frame}
		} else if Q.finSent {
			ev += fmtS(", after the %s's FIN at frame %d", roleName(d^1), Q.finFrame)
		}
		if seg.Len > 0 {
			ev += fmtS("; the RST carries %d bytes", seg.Len)
		}
		c.addNow(rc, a, Finding{Kind: Reset, Severity: Warning, Frames: frames, Time: seg.Time, By: who, Evidence: ev})
	}
	P.rstSent, P.rstFrame, P.rstTime, P.rstSeq = true, seg.Frame, seg.Time, seg.Seq
	if !c.rstSeen {
		c.rstSeen, c.rstAt = true, seg.Time
	}
	P.quietOn = false
	P.state = Closed
	c.addPend(P, pendRST, seg.Seq, seg, c.nextStep())
}

// classifyRST applies RFC 9293 §3.10.7 and RFC 5961 §3 as the receiver would.
func (c *conn) classifyRST(rc *reassembly.Conn[conn], seg *capture.Segment, d Dir) (rstClass, string) {
	Q := &c.p[d^1]
	hP, hQ := &rc.Half[d], &rc.Half[d^1]
	who := roleName(d)
	if Q.state == SynSent && Q.syn.count > 0 && d == ServerToClient && !c.synackValid {
		// Receiver in SYN-SENT: acceptable only if it acknowledges the SYN.
		if seg.Flags&capture.ACK != 0 && seg.Ack == Q.synISN+1 {
			return rstExact, ""
		}
		if seg.Flags&capture.ACK == 0 {
			return rstOutside, fmtS("RST from the %s (frame %d) answers a SYN without an ACK: a client in SYN_SENT ignores it", who, seg.Frame)
		}
		return rstOutside, fmtS("RST from the %s (frame %d) ack %d ≠ ISN_c+1 = %d: a client in SYN_SENT ignores it", who, seg.Frame, seg.Ack, Q.synISN+1)
	}
	if c.midstream && hP.Packets <= 1 {
		return rstExact, "" // nothing known to judge it by
	}
	// What the receiver expects next: the sender's next sequence number as
	// seen, or the highest the receiver acknowledged.
	nxt := hP.Nxt
	if hP.Packets <= 1 && hQ.AckSeen {
		nxt = hQ.MaxAck
	}
	if seg.Seq == nxt || (hQ.AckSeen && seg.Seq == hQ.MaxAck) {
		return rstExact, ""
	}
	lo := nxt
	if hQ.AckSeen {
		lo = hQ.MaxAck
	}
	win := uint32(hQ.Win)
	if hQ.WScale >= 0 && hP.WScale >= 0 {
		s := hQ.WScale
		if s > 14 {
			s = 14
		}
		win <<= uint(s)
	} else if !hQ.SynSeen || !hP.SynSeen {
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

func (c *conn) onOther(rc *reassembly.Conn[conn], seg *capture.Segment, d Dir, cls reassembly.Class, a *Analyzer) {
	P, Q := &c.p[d], &c.p[d^1]
	f := seg.Flags
	who := roleName(d)
	if P.rstSent && P.reported&repDataAfterReset == 0 {
		P.reported |= repDataAfterReset
		c.addNow(rc, a, Finding{Kind: DataAfterReset, Severity: Warning, Frames: []uint64{P.rstFrame, seg.Frame}, Time: seg.Time, By: who,
			Evidence: fmtS("the %s sent RST at frame %d and kept sending: frame %d (%s, len %d)", who, P.rstFrame, seg.Frame, f, seg.Len)})
	}

	// The handshake's completing segment.
	if d == ClientToServer && c.synackValid && !c.hsDone && !c.simOpen && f&capture.ACK != 0 {
		c.completeHandshake(rc, seg, a)
	}
	// The server sending in SYN_RCVD: it must have had the ACK we missed.
	if d == ServerToClient && P.state == SynRcvd && f&capture.ACK != 0 && !c.midstream &&
		(seg.Len > 0 || f&capture.FIN != 0) && seg.Ack == Q.synISN+1 {
		if !c.hsDone {
			c.hsDone, c.hsComplete = true, true
			c.hsEndTime, c.hsEndFrame = seg.Time, seg.Frame
			c.addNow(rc, a, Finding{Kind: ThirdAckNotCaptured, Severity: Info, Frames: []uint64{c.synackFrame, seg.Frame}, Time: seg.Time, By: "client",
				Evidence: fmtS("the server sends at frame %d (seq %d, ack %d = ISN_c+1) as only an ESTABLISHED server does: the client's ACK completing the handshake was not captured", seg.Frame, c.rel(d, seg.Seq), c.rel(d^1, seg.Ack))})
		}
		c.enter(d, Established, seg.Time)
		if Q.state == SynSent {
			c.enter(d^1, Established, seg.Time)
		}
	}

	if seg.Len > 0 && !c.midstream && P.reported&repDataBeforeHS == 0 {
		switch P.state {
		case Closed, Listen, SynSent, SynRcvd:
			if !(P.state == Closed && P.rstSent) {
				P.reported |= repDataBeforeHS
				c.addNow(rc, a, Finding{Kind: DataBeforeHandshake, Severity: Warning, Frames: []uint64{seg.Frame}, Time: seg.Time, By: who,
					Evidence: fmtS("the %s sent %d bytes (frame %d, seq %d) while in %s, before the handshake completed", who, seg.Len, seg.Frame, c.rel(d, seg.Seq), P.state)})
			}
		}
	}
	if seg.Len > 0 && P.finSent && reassembly.SeqGT(seg.Seq+seg.Len, P.finSeq) && P.reported&repDataAfterFin == 0 {
		P.reported |= repDataAfterFin
		c.addNow(rc, a, Finding{Kind: DataAfterFin, Severity: Error, Frames: []uint64{P.finFrame, seg.Frame}, Time: seg.Time, By: who,
			Evidence: fmtS("the %s's FIN took seq %d (frame %d), then it sent data seq %d..%d (frame %d) beyond it", who, c.rel(d, P.finSeq), P.finFrame, c.rel(d, seg.Seq), c.rel(d, seg.Seq+seg.Len), seg.Frame)})
	}
	if seg.Len > 0 && (cls == reassembly.New || cls == reassembly.Gap) {
		P.dataAt = seg.Time
		if P.quietOn {
			c.endQuiet(P, seg)
			P.quietOn, P.quietSince, P.quietFrame = true, seg.Time, seg.Frame
		}
	}

	// The ACK part: acknowledgments of the other peer's SYN and FIN.
	if f&capture.ACK != 0 {
		if Q.state == SynRcvd && reassembly.SeqGT(seg.Ack, Q.synISN) && reassembly.SeqLE(seg.Ack, rc.Half[d^1].Nxt) {
			c.addPend(P, pendAckSYN, Q.synISN, seg, c.nextStep())
		}
		if Q.finSent && reassembly.SeqGT(seg.Ack, Q.finSeq) {
			if !Q.finAcked {
				Q.finAcked, Q.finAckFrame, Q.finAckTime = true, seg.Frame, seg.Time
				if !P.finSent && !P.rstSent {
					P.quietOn, P.quietSince, P.quietFrame = true, seg.Time, seg.Frame
				}
			}
			if Q.state == FinWait1 || Q.state == Closing || Q.state == LastAck {
				c.addPend(P, pendAckFIN, Q.finSeq, seg, c.nextStep())
			}
		}
	}

	// The FIN part.
	if f&capture.FIN != 0 {
		fin := seg.Seq + seg.Len
		switch {
		case !P.finSent:
			P.finSent, P.finSeq, P.finCount = true, fin, 1
			P.finFrame, P.finLastFrame, P.finTime = seg.Frame, seg.Frame, seg.Time
			P.passive = Q.finAcked || P.state == CloseWait
			if P.quietOn {
				c.endQuiet(P, seg)
				P.quietOn = false
			}
			switch P.state {
			case Established, SynRcvd:
				c.enter(d, FinWait1, seg.Time)
			case CloseWait:
				c.enter(d, LastAck, seg.Time)
			}
		case fin == P.finSeq:
			P.finCount++
			P.finLastFrame = seg.Frame
		}
		c.addPend(P, pendFIN, P.finSeq, seg, c.nextStep())
	}
}

// completeHandshake judges the client's first ACK-bearing segment after a
// valid SYN-ACK.
func (c *conn) completeHandshake(rc *reassembly.Conn[conn], seg *capture.Segment, a *Analyzer) {
	C, S := &c.p[ClientToServer], &c.p[ServerToClient]
	c.hsDone = true
	c.hsEndTime, c.hsEndFrame = seg.Time, seg.Frame
	wantSeq := C.syn.isn + 1
	if c.nISN > 0 {
		wantSeq = c.clientISNs[c.nISN-1] + 1
	}
	wantAck := S.synISN + 1
	// The client may have sent data (TFO, or before the SYN-ACK) since ISN_c+1.
	nxt := rc.Half[ClientToServer].Nxt - seg.SeqLen()
	seqOK := seg.Seq == wantSeq || c.synNotCaptured ||
		(reassembly.SeqGT(seg.Seq, wantSeq) && reassembly.SeqLE(seg.Seq, nxt))
	ackOK := seg.Ack == wantAck
	pure := seg.Len == 0 && seg.Flags&capture.FIN == 0
	switch {
	case ackOK && seqOK:
		c.hsComplete = true
		if !c.lastSyn.IsZero() {
			c.rtt, c.hasRTT = seg.Time.Sub(c.lastSyn), true
		}
		if !pure {
			c.addNow(rc, a, Finding{Kind: ThirdAckNotCaptured, Severity: Info, Frames: []uint64{c.synackFrame, seg.Frame}, Time: seg.Time, By: "client",
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
		c.addNow(rc, a, Finding{Kind: HandshakeBadAck, Severity: Error, Frames: []uint64{c.synackFrame, seg.Frame}, Time: seg.Time, By: "client", Evidence: ev})
	}
}

// endQuiet closes P's current CLOSE_WAIT quiet period at seg.
func (c *conn) endQuiet(P *peer, seg *capture.Segment) {
	if d := seg.Time.Sub(P.quietSince); d > P.quietLong {
		P.quietLong, P.quietLongAt, P.quietEnd = d, P.quietFrame, seg.Frame
	}
}

// window tracks zero windows advertised by P.
func (c *conn) window(P *peer, seg *capture.Segment) {
	if seg.Window == 0 {
		if !P.zeroOn {
			P.zeroOn, P.zeroSince, P.zeroFrame = true, seg.Time, seg.Frame
		}
		return
	}
	if P.zeroOn {
		P.zeroOn = false
		if d := seg.Time.Sub(P.zeroSince); d > P.zeroLong {
			P.zeroLong, P.zeroLongFrame, P.zeroEndFrame = d, P.zeroFrame, seg.Frame
		}
	}
}

// step appends seg to the timeline.
func (c *conn) step(rc *reassembly.Conn[conn], seg *capture.Segment, d Dir, cls reassembly.Class) {
	P := &c.p[d]
	if len(c.timeline) >= c.cfg.MaxTimeline {
		return
	}
	st := Step{Frame: seg.Frame, Time: seg.Time, Dir: d, Flags: seg.Flags, Seq: c.rel(d, seg.Seq), Len: seg.Len,
		Window: seg.Window, ClientState: c.p[0].state, ServerState: c.p[1].state, Note: cls.String()}
	if seg.Flags&capture.ACK != 0 {
		st.Ack = c.rel(d^1, seg.Ack)
	}
	P.lastStep = int32(len(c.timeline))
	c.timeline = append(c.timeline, st)
}

func (c *conn) findingsOf(k Kind) []int {
	var out []int
	for i := range c.findings {
		if c.findings[i].Kind == k {
			out = append(out, i)
		}
	}
	return out
}
