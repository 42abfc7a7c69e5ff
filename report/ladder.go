package report

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/human"
)

// Ladder draws c as the ladder diagrams of RFC 9293 (§3.5): the client on the
// left, the server on the right, one arrow per segment of c.Timeline (→ client
// to server, ← server to client) labelled with the flags and the relative
// seq, ack and len; the frame number and the time since the connection's
// start in the margin; each peer's state beside its side of the arrow when it
// changes (and on the first line). A finding is marked on the line of the
// first frame it rests on, and the findings follow the diagram with their
// evidence.
//
// The states on a line are the states after that segment, as settled by
// later evidence (docs/design.md §3). A connection analysed without a timeline gets
// its header, final states and findings, and a note saying so.
func Ladder(w io.Writer, c *analyze.Conn, opts *Options) error {
	o := opts.withDefaults()
	p := human.Painter{On: o.Color}
	var b bytes.Buffer

	put := func(line string, hang int) { b.WriteString(human.Wrap(line, o.Width, hang) + "\n") }

	// Header.
	head := []human.Part{{Text: p.Bold("connection #" + strconv.FormatUint(c.ID, 10))},
		{Sep: "  ", Text: "client " + human.AddrPort(c.Client) + " → server " + human.AddrPort(c.Server)}}
	if c.Input != "" {
		head = append(head, human.Part{Sep: "  ", Text: fmt.Sprintf("(%s, frames %d–%d)", c.Input, c.FirstFrame, c.LastFrame)})
	}
	b.WriteString(human.WrapParts("", head, o.Width, 2) + "\n")
	parts := []string{"start " + formatTime(c.Start), "duration " + human.Duration(c.Duration()),
		"conn_state " + orDash(c.ConnState), "history " + orDash(c.History)}
	if c.Handshake.HasRTT {
		parts = append(parts, "handshake RTT "+human.Duration(c.Handshake.RTT))
	}
	b.WriteString(human.WrapList("", parts, " · ", o.Width, 2) + "\n")
	var notes []string
	if c.Midstream {
		notes = append(notes, "seen mid-stream: states before the first segment are assumed")
	}
	if c.RolesGuessed {
		notes = append(notes, "no SYN seen: client and server guessed from the ports")
	}
	for _, n := range notes {
		put("note: "+n, 6)
	}
	b.WriteString("\n")

	if len(c.Timeline) == 0 {
		put("(no timeline recorded for this connection: analyze with the timeline on)", 1)
	} else {
		drawLadder(&b, c, p, o.Width)
	}
	fmt.Fprintf(&b, "final: client %s / server %s\n", c.ClientState, c.ServerState)

	// Findings.
	if len(c.Findings) == 0 {
		b.WriteString("\nfindings: none\n")
	} else {
		b.WriteString("\nfindings:\n")
		base := ladderBase(c)
		for i := range c.Findings {
			f := &c.Findings[i]
			parts := []human.Part{{Text: p.Severity(f.Severity) + " " + p.Bold(string(f.Kind))},
				{Sep: "  ", Text: human.Frames(f.Frames, len(f.Frames))}}
			if !f.Time.IsZero() && !base.IsZero() {
				parts = append(parts, human.Part{Sep: "  ", Text: fmt.Sprintf("at +%.6fs", f.Time.Sub(base).Seconds())})
			}
			if f.HasDuration {
				parts = append(parts, human.Part{Sep: "  ", Text: "lasted " + human.Duration(f.Duration)})
			}
			if f.By != "" {
				parts = append(parts, human.Part{Sep: "  ", Text: "by " + f.By})
			}
			b.WriteString(human.WrapParts("  ", parts, o.Width, 4) + "\n")
			if f.Evidence != "" {
				put("           "+f.Evidence, 13)
			}
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// ladderBase is the time the margin counts from: the connection's start, or
// its first segment's.
func ladderBase(c *analyze.Conn) time.Time {
	if !c.Start.IsZero() || len(c.Timeline) == 0 {
		return c.Start
	}
	return c.Timeline[0].Time
}

// stateWidth fits the longest state name, "ESTABLISHED".
const stateWidth = 11

// drawLadder draws c's timeline. Its rows are a table and stay aligned: to
// fit width (when it is > 0), arrows give up their spare length first, and
// the findings marked on a row that would run past width go beneath its
// arrow, between the lifelines (▲ kind, ...).
func drawLadder(b *bytes.Buffer, c *analyze.Conn, p human.Painter, width int) {
	base := ladderBase(c)

	// Findings marked on the line of their first frame, worst first.
	marks := make(map[uint64][]*analyze.Finding)
	for i := range c.Findings {
		f := &c.Findings[i]
		if len(f.Frames) > 0 {
			marks[f.Frames[0]] = append(marks[f.Frames[0]], f)
		}
	}

	labels := make([]string, len(c.Timeline))
	longest := 0
	frameW, timeW := len("frame"), len("time")
	for i := range c.Timeline {
		s := &c.Timeline[i]
		labels[i] = stepLabel(s)
		longest = max(longest, utf8.RuneCountInString(labels[i]))
		frameW = max(frameW, len(strconv.FormatUint(s.Frame, 10)))
		timeW = max(timeW, len(relTime(s.Time, base)))
	}
	arrowW := max(longest+8, 30)
	// Every column but the arrow's: frame, time, the client's state, the
	// lifelines and the server's state.
	fixed := frameW + 2 + timeW + 2 + stateWidth + 2 + 2 + stateWidth
	if width > 0 && fixed+arrowW > width {
		arrowW = max(longest+6, width-fixed)
	}
	markCol := fixed + arrowW + 2 // where an inline mark starts
	lifeline := strings.Repeat(" ", frameW+2+timeW+2+stateWidth+1) + "│"

	// Column heads: "client" over the client's states, "server" over the
	// server's, which start right of the server's lifeline.
	fmt.Fprintf(b, "%*s  %*s  %-*s %*s  %s\n", frameW, "frame", timeW, "time", stateWidth, "client", arrowW+1, "", "server")

	var prevC, prevS analyze.State
	for i := range c.Timeline {
		s := &c.Timeline[i]
		var cs, ss string
		if i == 0 || s.ClientState != prevC {
			cs = s.ClientState.String()
		}
		if i == 0 || s.ServerState != prevS {
			ss = s.ServerState.String()
		}
		prevC, prevS = s.ClientState, s.ServerState

		var line strings.Builder
		fmt.Fprintf(&line, "%*d  %*s  %-*s │%s│ ", frameW, s.Frame, timeW, relTime(s.Time, base), stateWidth, cs,
			arrow(labels[i], s.Dir, arrowW))
		fs := marks[s.Frame]
		if len(fs) == 0 {
			line.WriteString(ss)
			b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
			continue
		}
		kinds := make([]string, len(fs))
		worst := analyze.Info
		for j, f := range fs {
			kinds[j] = string(f.Kind)
			worst = max(worst, f.Severity)
		}
		paint := func(s string) string {
			switch worst {
			case analyze.Error:
				return p.Red(s)
			case analyze.Warning:
				return p.Yellow(s)
			}
			return s
		}
		if text := "◀ " + strings.Join(kinds, ", "); width <= 0 || markCol+utf8.RuneCountInString(text) <= width {
			fmt.Fprintf(&line, "%-*s  %s", stateWidth, ss, paint(text))
			b.WriteString(line.String() + "\n")
			continue
		}
		line.WriteString(ss)
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
		under := human.WrapList("▲ ", kinds, ", ", arrowW-2, 2)
		for _, l := range strings.Split(under, "\n") {
			pad := max(arrowW-2-human.Columns(l), 0)
			b.WriteString(lifeline + " " + paint(l) + strings.Repeat(" ", pad) + " │\n")
		}
	}
	if total := c.ClientPackets + c.ServerPackets; uint64(len(c.Timeline)) < total {
		fmt.Fprintf(b, "(the timeline holds the first %d of %d segments)\n", len(c.Timeline), total)
	}
}

// arrow draws label on a horizontal arrow of width runes, pointing right for
// client to server and left for server to client:
//
//	── SYN seq=0 ──────────→
//	←────── SYN,ACK seq=0 ack=1 ──
func arrow(label string, d analyze.Dir, width int) string {
	fill := strings.Repeat("─", max(width-utf8.RuneCountInString(label)-5, 1))
	if d == analyze.ServerToClient {
		return "←" + fill + " " + label + " ──"
	}
	return "── " + label + " " + fill + "→"
}

// stepLabel writes a segment as the textbooks do: "SYN seq=0",
// "SYN,ACK seq=0 ack=1", "PSH,ACK seq=1 ack=1 len=120"; a zero window and
// the analyzer's note (retransmission, ...) when there are any.
func stepLabel(s *analyze.Step) string {
	var b strings.Builder
	b.WriteString(flagNames(s.Flags))
	b.WriteString(" seq=" + strconv.FormatUint(uint64(s.Seq), 10))
	if s.Flags.Has(capture.ACK) {
		b.WriteString(" ack=" + strconv.FormatUint(uint64(s.Ack), 10))
	}
	if s.Len > 0 {
		b.WriteString(" len=" + strconv.FormatUint(uint64(s.Len), 10))
	}
	if s.Window == 0 && !s.Flags.Has(capture.RST) {
		b.WriteString(" win=0")
	}
	if s.Note != "" {
		b.WriteString(" [" + s.Note + "]")
	}
	return b.String()
}

// relTime writes t - base in seconds with 6 decimals.
func relTime(t, base time.Time) string {
	if t.IsZero() || base.IsZero() {
		return "-"
	}
	return strconv.FormatFloat(t.Sub(base).Seconds(), 'f', 6, 64)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
