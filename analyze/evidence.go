package analyze

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/timefmt"
	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// Evidence: findings are made here or beside the transitions and
// conditions they are about, each with a sentence quoting the numbers that
// prove it.

func fmtS(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// clauses builds an evidence text of clauses joined by "; " in a buffer
// the Analyzer reuses, so that a connection ending (a SYN flood at the
// connection cap ends one per SYN) writes its sentence with no string per
// number, at most the finished text.
type clauses struct {
	b    []byte
	n    int    // clauses written
	last string // the latest text made
}

func (s *clauses) reset() { s.b, s.n = s.b[:0], 0 }

// next starts a clause.
func (s *clauses) next() *clauses {
	if s.n > 0 {
		s.b = append(s.b, "; "...)
	}
	s.n++
	return s
}

func (s *clauses) str(x string) *clauses        { s.b = append(s.b, x...); return s }
func (s *clauses) num(x uint64) *clauses        { s.b = strconv.AppendUint(s.b, x, 10); return s }
func (s *clauses) dur(d time.Duration) *clauses { s.b = timefmt.AppendDuration(s.b, d); return s }

// all appends o's clauses, each a clause of s.
func (s *clauses) all(o *clauses) *clauses {
	if o.n > 0 {
		s.next()
		s.b = append(s.b, o.b...)
		s.n += o.n - 1
	}
	return s
}

// String returns the text; the same text as the latest is the same
// string (connections evicted at the cap one after the other mostly have
// the same words).
func (s *clauses) String() string {
	if string(s.b) != s.last {
		s.last = string(s.b)
	}
	return s.last
}

// add appends a finding and returns its index.
func (c *conn) add(a *Analyzer, f Finding) int {
	m := c.x(a)
	m.findings = append(m.findings, f)
	return len(m.findings) - 1
}

// addNow appends a finding and hands it to the sink at once.
func (c *conn) addNow(rc *reassembly.Conn[conn], a *Analyzer, f Finding) {
	i := c.add(a, f)
	a.emit(rc, &c.mx(a).findings[i])
}

func (c *conn) findingsOf(k Kind, a *Analyzer) []int {
	var out []int
	for i, f := range c.findings(a) {
		if f.Kind == k {
			out = append(out, i)
		}
	}
	return out
}

// reusedConn comes before the id of the connection port_reused names
// (Finding.Renumber finds it there).
const reusedConn = "on the tuple of connection #"

func (c *conn) noteReuse(p prevConn, seg *capture.Segment, twoMSL time.Duration, a *Analyzer) {
	ev := fmtS("SYN (frame %d, ISN %d) opens a new connection %s%d (client ISN %d), whose last segment was %s earlier",
		seg.Frame, seg.Seq, reusedConn, p.id, p.clientISN, dur(since(stamp(seg.Time), p.end)))
	if p.premature {
		ev += fmtS("; premature: the old %s was still in TIME_WAIT (%s into 2·MSL = %s)", p.who, dur(p.timeWaitFor), dur(twoMSL))
	}
	c.add(a, Finding{Kind: PortReused, Severity: Info, Frames: []uint64{seg.Frame}, Time: seg.Time, Evidence: ev})
}

// simultaneousClose notes, once, that the FINs crossed: a peer entered
// CLOSING at time t.
func (c *conn) simultaneousClose(t int64, a *Analyzer) {
	if c.simClose {
		return
	}
	c.simClose = true
	client, server := &c.p[ClientToServer], &c.p[ServerToClient]
	c.add(a, Finding{Kind: SimultaneousClose, Severity: Info,
		Frames: []uint64{min64(client.finFrame, server.finFrame), max64(client.finFrame, server.finFrame)}, Time: timeOf(t),
		Evidence: fmtS("FINs crossed: the client's FIN (seq %d, frame %d) and the server's FIN (seq %d, frame %d) were each sent before the other arrived; both peers pass through CLOSING",
			c.rel(0, client.finSeq), client.finFrame, c.rel(1, server.finSeq), server.finFrame)})
}

// refresh recomputes the frames and evidence of a waiting finding from the
// connection's current knowledge.
func (c *conn) refresh(rc *reassembly.Conn[conn], f *Finding, a *Analyzer) {
	client, server := &c.p[ClientToServer], &c.p[ServerToClient]
	switch f.Kind {
	case SynUnanswered:
		frames, times := c.synList(a, ClientToServer, false)
		f.Frames = append(f.Frames[:0], frames...)
		f.Time = timeOf(times[0])
		var at []string
		for _, t := range times {
			at = append(at, "+"+dur(since(t, times[0])))
		}
		ev := fmtS("%d SYN(s) (ISN_c %d) sent at %s; ", client.syn.count, client.syn.isn, strings.Join(at, ", "))
		if c.answered {
			ev += fmtS("the server first answered only after %s (frame %d)", dur(f.Duration), c.answerFrame)
		} else {
			ev += fmtS("nothing came back from %s in %s", rc.Server(), dur(f.Duration))
		}
		f.Evidence = ev + c.pendingNote(!c.answered, f.Duration, a)
	case MissingThirdAck:
		f.Frames = f.Frames[:0]
		frames, _ := c.synList(a, ServerToClient, true)
		f.Frames = append(f.Frames, frames...)
		f.Time = timeOf(c.synackTime)
		ev := fmtS("SYN-ACK (ISN_s %d, ack %d = ISN_c+1) sent %d time(s) from frame %d; ", server.synack.isn, client.syn.isn+1, server.synack.count, c.synackFrame)
		if c.hsDone && c.hsEndFrame != 0 {
			ev += fmtS("the client's ACK came only after %s (frame %d)", dur(f.Duration), c.hsEndFrame)
			f.Frames = append(f.Frames, c.hsEndFrame)
		} else {
			ev += fmtS("no ACK or data from the client in %s", dur(f.Duration))
		}
		f.Evidence = ev + c.pendingNote(!c.hsDone, f.Duration, a)
	}

	// The conditions of one peer: which one, from the finding's slot.
	base, ok := peerSlot(f.Kind)
	if !ok {
		return
	}
	i := -1
	for k := 0; k < 2 && i < 0; k++ {
		if j := c.slot(a, base+k); j != 0 && &c.mx(a).findings[j-1] == f {
			i = k
		}
	}
	if i < 0 {
		return
	}
	d := Dir(i)
	x, o := &c.p[d], &c.p[d^1]
	who := roleName(d)
	f.By = who
	switch f.Kind {
	case HalfCloseStuck:
		xw, ow := who, roleName(d^1)
		f.Frames = []uint64{o.finFrame, o.finAckFrame}
		f.Time = timeOf(o.finAckTime)
		ev := fmtS("the %s's FIN (seq %d, frame %d) was acknowledged by the %s (ack %d = FIN+1, frame %d); the %s then sat in CLOSE_WAIT for %s without sending",
			ow, c.rel(d^1, o.finSeq), o.finFrame, xw, c.rel(d^1, o.finSeq+1), o.finAckFrame, xw, dur(f.Duration))
		switch {
		case x.finSent:
			ev += fmtS(" before its FIN at frame %d", x.finFrame)
			f.Frames = append(f.Frames, x.finFrame)
		case x.rstSent:
			ev += fmtS(" before resetting at frame %d", x.rstFrame)
			f.Frames = append(f.Frames, x.rstFrame)
		case o.rstSent:
			ev += fmtS(" until the %s reset the connection at frame %d", ow, o.rstFrame)
			f.Frames = append(f.Frames, o.rstFrame)
		default:
			ev += " and never closed"
		}
		f.Evidence = ev + c.pendingNote(!x.finSent && !x.rstSent, f.Duration, a)
	case ZeroWindowStuck:
		if z := &x.zero; z.on && z.long < f.Duration {
			f.Frames = []uint64{z.frame}
			f.Time = timeOf(z.since)
			f.Evidence = fmtS("the %s advertised window 0 from frame %d for %s (still 0 at the end)", who, z.frame, dur(f.Duration)) +
				c.pendingNote(true, f.Duration, a)
		} else {
			f.Frames = []uint64{z.longFrame, z.endFrame}
			f.Evidence = fmtS("the %s advertised window 0 from frame %d for %s, until it reopened the window at frame %d", who, z.longFrame, dur(f.Duration), z.endFrame)
		}
	case FinUnacked, LastAckMissing:
		f.Frames = []uint64{x.finFrame}
		if x.finLastFrame != x.finFrame {
			f.Frames = append(f.Frames, x.finLastFrame)
		}
		f.Time = timeOf(x.finTime)
		ev := fmtS("the %s's FIN (seq %d, frame %d) was sent %d time(s)", who, c.rel(d, x.finSeq), x.finFrame, x.finCount)
		if x.finAcked {
			ev += fmtS(" and acknowledged only after %s (frame %d)", dur(f.Duration), x.finAckFrame)
			f.Frames = append(f.Frames, x.finAckFrame)
		} else {
			ev += fmtS(" and never acknowledged (ack %d = FIN+1 never seen in %s)", c.rel(d, x.finSeq+1), dur(f.Duration))
		}
		if f.Kind == LastAckMissing {
			ev += ": the passive closer sat in LAST_ACK"
		} else {
			ev += ": it sat in FIN_WAIT_1"
		}
		f.Evidence = ev + c.pendingNote(!x.finAcked, f.Duration, a)
	}
}

// peerSlot is the first slot of a finding about one peer's waiting (the
// client's; the server's is next to it), and whether k is such a finding.
func peerSlot(k Kind) (int, bool) {
	switch k {
	case HalfCloseStuck:
		return slotHalfClose, true
	case ZeroWindowStuck:
		return slotZeroWindow, true
	case FinUnacked, LastAckMissing:
		return slotFinUnacked, true
	}
	return 0, false
}

// pendingNote is the evidence's last words for a condition still open when
// the trace of a finished test ended (Config.FinishedTest): it never
// finished, however short it was.
func (c *conn) pendingNote(open bool, d time.Duration, a *Analyzer) string {
	if !open || !c.atEnd || !a.cfg.FinishedTest {
		return ""
	}
	return fmtS("; still pending when the trace ended, %s after it began", dur(d))
}

// retransmittedHandshake notes SYNs and SYN-ACKs sent more than once with
// the same ISN, with the backoff between them.
func (c *conn) retransmittedHandshake(a *Analyzer) {
	for i, k := range [2]Kind{SynRetransmitted, SynAckRetransmitted} {
		p := &c.p[i]
		l, what := &p.syn, "SYN"
		if i == 1 {
			l, what = &p.synack, "SYN-ACK"
		}
		if l.count < 2 {
			continue
		}
		frames, times := c.synList(a, Dir(i), i == 1)
		n := len(times)
		var gaps []string
		for j := 1; j < n; j++ {
			gaps = append(gaps, "+"+dur(since(times[j], times[j-1])))
		}
		c.add(a, Finding{Kind: k, Severity: Info, Frames: frames, Time: timeOf(times[0]),
			Duration: since(times[n-1], times[0]), HasDuration: true, By: roleName(reassembly.Dir(i)),
			Evidence: fmtS("%s (ISN %d) sent %d times, each after %s", what, l.isn, l.count, strings.Join(gaps, ", "))})
	}
}

// dur formats a duration for evidence as every output does
// (timefmt.Duration): "1.5s", "250ms", "12µs", "2m30s".
func dur(d time.Duration) string { return timefmt.Duration(d) }

func min64(a, b uint64) uint64 {
	if a == 0 || (b != 0 && b < a) {
		return b
	}
	return a
}

func max64(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}
