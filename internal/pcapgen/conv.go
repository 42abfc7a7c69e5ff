package pcapgen

import (
	"net/netip"
	"time"

	"github.com/tcpflow-check/tcpflow-check/capture"
)

// Conv builds the segments of one connection, with sequence numbers given
// relative to each side's ISN as Wireshark shows them: the SYN has relative
// seq 0, the first data byte 1. Each segment is stamped Step after the
// previous one (Wait adds more). Frame numbers are left 0. See ExampleWrite.
type Conv struct {
	Client, Server netip.AddrPort
	ISNc, ISNs     uint32
	T              time.Time     // time of the next segment
	Step           time.Duration // added after each segment; NewConv sets 1 ms
	Window         uint16        // window of every non-SYN segment, unscaled; NewConv sets 502 (64 KB at the SYNs' scale 7)
	Segs           []capture.Segment
}

// NewConv starts a connection at t.
func NewConv(client, server netip.AddrPort, isnc, isns uint32, t time.Time) *Conv {
	return &Conv{Client: client, Server: server, ISNc: isnc, ISNs: isns, T: t, Step: time.Millisecond, Window: 502}
}

// synOpts are the options every crafted SYN and SYN-ACK carries.
var synOpts = capture.Options{MSS: 1460, HasMSS: true, WScale: 7, HasWScale: true, SACKPerm: true}

// C appends a client→server segment: seq = ISNc+seq, ack = ISNs+ack when
// flags has ACK (else 0). It returns the appended segment for tweaking;
// the pointer is valid until the next segment is appended.
func (c *Conv) C(flags capture.Flags, seq, ack, n uint32) *capture.Segment {
	return c.add(c.Client, c.Server, flags, c.ISNc+seq, c.ISNs+ack, n)
}

// S appends a server→client segment, relative to ISNs (seq) and ISNc (ack).
func (c *Conv) S(flags capture.Flags, seq, ack, n uint32) *capture.Segment {
	return c.add(c.Server, c.Client, flags, c.ISNs+seq, c.ISNc+ack, n)
}

// CAbs and SAbs append segments with absolute sequence numbers.
func (c *Conv) CAbs(flags capture.Flags, seq, ack, n uint32) *capture.Segment {
	return c.add(c.Client, c.Server, flags, seq, ack, n)
}

// SAbs: see CAbs.
func (c *Conv) SAbs(flags capture.Flags, seq, ack, n uint32) *capture.Segment {
	return c.add(c.Server, c.Client, flags, seq, ack, n)
}

// Wait advances the clock by d before the next segment.
func (c *Conv) Wait(d time.Duration) { c.T = c.T.Add(d) }

func (c *Conv) add(src, dst netip.AddrPort, flags capture.Flags, seq, ack, n uint32) *capture.Segment {
	if flags&capture.ACK == 0 {
		ack = 0
	}
	s := capture.Segment{Time: c.T, Src: src, Dst: dst, Seq: seq, Ack: ack, Flags: flags, Window: c.Window, Len: n}
	if flags&capture.SYN != 0 {
		s.Opts = synOpts
		s.Window = 65535 // windows in SYNs are never scaled
	}
	if flags&capture.RST != 0 && flags&capture.ACK == 0 {
		s.Window = 0
	}
	c.Segs = append(c.Segs, s)
	c.T = c.T.Add(c.Step)
	return &c.Segs[len(c.Segs)-1]
}

// Handshake appends SYN, SYN-ACK and the completing ACK.
func (c *Conv) Handshake() {
	c.C(capture.SYN, 0, 0, 0)
	c.S(capture.SYN|capture.ACK, 0, 1, 0)
	c.C(capture.ACK, 1, 1, 0)
}

// Exchange appends a request of req bytes and a response of resp bytes,
// each acknowledged, starting at relative seqs cs and ss.
func (c *Conv) Exchange(cs, ss, req, resp uint32) {
	c.C(capture.PSH|capture.ACK, cs, ss, req)
	c.S(capture.ACK, ss, cs+req, 0)
	c.S(capture.PSH|capture.ACK, ss, cs+req, resp)
	c.C(capture.ACK, cs+req, ss+resp, 0)
}

// CloseClientFirst appends FIN c→s, FIN-ACK s→c, ACK c→s at relative seqs
// cs and ss.
func (c *Conv) CloseClientFirst(cs, ss uint32) {
	c.C(capture.FIN|capture.ACK, cs, ss, 0)
	c.S(capture.FIN|capture.ACK, ss, cs+1, 0)
	c.C(capture.ACK, cs+1, ss+1, 0)
}

// Normal appends a complete connection: handshake, a req/resp exchange and
// a client-first close.
func (c *Conv) Normal(req, resp uint32) {
	c.Handshake()
	c.Exchange(1, 1, req, resp)
	c.CloseClientFirst(1+req, 1+resp)
}
