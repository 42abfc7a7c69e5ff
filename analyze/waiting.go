package analyze

import (
	"time"

	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// slots of findings about waiting, updated while the condition lasts
const (
	slotSynUnanswered = iota
	slotMissingAck
	slotHalfClose   // + peer index
	slotHalfClose1  //
	slotZeroWindow  // + peer index
	slotZeroWindow1 //
	slotFinUnacked  // + peer index
	slotFinUnacked1 //
	nSlots
)

// judge checks the conditions that are about waiting (docs/design.md §4) at capture
// time now. A condition that has lasted its timeout becomes a finding at
// once (handed to the sink), and its duration keeps growing until the
// condition ends. With final, the connection is ending: pending receipts
// are settled by the end-of-capture rules, and a condition still pending
// under its timeout is noted as capture_incomplete.
func (c *conn) judge(rc *reassembly.Conn[conn], now int64, final bool, a *Analyzer) {
	if c.finalized || !final && c.calm(now, a) {
		return
	}
	c.judgeAll(rc, now, final, a)
}

// calm reports whether judging c at now, not final, would change nothing:
// it is caught up with the sweeps, has no finding whose duration could
// grow, and no condition about waiting has reached its timeout. It mirrors
// judgeAll's conditions (for a connection with no slot finding), so that
// the common segment of a connection with nothing under way skips them.
func (c *conn) calm(now int64, a *Analyzer) bool {
	if c.more != 0 || c.judged != a.sweeps {
		return false
	}
	cfg := &a.cfg
	client, server := &c.p[ClientToServer], &c.p[ServerToClient]
	if client.syn.count > 0 && !c.synNotCaptured && !c.midstream {
		end := now
		if c.answered {
			end = c.answerTime
		}
		if reached(end, client.syn.time, cfg.HandshakeTimeout) {
			return false
		}
	}
	if c.synackValid && !c.midstream && !c.simOpen && !(c.hsDone && c.hsEndFrame == 0) {
		end := now
		if c.hsDone {
			end = c.hsEndTime
		}
		if reached(end, c.synackTime, cfg.HandshakeTimeout) && (!c.hsDone || c.hsComplete) {
			return false
		}
	}
	if client.finSent || server.finSent || client.zero.on || server.zero.on {
		return client.calm(server, now, cfg) && server.calm(client, now, cfg)
	}
	// The common case (no FIN sent, so none acknowledged; no zero window).
	return client.zero.long < cfg.ZeroWindowTimeout && server.zero.long < cfg.ZeroWindowTimeout
}

// calm is conn.calm's part about peer x, o the other peer.
func (x *peer) calm(o *peer, now int64, cfg *Config) bool {
	return !(o.finAcked && x.quiet.longest(now) >= cfg.HalfCloseTimeout ||
		x.zero.longest(now) >= cfg.ZeroWindowTimeout ||
		x.finSent && !o.rstSent && !x.rstSent && x.finCount > 1)
}

// reached reports whether since(t, u) >= d, for d > 0 (the timeouts are).
func reached(t, u int64, d time.Duration) bool { return t >= u && uint64(t-u) >= uint64(d) }

// judgeAll is judge for a connection not known to be calm.
func (c *conn) judgeAll(rc *reassembly.Conn[conn], now int64, final bool, a *Analyzer) {
	c.catchUp(rc, a)
	if final {
		c.settleEnd(a)
	}
	cfg := &a.cfg
	client := &c.p[ClientToServer]
	// incomplete lists, first, the conditions still waiting under their
	// timeout when the connection ends: at the end of the capture they are
	// what the capture lacks; when the analysis stops early they are what
	// it could not judge.
	incomplete := &a.incomplete
	incomplete.reset()
	// pending: at the end of a finished test, a condition still open is a
	// finding whatever its duration. A connection the analysis stopped
	// following early is not at the end of anything.
	c.atEnd = final && c.endedEarly == endedNot && a.finishing
	pending := c.atEnd && cfg.FinishedTest
	ended := "the capture ended "
	if c.endedEarly != endedNot {
		ended = "tracking stopped "
	}

	// syn_unanswered: SYNs and nothing back from the server.
	if client.syn.count > 0 && !c.synNotCaptured && !c.midstream {
		end, open := c.answerTime, !c.answered
		if open {
			end = now
		}
		if d := since(end, client.syn.time); d >= cfg.HandshakeTimeout || open && pending {
			c.slotFinding(rc, a, slotSynUnanswered, SynUnanswered, Error, d, final)
		} else if open && final {
			incomplete.next().str(ended).dur(d).str(" after the first SYN, before the handshake timeout (").dur(cfg.HandshakeTimeout).str(")")
		}
	}
	// missing_third_ack: a valid SYN-ACK and no ACK from the client.
	if c.synackValid && !c.midstream && !c.simOpen && !(c.hsDone && c.hsEndFrame == 0) {
		end, open := c.hsEndTime, !c.hsDone
		if open {
			end = now
		}
		if d := since(end, c.synackTime); d >= cfg.HandshakeTimeout && (open || c.slot(a, slotMissingAck) != 0 || c.hsComplete) || open && pending {
			c.slotFinding(rc, a, slotMissingAck, MissingThirdAck, Error, d, final)
		} else if open && final {
			incomplete.next().str(ended).dur(d).str(" after the SYN-ACK, before the handshake timeout (").dur(cfg.HandshakeTimeout).str(")")
		}
	}
	for i := range c.p {
		x, o := &c.p[i], &c.p[i^1]
		// half_close_stuck: x acknowledged o's FIN and sits in CLOSE_WAIT.
		if o.finAcked {
			closeWait := x.quiet.on && !x.finSent && !x.rstSent
			if long := x.quiet.longest(now); long >= cfg.HalfCloseTimeout || closeWait && pending {
				c.slotFinding(rc, a, slotHalfClose+i, HalfCloseStuck, Error, long, final)
			} else if final && closeWait {
				incomplete.next().str(ended).dur(since(now, x.quiet.since)).str(" after the ").str(roleName(reassembly.Dir(i ^ 1))).
					str("'s FIN was acknowledged, before the half-close timeout (").dur(cfg.HalfCloseTimeout).str(")")
			}
		}
		// zero_window_stuck
		if long := x.zero.longest(now); long >= cfg.ZeroWindowTimeout || x.zero.on && pending {
			c.slotFinding(rc, a, slotZeroWindow+i, ZeroWindowStuck, Warning, long, final)
		} else if final && x.zero.on {
			incomplete.next().str(ended).dur(since(now, x.zero.since)).str(" after the ").str(roleName(reassembly.Dir(i))).
				str(" advertised window 0 (frame ").num(x.zero.frame).str("), before the zero-window timeout (").dur(cfg.ZeroWindowTimeout).str(")")
		}
		// fin_unacked / last_ack_missing
		if x.finSent && !o.rstSent && !x.rstSent {
			open := !x.finAcked
			end := x.finAckTime
			if open {
				end = now
			}
			d := since(end, x.finTime)
			kind := FinUnacked
			if x.passive {
				kind = LastAckMissing
			}
			switch {
			case x.finCount > 1 || (open && d >= cfg.HalfCloseTimeout && final) || open && pending:
				c.slotFinding(rc, a, slotFinUnacked+i, kind, Warning, d, final)
			case open && final:
				incomplete.next().str(ended).dur(d).str(" after the ").str(roleName(reassembly.Dir(i))).
					str("'s FIN (frame ").num(x.finFrame).str("), before it was acknowledged")
			}
		}
	}
	if !final {
		return
	}
	// TIME_WAIT lasts 2·MSL of capture time.
	for i := range c.p {
		if since(now, c.p[i].timeWaitSince) >= 2*cfg.MSL {
			c.setState(Dir(i), afterTimeWait(c.p[i].state), now, -1, a)
		}
	}
	c.retransmittedHandshake(a)
	if c.endedEarly != endedNot {
		c.trackingLimit(rc, now, incomplete, a)
		incomplete.reset()
	}
	// capture_incomplete: what the capture lacks, in one finding.
	ev := &a.evidence
	ev.reset()
	if c.synNotCaptured {
		ev.next().str("the client's SYN was not captured (the first segment is the SYN-ACK)")
	}
	ev.all(incomplete)
	for i := range rc.Half {
		h := &rc.Half[i]
		who := roleName(reassembly.Dir(i))
		if x := &c.p[i]; x.finInferred {
			ev.next().str(fmtS("the %s's FIN (seq %d) was not captured: the %s's ACK %d at frame %d covers one more than the %s's last byte, which only a FIN takes; the states follow it",
				who, c.rel(reassembly.Dir(i), x.finSeq), roleName(reassembly.Dir(i^1)), c.rel(reassembly.Dir(i), x.finProofAck), x.finProof, who))
		}
		if n := h.Gaps.N(); n > 0 {
			ev.next().num(n).str(" gap(s) in the ").str(who).str("'s stream, ").num(h.Missed).str(" bytes never captured")
		}
		if n := h.AckUnseen.N(); n > 0 {
			ev.next().str("the ").str(who).str(" acknowledged data never captured ").num(n).str(" time(s)")
		}
	}
	if ev.n > 0 {
		c.add(a, Finding{Kind: CaptureIncomplete, Severity: Info, Frames: []uint64{rc.FirstFrame, rc.LastFrame}, Time: timeOf(rc.First),
			Evidence: ev.String()})
	}
	for i := range c.findings(a) {
		c.refresh(rc, &c.mx(a).findings[i], a)
	}
	c.finalized = true
}

// trackingLimit notes that the analysis stopped following the connection
// early, and what it was still waiting for then (pending, clauses). An
// idle connection with nothing pending lost nothing: it gets no finding.
func (c *conn) trackingLimit(rc *reassembly.Conn[conn], now int64, pending *clauses, a *Analyzer) {
	if c.endedEarly == endedIdle && pending.n == 0 {
		return
	}
	ev := &a.evidence
	ev.reset()
	ev.next().str(a.stoppedWhy(c.endedEarly))
	if pending.n > 0 {
		ev.all(pending)
	} else {
		ev.next().str("tracking stopped ").dur(since(now, rc.Last)).str(" after its last segment")
	}
	// The frames live in the connMore, reused from one evicted
	// connection to the next: a record copies them (fill) and a sink
	// keeps nothing of a Finding, so no allocation per eviction.
	m := c.x(a)
	m.limit = [2]uint64{rc.FirstFrame, rc.LastFrame}
	frames := m.limit[:2:2]
	if rc.FirstFrame == rc.LastFrame {
		frames = frames[:1:1]
	}
	c.add(a, Finding{Kind: TrackingLimit, Severity: Warning, Frames: frames, Time: timeOf(rc.First), Evidence: ev.String()})
}

// stoppedWhy says why tracking stopped early (the start of a
// tracking_limit finding's evidence): the same words for every connection
// ended for the same reason, so written once.
func (a *Analyzer) stoppedWhy(r endReason) string {
	if s := a.why[r]; s != "" {
		return s
	}
	var why string
	switch r {
	case endedMaxConns:
		why = fmtS("the connection table was full (--max-conns %d) and this was the idlest connection", a.cfg.MaxConns)
		if w := a.cfg.Workers; w > 1 {
			why += fmtS(" of its worker's (--workers %d: each holds %d)", w, Share(a.cfg.MaxConns, w))
		}
	case endedMaxMemory:
		why = fmtS("the connections tracked had used the memory budget (--max-memory %s) and this was the idlest", a.cfg.maxMemoryText())
		if w := a.cfg.Workers; w > 1 {
			why += fmtS(" of its worker's (--workers %d: each holds about 1/%d of it)", w, w)
		}
	default:
		why = fmtS("no segment for %s (--idle-timeout)", dur(a.cfg.IdleTimeout))
	}
	a.why[r] = why
	return why
}

// slotFinding creates or updates the finding of a waiting condition.
func (c *conn) slotFinding(rc *reassembly.Conn[conn], a *Analyzer, slot int, k Kind, sev Severity, d time.Duration, final bool) {
	if i := c.slot(a, slot); i != 0 {
		f := &c.mx(a).findings[i-1]
		f.Duration = d
		return
	}
	i := c.add(a, Finding{Kind: k, Severity: sev, Duration: d, HasDuration: true, Time: timeOf(rc.First)})
	c.mx(a).slot[slot] = int16(i + 1)
	c.refresh(rc, &c.mx(a).findings[i], a)
	if !final {
		a.emit(rc, &c.mx(a).findings[i])
	}
}

// exchangeOver reports whether nothing more is expected of the exchange:
// a reset, or both FINs acknowledged (over then waits out CloseLinger).
func (c *conn) exchangeOver() bool {
	return c.rstSeen || c.p[ClientToServer].finAcked && c.p[ServerToClient].finAcked
}

// over reports whether the connection's exchange is over and its record can
// be made final: CloseLinger after a valid RST, or after both FINs were
// acknowledged (late retransmissions within the linger still count).
func (c *conn) over(now int64, cfg *Config) bool {
	if c.rstSeen && since(now, c.rstAt) >= cfg.CloseLinger {
		return true
	}
	client, server := &c.p[ClientToServer], &c.p[ServerToClient]
	if client.finAcked && server.finAcked {
		return since(now, max(client.finAckTime, server.finAckTime)) >= cfg.CloseLinger
	}
	return false
}

// period is a condition that comes and goes — a CLOSE_WAIT peer keeping
// quiet, a zero window: the stretch under way, if on, and the longest that
// ended.
type period struct {
	on        bool
	since     int64
	frame     uint64        // the frame that began the stretch under way
	long      time.Duration // the longest stretch that ended
	longFrame uint64        // the frame that began it
	endFrame  uint64        // the frame that ended it
}

// start begins a stretch at frame, time t.
func (p *period) start(t int64, frame uint64) { p.on, p.since, p.frame = true, t, frame }

// stop ends the stretch under way, if any, at frame, time t.
func (p *period) stop(t int64, frame uint64) {
	if !p.on {
		return
	}
	p.on = false
	if d := since(t, p.since); d > p.long {
		p.long, p.longFrame, p.endFrame = d, p.frame, frame
	}
}

// cancel drops the stretch under way without counting it.
func (p *period) cancel() { p.on = false }

// longest is the longest stretch, the one under way counted up to now.
func (p *period) longest(now int64) time.Duration {
	l := p.long
	if p.on {
		l = max(l, since(now, p.since))
	}
	return l
}

// window tracks zero windows advertised by p.
func (c *conn) window(p *peer, seg *capture.Segment, t int64) {
	if seg.Window == 0 {
		if !p.zero.on {
			p.zero.start(t, seg.Frame)
		}
		return
	}
	p.zero.stop(t, seg.Frame)
}
