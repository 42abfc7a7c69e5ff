package capture

import (
	"bytes"

	"github.com/gopacket/gopacket/layers"
)

// The decoder is split by layer: decode_link.go (link layers, tags, MPLS,
// PPP), decode_ip.go (IPv4, IPv6 and their extension headers),
// decode_tunnel.go (GRE and the UDP tunnels) and decode_tcp.go (the TCP
// header and options). This file holds the Decoder and what every layer
// shares: the encapsulation stack and the frame's length on the wire.

// maxEncap bounds how many distinct encapsulations are recorded for one
// segment, maxDepth how many tunnel or tag layers one frame may nest.
const (
	maxEncap = 8
	maxDepth = 16
)

// Decoder turns one frame into a Segment. It keeps no per-packet state
// beyond the last call and allocates nothing per packet once the skip
// reasons for unusual link and ether types have been seen. A Decoder made by
// NewDecoder does not reassemble IP fragments: a first fragment holding the
// TCP header yields a segment (its payload counted as not captured), later
// fragments are skipped; a Reader's or Live's decoder reassembles them
// (see FragmentConfig). A Decoder is not safe for concurrent use; make one
// per goroutine.
type Decoder struct {
	verify bool

	encaps  [maxEncap]string
	nEncaps int
	depth   int // encapsulation layers crossed, named or not

	// addresses of the innermost IP header, for the TCP pseudo-header
	src, dst []byte

	// frameCap is cap of the frame being decoded, so that cap(b) of any
	// subslice b tells how far into the frame it starts; end is where the
	// innermost enclosing layer ends, by the frame's length on the wire and
	// the length fields of the layers around it (1<<30 when unknown).
	frameCap, end int
	// clamped is set when the innermost IP header claimed more bytes than end allowed.
	clamped bool
	// badIPHeader is set when VerifyChecksums is on and an IPv4 header's
	// checksum is wrong.
	badIPHeader bool
	// subframe is which A-MSDU subframe of an 802.11 frame to decode;
	// moreSubframes is set when another one follows it.
	subframe      int
	moreSubframes bool

	// tunnel identifies the innermost tunnel of the frame (Segment.Tunnel);
	// udpPorts are the ports of the UDP header being decoded.
	tunnel   uint64
	udpPorts [2]uint16

	// frag reassembles IP fragments (a Reader's or Live's decoder; nil for
	// NewDecoder's, which decodes frames one by one); now and frame are the
	// capture time (ns) and number of the frame being decoded, for it.
	frag  *defrag
	now   int64
	frame uint64

	// text is the text of the last SkipLinkType or SkipEtherType reason,
	// made once per type and kept in these maps.
	text         string
	linkReasons  map[layers.LinkType]string
	etherReasons map[uint16]string
}

// NewDecoder returns a Decoder. A nil cfg applies the defaults.
func NewDecoder(cfg *Config) *Decoder {
	d := &Decoder{}
	if cfg != nil {
		d.verify = cfg.VerifyChecksums
	}
	return d
}

// Encaps returns the encapsulations the last decoded frame's TCP segment was
// found inside, outermost first ("VLAN", "GRE", "VXLAN", ...). Each name
// appears once. The slice is owned by the Decoder and overwritten by the
// next Decode.
func (d *Decoder) Encaps() []string { return d.encaps[:d.nEncaps] }

func (d *Decoder) push(name string) bool {
	d.depth++
	if d.depth > maxDepth {
		return false
	}
	for _, e := range d.encaps[:d.nEncaps] {
		if e == name {
			return true
		}
	}
	if d.nEncaps == maxEncap {
		return false
	}
	d.encaps[d.nEncaps] = name
	d.nEncaps++
	return true
}

// Decode decodes one frame of link type link into seg. It returns the zero
// Reason when seg holds a TCP segment, else why the frame was skipped.
// With VerifyChecksums, a segment whose TCP checksum is wrong is returned
// with BadChecksum set (and the zero Reason: Zeek finds the connection of
// such a segment, see Segment.BadChecksum); a frame with a wrong IPv4 header
// checksum has the SkipBadChecksum reason (seg filled in, BadChecksum set).
// After any other reason seg's contents are unspecified. Decode does not touch
// seg.Frame, seg.Time or seg.Input, and never retains data.
func (d *Decoder) Decode(data []byte, link layers.LinkType, seg *Segment) Reason {
	return d.DecodeWire(data, 0, link, seg)
}

// DecodeWire is Decode for a frame whose length on the wire (before the
// snap length cut it, gopacket's CaptureInfo.Length) is known. An IP header
// that claims more bytes than the frame had on the wire is not believed: the
// payload length is cut to what the frame held, as Wireshark does. A wireLen
// of 0 or below len(data) means unknown.
func (d *Decoder) DecodeWire(data []byte, wireLen int, link layers.LinkType, seg *Segment) Reason {
	d.subframe = 0
	return d.decode(data, wireLen, link, seg)
}

// More reports whether the frame last decoded holds another segment to
// decode: an 802.11 A-MSDU subframe after the one decoded (Zeek decodes
// every subframe).
func (d *Decoder) More() bool { return d.moreSubframes }

// DecodeNext decodes the next A-MSDU subframe of the frame DecodeWire (or
// DecodeNext) decoded last, which is given again; call it while More.
func (d *Decoder) DecodeNext(data []byte, wireLen int, link layers.LinkType, seg *Segment) Reason {
	d.subframe++
	return d.decode(data, wireLen, link, seg)
}

func (d *Decoder) decode(data []byte, wireLen int, link layers.LinkType, seg *Segment) Reason {
	if d.frag != nil && d.frag.nDone > 0 {
		d.frag.release()
	}
	d.moreSubframes = false
	d.frameCap, d.end = cap(data), wireLen
	if wireLen < len(data) {
		d.end = 1 << 30
	}
	d.nEncaps, d.depth = 0, 0
	// Src, Dst and IPLen are set by the IP header the segment is in, the
	// numbers, flags and lengths by tcp, on the way to every segment
	// decoded; options are set only when present.
	seg.Opts = Options{}
	seg.BadChecksum = false
	d.badIPHeader = false
	d.tunnel = 0
	bad := false
	var k SkipKind
	// Ethernet carrying IPv4 or IPv6, nearly every frame, goes straight to
	// the IP header: what link, ether and ethertype do for it.
	if link == layers.LinkTypeEthernet && len(data) >= 14 && data[12] == 0x08 && data[13] == 0x00 {
		k = d.ipv4(data[14:], seg, &bad)
	} else if link == layers.LinkTypeEthernet && len(data) >= 14 && data[12] == 0x86 && data[13] == 0xdd {
		k = d.ipv6(data[14:], seg, &bad)
	} else {
		k = d.link(data, link, seg, &bad)
	}
	switch k {
	case NotSkipped:
		seg.Tunnel = d.tunnel
		switch {
		case d.badIPHeader:
			// Zeek drops the packet before it looks for a connection.
			seg.BadChecksum = true
			return Reason{Kind: SkipBadChecksum}
		case bad:
			// Zeek finds the connection first; the segment adds a 'c'
			// to its history and nothing else.
			seg.BadChecksum = true
		}
		return Reason{}
	case SkipLinkType, SkipEtherType:
		return Reason{Kind: k, text: d.text}
	default:
		return Reason{Kind: k}
	}
}

// onWire is how many bytes the frame had on the wire from the start of b,
// a subslice of the frame being decoded.
func (d *Decoder) onWire(b []byte) int { return d.end - (d.frameCap - cap(b)) }

// limit records that the layer starting at b, by its own length field,
// ends n bytes later.
func (d *Decoder) limit(b []byte, n int) {
	d.end = min(d.end, d.frameCap-cap(b)+n)
}

// Kinds of tunnel, for Segment.Tunnel: an IP tunnel is known by its outer
// addresses, a tunnel in UDP by its outer UDP connection.
const (
	tunnelIP  = 1 // IP in IP
	tunnelGRE = 2
	tunnelUDP = 3 // VXLAN, Geneve, GTP-U, Teredo, AYIYA
)

// enter records that what follows is inside a tunnel of kind whose outer
// endpoints are the current IP header's addresses (seg.Src and seg.Dst) and,
// for a tunnel in UDP, the ports sport and dport. The innermost tunnel is
// the one a segment reports. Its identity is the same in both directions:
// an FNV-1a hash of the kind and the two endpoints in order.
func (d *Decoder) enter(kind byte, seg *Segment, sport, dport uint16) {
	a, b := seg.Src.Addr().As16(), seg.Dst.Addr().As16()
	if c := bytes.Compare(a[:], b[:]); c > 0 || c == 0 && sport > dport {
		a, b, sport, dport = b, a, dport, sport
	}
	const offset64, prime64 = 14695981039346656037, 1099511628211
	h := uint64(offset64)
	mix := func(c byte) { h = (h ^ uint64(c)) * prime64 }
	mix(kind)
	for _, c := range a {
		mix(c)
	}
	mix(byte(sport >> 8))
	mix(byte(sport))
	for _, c := range b {
		mix(c)
	}
	mix(byte(dport >> 8))
	mix(byte(dport))
	if h == 0 {
		h = 1
	}
	d.tunnel = h
}

// enterUDP is enter for a tunnel in the UDP datagram being decoded.
func (d *Decoder) enterUDP(seg *Segment) { d.enter(tunnelUDP, seg, d.udpPorts[0], d.udpPorts[1]) }
