package capture

import (
	"encoding/binary"

	"github.com/gopacket/gopacket/layers"
)

// Link types gopacket's layers has no constant for.
const (
	linkTypeRawBSD       layers.LinkType = 12  // DLT_RAW on most BSDs
	linkTypeRawOpenBSD   layers.LinkType = 14  // DLT_RAW on OpenBSD
	linkTypeJuniperEther layers.LinkType = 178 // Juniper "MGC" pseudo-header, then Ethernet
	linkTypeNFLOG        layers.LinkType = 239 // Linux NFLOG
	linkTypeIPoIB        layers.LinkType = 242 // IP over InfiniBand
)

// arphrdNetlink is ARPHRD_NETLINK, the hardware type of a Linux cooked
// capture of netlink messages (not packets).
const arphrdNetlink = 824

// Ether types gopacket's layers has no constant for.
const (
	etherTypeQinQ9100 layers.EthernetType = 0x9100 // pre-802.1ad double tag
	etherTypeQinQ9200 layers.EthernetType = 0x9200 // pre-802.1ad double tag
	etherTypeVNTag    layers.EthernetType = 0x8926 // Cisco VN-Tag
	etherTypeERSPAN3  layers.EthernetType = 0x22eb // ERSPAN type III, as a GRE protocol
	etherTypeWCCP     layers.EthernetType = 0x883e // WCCP redirection, as a GRE protocol
	etherTypePBB      layers.EthernetType = 0x88e7 // 802.1ah provider backbone bridging I-TAG
)

// pbbITagLen is the 802.1ah I-TAG (priority, flags, 24-bit I-SID); the
// customer's destination and source MACs and ether type follow.
const pbbITagLen = 4

// maxDot3Length is the largest 802.3 length field; a type/length field above
// it is an ether type. Linux cooked captures use values below minEtherType
// for frames that are not Ethernet, sllProtoLLC among them (ETH_P_802_2).
const (
	maxDot3Length = 1500
	minEtherType  = 0x0600
	sllProtoLLC   = 0x0004
)

// Header lengths of the tags between an ether type and the next one.
const (
	vlanTagLen         = 4 // TCI, inner ether type
	pppoeSessionHeader = 6 // version/type, code, session id, length
)

// llcSNAP is the 802.2 LLC header of a SNAP frame: DSAP, SSAP, control (UI).
var llcSNAP = [3]byte{0xaa, 0xaa, 0x03}

// PPP's HDLC-like framing: address and control bytes before the protocol.
const (
	pppAddress = 0xff
	pppControl = 0x03
)

// ARCnet protocol ids that carry IP (RFC 1051, RFC 1201, RFC 2497).
const (
	arcnetIPRFC1051 = 0xf0
	arcnetIPRFC1201 = 0xd4
	arcnetIPv6      = 0xd7
	arcnetException = 0xff // the split flag of an RFC 1201 exception packet
)

// Juniper pseudo-header flags.
const (
	juniperFlagExtensions = 0x80 // a length-prefixed TLV block follows
	juniperFlagNoL2       = 0x02 // IP follows, no Ethernet header
)

// nflogAttrPayload is NFULA_PAYLOAD, the NFLOG TLV holding the packet.
const nflogAttrPayload = 9

// Address families in BSD null/loopback headers (AF_INET6 differs: Linux,
// NetBSD/OpenBSD, FreeBSD/DragonFly, macOS) and in NFLOG records.
const (
	afInet          = uint32(layers.ProtocolFamilyIPv4)
	afInet6Linux    = uint32(layers.ProtocolFamilyIPv6Linux)
	afInet6BSD      = uint32(layers.ProtocolFamilyIPv6BSD)
	afInet6FreeBSD  = uint32(layers.ProtocolFamilyIPv6FreeBSD)
	afInet6Darwin   = uint32(layers.ProtocolFamilyIPv6Darwin)
	nflogFamilyIPv4 = byte(layers.ProtocolFamilyIPv4)
	nflogFamilyIPv6 = byte(layers.ProtocolFamilyIPv6Linux)
)

// mplsPWControlWord is the first nibble of a pseudowire control word after
// the bottom MPLS label (RFC 4385); IP starts with its version instead.
const mplsPWControlWord = 0

func (d *Decoder) link(b []byte, link layers.LinkType, seg *Segment, bad *bool) SkipKind {
	switch link {
	case layers.LinkTypeEthernet:
		return d.ether(b, seg, bad)
	case layers.LinkTypeLinuxSLL:
		// packet type, ARPHRD type, address length, 8 address bytes, protocol
		if len(b) < 16 {
			return SkipTruncated
		}
		if binary.BigEndian.Uint16(b[2:]) == arphrdNetlink {
			return SkipNetlink
		}
		return d.sllProto(binary.BigEndian.Uint16(b[14:]), b[16:], seg, bad)
	case layers.LinkTypeLinuxSLL2:
		// protocol, reserved, interface index, ARPHRD type, packet type, address length, 8 address bytes
		if len(b) < 20 {
			return SkipTruncated
		}
		if binary.BigEndian.Uint16(b[8:]) == arphrdNetlink {
			return SkipNetlink
		}
		return d.sllProto(binary.BigEndian.Uint16(b[0:]), b[20:], seg, bad)
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		if len(b) < 4 {
			return SkipTruncated
		}
		// DLT_NULL has the address family in the writer's byte order,
		// DLT_LOOP in network order; families are small, so a value that
		// does not fit in 16 bits was written in the other order.
		af := binary.LittleEndian.Uint32(b)
		if af > 0xffff {
			af = binary.BigEndian.Uint32(b)
		}
		switch af {
		case afInet:
			return d.ipv4(b[4:], seg, bad)
		case afInet6Linux, afInet6BSD, afInet6FreeBSD, afInet6Darwin:
			return d.ipv6(b[4:], seg, bad)
		}
		return SkipNonIP
	case layers.LinkTypeRaw, linkTypeRawBSD, linkTypeRawOpenBSD, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		return d.ip(b, seg, bad)
	case layers.LinkTypePPP, layers.LinkTypePPP_HDLC:
		return d.ppp(b, seg, bad)
	case layers.LinkTypeC_HDLC:
		// address, control, ether type
		if len(b) < 4 {
			return SkipTruncated
		}
		return d.ethertype(binary.BigEndian.Uint16(b[2:]), b[4:], seg, bad)
	case layers.LinkTypeFDDI:
		// frame control, destination, source, then 802.2 LLC
		if len(b) < 13 {
			return SkipTruncated
		}
		return d.llc(b[13:], seg, bad)
	case linkTypeNFLOG:
		return d.nflog(b, seg, bad)
	case linkTypeIPoIB:
		// destination and source hardware addresses (20 bytes each), then
		// the 4-byte IPoIB header: ether type and reserved
		if len(b) < 44 {
			return SkipTruncated
		}
		return d.ethertype(binary.BigEndian.Uint16(b[40:]), b[44:], seg, bad)
	case layers.LinkTypeARCNetLinux:
		return d.arcnet(b, seg, bad)
	case linkTypeJuniperEther:
		return d.juniper(b, seg, bad)
	}
	return d.linkReason(link)
}

// arcnet handles Linux ARCnet frames: source, destination, a 2-byte offset,
// the protocol id, and for RFC 1201 protocols a split flag and sequence number.
func (d *Decoder) arcnet(b []byte, seg *Segment, bad *bool) SkipKind {
	if len(b) < 5 {
		return SkipTruncated
	}
	switch b[4] {
	case arcnetIPRFC1051:
		return d.ipv4(b[5:], seg, bad)
	case arcnetIPRFC1201, arcnetIPv6:
		hl := 8
		if len(b) >= 6 && b[5] == arcnetException { // 4 bytes of padding and a repeated header
			hl = 12
		}
		if len(b) < hl {
			return SkipTruncated
		}
		return d.ip(b[hl:], seg, bad)
	}
	return SkipNonIP
}

// juniper handles Juniper's "MGC" pseudo-header before an Ethernet frame.
func (d *Decoder) juniper(b []byte, seg *Segment, bad *bool) SkipKind {
	if len(b) < 4 {
		return SkipTruncated
	}
	if b[0] != 'M' || b[1] != 'G' || b[2] != 'C' {
		return SkipNonIP
	}
	flags := b[3]
	b = b[4:]
	if flags&juniperFlagExtensions != 0 { // 2-byte length, then TLVs
		if len(b) < 2 {
			return SkipTruncated
		}
		l := 2 + int(binary.BigEndian.Uint16(b))
		if len(b) < l {
			return SkipTruncated
		}
		b = b[l:]
	}
	if flags&juniperFlagNoL2 != 0 {
		return d.ip(b, seg, bad)
	}
	return d.ether(b, seg, bad)
}

// sllProto dispatches on the protocol field of a Linux cooked header, which
// is an ether type or one of a few small values for non-Ethernet frames.
func (d *Decoder) sllProto(proto uint16, b []byte, seg *Segment, bad *bool) SkipKind {
	switch proto {
	case sllProtoLLC:
		return d.llc(b, seg, bad)
	}
	if proto < minEtherType {
		return SkipNonIP
	}
	return d.ethertype(proto, b, seg, bad)
}

func (d *Decoder) ether(b []byte, seg *Segment, bad *bool) SkipKind {
	if len(b) < 14 {
		return SkipTruncated
	}
	t := binary.BigEndian.Uint16(b[12:])
	if t <= maxDot3Length { // 802.3 length field: an LLC frame follows
		return d.llc(b[14:], seg, bad)
	}
	return d.ethertype(t, b[14:], seg, bad)
}

// llc handles an 802.2 LLC header: only SNAP with an encapsulated ether type
// can carry IP.
func (d *Decoder) llc(b []byte, seg *Segment, bad *bool) SkipKind {
	if len(b) < 3 {
		return SkipTruncated
	}
	if [3]byte(b) == llcSNAP {
		// then the OUI (3 bytes) and the ether type
		if len(b) < 8 {
			return SkipTruncated
		}
		return d.ethertype(binary.BigEndian.Uint16(b[6:]), b[8:], seg, bad)
	}
	return SkipNonIP
}

func (d *Decoder) ethertype(t uint16, b []byte, seg *Segment, bad *bool) SkipKind {
	switch layers.EthernetType(t) {
	case layers.EthernetTypeIPv4:
		return d.ipv4(b, seg, bad)
	case layers.EthernetTypeIPv6:
		return d.ipv6(b, seg, bad)
	case layers.EthernetTypeDot1Q, layers.EthernetTypeQinQ, etherTypeQinQ9100, etherTypeQinQ9200:
		// 802.1Q / 802.1ad tag: TCI, then the inner ether type
		if len(b) < vlanTagLen {
			return SkipTruncated
		}
		if !d.push("VLAN") {
			return SkipTooDeep
		}
		if inner := binary.BigEndian.Uint16(b[2:]); inner > maxDot3Length {
			return d.ethertype(inner, b[vlanTagLen:], seg, bad)
		}
		return d.llc(b[vlanTagLen:], seg, bad) // an 802.3 length: LLC follows
	case layers.EthernetTypeMPLSUnicast, layers.EthernetTypeMPLSMulticast:
		return d.mpls(b, seg, bad)
	case layers.EthernetTypePPPoESession:
		// PPPoE session: version/type, code, session id, length, then PPP
		if len(b) < pppoeSessionHeader {
			return SkipTruncated
		}
		if !d.push("PPPoE") {
			return SkipTooDeep
		}
		// The length field is not believed over the IP header's, as in
		// Zeek (its PPPoE analyzer skips the header): in
		// zeek/pppoe-over-qinq it says 42 where IP says 46, and the TCP
		// checksum holds over IP's 46 bytes. tshark cuts IP to it.
		return d.pppProto(b[pppoeSessionHeader:], seg, bad)
	case layers.EthernetTypeTransparentEthernetBridging: // GRE, Geneve
		return d.ether(b, seg, bad)
	case etherTypePBB: // I-TAG, then the customer's Ethernet header
		if len(b) < pbbITagLen {
			return SkipTruncated
		}
		if !d.push("PBB") {
			return SkipTooDeep
		}
		return d.ether(b[pbbITagLen:], seg, bad)
	case etherTypeVNTag: // 4 bytes of tag, then the inner ether type
		if len(b) < 6 {
			return SkipTruncated
		}
		if !d.push("VN-Tag") {
			return SkipTooDeep
		}
		return d.ethertype(binary.BigEndian.Uint16(b[4:]), b[6:], seg, bad)
	}
	return d.etherReason(t)
}

func (d *Decoder) mpls(b []byte, seg *Segment, bad *bool) SkipKind {
	if !d.push("MPLS") {
		return SkipTooDeep
	}
	for {
		if len(b) < 4 {
			return SkipTruncated
		}
		bottom := b[2]&1 != 0 // bottom of stack
		b = b[4:]
		if bottom {
			break
		}
	}
	// MPLS does not say what it carries: the first nibble does
	if len(b) >= 1 && b[0]>>4 == mplsPWControlWord {
		// pseudowire control word, then an Ethernet frame
		if len(b) < 4 {
			return SkipTruncated
		}
		return d.ether(b[4:], seg, bad)
	}
	return d.ip(b, seg, bad)
}

// ppp handles a PPP frame with optional HDLC address and control bytes.
func (d *Decoder) ppp(b []byte, seg *Segment, bad *bool) SkipKind {
	if len(b) >= 2 && b[0] == pppAddress && b[1] == pppControl {
		b = b[2:]
	}
	return d.pppProto(b, seg, bad)
}

// pppProto handles a PPP protocol field (one byte when compressed) and its payload.
func (d *Decoder) pppProto(b []byte, seg *Segment, bad *bool) SkipKind {
	if len(b) < 1 {
		return SkipTruncated
	}
	var proto uint16
	if b[0]&1 != 0 {
		proto, b = uint16(b[0]), b[1:]
	} else {
		if len(b) < 2 {
			return SkipTruncated
		}
		proto, b = binary.BigEndian.Uint16(b), b[2:]
	}
	switch layers.PPPType(proto) {
	case layers.PPPTypeIPv4:
		return d.ipv4(b, seg, bad)
	case layers.PPPTypeIPv6:
		return d.ipv6(b, seg, bad)
	case layers.PPPTypeMPLSUnicast, layers.PPPTypeMPLSMulticast:
		return d.mpls(b, seg, bad)
	}
	return SkipNonIP
}

// nflog walks the TLVs of a Linux NFLOG record to its packet payload.
func (d *Decoder) nflog(b []byte, seg *Segment, bad *bool) SkipKind {
	if len(b) < 4 {
		return SkipTruncated
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
			return SkipNonIP
		}
		if typ&0x7fff == nflogAttrPayload { // the top bit is NLA_F_NESTED
			end := min(l, len(b))
			switch family {
			case nflogFamilyIPv4:
				return d.ipv4(b[4:end], seg, bad)
			case nflogFamilyIPv6:
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
	return SkipNonIP
}
