package capture

import (
	"strconv"

	"github.com/gopacket/gopacket/layers"
)

// linkTypeNames are the names Stats.LinkTypes and skip reasons use, after
// libpcap's pcap-linktype(7) descriptions.
var linkTypeNames = map[layers.LinkType]string{
	0:   "Null",
	1:   "Ethernet",
	3:   "AX.25",
	6:   "Token Ring",
	7:   "ARCnet",
	8:   "SLIP",
	9:   "PPP",
	10:  "FDDI",
	12:  "Raw IP",
	14:  "Raw IP",
	50:  "PPP HDLC",
	51:  "PPPoE",
	100: "ATM RFC 1483",
	101: "Raw IP",
	104: "Cisco HDLC",
	105: "802.11",
	107: "Frame Relay",
	108: "Loop",
	113: "Linux SLL",
	117: "PFLOG",
	119: "Prism",
	127: "802.11 Radiotap",
	129: "ARCnet Linux",
	138: "IP over FireWire",
	143: "DOCSIS",
	178: "Juniper Ethernet",
	192: "PPI",
	195: "802.15.4",
	197: "ERF",
	220: "Linux USB",
	228: "IPv4",
	229: "IPv6",
	239: "NFLOG",
	242: "IP over InfiniBand",
	249: "Netlink",
	252: "Wireshark Upper PDU",
	274: "802.3br mPackets",
	276: "Linux SLL2",
}

// LinkTypeName returns a short human name for a link type ("Ethernet",
// "Linux SLL2", ...), or "link type N" for one without a name.
func LinkTypeName(lt layers.LinkType) string {
	if n, ok := linkTypeNames[lt]; ok {
		return n
	}
	return "link type " + strconv.Itoa(int(lt))
}

// etherTypeNames name ether types that carry no IP and show up in captures.
var etherTypeNames = map[uint16]string{
	0x0806: "ARP",
	0x0842: "Wake-on-LAN",
	0x22f3: "TRILL",
	0x6002: "DEC MOP",
	0x8035: "RARP",
	0x809b: "AppleTalk",
	0x80f3: "AARP",
	0x8137: "IPX",
	0x8808: "Ethernet flow control",
	0x8809: "slow protocols (LACP)",
	0x8819: "CobraNet",
	0x8863: "PPPoE discovery",
	0x886d: "Intel ANS",
	0x888e: "EAPOL",
	0x8892: "PROFINET",
	0x889a: "HyperSCSI",
	0x88a2: "ATA over Ethernet",
	0x88a4: "EtherCAT",
	0x88b8: "GOOSE",
	0x88ba: "Sampled Values",
	0x88cc: "LLDP",
	0x88cd: "SERCOS III",
	0x88e1: "HomePlug AV",
	0x88e3: "MRP",
	0x88e5: "MACsec",
	0x88e7: "PBB",
	0x88f7: "PTP",
	0x88fb: "PRP",
	0x8902: "CFM",
	0x8906: "FCoE",
	0x8914: "FIP",
	0x8915: "RoCE",
	0x891d: "TTE",
	0x892f: "HSR",
	0x9000: "Ethernet loopback",
}

// linkReason returns SkipLinkType with d.text naming lt.
func (d *Decoder) linkReason(lt layers.LinkType) SkipKind {
	r, ok := d.linkReasons[lt]
	if !ok {
		if d.linkReasons == nil {
			d.linkReasons = make(map[layers.LinkType]string)
		}
		r = SkipLinkType.String() + " " + strconv.Itoa(int(lt))
		if n, ok := linkTypeNames[lt]; ok {
			r = SkipLinkType.String() + " " + n
		}
		d.linkReasons[lt] = r
	}
	d.text = r
	return SkipLinkType
}

// etherReason returns SkipEtherType with d.text naming t.
func (d *Decoder) etherReason(t uint16) SkipKind {
	r, ok := d.etherReasons[t]
	if !ok {
		if d.etherReasons == nil {
			d.etherReasons = make(map[uint16]string)
		}
		r = SkipEtherType.String() + " 0x" + strconv.FormatUint(uint64(t)|0x10000, 16)[1:]
		if n, ok := etherTypeNames[t]; ok {
			r = SkipEtherType.String() + " " + n
		}
		d.etherReasons[t] = r
	}
	d.text = r
	return SkipEtherType
}
