package report

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tcpflow-check/tcpflow-check/analyze"
)

func ladderOf(t *testing.T, c *analyze.Conn, opts *Options) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Ladder(&buf, c, opts); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// diagramLines returns the arrow lines of a ladder, one per timeline step.
func diagramLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Count(l, "│") == 2 {
			lines = append(lines, l)
		}
	}
	return lines
}

func TestLadderArrows(t *testing.T) {
	c := cleanConn()
	lines := diagramLines(ladderOf(t, c, nil))
	if len(lines) != len(c.Timeline) {
		t.Fatalf("%d arrows for %d segments", len(lines), len(c.Timeline))
	}
	labels := []string{
		"SYN seq=0", "SYN,ACK seq=0 ack=1", "ACK seq=1 ack=1", "PSH,ACK seq=1 ack=1 len=120",
		"ACK seq=1 ack=121", "PSH,ACK seq=1 ack=121 len=4096", "ACK seq=121 ack=4097",
		"FIN,ACK seq=121 ack=4097", "FIN,ACK seq=4097 ack=122", "ACK seq=122 ack=4098",
	}
	left, right := -1, -1
	for i, l := range lines {
		s := &c.Timeline[i]
		_, arrow, _ := strings.Cut(l, "│")
		arrow, _, _ = strings.Cut(arrow, "│")
		if !strings.Contains(arrow, " "+labels[i]+" ") {
			t.Errorf("line %d: arrow %q lacks label %q", i+1, arrow, labels[i])
		}
		if s.Dir == analyze.ClientToServer && !(strings.HasSuffix(arrow, "→") && !strings.Contains(arrow, "←")) ||
			s.Dir == analyze.ServerToClient && !(strings.HasPrefix(arrow, "←") && !strings.Contains(arrow, "→")) {
			t.Errorf("line %d (%v): arrow points the wrong way: %q", i+1, s.Dir, arrow)
		}
		// Lifelines at the same column on every line.
		l1 := utf8.RuneCountInString(l[:strings.Index(l, "│")])
		l2 := l1 + 1 + utf8.RuneCountInString(arrow)
		if i == 0 {
			left, right = l1, l2
		} else if l1 != left || l2 != right {
			t.Errorf("line %d: lifelines at %d,%d, want %d,%d:\n%s", i+1, l1, l2, left, right, l)
		}
		// The margin: frame number and time since the start.
		if f := strings.Fields(l); f[0] != strconv.FormatUint(s.Frame, 10) {
			t.Errorf("line %d: margin %q, want frame %d", i+1, f[0], s.Frame)
		}
	}
	if f := strings.Fields(lines[5]); f[1] != "0.010400" {
		t.Errorf("frame 6 time %q, want 0.010400", f[1])
	}
}

// States appear beside their side of the arrow on the first line and when
// they change, and nowhere else.
func TestLadderStates(t *testing.T) {
	c := cleanConn()
	lines := diagramLines(ladderOf(t, c, nil))
	for i, l := range lines {
		s := &c.Timeline[i]
		leftCol, rest, _ := strings.Cut(l, "│")
		_, rightCol, _ := strings.Cut(rest, "│")
		clientShown := strings.Fields(leftCol)
		serverShown := strings.TrimSpace(rightCol)
		wantC := i == 0 || s.ClientState != c.Timeline[i-1].ClientState
		wantS := i == 0 || s.ServerState != c.Timeline[i-1].ServerState
		if got := len(clientShown) == 3; got != wantC || got && clientShown[2] != s.ClientState.String() {
			t.Errorf("line %d: client column %q, want state shown=%v (%v)", i+1, leftCol, wantC, s.ClientState)
		}
		if got := serverShown != ""; got != wantS || got && serverShown != s.ServerState.String() {
			t.Errorf("line %d: server column %q, want state shown=%v (%v)", i+1, serverShown, wantS, s.ServerState)
		}
	}
}

func TestLadderFindings(t *testing.T) {
	out := ladderOf(t, leakConn(), nil)
	for _, want := range []string{
		"connection #3  client 10.0.0.1:41240 → server 10.0.0.3:5432  (trace.pcap, frames 13–21)",
		"│ CLOSE_WAIT   ◀ half_close_stuck\n",
		"[retransmission]",
		"final: client FIN_WAIT_2 / server CLOSE_WAIT",
		"  error   half_close_stuck  frames 20,21  at +1.010000s  lasted 3.19s  by server\n" +
			"           client FIN (frame 20) acknowledged by frame 21;",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("ladder lacks %q:\n%s", want, out)
		}
	}
	if out := ladderOf(t, cleanConn(), nil); !strings.Contains(out, "findings: none") || strings.Contains(out, "◀") {
		t.Errorf("clean ladder:\n%s", out)
	}
}

func TestLadderNoTimeline(t *testing.T) {
	c := v6Conn()
	out := ladderOf(t, c, nil)
	if len(diagramLines(out)) != 0 || !strings.Contains(out, "no timeline recorded") ||
		!strings.Contains(out, "client [2001:db8::1]:50000 → server [2001:db8::2]:443") ||
		!strings.Contains(out, "seen mid-stream") || !strings.Contains(out, "warning reset  frame 24") {
		t.Errorf("ladder without timeline:\n%s", out)
	}
}

func TestLadderTruncatedTimeline(t *testing.T) {
	c := cleanConn()
	c.Timeline = c.Timeline[:4]
	out := ladderOf(t, c, nil)
	if !strings.Contains(out, "(the timeline holds the first 4 of 10 segments)") {
		t.Errorf("truncation not said:\n%s", out)
	}
}

func TestStepLabel(t *testing.T) {
	for _, tc := range []struct {
		s    analyze.Step
		want string
	}{
		{analyze.Step{Flags: S, Window: 1}, "SYN seq=0"},
		{analyze.Step{Flags: S | A, Ack: 1, Window: 1}, "SYN,ACK seq=0 ack=1"},
		{analyze.Step{Flags: F | P | A, Seq: 5, Ack: 7, Len: 3, Window: 1}, "FIN,PSH,ACK seq=5 ack=7 len=3"},
		{analyze.Step{Flags: R, Seq: 9}, "RST seq=9"},
		{analyze.Step{Flags: A, Seq: 1, Ack: 1}, "ACK seq=1 ack=1 win=0"},
		{analyze.Step{Flags: A, Seq: 1, Ack: 1, Len: 1, Window: 9, Note: "keep-alive"}, "ACK seq=1 ack=1 len=1 [keep-alive]"},
		{analyze.Step{Window: 1}, "none seq=0"},
	} {
		if got := stepLabel(&tc.s); got != tc.want {
			t.Errorf("stepLabel(%+v) = %q, want %q", tc.s, got, tc.want)
		}
	}
}

// A note with non-ASCII text does not shift the right lifeline.
func TestLadderUnicodeNote(t *testing.T) {
	c := cleanConn()
	c.Timeline[3].Note = "seq ≠ expected"
	lines := diagramLines(ladderOf(t, c, nil))
	want := -1
	for i, l := range lines {
		n := utf8.RuneCountInString(l[:strings.LastIndex(l, "│")])
		if i == 0 {
			want = n
		} else if n != want {
			t.Errorf("line %d: right lifeline at %d, want %d:\n%s", i+1, n, want, l)
		}
	}
}
