package capture

import (
	"net/netip"
	"time"
)

// Flags are the TCP control bits of a segment, in wire order (FIN is bit 0).
type Flags uint8

// The TCP flags, as in the header's flag byte.
const (
	FIN Flags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
)

// Has reports whether all of the bits in m are set.
func (f Flags) Has(m Flags) bool { return f&m == m }

// String returns the flags in tcpdump's letters: S (SYN), F (FIN), R (RST),
// P (PSH), U (URG), E (ECE), W (CWR) and "." for ACK, e.g. "S." for SYN+ACK.
// No flags at all is "none".
func (f Flags) String() string {
	var b [9]byte
	return string(f.AppendTo(b[:0]))
}

// AppendTo appends the tcpdump form of f (see String) to b.
func (f Flags) AppendTo(b []byte) []byte {
	n := len(b)
	for _, x := range [...]struct {
		f Flags
		c byte
	}{{SYN, 'S'}, {FIN, 'F'}, {RST, 'R'}, {PSH, 'P'}, {URG, 'U'}, {ECE, 'E'}, {CWR, 'W'}, {ACK, '.'}} {
		if f&x.f != 0 {
			b = append(b, x.c)
		}
	}
	if len(b) == n {
		b = append(b, "none"...)
	}
	return b
}

// Options are the TCP options of interest, parsed from SYN and SYN-ACK segments
// (and timestamps from any segment). Absent options have their zero value and
// the matching Has bit cleared.
type Options struct {
	MSS       uint16
	WScale    uint8 // shift count as sent; RFC 7323 caps its use at 14
	TSVal     uint32
	TSEcr     uint32
	HasMSS    bool
	HasWScale bool
	SACKPerm  bool
	HasTS     bool
	FastOpen  bool // TCP Fast Open option (kind 34) present
}

// Segment is one decoded TCP segment: everything the connection table and the
// analyzer need, and nothing that points into the packet buffer. It is a plain
// value; decoding fills one in place without allocating.
type Segment struct {
	Frame    uint64    // 1-based frame number within its input
	Time     time.Time // capture timestamp
	Src, Dst netip.AddrPort
	Seq, Ack uint32
	Flags    Flags
	Window   uint16 // as on the wire, unscaled
	Len      uint32 // TCP payload length (bytes), from the IP length when the frame was cut short by the snap length
	// Missing is how many of the payload's Len bytes the frame does not
	// hold (the snap length cut them off); 0 when the payload was captured.
	Missing uint32
	// IPLen is the length of the innermost IP packet carrying the segment
	// (headers included), as its header gives it.
	IPLen uint32
	Opts  Options

	// HeaderCut is set when the TCP header's options run past the bytes
	// the frame holds (the data offset points beyond them): flags and
	// numbers are known, the options in part. Zeek makes the connection
	// of such a segment but processes nothing of it ("truncated_header").
	HeaderCut bool

	// BadChecksum is set when checksum verification was asked for and the
	// TCP checksum is wrong. Such a segment is still delivered, since Zeek
	// finds its connection (and runs its reuse test) before it checks the
	// checksum, and the history gets a 'c'; nothing else may take it as
	// sent (the analyzer's peers never see it). A wrong IPv4 header
	// checksum drops the frame instead (SkipBadChecksum).
	BadChecksum bool
	// Input is the index of the input (file) the segment came from, in the
	// order inputs were given.
	Input int
	// Tunnel identifies the innermost tunnel the segment came in, 0 when
	// none: IP in IP and GRE by their outer addresses, the tunnels in UDP
	// (VXLAN, Geneve, GTP-U, Teredo, AYIYA) by their outer UDP connection,
	// the same in both directions. These are Zeek's encapsulating
	// connections, whose uids conn.log lists in tunnel_parents; VLAN, MPLS,
	// PPPoE and the other tags are not tunnels.
	Tunnel uint64
}

// PayloadCaptured reports whether the frame holds the whole payload (the
// snap length did not cut it).
func (s *Segment) PayloadCaptured() bool { return s.Missing == 0 }

// SeqLen is the amount of sequence space the segment occupies: its payload plus
// one for SYN and one for FIN.
func (s *Segment) SeqLen() uint32 {
	n := s.Len
	if s.Flags&SYN != 0 {
		n++
	}
	if s.Flags&FIN != 0 {
		n++
	}
	return n
}
