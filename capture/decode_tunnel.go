package capture

import (
	"encoding/binary"

	"github.com/gopacket/gopacket/layers"
)

// GRE header flags (RFC 1701, RFC 2784, RFC 2890; enhanced GRE of RFC 2637).
const (
	greChecksum        = 0x8000
	greRouting         = 0x4000
	greKey             = 0x2000 // in version 1: payload length and call id
	greSequence        = 0x1000
	greAck             = 0x0080 // version 1 only
	greVersion         = 0x0007
	greVersionEnhanced = 1 // enhanced GRE, as PPTP uses it
)

// erspan3Optional is the O bit of an ERSPAN type III header: an 8-byte
// platform-specific subheader follows.
const erspan3Optional = 0x01

// UDP ports of the tunnels decoded inside UDP.
const (
	portVXLAN    = 4789
	portVXLANGPE = 4790
	portGeneve   = 6081
	portTeredo   = 3544
	portGTPU     = 2152
	portAYIYA    = 5072 // Anything In Anything (SixXS)
	portGREinUDP = 4754 // RFC 8086
)

// Aruba's GRE protocol types for frames from its access points: an 802.11
// frame follows (Zeek's GRE analyzer decodes them so).
const (
	greArubaFirst = 0x8200
	greArubaLast  = 0x8370
	greAruba9000  = 0x9000
)

// AYIYA header: identity length (log2) and type, signature length (in
// 4-byte words) and hash method, authentication method and opcode, next
// header; then a 4-byte epoch time, the identity and the signature.
const (
	ayiyaFixed      = 8
	ayiyaOpForward  = 1
	ayiyaNextIPv4   = 4
	ayiyaNextIPv6   = 41
	ayiyaOpcodeMask = 0x0f
)

// IEEE 802.11 data frame header (IEEE 802.11-2016 9.2.4): frame control,
// duration, three addresses, sequence control; a fourth address when both
// To DS and From DS are set; QoS control in QoS data subtypes.
const (
	wlanHeaderLen   = 24
	wlanAddr4Len    = 6
	wlanQoSLen      = 2
	wlanTypeData    = 0x08 // frame control type bits (2-3) = data
	wlanSubNoData   = 0x40 // subtypes with this bit carry no data
	wlanSubQoS      = 0x80 // QoS data subtypes
	wlanToFromDS    = 0x03
	wlanProtected   = 0x40
	wlanQoSAMSDU    = 0x80 // QoS control: the body is an A-MSDU
	amsduHeaderLen  = 14   // destination, source, length
	amsduAlignBytes = 4    // each subframe but the last is padded to a multiple
)

// vxlanFlagVNI is the I flag of a VXLAN header: the VNI is valid.
const vxlanFlagVNI = 0x08

// Next protocols of a VXLAN-GPE header.
const (
	gpeIPv4     = 1
	gpeIPv6     = 2
	gpeEthernet = 3
	gpeMPLS     = 5
)

// GTPv1-U header: version 1 in the top three bits, the protocol type bit
// (GTP, not GTP'), the flags of the optional fields, the G-PDU message type.
const (
	gtpVersion1     = 1
	gtpProtocolType = 0x10
	gtpOptional     = 0x07 // extension header, sequence number, N-PDU number
	gtpMsgGPDU      = 0xff
)

// Teredo indicators before the IPv6 packet (RFC 4380 section 5.1.1).
const (
	teredoAuthentication = 0x0001
	teredoOrigin         = 0x0000
)

func (d *Decoder) gre(b []byte, seg *Segment, bad *bool) SkipKind {
	if len(b) < 4 {
		return SkipTruncated
	}
	flags := binary.BigEndian.Uint16(b)
	proto := binary.BigEndian.Uint16(b[2:])
	hl := 4
	if flags&(greChecksum|greRouting) != 0 { // checksum + offset
		hl += 4
	}
	if flags&greKey != 0 {
		hl += 4
	}
	if flags&greSequence != 0 {
		hl += 4
	}
	if flags&greVersion == greVersionEnhanced && flags&greAck != 0 {
		hl += 4
	}
	if flags&greRouting != 0 { // source routing (RFC 1701): not worth decoding
		return SkipGRERouting
	}
	if len(b) < hl {
		return SkipTruncated
	}
	if !d.push("GRE") {
		return SkipTooDeep
	}
	d.enter(tunnelGRE, seg, 0, 0)
	b = b[hl:]
	switch layers.EthernetType(proto) {
	case layers.EthernetTypeERSPAN: // type II has an 8-byte header when the sequence bit is set; type I has none
		if !d.push("ERSPAN") {
			return SkipTooDeep
		}
		if flags&greSequence != 0 {
			if len(b) < 8 {
				return SkipTruncated
			}
			b = b[8:]
		}
		return d.ether(b, seg, bad)
	case etherTypeERSPAN3: // 12-byte header and an optional 8-byte platform subheader
		if !d.push("ERSPAN") {
			return SkipTooDeep
		}
		if len(b) < 12 {
			return SkipTruncated
		}
		o := b[11]&erspan3Optional != 0
		b = b[12:]
		if o {
			if len(b) < 8 {
				return SkipTruncated
			}
			b = b[8:]
		}
		return d.ether(b, seg, bad)
	case layers.EthernetTypePPP: // PPTP
		return d.ppp(b, seg, bad)
	case layers.EthernetType(greAruba9000):
		return d.wlan(b, seg, bad)
	case etherTypeWCCP: // IP, or a 4-byte redirect header and then IP
		if len(b) >= 1 && b[0]>>4 != ipVersion4 {
			if len(b) < 4 {
				return SkipTruncated
			}
			b = b[4:]
		}
		return d.ip(b, seg, bad)
	}
	if proto >= greArubaFirst && proto <= greArubaLast {
		return d.wlan(b, seg, bad)
	}
	return d.ethertype(proto, b, seg, bad)
}

// wlan handles an 802.11 data frame (as Aruba access points tunnel them in
// GRE): the LLC/SNAP header of its body, or of the A-MSDU subframe
// d.subframe, leads to IP. Management, control, null-data and protected
// (encrypted) frames carry nothing to decode.
func (d *Decoder) wlan(b []byte, seg *Segment, bad *bool) SkipKind {
	hl := wlanHeaderLen
	if len(b) <= hl {
		return SkipTruncated
	}
	fc, flags := b[0], b[1]
	if fc&0x0c != wlanTypeData || fc&wlanSubNoData != 0 {
		return SkipNonIP
	}
	if flags&wlanToFromDS == wlanToFromDS {
		hl += wlanAddr4Len
	}
	amsdu := false
	if fc&wlanSubQoS != 0 {
		if len(b) <= hl {
			return SkipTruncated
		}
		amsdu = b[hl]&wlanQoSAMSDU != 0
		hl += wlanQoSLen
	}
	if flags&wlanProtected != 0 {
		return SkipNonIP
	}
	if len(b) <= hl {
		return SkipTruncated
	}
	if !d.push("802.11") {
		return SkipTooDeep
	}
	b = b[hl:]
	if !amsdu {
		return d.llc(b, seg, bad)
	}
	for i := 0; len(b) > 0; i++ {
		if len(b) < amsduHeaderLen {
			return SkipTruncated
		}
		l := int(binary.BigEndian.Uint16(b[12:]))
		if len(b) < amsduHeaderLen+l {
			return SkipTruncated
		}
		body := b[amsduHeaderLen : amsduHeaderLen+l]
		b = b[amsduHeaderLen+l:]
		if pad := (amsduAlignBytes - (amsduHeaderLen+l)%amsduAlignBytes) % amsduAlignBytes; len(b) >= pad {
			b = b[pad:]
		}
		if i == d.subframe {
			d.moreSubframes = len(b) > 0
			return d.llc(body, seg, bad)
		}
	}
	return SkipNonIP
}

func (d *Decoder) udp(b []byte, seg *Segment, bad *bool) SkipKind {
	if len(b) < 8 {
		return SkipNonTCP
	}
	sport := binary.BigEndian.Uint16(b)
	dport := binary.BigEndian.Uint16(b[2:])
	d.udpPorts = [2]uint16{sport, dport}
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
			return SkipTruncated
		}
		if b[0]&vxlanFlagVNI == 0 {
			return SkipNonTCP
		}
		if !d.push("VXLAN") {
			return SkipTooDeep
		}
		d.enterUDP(seg)
		return d.ether(b[8:], seg, bad)
	case dport == portVXLANGPE:
		if len(b) < 8 {
			return SkipTruncated
		}
		if !d.push("VXLAN") {
			return SkipTooDeep
		}
		d.enterUDP(seg)
		switch b[3] { // next protocol
		case gpeIPv4:
			return d.ipv4(b[8:], seg, bad)
		case gpeIPv6:
			return d.ipv6(b[8:], seg, bad)
		case gpeEthernet:
			return d.ether(b[8:], seg, bad)
		case gpeMPLS:
			return d.mpls(b[8:], seg, bad)
		}
		return SkipNonIP
	case dport == portGeneve:
		// version and option length (4-byte words), flags, protocol type, VNI
		if len(b) < 8 {
			return SkipTruncated
		}
		hl := 8 + int(b[0]&0x3f)*4
		if len(b) < hl {
			return SkipTruncated
		}
		if !d.push("Geneve") {
			return SkipTooDeep
		}
		d.enterUDP(seg)
		return d.ethertype(binary.BigEndian.Uint16(b[2:]), b[hl:], seg, bad)
	case dport == portGREinUDP:
		return d.gre(b, seg, bad)
	case dport == portAYIYA || sport == portAYIYA:
		return d.ayiya(b, seg, bad)
	case dport == portGTPU || sport == portGTPU:
		return d.gtpu(b, seg, bad)
	case dport == portTeredo || sport == portTeredo:
		return d.teredo(b, seg, bad, false)
	}
	// Teredo data between a client and a relay uses neither port 3544;
	// like Zeek, recognise it by its content.
	return d.teredo(b, seg, bad, true)
}

// ayiya handles an AYIYA forward packet carrying IPv4 or IPv6.
func (d *Decoder) ayiya(b []byte, seg *Segment, bad *bool) SkipKind {
	if len(b) < ayiyaFixed {
		return SkipTruncated
	}
	hl := ayiyaFixed + 1<<(b[0]>>4) + int(b[1]>>4)*4
	if b[2]&ayiyaOpcodeMask != ayiyaOpForward {
		return SkipNonTCP
	}
	next := b[3]
	if len(b) < hl {
		return SkipTruncated
	}
	if next != ayiyaNextIPv4 && next != ayiyaNextIPv6 {
		return SkipNonTCP
	}
	if !d.push("AYIYA") {
		return SkipTooDeep
	}
	d.enterUDP(seg)
	return d.ip(b[hl:], seg, bad)
}

// gtpu handles a GTPv1-U G-PDU carrying IP.
func (d *Decoder) gtpu(b []byte, seg *Segment, bad *bool) SkipKind {
	if len(b) < 8 || b[0]>>5 != gtpVersion1 || b[0]&gtpProtocolType == 0 || b[1] != gtpMsgGPDU {
		return SkipNonTCP
	}
	flags := b[0]
	b = b[8:]
	if flags&gtpOptional != 0 { // sequence number, N-PDU number, next extension header type
		if len(b) < 4 {
			return SkipTruncated
		}
		next := b[3]
		b = b[4:]
		for next != 0 {
			if len(b) < 4 {
				return SkipTruncated
			}
			l := int(b[0]) * 4
			if l == 0 || len(b) < l {
				return SkipTruncated
			}
			next = b[l-1]
			b = b[l:]
		}
	}
	if !d.push("GTP") {
		return SkipTooDeep
	}
	d.enterUDP(seg)
	return d.ip(b, seg, bad)
}

// teredo handles IPv6 over UDP (RFC 4380), with its optional authentication
// and origin indication headers. With sniff (a UDP port other than 3544) it
// only accepts an IPv6 packet that fills the datagram exactly and has an
// address in the Teredo prefix 2001::/32; anything else is plain UDP.
func (d *Decoder) teredo(b []byte, seg *Segment, bad *bool, sniff bool) SkipKind {
	if len(b) >= 4 && binary.BigEndian.Uint16(b) == teredoAuthentication {
		// client id length, auth value length, then the client id, the
		// auth value, an 8-byte nonce and a confirmation byte
		l := 4 + int(b[2]) + int(b[3]) + 9
		if len(b) < l {
			return SkipTruncated
		}
		b = b[l:]
	}
	if len(b) >= 8 && binary.BigEndian.Uint16(b) == teredoOrigin {
		b = b[8:]
	}
	if len(b) < 40 || b[0]>>4 != ipVersion6 {
		return SkipNonTCP
	}
	if sniff && (40+int(binary.BigEndian.Uint16(b[4:])) != len(b) || !teredoAddr(b[8:24]) && !teredoAddr(b[24:40])) {
		return SkipNonTCP
	}
	if !d.push("Teredo") {
		return SkipTooDeep
	}
	d.enterUDP(seg)
	return d.ipv6(b, seg, bad)
}

// teredoAddr reports whether an IPv6 address is in the Teredo prefix 2001::/32.
func teredoAddr(a []byte) bool { return a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0 }
