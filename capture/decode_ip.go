package capture

import (
	"encoding/binary"
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// IP version nibbles, which also tell IP apart where nothing else does
// (raw IP link types, MPLS, GTP-U, WCCP).
const (
	ipVersion4 = 4
	ipVersion6 = 6
)

// IPv4 flags and fragment offset field.
const (
	ipv4MoreFragments = 0x2000
	ipv4FragOffset    = 0x1fff
)

// IPv6 extension headers gopacket's layers has no constant for; they share
// the generic layout (next header, length in 8-byte units beyond the first 8).
const (
	ipProtoMobility layers.IPProtocol = 135
	ipProtoHIP      layers.IPProtocol = 139
	ipProtoShim6    layers.IPProtocol = 140
)

// IPv6 routing header types whose final destination is in the header.
const (
	routingType0   = 0 // deprecated source route: the last address
	routingType2   = 2 // mobile IPv6: the home address
	routingTypeSRH = 4 // segment routing: segment list [0] is the final segment
)

// ipv6FragOffset masks the offset out of the fragment header's offset/flags
// field; ipv6MoreFragments is its M flag.
const (
	ipv6FragOffset    = 0xfff8
	ipv6MoreFragments = 1
)

// ip dispatches on the IP version nibble.
func (d *Decoder) ip(b []byte, seg *Segment, bad *bool) SkipKind {
	if len(b) < 1 {
		return SkipTruncated
	}
	switch b[0] >> 4 {
	case ipVersion4:
		return d.ipv4(b, seg, bad)
	case ipVersion6:
		return d.ipv6(b, seg, bad)
	}
	return SkipNonIP
}

func (d *Decoder) ipv4(b []byte, seg *Segment, bad *bool) SkipKind {
	if len(b) < 20 {
		return SkipTruncated
	}
	if b[0]>>4 != ipVersion4 {
		return SkipBadIP
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 {
		return SkipBadIP
	}
	if len(b) < ihl {
		return SkipTruncated
	}
	total := int(binary.BigEndian.Uint16(b[2:]))
	// verifiable: the TCP checksum can be checked against what was captured
	verifiable, checkHeader := true, true
	if total == 0 {
		// TCP segmentation offload: the NIC fills in the length and the
		// header checksum later. The TCP checksum is checked over what was
		// captured, as Wireshark does.
		total = len(b)
		checkHeader = false
	}
	if total < ihl {
		return SkipBadIP
	}
	seg.IPLen = uint32(total)
	d.clamped = false
	if avail := d.onWire(b); total > avail {
		total = max(avail, ihl)
		verifiable, d.clamped = false, true
	}
	d.limit(b, total)
	if frag := binary.BigEndian.Uint16(b[6:]); d.verify || frag&(ipv4FragOffset|ipv4MoreFragments) != 0 {
		// the one call the values here are kept across, made only for
		// a header to verify or a fragment
		if k, done := d.ipv4Checked(b, ihl, total, frag, checkHeader, &verifiable, seg, bad); done {
			return k
		}
	}
	seg.Src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[12:16])), 0)
	seg.Dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[16:20])), 0)
	payload := b[ihl:min(total, len(b))]
	if b[9] == byte(layers.IPProtocolTCP) { // what transport does for it
		return d.tcp(payload, total-ihl, verifiable, seg, bad)
	}
	return d.transport(layers.IPProtocol(b[9]), payload, total-ihl, verifiable, seg, bad)
}

// ipv4Checked verifies the checksum of an IPv4 header (ihl bytes of b,
// total bytes with its payload) and hands a fragment to reassembly. It
// reports done, with the reason, when the header's payload is not to be
// decoded as it is; it clears *verifiable for a first fragment.
func (d *Decoder) ipv4Checked(b []byte, ihl, total int, frag uint16, checkHeader bool, verifiable *bool, seg *Segment, bad *bool) (k SkipKind, done bool) {
	if d.verify && checkHeader && checksum(b[:ihl], 0) != 0xffff {
		d.badIPHeader = true
	}
	if frag&(ipv4FragOffset|ipv4MoreFragments) != 0 {
		if d.frag != nil && !d.badIPHeader {
			if k, held := d.ipv4Fragment(b, ihl, total, frag, seg, bad); held {
				return k, true
			}
		}
		if frag&ipv4FragOffset != 0 {
			return SkipFragment, true
		}
		*verifiable = false // a first fragment: the checksum covers bytes not here
	}
	if d.verify { // the pseudo-header's addresses, which only tcpChecksumOK reads
		d.src, d.dst = b[12:16], b[16:20]
		if ihl > 20 {
			d.sourceRouteDst(b[20:ihl])
		}
	}
	return 0, false
}

func (d *Decoder) ipv6(b []byte, seg *Segment, bad *bool) SkipKind {
	if len(b) < 40 {
		return SkipTruncated
	}
	if b[0]>>4 != ipVersion6 {
		return SkipBadIP
	}
	wire := int(binary.BigEndian.Uint16(b[4:]))
	verifiable := true
	if wire == 0 {
		// jumbogram or segmentation offload: trust the capture
		wire = len(b) - 40
	}
	seg.IPLen = uint32(40 + wire)
	d.clamped = false
	if avail := d.onWire(b) - 40; wire > avail {
		wire = max(avail, 0)
		verifiable, d.clamped = false, true
	}
	d.limit(b, 40+wire)
	next := layers.IPProtocol(b[6])
	if d.verify { // the pseudo-header's addresses, which only tcpChecksumOK reads
		d.src, d.dst = b[8:24], b[24:40]
	}
	seg.Src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[8:24])), 0)
	seg.Dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[24:40])), 0)
	b = b[40:]
	for range 16 {
		var hl int
		switch next {
		case layers.IPProtocolIPv6HopByHop, layers.IPProtocolIPv6Destination, layers.IPProtocolIPv6Routing,
			ipProtoMobility, ipProtoHIP, ipProtoShim6:
			if len(b) < 8 {
				return SkipTruncated
			}
			hl = (int(b[1]) + 1) * 8
			if next == layers.IPProtocolIPv6Routing && len(b) >= hl {
				d.routingDst(b[:hl])
			}
		case layers.IPProtocolIPv6Fragment:
			if len(b) < 8 {
				return SkipTruncated
			}
			if d.frag != nil && binary.BigEndian.Uint16(b[2:])&(ipv6FragOffset|ipv6MoreFragments) != 0 {
				if data, proto, held := d.ipv6Fragment(b, wire, seg); held {
					if data == nil {
						return SkipFragment
					}
					next, b, wire = proto, data, len(data)
					continue
				}
			}
			if binary.BigEndian.Uint16(b[2:])&ipv6FragOffset != 0 {
				return SkipFragment
			}
			if b[3]&ipv6MoreFragments != 0 { // the checksum covers bytes not here
				verifiable = false
			}
			hl = 8
		case layers.IPProtocolAH:
			if len(b) < 8 {
				return SkipTruncated
			}
			hl = (int(b[1]) + 2) * 4
		case layers.IPProtocolTCP: // what transport does for it
			return d.tcp(b[:min(wire, len(b))], wire, verifiable, seg, bad)
		default:
			payload := b[:min(wire, len(b))]
			return d.transport(next, payload, wire, verifiable, seg, bad)
		}
		if wire < hl {
			return SkipBadIP
		}
		if len(b) < hl {
			return SkipTruncated
		}
		next = layers.IPProtocol(b[0])
		b = b[hl:]
		wire -= hl
	}
	return SkipBadIP
}

// IPv4 options: the end of the list, padding, and the source routes.
const (
	ipv4OptEnd  = 0
	ipv4OptNOP  = 1
	ipv4OptLSRR = 131 // loose source and record route
	ipv4OptSSRR = 137 // strict source and record route
)

// sourceRouteDst points d.dst at the final destination of an IPv4 source
// route with hops left (its pointer, counted from the option's first byte,
// not yet past the option): that address, the route's last, not the next
// hop in the header, is in the TCP pseudo-header (RFC 9293 section 3.1),
// as gopacket's finalDstIP has it. A malformed option ends the walk.
func (d *Decoder) sourceRouteDst(opts []byte) {
	for len(opts) > 0 {
		switch opts[0] {
		case ipv4OptEnd:
			return
		case ipv4OptNOP:
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 {
			return
		}
		l := int(opts[1])
		if l < 2 || l > len(opts) {
			return
		}
		if (opts[0] == ipv4OptLSRR || opts[0] == ipv4OptSSRR) && l >= 7 && int(opts[2]) <= l {
			d.dst = opts[l-4 : l]
			return
		}
		opts = opts[l:]
	}
}

// routingDst points d.dst at the final destination named by an IPv6 routing
// header that still has segments left: that address, not the one in the IPv6
// header, is in the TCP pseudo-header.
func (d *Decoder) routingDst(h []byte) {
	left := int(h[3])
	if left == 0 {
		return
	}
	switch h[2] {
	case routingType0, routingType2: // the last address
		if len(h) >= 8+16 {
			d.dst = h[len(h)-16:]
		}
	case routingTypeSRH: // segment list [0] is the final segment
		if len(h) >= 8+16 {
			d.dst = h[8:24]
		}
	}
}

// transport handles the payload of an IP header: TCP, or a tunnel.
// payload is what was captured, wire the length the IP header declares.
func (d *Decoder) transport(proto layers.IPProtocol, payload []byte, wire int, verifiable bool, seg *Segment, bad *bool) SkipKind {
	switch proto {
	case layers.IPProtocolTCP:
		return d.tcp(payload, wire, verifiable, seg, bad)
	case layers.IPProtocolIPv4:
		if !d.push("IP-in-IP") {
			return SkipTooDeep
		}
		d.enter(tunnelIP, seg, 0, 0)
		return d.ipv4(payload, seg, bad)
	case layers.IPProtocolIPv6:
		if !d.push("IP-in-IP") {
			return SkipTooDeep
		}
		d.enter(tunnelIP, seg, 0, 0)
		return d.ipv6(payload, seg, bad)
	case layers.IPProtocolGRE:
		return d.gre(payload, seg, bad)
	case layers.IPProtocolUDP:
		return d.udp(payload, seg, bad)
	}
	return SkipNonTCP
}

// ipv4Fragment hands an IPv4 fragment (header length ihl, total length
// total) to reassembly and, when it completes its datagram, decodes the
// datagram's payload. held is false when the fragment was not captured
// whole: it is decoded as it is (Zeek does the same).
func (d *Decoder) ipv4Fragment(b []byte, ihl, total int, frag uint16, seg *Segment, bad *bool) (k SkipKind, held bool) {
	d.frag.stats.Fragments++
	if d.clamped || total > len(b) {
		d.frag.stats.Uncaptured++
		return 0, false
	}
	key := fragKey{id: uint32(binary.BigEndian.Uint16(b[4:])), proto: b[9]}
	copy(key.src[:], b[12:16])
	copy(key.dst[:], b[16:20])
	data, _ := d.frag.add(&key, int(frag&ipv4FragOffset)*8, frag&ipv4MoreFragments != 0, b[ihl:total], b[9], ihl, d.now, d.frame)
	if data == nil {
		return SkipFragment, true
	}
	// The datagram is decoded as this fragment's, its header the last
	// fragment's (source routes are copied into every fragment).
	d.src, d.dst = b[12:16], b[16:20]
	if ihl > 20 {
		d.sourceRouteDst(b[20:ihl])
	}
	seg.Src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[12:16])), 0)
	seg.Dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[16:20])), 0)
	seg.IPLen = uint32(ihl + len(data))
	d.reframe(data)
	return d.transport(layers.IPProtocol(b[9]), data, len(data), true, seg, bad), true
}

// ipv6Fragment hands the IPv6 fragment whose fragment header starts b
// (wire bytes on the wire from there) to reassembly. It returns the
// datagram's fragmentable part and its next header when the fragment
// completed it, nil when it did not; held is false when the fragment was
// not captured whole, to be decoded as it is.
func (d *Decoder) ipv6Fragment(b []byte, wire int, seg *Segment) (data []byte, proto layers.IPProtocol, held bool) {
	d.frag.stats.Fragments++
	if d.clamped || wire > len(b) {
		d.frag.stats.Uncaptured++
		return nil, 0, false
	}
	if wire < 8 {
		return nil, 0, true
	}
	key := fragKey{src: seg.Src.Addr().As16(), dst: seg.Dst.Addr().As16(), id: binary.BigEndian.Uint32(b[4:]), v6: true}
	unfrag := int(seg.IPLen) - wire // the IPv6 header and the extension headers before this one
	off := int(binary.BigEndian.Uint16(b[2:]) & ipv6FragOffset)
	// The payload length field, which the datagram's must fit, counts
	// the extension headers but not the IPv6 header.
	data, next := d.frag.add(&key, off, b[3]&ipv6MoreFragments != 0, b[8:wire], b[0], unfrag-40, d.now, d.frame)
	if data == nil {
		return nil, 0, true
	}
	seg.IPLen = uint32(unfrag + len(data))
	d.reframe(data)
	return data, layers.IPProtocol(next), true
}

// reframe makes a reassembled datagram's payload the frame being decoded:
// its layers end where it does.
func (d *Decoder) reframe(data []byte) {
	d.frameCap, d.end = cap(data), len(data)
}
