package human

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/internal/timefmt"
)

// MaxFrames caps the frame numbers Frames lists.
const MaxFrames = 6

// Frames writes "frame 7" or "frames 5,6,7": the first MaxFrames of
// frames, then "…" and the total when the finding rests on more (n).
func Frames(frames []uint64, n int) string {
	var b strings.Builder
	if n == 1 {
		b.WriteString("frame ")
	} else {
		b.WriteString("frames ")
	}
	for i, f := range frames[:min(len(frames), MaxFrames)] {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(f, 10))
	}
	if n > MaxFrames {
		fmt.Fprintf(&b, ",… (%d frames)", n)
	}
	return b.String()
}

// Plural writes "1 packet", "2 packets".
func Plural(n uint64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.FormatUint(n, 10) + " " + noun + "s"
}

// Duration writes d for people by the one rule of every output
// (timefmt.Duration): "850µs", "12.3ms", "1.5s", "2m30s"; "0s" for zero
// and negative durations.
func Duration(d time.Duration) string { return timefmt.Duration(d) }

// AddrPort writes ap as "10.0.0.1:80" or "[2001:db8::1]:443", without a zone
// (a capture's zone is the capturing host's, not the peer's); "" when ap is
// not valid. The JSON records write addresses the same way.
func AddrPort(ap netip.AddrPort) string {
	if !ap.IsValid() {
		return ""
	}
	return netip.AddrPortFrom(ap.Addr().WithZone(""), ap.Port()).String()
}

// Painter adds ANSI colours when On.
type Painter struct{ On bool }

func (p Painter) paint(code, s string) string {
	if !p.On {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// Bold, Red, Yellow, Green and Cyan colour s.
func (p Painter) Bold(s string) string   { return p.paint("1", s) }
func (p Painter) Red(s string) string    { return p.paint("1;31", s) }
func (p Painter) Yellow(s string) string { return p.paint("33", s) }
func (p Painter) Green(s string) string  { return p.paint("32", s) }
func (p Painter) Cyan(s string) string   { return p.paint("36", s) }

// Severity writes the severity padded to a column, coloured by rank.
func (p Painter) Severity(s analyze.Severity) string {
	name := fmt.Sprintf("%-7s", s.String())
	switch s {
	case analyze.Error:
		return p.Red(name)
	case analyze.Warning:
		return p.Yellow(name)
	}
	return p.Cyan(name)
}
