package analyze

import (
	"strings"
	"time"

	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// judge checks the conditions that are about waiting (DESIGN §4) at capture
// time now. A condition that has lasted its timeout becomes a finding at
// once (handed to the sink), and its duration keeps growing until the
// condition ends. With final, the connection is ending: pending receipts
// are settled by the end-of-capture rules, and a condition still pending
// under its timeout is noted as capture_incomplete.
func (c *conn) judge(rc *reassembly.Conn[conn], now time.Time, final bool, a *Analyzer) {
	if c.finalized {
		return
	}
	if final {
		c.settleEnd()
	}
	cfg := c.cfg
	C := &c.p[ClientToServer]
	var incomplete []string
	// pending: at the end of a finished test, a condition still open is a
	// finding whatever its duration.
	pending := final && cfg.FinishedTest
	c.atEnd = final

	// syn_unanswered: SYNs and nothing back from the server.
	if C.syn.count > 0 && !c.synNotCaptured && !c.midstream {
		end, open := c.answerTime, !c.answered
		if open {
			end = now
		}
		if d := end.Sub(C.syn.times[0]); d >= cfg.HandshakeTimeout || open && pending {
			c.slotFinding(rc, a, slotSynUnanswered, SynUnanswered, Error, d, final)
		} else if open && final {
			incomplete = append(incomplete, fmtS("the capture ended %s after the first SYN, before the handshake timeout (%s)", dur(d), cfg.HandshakeTimeout))
		}
	}
	// missing_third_ack: a valid SYN-ACK and no ACK from the client.
	if c.synackValid && !c.midstream && !c.simOpen && !(c.hsDone && c.hsEndFrame == 0) {
		end, open := c.hsEndTime, !c.hsDone
		if open {
			end = now
		}
		if d := end.Sub(c.synackTime); d >= cfg.HandshakeTimeout && (open || c.slot[slotMissingAck] != 0 || c.hsComplete) || open && pending {
			c.slotFinding(rc, a, slotMissingAck, MissingThirdAck, Error, d, final)
		} else if open && final {
			incomplete = append(incomplete, fmtS("the capture ended %s after the SYN-ACK, before the handshake timeout (%s)", dur(d), cfg.HandshakeTimeout))
		}
	}
	for i := range c.p {
		X, O := &c.p[i], &c.p[i^1]
		// half_close_stuck: X acknowledged O's FIN and sits in CLOSE_WAIT.
		if O.finAcked {
			long := X.quietLong
			if X.quietOn {
				if d := now.Sub(X.quietSince); d > long {
					long = d
				}
			}
			closeWait := X.quietOn && !X.finSent && !X.rstSent
			if long >= cfg.HalfCloseTimeout || closeWait && pending {
				c.slotFinding(rc, a, slotHalfClose+i, HalfCloseStuck, Error, long, final)
			} else if final && closeWait {
				incomplete = append(incomplete, fmtS("the capture ended %s after the %s's FIN was acknowledged, before the half-close timeout (%s)", dur(now.Sub(X.quietSince)), roleName(reassembly.Dir(i^1)), cfg.HalfCloseTimeout))
			}
		}
		// zero_window_stuck
		long := X.zeroLong
		if X.zeroOn {
			if d := now.Sub(X.zeroSince); d > long {
				long = d
			}
		}
		if long >= cfg.ZeroWindowTimeout || X.zeroOn && pending {
			c.slotFinding(rc, a, slotZeroWindow+i, ZeroWindowStuck, Warning, long, final)
		} else if final && X.zeroOn {
			incomplete = append(incomplete, fmtS("the capture ended %s after the %s advertised window 0 (frame %d), before the zero-window timeout (%s)", dur(now.Sub(X.zeroSince)), roleName(reassembly.Dir(i)), X.zeroFrame, cfg.ZeroWindowTimeout))
		}
		// fin_unacked / last_ack_missing
		if X.finSent && !O.rstSent && !X.rstSent {
			open := !X.finAcked
			end := X.finAckTime
			if open {
				end = now
			}
			d := end.Sub(X.finTime)
			kind := FinUnacked
			if X.passive {
				kind = LastAckMissing
			}
			switch {
			case X.finCount > 1 || (open && d >= cfg.HalfCloseTimeout && final) || open && pending:
				c.slotFinding(rc, a, slotFinUnacked+i, kind, Warning, d, final)
			case open && final:
				incomplete = append(incomplete, fmtS("the capture ended %s after the %s's FIN (frame %d), before it was acknowledged", dur(d), roleName(reassembly.Dir(i)), X.finFrame))
			}
		}
	}
	if !final {
		return
	}
	// TIME_WAIT lasts 2·MSL of capture time.
	for i := range c.p {
		if c.p[i].state == TimeWait && now.Sub(c.p[i].timeWaitSince) >= 2*cfg.MSL {
			c.p[i].state = Closed
		}
	}
	c.retransmittedHandshake()
	// capture_incomplete: what the capture lacks, in one finding.
	if c.synNotCaptured {
		incomplete = append([]string{"the client's SYN was not captured (the first segment is the SYN-ACK)"}, incomplete...)
	}
	for i := range rc.Half {
		h := &rc.Half[i]
		who := roleName(reassembly.Dir(i))
		if h.Gaps > 0 {
			incomplete = append(incomplete, fmtS("%d gap(s) in the %s's stream, %d bytes never captured", h.Gaps, who, h.Missed))
		}
		if h.AckUnseen > 0 {
			incomplete = append(incomplete, fmtS("the %s acknowledged data never captured %d time(s)", who, h.AckUnseen))
		}
	}
	if len(incomplete) > 0 {
		c.add(Finding{Kind: CaptureIncomplete, Severity: Info, Frames: []uint64{rc.FirstFrame, rc.LastFrame}, Time: rc.First,
			Evidence: strings.Join(incomplete, "; ")})
	}
	for i := range c.findings {
		c.refresh(rc, &c.findings[i])
	}
	c.finalized = true
}

// slotFinding creates or updates the finding of a waiting condition.
func (c *conn) slotFinding(rc *reassembly.Conn[conn], a *Analyzer, slot int, k Kind, sev Severity, d time.Duration, final bool) {
	if i := c.slot[slot]; i != 0 {
		f := &c.findings[i-1]
		f.Duration = d
		return
	}
	i := c.add(Finding{Kind: k, Severity: sev, Duration: d, HasDuration: true, Time: rc.First})
	c.slot[slot] = int16(i + 1)
	c.refresh(rc, &c.findings[i])
	if !final {
		a.emit(rc, &c.findings[i])
	}
}

// refresh recomputes the frames and evidence of a waiting finding from the
// connection's current knowledge.
func (c *conn) refresh(rc *reassembly.Conn[conn], f *Finding) {
	C, S := &c.p[ClientToServer], &c.p[ServerToClient]
	slotOf := func(base int) int {
		for i := 0; i < 2; i++ {
			if j := c.slot[base+i]; j != 0 && &c.findings[j-1] == f {
				return i
			}
		}
		return -1
	}
	switch f.Kind {
	case SynUnanswered:
		n := C.syn.kept()
		f.Frames = append(f.Frames[:0], C.syn.frames[:n]...)
		f.Time = C.syn.times[0]
		var at []string
		for i := 0; i < n; i++ {
			at = append(at, "+"+dur(C.syn.times[i].Sub(C.syn.times[0])))
		}
		ev := fmtS("%d SYN(s) (ISN_c %d) sent at %s; ", C.syn.count, C.syn.isn, strings.Join(at, ", "))
		if c.answered {
			ev += fmtS("the server first answered only after %s (frame %d)", dur(f.Duration), c.answerFrame)
		} else {
			ev += fmtS("nothing came back from %s in %s", rc.Server, dur(f.Duration))
		}
		f.Evidence = ev + c.pendingNote(!c.answered, f.Duration)
	case MissingThirdAck:
		f.Frames = f.Frames[:0]
		n := S.synack.kept()
		f.Frames = append(f.Frames, S.synack.frames[:n]...)
		f.Time = c.synackTime
		ev := fmtS("SYN-ACK (ISN_s %d, ack %d = ISN_c+1) sent %d time(s) from frame %d; ", S.synack.isn, C.syn.isn+1, S.synack.count, c.synackFrame)
		if c.hsDone && c.hsEndFrame != 0 {
			ev += fmtS("the client's ACK came only after %s (frame %d)", dur(f.Duration), c.hsEndFrame)
			f.Frames = append(f.Frames, c.hsEndFrame)
		} else {
			ev += fmtS("no ACK or data from the client in %s", dur(f.Duration))
		}
		f.Evidence = ev + c.pendingNote(!c.hsDone, f.Duration)
	case HalfCloseStuck:
		i := slotOf(slotHalfClose)
		if i < 0 {
			return
		}
		X, O := &c.p[i], &c.p[i^1]
		xw, ow := roleName(reassembly.Dir(i)), roleName(reassembly.Dir(i^1))
		f.Frames = []uint64{O.finFrame, O.finAckFrame}
		f.Time = O.finAckTime
		f.By = xw
		ev := fmtS("the %s's FIN (seq %d, frame %d) was acknowledged by the %s (ack %d = FIN+1, frame %d); the %s then sat in CLOSE_WAIT for %s without sending",
			ow, c.rel(reassembly.Dir(i^1), O.finSeq), O.finFrame, xw, c.rel(reassembly.Dir(i^1), O.finSeq+1), O.finAckFrame, xw, dur(f.Duration))
		switch {
		case X.finSent:
			ev += fmtS(" before its FIN at frame %d", X.finFrame)
			f.Frames = append(f.Frames, X.finFrame)
		case X.rstSent:
			ev += fmtS(" before resetting at frame %d", X.rstFrame)
			f.Frames = append(f.Frames, X.rstFrame)
		default:
			ev += " and never closed"
		}
		f.Evidence = ev + c.pendingNote(!X.finSent && !X.rstSent, f.Duration)
	case ZeroWindowStuck:
		i := slotOf(slotZeroWindow)
		if i < 0 {
			return
		}
		X := &c.p[i]
		who := roleName(reassembly.Dir(i))
		f.By = who
		if X.zeroOn && (X.zeroLong < f.Duration) {
			f.Frames = []uint64{X.zeroFrame}
			f.Time = X.zeroSince
			f.Evidence = fmtS("the %s advertised window 0 from frame %d for %s (still 0 at the end)", who, X.zeroFrame, dur(f.Duration)) +
				c.pendingNote(true, f.Duration)
		} else {
			f.Frames = []uint64{X.zeroLongFrame, X.zeroEndFrame}
			f.Evidence = fmtS("the %s advertised window 0 from frame %d for %s, until it reopened the window at frame %d", who, X.zeroLongFrame, dur(f.Duration), X.zeroEndFrame)
		}
	case FinUnacked, LastAckMissing:
		i := slotOf(slotFinUnacked)
		if i < 0 {
			return
		}
		X := &c.p[i]
		who := roleName(reassembly.Dir(i))
		f.By = who
		f.Frames = []uint64{X.finFrame}
		if X.finLastFrame != X.finFrame {
			f.Frames = append(f.Frames, X.finLastFrame)
		}
		f.Time = X.finTime
		ev := fmtS("the %s's FIN (seq %d, frame %d) was sent %d time(s)", who, c.rel(reassembly.Dir(i), X.finSeq), X.finFrame, X.finCount)
		if X.finAcked {
			ev += fmtS(" and acknowledged only after %s (frame %d)", dur(f.Duration), X.finAckFrame)
			f.Frames = append(f.Frames, X.finAckFrame)
		} else {
			ev += fmtS(" and never acknowledged (ack %d = FIN+1 never seen in %s)", c.rel(reassembly.Dir(i), X.finSeq+1), dur(f.Duration))
		}
		if f.Kind == LastAckMissing {
			ev += ": the passive closer sat in LAST_ACK"
		} else {
			ev += ": it sat in FIN_WAIT_1"
		}
		f.Evidence = ev + c.pendingNote(!X.finAcked, f.Duration)
	}
}

// pendingNote is the evidence's last words for a condition still open when
// the trace of a finished test ended (Config.FinishedTest): it never
// finished, however short it was.
func (c *conn) pendingNote(open bool, d time.Duration) string {
	if !open || !c.atEnd || !c.cfg.FinishedTest {
		return ""
	}
	return fmtS("; still pending when the trace ended, %s after it began", dur(d))
}

// settleEnd applies the end-of-capture rules to what is still pending.
func (c *conn) settleEnd() {
	for {
		// Oldest first across both peers.
		best, bi := -1, -1
		for d := range c.p {
			if c.p[d].npend == 0 {
				continue
			}
			it := &c.p[d].pend[0]
			if best < 0 || it.time.Before(c.p[best].pend[0].time) {
				best, bi = d, 0
			}
		}
		if best < 0 {
			return
		}
		Q := &c.p[best]
		it := Q.pend[bi]
		Q.dropPend(bi)
		switch it.kind {
		case pendSYN:
			continue // never assumed received
		case pendSYNACK, pendFIN:
			if it.count > 1 {
				continue // retransmitted with nothing coming back: not received
			}
		}
		c.receive(reassembly.Dir(best^1), &it)
	}
}

// over reports whether the connection's exchange is over and its record can
// be made final: CloseLinger after a valid RST, or after both FINs were
// acknowledged (late retransmissions within the linger still count).
func (c *conn) over(now time.Time, cfg *Config) bool {
	if c.rstSeen && now.Sub(c.rstAt) >= cfg.CloseLinger {
		return true
	}
	C, S := &c.p[ClientToServer], &c.p[ServerToClient]
	if C.finAcked && S.finAcked {
		t := C.finAckTime
		if S.finAckTime.After(t) {
			t = S.finAckTime
		}
		return now.Sub(t) >= cfg.CloseLinger
	}
	return false
}

// dur formats a duration for evidence: "1.5s", "250ms", "12µs".
func dur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmtS("%.3gs", d.Seconds())
	case d >= time.Millisecond:
		return fmtS("%.3gms", float64(d)/float64(time.Millisecond))
	default:
		return fmtS("%.3gµs", float64(d)/float64(time.Microsecond))
	}
}

// retransmittedHandshake notes SYNs and SYN-ACKs sent more than once with
// the same ISN, with the backoff between them.
func (c *conn) retransmittedHandshake() {
	for i, k := range [2]Kind{SynRetransmitted, SynAckRetransmitted} {
		P := &c.p[i]
		l, what := &P.syn, "SYN"
		if i == 1 {
			l, what = &P.synack, "SYN-ACK"
		}
		if l.count < 2 {
			continue
		}
		n := l.kept()
		var gaps []string
		for j := 1; j < n; j++ {
			gaps = append(gaps, "+"+dur(l.times[j].Sub(l.times[j-1])))
		}
		c.add(Finding{Kind: k, Severity: Info, Frames: append([]uint64(nil), l.frames[:n]...), Time: l.times[0],
			Duration: l.times[n-1].Sub(l.times[0]), HasDuration: true, By: roleName(reassembly.Dir(i)),
			Evidence: fmtS("%s (ISN %d) sent %d times, each after %s", what, l.isn, l.count, strings.Join(gaps, ", "))})
	}
}
