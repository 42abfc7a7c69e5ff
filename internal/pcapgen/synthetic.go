package pcapgen

import (
	"fmt"
	"io"
	"net/netip"
	"time"
)

// Synthetic describes a large generated capture for benchmarks: Conns
// complete connections (handshake, 100-byte request, 1000-byte response,
// client-first close: 10 packets each), interleaved so that Concurrent of them
// are open at any moment, one packet every Spacing.
//
// Clients are 198.18.0.0/15 addresses (RFC 2544 benchmarking range) with
// ports 10000–59999, the server 198.19.0.1:80; every connection has its own
// tuple. ISNs are derived from the connection number, so some cross 2^32.
type Synthetic struct {
	Conns      int           // number of connections; 100,000 gives 1,000,000 packets
	Concurrent int           // connections open at once; 0 means 1000
	Spacing    time.Duration // time between packets; 0 means 10 µs
	Start      time.Time     // time of the first packet; zero means CraftedStart
	Format     Format
	Link       Link
}

// SyntheticPacketsPerConn is the number of packets of each synthetic connection.
const SyntheticPacketsPerConn = 10

var syntheticServer = netip.MustParseAddrPort("198.19.0.1:80")

// SyntheticClient returns the client address of synthetic connection i.
func SyntheticClient(i int) netip.AddrPort {
	const ports = 50000
	host := uint32(i/ports) + 1
	a := [4]byte{198, 18 + byte(host>>16&1), byte(host >> 8), byte(host)}
	return netip.AddrPortFrom(netip.AddrFrom4(a), uint16(10000+i%ports))
}

// WriteSynthetic streams the capture described by s to w and returns the
// number of packets written. Memory stays proportional to s.Concurrent.
func WriteSynthetic(w io.Writer, s Synthetic) (int, error) {
	if s.Conns < 0 || s.Conns > 50000*(1<<17-2) {
		return 0, fmt.Errorf("pcapgen: synthetic: %d connections out of range", s.Conns)
	}
	k := s.Concurrent
	if k <= 0 {
		k = 1000
	}
	spacing := s.Spacing
	if spacing <= 0 {
		spacing = 10 * time.Microsecond
	}
	t := s.Start
	if t.IsZero() {
		t = CraftedStart
	}
	wr, err := NewWriter(w, s.Format, s.Link)
	if err != nil {
		return 0, err
	}
	type slot struct {
		conv *Conv
		step int
	}
	slots := make([]slot, k)
	next, open, packets := 0, 0, 0
	for tick := 0; next < s.Conns || open > 0; tick++ {
		sl := &slots[tick%k]
		if sl.conv == nil {
			if next >= s.Conns {
				continue
			}
			isnc := uint32(next) * 2654435761
			c := NewConv(SyntheticClient(next), syntheticServer, isnc, isnc^0x5bd1e995, t)
			c.Normal(craftedRequest, craftedResponse)
			*sl = slot{conv: c}
			next++
			open++
		}
		seg := &sl.conv.Segs[sl.step]
		seg.Time = t
		if err := wr.WriteSegment(0, seg); err != nil {
			return packets, err
		}
		packets++
		t = t.Add(spacing)
		if sl.step++; sl.step == len(sl.conv.Segs) {
			*sl = slot{}
			open--
		}
	}
	return packets, wr.Close()
}
