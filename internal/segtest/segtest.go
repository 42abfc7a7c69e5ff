// Package segtest builds scripts of TCP segments for tests of the
// connection table and the state machine: a client and a server, their
// ISNs, and segments written with relative sequence numbers, the way a
// textbook figure or Wireshark shows them.
package segtest

import (
	"net/netip"
	"strings"
	"time"

	"github.com/tcpflow-check/tcpflow-check/capture"
)

// Script is a sequence of segments between one client and one server.
type Script struct {
	Client, Server netip.AddrPort
	ISNc, ISNs     uint32
	Now            time.Time
	Window         uint16
	Step           time.Duration // time between segments; default 1ms
	segs           []capture.Segment
	frame          uint64
}

// T0 is the capture time scripts start at.
var T0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// New returns a script for 192.0.2.1:40000 → 192.0.2.2:80 with ISNs 1000
// (client) and 5000 (server).
func New() *Script {
	return &Script{
		Client: netip.MustParseAddrPort("192.0.2.1:40000"),
		Server: netip.MustParseAddrPort("192.0.2.2:80"),
		ISNc:   1000, ISNs: 5000,
		Now: T0, Window: 64240, Step: time.Millisecond,
	}
}

// Flags parses tcpdump-like letters: S, F, R, P, U, A (ACK; "." also works).
func Flags(s string) capture.Flags {
	var f capture.Flags
	for _, r := range strings.ToUpper(s) {
		switch r {
		case 'S':
			f |= capture.SYN
		case 'F':
			f |= capture.FIN
		case 'R':
			f |= capture.RST
		case 'P':
			f |= capture.PSH
		case 'U':
			f |= capture.URG
		case 'A', '.':
			f |= capture.ACK
		}
	}
	return f
}

// C adds a segment from the client: seq relative to ISNc, ack relative to
// ISNs, n payload bytes.
func (s *Script) C(flags string, seq, ack uint32, n int) *Script {
	return s.Raw(true, Flags(flags), s.ISNc+seq, s.ISNs+ack, n)
}

// S adds a segment from the server: seq relative to ISNs, ack relative to ISNc.
func (s *Script) S(flags string, seq, ack uint32, n int) *Script {
	return s.Raw(false, Flags(flags), s.ISNs+seq, s.ISNc+ack, n)
}

// Raw adds a segment with absolute numbers. The ack is kept only with ACK.
func (s *Script) Raw(fromClient bool, f capture.Flags, seq, ack uint32, n int) *Script {
	s.frame++
	seg := capture.Segment{Frame: s.frame, Time: s.Now, Src: s.Client, Dst: s.Server, Seq: seq, Flags: f,
		Window: s.Window, Len: uint32(n)}
	if !fromClient {
		seg.Src, seg.Dst = s.Server, s.Client
	}
	if f&capture.ACK != 0 {
		seg.Ack = ack
	}
	if f&capture.SYN != 0 {
		seg.Opts = capture.Options{MSS: 1460, HasMSS: true, WScale: 7, HasWScale: true, SACKPerm: true}
	}
	s.segs = append(s.segs, seg)
	s.Now = s.Now.Add(s.Step)
	return s
}

// Win sets the window of the segment added last.
func (s *Script) Win(w uint16) *Script {
	s.segs[len(s.segs)-1].Window = w
	return s
}

// Wait advances the clock.
func (s *Script) Wait(d time.Duration) *Script {
	s.Now = s.Now.Add(d)
	return s
}

// Handshake adds SYN, SYN-ACK and ACK.
func (s *Script) Handshake() *Script {
	return s.C("S", 0, 0, 0).S("SA", 0, 1, 0).C("A", 1, 1, 0)
}

// Segments returns the script's segments.
func (s *Script) Segments() []capture.Segment { return s.segs }
