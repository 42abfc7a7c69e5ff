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

	// Header.
	fmt.Fprintf(&b, "%s  client %s → server %s", p.Bold("connection #"+strconv.FormatUint(c.ID, 10)),
		human.AddrPort(c.Client), human.AddrPort(c.Server))
	if c.Input != "" {
		fmt.Fprintf(&b, "  (%s, frames %d–%d)", c.Input, c.FirstFrame, c.LastFrame)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "start %s · duration %s · conn_state %s · history %s", formatTime(c.Start),
		human.Duration(c.Duration()), orDash(c.ConnState), orDash(c.History))
	if c.Handshake.HasRTT {
		b.WriteString(" · handshake RTT " + human.Duration(c.Handshake.RTT))
	}
	var notes []string
	if c.Midstream {
		notes = append(notes, "seen mid-stream: states before the first segment are assumed")
	}
	if c.RolesGuessed {
		notes = append(notes, "no SYN seen: client and server guessed from the ports")
	}
	b.WriteString("\n")
	for _, n := range notes {
		b.WriteString("note: " + n + "\n")
	}
	b.WriteString("\n")

	if len(c.Timeline) == 0 {
		b.WriteString("(no timeline recorded for this connection: analyze with the timeline on)\n")
	} else {
		drawLadder(&b, c, p)
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
			fmt.Fprintf(&b, "  %s %s  %s", p.Severity(f.Severity), p.Bold(string(f.Kind)), human.Frames(f.Frames, len(f.Frames)))
			if !f.Time.IsZero() && !base.IsZero() {
				fmt.Fprintf(&b, "  at +%.6fs", f.Time.Sub(base).Seconds())
			}
			if f.HasDuration {
				b.WriteString("  lasted " + human.Duration(f.Duration))
			}
			if f.By != "" {
				b.WriteString("  by " + f.By)
			}
			b.WriteString("\n")
			for _, line := range wrap(f.Evidence, o.Width-11) {
				if line != "" {
					b.WriteString("           " + line + "\n")
				}
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

func drawLadder(b *bytes.Buffer, c *analyze.Conn, p human.Painter) {
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
		if fs := marks[s.Frame]; len(fs) > 0 {
			fmt.Fprintf(&line, "%-*s  ", stateWidth, ss)
			kinds := make([]string, len(fs))
			worst := analyze.Info
			for j, f := range fs {
				kinds[j] = string(f.Kind)
				worst = max(worst, f.Severity)
			}
			text := "◀ " + strings.Join(kinds, ", ")
			switch worst {
			case analyze.Error:
				text = p.Red(text)
			case analyze.Warning:
				text = p.Yellow(text)
			}
			line.WriteString(text)
		} else {
			line.WriteString(ss)
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
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
