package capture

import (
	"encoding/binary"
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// Skip reasons returned by Decoder.Decode and counted in Stats.Skipped. Link
// types and ether types the decoder does not handle get reasons naming them
// ("unsupported link type FDDI", "ether type ARP", "ether type 0x88b5").
const (
	ReasonNonTCP      = "non-tcp"      // IP, but not TCP (UDP, ICMP, ESP, no next header, ...)
	ReasonNonIP       = "non-ip"       // a link layer or tunnel payload that is not IP (LLC, PPP control, ...)
	ReasonTruncated   = "truncated"    // the frame ends before the fixed 20 bytes of the TCP header do
	ReasonFragment    = "fragment"     // a non-first IP fragment: no TCP header in it
	ReasonBadChecksum = "bad checksum" // VerifyChecksums is on and the TCP or IPv4 header checksum is wrong
	ReasonBadIP       = "bad ip header"
	ReasonBadTCP      = "bad tcp header" // data offset below 5 words or beyond the IP payload
	ReasonTooDeep     = "too many encapsulations"
)

// maxEncap bounds how many distinct encapsulations are recorded for one
// segment, maxDepth how many tunnel or tag layers one frame may nest.
const (
	maxEncap = 8
	maxDepth = 16
)

// Decoder turns one frame into a Segment. It keeps no per-packet state
// beyond the last call and allocates nothing per packet once the skip
// reasons for unusual link and ether types have been seen. A Decoder is not
// safe for concurrent use; make one per goroutine.
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

// Decode decodes one frame of link type link into seg. It returns "" when
// seg holds a TCP segment, else the reason the frame was skipped (one of the
// Reason constants, or a reason naming an unsupported link or ether type).
// With VerifyChecksums, a segment whose checksum is wrong is filled in, has
// BadChecksum set, and is returned with ReasonBadChecksum; after any other
// reason seg's contents are unspecified. Decode does not touch seg.Frame,
// seg.Time or seg.Input, and never retains data.
func (d *Decoder) Decode(data []byte, link layers.LinkType, seg *Segment) (reason string) {
	return d.DecodeWire(data, 0, link, seg)
}

// DecodeWire is Decode for a frame whose length on the wire (before the
// snap length cut it, gopacket's CaptureInfo.Length) is known. An IP header
// that claims more bytes than the frame had on the wire is not believed: the
// payload length is cut to what the frame held, as Wireshark does. A wireLen
// of 0 or below len(data) means unknown.
func (d *Decoder) DecodeWire(data []byte, wireLen int, link layers.LinkType, seg *Segment) (reason string) {
	d.frameCap, d.end = cap(data), wireLen
	if wireLen < len(data) {
		d.end = 1 << 30
	}
	d.nEncaps, d.depth = 0, 0
	seg.Src, seg.Dst = netip.AddrPort{}, netip.AddrPort{}
	seg.Seq, seg.Ack, seg.Flags, seg.Window, seg.Len = 0, 0, 0, 0, 0
	seg.Opts = Options{}
	seg.BadChecksum = false
	bad := false
	reason = d.link(data, link, seg, &bad)
	if reason == "" && bad {
		seg.BadChecksum = true
		return ReasonBadChecksum
	}
	return reason
}

func (d *Decoder) link(b []byte, link layers.LinkType, seg *Segment, bad *bool) string {
	switch link {
	case layers.LinkTypeEthernet:
		return d.ether(b, seg, bad)
	case layers.LinkTypeLinuxSLL:
		// packet type, ARPHRD type, address length, 8 address bytes, protocol
		if len(b) < 16 {
			return ReasonTruncated
		}
		if binary.BigEndian.Uint16(b[2:]) == arphrdNetlink {
			return "netlink"
		}
		return d.sllProto(binary.BigEndian.Uint16(b[14:]), b[16:], seg, bad)
	case layers.LinkTypeLinuxSLL2:
		// protocol, reserved, interface index, ARPHRD type, packet type, address length, 8 address bytes
		if len(b) < 20 {
			return ReasonTruncated
		}
		if binary.BigEndian.Uint16(b[8:]) == arphrdNetlink {
			return "netlink"
		}
		return d.sllProto(binary.BigEndian.Uint16(b[0:]), b[20:], seg, bad)
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		if len(b) < 4 {
			return ReasonTruncated
		}
		// DLT_NULL has the address family in the writer's byte order,
		// DLT_LOOP in network order; families are small, so a value that
		// does not fit in 16 bits was written in the other order.
		af := binary.LittleEndian.Uint32(b)
		if af > 0xffff {
			af = binary.BigEndian.Uint32(b)
		}
		switch af {
		case 2:
			return d.ipv4(b[4:], seg, bad)
		case 10, 24, 28, 30: // AF_INET6 on Linux, NetBSD/OpenBSD, FreeBSD/DragonFly, macOS
			return d.ipv6(b[4:], seg, bad)
		}
		return ReasonNonIP
	case layers.LinkTypeRaw, 12, 14, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		return d.ip(b, seg, bad)
	case layers.LinkTypePPP, layers.LinkTypePPP_HDLC:
		return d.ppp(b, seg, bad)
	case layers.LinkTypeC_HDLC:
		// address, control, ether type
		if len(b) < 4 {
			return ReasonTruncated
		}
		return d.ethertype(binary.BigEndian.Uint16(b[2:]), b[4:], seg, bad)
	case layers.LinkTypeFDDI:
		// frame control, destination, source, then 802.2 LLC
		if len(b) < 13 {
			return ReasonTruncated
		}
		return d.llc(b[13:], seg, bad)
	case linkTypeNFLOG:
		return d.nflog(b, seg, bad)
	case linkTypeIPoIB:
		// destination and source hardware addresses (20 bytes each), then
		// the 4-byte IPoIB header: ether type and reserved
		if len(b) < 44 {
			return ReasonTruncated
		}
		return d.ethertype(binary.BigEndian.Uint16(b[40:]), b[44:], seg, bad)
	case layers.LinkTypeARCNetLinux:
		return d.arcnet(b, seg, bad)
	case linkTypeJuniperEther:
		return d.juniper(b, seg, bad)
	}
	return d.linkReason(link)
}

const (
	arphrdNetlink        = 824
	linkTypeJuniperEther = 178
	linkTypeNFLOG        = 239
	linkTypeIPoIB        = 242
)

// arcnet handles Linux ARCnet frames: source, destination, a 2-byte offset,
// the protocol id, and for RFC 1201 protocols a split flag and sequence number.
func (d *Decoder) arcnet(b []byte, seg *Segment, bad *bool) string {
	if len(b) < 5 {
		return ReasonTruncated
	}
	switch b[4] {
	case 0xf0: // RFC 1051 IP
		return d.ipv4(b[5:], seg, bad)
	case 0xd4, 0xd7: // RFC 1201 IP, RFC 2497 IPv6
		hl := 8
		if len(b) >= 6 && b[5] == 0xff { // exception packet: 4 bytes of padding and a repeated header
			hl = 12
		}
		if len(b) < hl {
			return ReasonTruncated
		}
		return d.ip(b[hl:], seg, bad)
	}
	return ReasonNonIP
}

// juniper handles Juniper's "MGC" pseudo-header before an Ethernet frame.
func (d *Decoder) juniper(b []byte, seg *Segment, bad *bool) string {
	if len(b) < 4 {
		return ReasonTruncated
	}
	if b[0] != 'M' || b[1] != 'G' || b[2] != 'C' {
		return ReasonNonIP
	}
	flags := b[3]
	b = b[4:]
	if flags&0x80 != 0 { // extensions: 2-byte length, then TLVs
		if len(b) < 2 {
			return ReasonTruncated
		}
		l := 2 + int(binary.BigEndian.Uint16(b))
		if len(b) < l {
			return ReasonTruncated
		}
		b = b[l:]
	}
	if flags&0x02 != 0 { // no layer 2 header
		return d.ip(b, seg, bad)
	}
	return d.ether(b, seg, bad)
}

// sllProto dispatches on the protocol field of a Linux cooked header, which
// is an ether type or one of a few small values for non-Ethernet frames.
func (d *Decoder) sllProto(proto uint16, b []byte, seg *Segment, bad *bool) string {
	switch proto {
	case 0x0004: // 802.2 LLC frame
		return d.llc(b, seg, bad)
	}
	if proto < 0x0600 {
		return ReasonNonIP
	}
	return d.ethertype(proto, b, seg, bad)
}

func (d *Decoder) ether(b []byte, seg *Segment, bad *bool) string {
	if len(b) < 14 {
		return ReasonTruncated
	}
	t := binary.BigEndian.Uint16(b[12:])
	if t <= 1500 { // 802.3 length field: an LLC frame follows
		return d.llc(b[14:], seg, bad)
	}
	return d.ethertype(t, b[14:], seg, bad)
}

// llc handles an 802.2 LLC header: only SNAP with an encapsulated ether type
// can carry IP.
func (d *Decoder) llc(b []byte, seg *Segment, bad *bool) string {
	if len(b) < 3 {
		return ReasonTruncated
	}
	if b[0] == 0xaa && b[1] == 0xaa && b[2] == 0x03 {
		if len(b) < 8 {
			return ReasonTruncated
		}
		return d.ethertype(binary.BigEndian.Uint16(b[6:]), b[8:], seg, bad)
	}
	return ReasonNonIP
}

func (d *Decoder) ethertype(t uint16, b []byte, seg *Segment, bad *bool) string {
	switch t {
	case 0x0800:
		return d.ipv4(b, seg, bad)
	case 0x86dd:
		return d.ipv6(b, seg, bad)
	case 0x8100, 0x88a8, 0x9100, 0x9200:
		// 802.1Q / 802.1ad tag: TCI, then the inner ether type
		if len(b) < 4 {
			return ReasonTruncated
		}
		if !d.push("VLAN") {
			return ReasonTooDeep
		}
		if inner := binary.BigEndian.Uint16(b[2:]); inner > 1500 {
			return d.ethertype(inner, b[4:], seg, bad)
		}
		return d.llc(b[4:], seg, bad) // an 802.3 length: LLC follows
	case 0x8847, 0x8848:
		return d.mpls(b, seg, bad)
	case 0x8864:
		// PPPoE session: version/type, code, session id, length, then PPP
		if len(b) < 6 {
			return ReasonTruncated
		}
		if !d.push("PPPoE") {
			return ReasonTooDeep
		}
		d.limit(b, 6+int(binary.BigEndian.Uint16(b[4:])))
		return d.pppProto(b[6:], seg, bad)
	case 0x6558: // transparent Ethernet bridging (GRE, Geneve)
		return d.ether(b, seg, bad)
	case 0x8926: // VN-Tag: 4 bytes of tag, then the inner ether type
		if len(b) < 6 {
			return ReasonTruncated
		}
		if !d.push("VN-Tag") {
			return ReasonTooDeep
		}
		return d.ethertype(binary.BigEndian.Uint16(b[4:]), b[6:], seg, bad)
	}
	return d.etherReason(t)
}

func (d *Decoder) mpls(b []byte, seg *Segment, bad *bool) string {
	if !d.push("MPLS") {
		return ReasonTooDeep
	}
	for {
		if len(b) < 4 {
			return ReasonTruncated
		}
		bottom := b[2]&1 != 0
		b = b[4:]
		if bottom {
			break
		}
	}
	if len(b) < 1 {
		return ReasonTruncated
	}
	switch b[0] >> 4 {
	case 4:
		return d.ipv4(b, seg, bad)
	case 6:
		return d.ipv6(b, seg, bad)
	case 0:
		// pseudowire control word, then an Ethernet frame
		if len(b) < 4 {
			return ReasonTruncated
		}
		return d.ether(b[4:], seg, bad)
	}
	return ReasonNonIP
}

// ppp handles a PPP frame with optional HDLC address and control bytes.
func (d *Decoder) ppp(b []byte, seg *Segment, bad *bool) string {
	if len(b) >= 2 && b[0] == 0xff && b[1] == 0x03 {
		b = b[2:]
	}
	return d.pppProto(b, seg, bad)
}

// pppProto handles a PPP protocol field (one byte when compressed) and its payload.
func (d *Decoder) pppProto(b []byte, seg *Segment, bad *bool) string {
	if len(b) < 1 {
		return ReasonTruncated
	}
	var proto uint16
	if b[0]&1 != 0 {
		proto, b = uint16(b[0]), b[1:]
	} else {
		if len(b) < 2 {
			return ReasonTruncated
		}
		proto, b = binary.BigEndian.Uint16(b), b[2:]
	}
	switch proto {
	case 0x0021:
		return d.ipv4(b, seg, bad)
	case 0x0057:
		return d.ipv6(b, seg, bad)
	case 0x0281, 0x0283:
		return d.mpls(b, seg, bad)
	}
	return ReasonNonIP
}

// nflog walks the TLVs of a Linux NFLOG record to its packet payload.
func (d *Decoder) nflog(b []byte, seg *Segment, bad *bool) string {
	if len(b) < 4 {
		return ReasonTruncated
	}
	family := b[0]
	b = b[4:]
	for len(b) >= 4 {
		// length and type are in host byte order; lengths are small
		l := int(binary.LittleEndian.Uint16(b))
		typ := binary.LittleEndian.Uint16(b[2:])
		if l > 0xff && binary.BigEndian.Uint16(b) < 0x100 {
			l = int(binary.BigEndian.Uint16(b))
			typ = binary.BigEndian.Uint16(b[2:])
		}
		if l < 4 {
			return ReasonNonIP
		}
		if typ&0x7fff == 9 { // NFULA_PAYLOAD
			end := min(l, len(b))
			switch family {
			case 2:
				return d.ipv4(b[4:end], seg, bad)
			case 10:
				return d.ipv6(b[4:end], seg, bad)
			}
			return d.ip(b[4:end], seg, bad)
		}
		l = (l + 3) &^ 3
		if l > len(b) {
			break
		}
		b = b[l:]
	}
	return ReasonNonIP
}

// ip dispatches on the IP version nibble.
func (d *Decoder) ip(b []byte, seg *Segment, bad *bool) string {
	if len(b) < 1 {
		return ReasonTruncated
	}
	switch b[0] >> 4 {
	case 4:
		return d.ipv4(b, seg, bad)
	case 6:
		return d.ipv6(b, seg, bad)
	}
	return ReasonNonIP
}

func (d *Decoder) ipv4(b []byte, seg *Segment, bad *bool) string {
	if len(b) < 20 {
		return ReasonTruncated
	}
	if b[0]>>4 != 4 {
		return ReasonBadIP
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 {
		return ReasonBadIP
	}
	if len(b) < ihl {
		return ReasonTruncated
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
		return ReasonBadIP
	}
	d.clamped = false
	if avail := d.onWire(b); total > avail {
		total = max(avail, ihl)
		verifiable, d.clamped = false, true
	}
	d.limit(b, total)
	if d.verify && checkHeader && checksum(b[:ihl], 0) != 0xffff {
		*bad = true
	}
	frag := binary.BigEndian.Uint16(b[6:])
	if frag&0x1fff != 0 {
		return ReasonFragment
	}
	if frag&0x2000 != 0 { // first fragment: the checksum covers bytes not here
		verifiable = false
	}
	d.src, d.dst = b[12:16], b[16:20]
	seg.Src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[12:16])), 0)
	seg.Dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[16:20])), 0)
	payload := b[ihl:min(total, len(b))]
	return d.transport(b[9], payload, total-ihl, verifiable, seg, bad)
}

func (d *Decoder) ipv6(b []byte, seg *Segment, bad *bool) string {
	if len(b) < 40 {
		return ReasonTruncated
	}
	if b[0]>>4 != 6 {
		return ReasonBadIP
	}
	wire := int(binary.BigEndian.Uint16(b[4:]))
	verifiable := true
	if wire == 0 {
		// jumbogram or segmentation offload: trust the capture
		wire = len(b) - 40
	}
	d.clamped = false
	if avail := d.onWire(b) - 40; wire > avail {
		wire = max(avail, 0)
		verifiable, d.clamped = false, true
	}
	d.limit(b, 40+wire)
	next := b[6]
	d.src, d.dst = b[8:24], b[24:40]
	seg.Src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[8:24])), 0)
	seg.Dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[24:40])), 0)
	b = b[40:]
	for range 16 {
		var hl int
		switch next {
		case 0, 60, 43, 135, 139, 140: // hop-by-hop, destination options, routing, mobility, HIP, shim6
			if len(b) < 8 {
				return ReasonTruncated
			}
			hl = (int(b[1]) + 1) * 8
			if next == 43 && len(b) >= hl {
				d.routingDst(b[:hl])
			}
		case 44: // fragment
			if len(b) < 8 {
				return ReasonTruncated
			}
			if binary.BigEndian.Uint16(b[2:])&^7 != 0 {
				return ReasonFragment
			}
			if b[3]&1 != 0 { // more fragments: the checksum covers bytes not here
				verifiable = false
			}
			hl = 8
		case 51: // authentication header
			if len(b) < 8 {
				return ReasonTruncated
			}
			hl = (int(b[1]) + 2) * 4
		default:
			payload := b[:min(wire, len(b))]
			return d.transport(next, payload, wire, verifiable, seg, bad)
		}
		if wire < hl {
			return ReasonBadIP
		}
		if len(b) < hl {
			return ReasonTruncated
		}
		next = b[0]
		b = b[hl:]
		wire -= hl
	}
	return ReasonBadIP
}

// onWire is how many bytes the frame had on the wire from the start of b,
// a subslice of the frame being decoded.
func (d *Decoder) onWire(b []byte) int { return d.end - (d.frameCap - cap(b)) }

// limit records that the layer starting at b, by its own length field,
// ends n bytes later.
func (d *Decoder) limit(b []byte, n int) {
	d.end = min(d.end, d.frameCap-cap(b)+n)
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
	case 0, 2: // type 0 (deprecated), type 2 (mobile IPv6): the last address
		if len(h) >= 8+16 {
			d.dst = h[len(h)-16:]
		}
	case 4: // segment routing: segment list [0] is the final segment
		if len(h) >= 8+16 {
			d.dst = h[8:24]
		}
	}
}

// transport handles the payload of an IP header: TCP, or a tunnel.
// payload is what was captured, wire the length the IP header declares.
func (d *Decoder) transport(proto byte, payload []byte, wire int, verifiable bool, seg *Segment, bad *bool) string {
	switch proto {
	case 6:
		return d.tcp(payload, wire, verifiable, seg, bad)
	case 4:
		if !d.push("IP-in-IP") {
			return ReasonTooDeep
		}
		return d.ipv4(payload, seg, bad)
	case 41:
		if !d.push("IP-in-IP") {
			return ReasonTooDeep
		}
		return d.ipv6(payload, seg, bad)
	case 47:
		return d.gre(payload, seg, bad)
	case 17:
		return d.udp(payload, seg, bad)
	}
	return ReasonNonTCP
}

func (d *Decoder) gre(b []byte, seg *Segment, bad *bool) string {
	if len(b) < 4 {
		return ReasonTruncated
	}
	flags := binary.BigEndian.Uint16(b)
	proto := binary.BigEndian.Uint16(b[2:])
	hl := 4
	if flags&0xc000 != 0 { // checksum or routing present: checksum + offset
		hl += 4
	}
	if flags&0x2000 != 0 { // key (in version 1: payload length and call id)
		hl += 4
	}
	if flags&0x1000 != 0 { // sequence number
		hl += 4
	}
	if flags&7 == 1 && flags&0x0080 != 0 { // enhanced GRE acknowledgment number
		hl += 4
	}
	if flags&0x4000 != 0 { // source routing (RFC 1701): not worth decoding
		return "gre routing"
	}
	if len(b) < hl {
		return ReasonTruncated
	}
	if !d.push("GRE") {
		return ReasonTooDeep
	}
	b = b[hl:]
	switch proto {
	case 0x88be: // ERSPAN type II has an 8-byte header when the sequence bit is set; type I has none
		if !d.push("ERSPAN") {
			return ReasonTooDeep
		}
		if flags&0x1000 != 0 {
			if len(b) < 8 {
				return ReasonTruncated
			}
			b = b[8:]
		}
		return d.ether(b, seg, bad)
	case 0x22eb: // ERSPAN type III: 12-byte header and an optional 8-byte platform subheader
		if !d.push("ERSPAN") {
			return ReasonTooDeep
		}
		if len(b) < 12 {
			return ReasonTruncated
		}
		o := b[11]&1 != 0
		b = b[12:]
		if o {
			if len(b) < 8 {
				return ReasonTruncated
			}
			b = b[8:]
		}
		return d.ether(b, seg, bad)
	case 0x880b: // PPP (PPTP)
		return d.ppp(b, seg, bad)
	case 0x883e: // WCCP: IP, or a 4-byte redirect header and then IP
		if len(b) >= 1 && b[0]>>4 != 4 {
			if len(b) < 4 {
				return ReasonTruncated
			}
			b = b[4:]
		}
		return d.ip(b, seg, bad)
	}
	return d.ethertype(proto, b, seg, bad)
}

// UDP ports of the tunnels decoded inside UDP.
const (
	portVXLAN    = 4789
	portVXLANGPE = 4790
	portGeneve   = 6081
	portTeredo   = 3544
	portGTPU     = 2152
)

func (d *Decoder) udp(b []byte, seg *Segment, bad *bool) string {
	if len(b) < 8 {
		return ReasonNonTCP
	}
	sport := binary.BigEndian.Uint16(b)
	dport := binary.BigEndian.Uint16(b[2:])
	if l := int(binary.BigEndian.Uint16(b[4:])); l >= 8 {
		d.limit(b, l)
		if l < len(b) {
			b = b[:l]
		}
	}
	b = b[8:]
	switch {
	case dport == portVXLAN:
		// flags (I bit), reserved, VNI, reserved; then Ethernet
		if len(b) < 8 {
			return ReasonTruncated
		}
		if b[0]&0x08 == 0 {
			return ReasonNonTCP
		}
		if !d.push("VXLAN") {
			return ReasonTooDeep
		}
		return d.ether(b[8:], seg, bad)
	case dport == portVXLANGPE:
		if len(b) < 8 {
			return ReasonTruncated
		}
		if !d.push("VXLAN") {
			return ReasonTooDeep
		}
		switch b[3] { // next protocol
		case 1:
			return d.ipv4(b[8:], seg, bad)
		case 2:
			return d.ipv6(b[8:], seg, bad)
		case 3:
			return d.ether(b[8:], seg, bad)
		case 5:
			return d.mpls(b[8:], seg, bad)
		}
		return ReasonNonIP
	case dport == portGeneve:
		// version and option length (4-byte words), flags, protocol type, VNI
		if len(b) < 8 {
			return ReasonTruncated
		}
		hl := 8 + int(b[0]&0x3f)*4
		if len(b) < hl {
			return ReasonTruncated
		}
		if !d.push("Geneve") {
			return ReasonTooDeep
		}
		return d.ethertype(binary.BigEndian.Uint16(b[2:]), b[hl:], seg, bad)
	case dport == portGTPU || sport == portGTPU:
		return d.gtpu(b, seg, bad)
	case dport == portTeredo || sport == portTeredo:
		return d.teredo(b, seg, bad, false)
	}
	// Teredo data between a client and a relay uses neither port 3544;
	// like Zeek, recognise it by its content.
	return d.teredo(b, seg, bad, true)
}

// gtpu handles a GTPv1-U G-PDU carrying IP.
func (d *Decoder) gtpu(b []byte, seg *Segment, bad *bool) string {
	if len(b) < 8 || b[0]>>5 != 1 || b[0]&0x10 == 0 || b[1] != 0xff {
		return ReasonNonTCP
	}
	flags := b[0]
	b = b[8:]
	if flags&0x07 != 0 { // sequence number, N-PDU number, next extension header type
		if len(b) < 4 {
			return ReasonTruncated
		}
		next := b[3]
		b = b[4:]
		for next != 0 {
			if len(b) < 4 {
				return ReasonTruncated
			}
			l := int(b[0]) * 4
			if l == 0 || len(b) < l {
				return ReasonTruncated
			}
			next = b[l-1]
			b = b[l:]
		}
	}
	if !d.push("GTP") {
		return ReasonTooDeep
	}
	return d.ip(b, seg, bad)
}

// teredo handles IPv6 over UDP (RFC 4380), with its optional authentication
// and origin indication headers. With sniff (a UDP port other than 3544) it
// only accepts an IPv6 packet that fills the datagram exactly and has an
// address in the Teredo prefix 2001::/32; anything else is plain UDP.
func (d *Decoder) teredo(b []byte, seg *Segment, bad *bool, sniff bool) string {
	if len(b) >= 4 && b[0] == 0 && b[1] == 1 { // authentication
		l := 4 + int(b[2]) + int(b[3]) + 9
		if len(b) < l {
			return ReasonTruncated
		}
		b = b[l:]
	}
	if len(b) >= 8 && b[0] == 0 && b[1] == 0 { // origin indication
		b = b[8:]
	}
	if len(b) < 40 || b[0]>>4 != 6 {
		return ReasonNonTCP
	}
	if sniff && (40+int(binary.BigEndian.Uint16(b[4:])) != len(b) || !teredoAddr(b[8:24]) && !teredoAddr(b[24:40])) {
		return ReasonNonTCP
	}
	if !d.push("Teredo") {
		return ReasonTooDeep
	}
	return d.ipv6(b, seg, bad)
}

func teredoAddr(a []byte) bool { return a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0 }

// tcp decodes a TCP header. b is the captured part of the IP payload, wire its
// length on the wire according to the IP header. The 20 fixed bytes must have
// been captured; options need not be.
func (d *Decoder) tcp(b []byte, wire int, verifiable bool, seg *Segment, bad *bool) string {
	if len(b) < 20 {
		return ReasonTruncated
	}
	off := int(b[12]>>4) * 4
	if off < 20 || off > wire && !d.clamped {
		return ReasonBadTCP
	}
	seg.Src = netip.AddrPortFrom(seg.Src.Addr(), binary.BigEndian.Uint16(b))
	seg.Dst = netip.AddrPortFrom(seg.Dst.Addr(), binary.BigEndian.Uint16(b[2:]))
	seg.Seq = binary.BigEndian.Uint32(b[4:])
	seg.Ack = binary.BigEndian.Uint32(b[8:])
	seg.Flags = Flags(b[13])
	seg.Window = binary.BigEndian.Uint16(b[14:])
	seg.Len = uint32(max(wire-off, 0))
	// Options cut off by the snap length are lost; the segment is not.
	parseOptions(b[20:min(off, len(b))], seg.Flags&SYN != 0, &seg.Opts)
	if d.verify && verifiable && len(b) >= wire && !d.tcpChecksumOK(b[:wire]) {
		*bad = true
	}
	return ""
}

// parseOptions reads the TCP options of interest. A malformed option ends the
// list; what was read before it is kept, as a receiving host would.
func parseOptions(o []byte, syn bool, opts *Options) {
	for i := 0; i < len(o); {
		kind := o[i]
		if kind == 0 {
			return
		}
		if kind == 1 {
			i++
			continue
		}
		if i+1 >= len(o) {
			return
		}
		l := int(o[i+1])
		if l < 2 || i+l > len(o) {
			return
		}
		v := o[i+2 : i+l]
		switch kind {
		case 2:
			if syn && len(v) == 2 {
				opts.MSS, opts.HasMSS = binary.BigEndian.Uint16(v), true
			}
		case 3:
			if syn && len(v) == 1 {
				opts.WScale, opts.HasWScale = v[0], true
			}
		case 4:
			if syn && len(v) == 0 {
				opts.SACKPerm = true
			}
		case 8:
			if len(v) == 8 {
				opts.TSVal = binary.BigEndian.Uint32(v)
				opts.TSEcr = binary.BigEndian.Uint32(v[4:])
				opts.HasTS = true
			}
		case 34:
			if syn {
				opts.FastOpen = true
			}
		case 254: // experimental TFO (RFC 6994 magic 0xf989)
			if syn && len(v) >= 2 && v[0] == 0xf9 && v[1] == 0x89 {
				opts.FastOpen = true
			}
		}
		i += l
	}
}
