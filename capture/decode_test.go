package capture

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// raw is a SerializableLayer of literal bytes, for headers gopacket cannot
// serialize (Linux cooked headers, IPv6 extension headers, tunnel shims).
type raw []byte

func (r raw) SerializeTo(b gopacket.SerializeBuffer, _ gopacket.SerializeOptions) error {
	p, err := b.PrependBytes(len(r))
	if err != nil {
		return err
	}
	copy(p, r)
	return nil
}
func (raw) LayerType() gopacket.LayerType { return gopacket.LayerTypePayload }

func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		t.Fatalf("serialize: %v", err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

var (
	mac1 = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	mac2 = net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
	v4a  = net.IP{10, 0, 0, 1}
	v4b  = net.IP{10, 0, 0, 2}
	v6a  = net.ParseIP("2001:db8::1")
	v6b  = net.ParseIP("2001:db8::2")
	// outer (tunnel endpoint) addresses
	o4a = net.IP{192, 0, 2, 1}
	o4b = net.IP{192, 0, 2, 2}
	o6a = net.ParseIP("2001:db8:ffff::1")
	o6b = net.ParseIP("2001:db8:ffff::2")
)

func eth(t layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: mac1, DstMAC: mac2, EthernetType: t}
}

func ip4(src, dst net.IP, p layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: 7, Protocol: p, SrcIP: src, DstIP: dst}
}

func ip6(src, dst net.IP, next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: next, SrcIP: src, DstIP: dst}
}

// tcpSyn is a SYN-ACK carrying every option of interest and 5 bytes of data.
func tcpSyn(nl gopacket.NetworkLayer) *layers.TCP {
	tcp := &layers.TCP{
		SrcPort: 41234, DstPort: 80, Seq: 1000, Ack: 2001, SYN: true, ACK: true, Window: 64240,
		Options: []layers.TCPOption{
			{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}},
			{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{0, 0, 0, 1, 0, 0, 0, 2}},
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}},
			{OptionType: 34, OptionLength: 2}, // TFO cookie request
		},
	}
	tcp.SetNetworkLayerForChecksum(nl)
	return tcp
}

// tcpData is a PSH-ACK with timestamps only.
func tcpData(nl gopacket.NetworkLayer) *layers.TCP {
	tcp := &layers.TCP{
		SrcPort: 41234, DstPort: 80, Seq: 1001, Ack: 2002, PSH: true, ACK: true, Window: 502,
		Options: []layers.TCPOption{
			{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{0, 0, 0, 3, 0, 0, 0, 4}},
		},
	}
	tcp.SetNetworkLayerForChecksum(nl)
	return tcp
}

var hello = gopacket.Payload("hello")

func wantSyn(src, dst string) Segment {
	return Segment{
		Src: netip.AddrPortFrom(netip.MustParseAddr(src), 41234), Dst: netip.AddrPortFrom(netip.MustParseAddr(dst), 80),
		Seq: 1000, Ack: 2001, Flags: SYN | ACK, Window: 64240, Len: 5,
		Opts: Options{MSS: 1460, HasMSS: true, WScale: 7, HasWScale: true, SACKPerm: true, TSVal: 1, TSEcr: 2, HasTS: true, FastOpen: true},
	}
}

func wantData(src, dst string, n uint32) Segment {
	return Segment{
		Src: netip.AddrPortFrom(netip.MustParseAddr(src), 41234), Dst: netip.AddrPortFrom(netip.MustParseAddr(dst), 80),
		Seq: 1001, Ack: 2002, Flags: PSH | ACK, Window: 502, Len: n,
		Opts: Options{TSVal: 3, TSEcr: 4, HasTS: true},
	}
}

func sllHeader(proto uint16) raw {
	h := make(raw, 16)
	binary.BigEndian.PutUint16(h[0:], 0) // to us
	binary.BigEndian.PutUint16(h[2:], 1) // ARPHRD_ETHER
	binary.BigEndian.PutUint16(h[4:], 6)
	copy(h[6:], mac1)
	binary.BigEndian.PutUint16(h[14:], proto)
	return h
}

func sll2Header(proto uint16) raw {
	h := make(raw, 20)
	binary.BigEndian.PutUint16(h[0:], proto)
	binary.BigEndian.PutUint32(h[4:], 3) // ifindex
	binary.BigEndian.PutUint16(h[8:], 1) // ARPHRD_ETHER
	h[10] = 4                            // outgoing
	h[11] = 6
	copy(h[12:], mac1)
	return h
}

// ext builds an IPv6 extension header (hop-by-hop, destination options or
// routing) of 8 bytes with the given next header.
func ext(next layers.IPProtocol, typ byte) raw {
	h := raw{byte(next), 0, 0, 0, 0, 0, 0, 0}
	if typ == 43 { // routing type 4 (SRH) with no segments left
		h[2], h[3] = 4, 0
	} else {
		h[2], h[3] = 1, 4 // PadN, 4 bytes
	}
	return h
}

func frag6(next layers.IPProtocol, offset uint16, more bool) raw {
	h := raw{byte(next), 0, 0, 0, 0, 0, 0, 9}
	v := offset << 3
	if more {
		v |= 1
	}
	binary.BigEndian.PutUint16(h[2:], v)
	return h
}

func vxlanHeader() raw { return raw{0x08, 0, 0, 0, 0, 0, 42, 0} }

func geneveHeader(proto uint16) raw {
	// one 4-byte option (class 0x0103, type 0x80, length 0) to exercise the option length
	h := raw{0x01, 0, 0, 0, 0, 0, 7, 0, 0x01, 0x03, 0x80, 0}
	binary.BigEndian.PutUint16(h[2:], proto)
	return h
}

type decodeCase struct {
	name   string
	link   layers.LinkType
	frame  []byte
	cut    int // if > 0, keep only this many bytes (snap length)
	wire   int // if > 0, the frame's length on the wire (DecodeWire)
	verify bool
	want   Segment
	reason SkipKind
	detail string // Reason.Detail, for SkipLinkType and SkipEtherType
	encaps []string
}

func decodeCases(t testing.TB) []decodeCase {
	var cs []decodeCase
	add := func(c decodeCase) { cs = append(cs, c) }

	{
		i := ip4(v4a, v4b, layers.IPProtocolTCP)
		add(decodeCase{name: "eth-ipv4-tcp", link: layers.LinkTypeEthernet, frame: serialize(t, eth(layers.EthernetTypeIPv4), i, tcpSyn(i), hello), want: wantSyn("10.0.0.1", "10.0.0.2")})
		i = ip4(v4a, v4b, layers.IPProtocolTCP)
		add(decodeCase{name: "eth-ipv4-tcp-verify", link: layers.LinkTypeEthernet, verify: true, frame: serialize(t, eth(layers.EthernetTypeIPv4), i, tcpData(i), hello), want: wantData("10.0.0.1", "10.0.0.2", 5)})
		withIPLen := wantData("10.0.0.1", "10.0.0.2", 5)
		withIPLen.IPLen = 20 + 32 + 5 // the IP packet: header, TCP header with timestamps, payload
		add(decodeCase{name: "eth-ipv4-tcp-iplen", link: layers.LinkTypeEthernet, frame: serialize(t, eth(layers.EthernetTypeIPv4), i, tcpData(i), hello), want: withIPLen})
	}
	{
		i := ip6(v6a, v6b, layers.IPProtocolTCP)
		add(decodeCase{name: "eth-ipv6-tcp", link: layers.LinkTypeEthernet, verify: true, frame: serialize(t, eth(layers.EthernetTypeIPv6), i, tcpSyn(i), hello), want: wantSyn("2001:db8::1", "2001:db8::2")})
		{
			w := wantData("2001:db8::1", "2001:db8::2", 5)
			w.IPLen = 40 + 32 + 5
			add(decodeCase{name: "eth-ipv6-tcp-iplen", link: layers.LinkTypeEthernet, frame: serialize(t, eth(layers.EthernetTypeIPv6), i, tcpData(i), hello), want: w})
		}
	}
	{
		i := ip4(v4a, v4b, layers.IPProtocolTCP)
		add(decodeCase{name: "vlan", link: layers.LinkTypeEthernet, verify: true,
			frame: serialize(t, eth(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: 10, Type: layers.EthernetTypeIPv4}, i, tcpData(i), hello),
			want:  wantData("10.0.0.1", "10.0.0.2", 5), encaps: []string{"VLAN"}})
		i = ip4(v4a, v4b, layers.IPProtocolTCP)
		add(decodeCase{name: "qinq-88a8", link: layers.LinkTypeEthernet,
			frame: serialize(t, eth(layers.EthernetType(0x88a8)), &layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeDot1Q}, &layers.Dot1Q{VLANIdentifier: 10, Type: layers.EthernetTypeIPv4}, i, tcpData(i), hello),
			want:  wantData("10.0.0.1", "10.0.0.2", 5), encaps: []string{"VLAN"}})
		i = ip4(v4a, v4b, layers.IPProtocolTCP)
		add(decodeCase{name: "qinq-9100", link: layers.LinkTypeEthernet,
			frame: serialize(t, eth(layers.EthernetType(0x9100)), &layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeDot1Q}, &layers.Dot1Q{VLANIdentifier: 10, Type: layers.EthernetTypeIPv4}, i, tcpData(i), hello),
			want:  wantData("10.0.0.1", "10.0.0.2", 5), encaps: []string{"VLAN"}})
	}
	{
		i := ip4(v4a, v4b, layers.IPProtocolTCP)
		add(decodeCase{name: "sll-ipv4-tcp", link: layers.LinkTypeLinuxSLL, frame: serialize(t, sllHeader(0x0800), i, tcpSyn(i), hello), want: wantSyn("10.0.0.1", "10.0.0.2")})
		j := ip6(v6a, v6b, layers.IPProtocolTCP)
		add(decodeCase{name: "sll2-ipv6-tcp", link: layers.LinkTypeLinuxSLL2, verify: true, frame: serialize(t, sll2Header(0x86dd), j, tcpData(j), hello), want: wantData("2001:db8::1", "2001:db8::2", 5)})
		k := ip4(v4a, v4b, layers.IPProtocolTCP)
		add(decodeCase{name: "sll2-vlan-ipv4", link: layers.LinkTypeLinuxSLL2, frame: serialize(t, sll2Header(0x8100), &layers.Dot1Q{VLANIdentifier: 5, Type: layers.EthernetTypeIPv4}, k, tcpData(k), hello), want: wantData("10.0.0.1", "10.0.0.2", 5), encaps: []string{"VLAN"}})
	}
	{
		i := ip4(v4a, v4b, layers.IPProtocolTCP)
		add(decodeCase{name: "null-ipv4", link: layers.LinkTypeNull, frame: serialize(t, &layers.Loopback{Family: layers.ProtocolFamilyIPv4}, i, tcpData(i), hello), want: wantData("10.0.0.1", "10.0.0.2", 5)})
		for _, af := range []uint32{24, 28, 30} {
			j := ip6(v6a, v6b, layers.IPProtocolTCP)
			le := make(raw, 4)
			binary.LittleEndian.PutUint32(le, af)
			add(decodeCase{name: "null-ipv6-af" + itoa(int(af)), link: layers.LinkTypeNull, frame: serialize(t, le, j, tcpData(j), hello), want: wantData("2001:db8::1", "2001:db8::2", 5)})
			j = ip6(v6a, v6b, layers.IPProtocolTCP)
			be := make(raw, 4)
			binary.BigEndian.PutUint32(be, af)
			add(decodeCase{name: "loop-ipv6-af" + itoa(int(af)), link: layers.LinkTypeLoop, frame: serialize(t, be, j, tcpData(j), hello), want: wantData("2001:db8::1", "2001:db8::2", 5)})
		}
		add(decodeCase{name: "null-af-osi", link: layers.LinkTypeNull, frame: []byte{7, 0, 0, 0, 1, 2, 3}, reason: SkipNonIP})
	}
	for _, lt := range []layers.LinkType{layers.LinkTypeRaw, 12, 14, layers.LinkTypeIPv4} {
		i := ip4(v4a, v4b, layers.IPProtocolTCP)
		add(decodeCase{name: "raw-ipv4-" + itoa(int(lt)), link: lt, frame: serialize(t, i, tcpData(i), hello), want: wantData("10.0.0.1", "10.0.0.2", 5)})
	}
	for _, lt := range []layers.LinkType{layers.LinkTypeRaw, layers.LinkTypeIPv6} {
		j := ip6(v6a, v6b, layers.IPProtocolTCP)
		add(decodeCase{name: "raw-ipv6-" + itoa(int(lt)), link: lt, frame: serialize(t, j, tcpData(j), hello), want: wantData("2001:db8::1", "2001:db8::2", 5)})
	}
	{
		// hop-by-hop, destination options, routing (no segments left), first fragment, then TCP
		j := ip6(v6a, v6b, layers.IPProtocolIPv6HopByHop)
		add(decodeCase{name: "ipv6-ext-headers", link: layers.LinkTypeRaw, verify: true,
			frame: serialize(t, j, ext(layers.IPProtocolIPv6Destination, 0), ext(layers.IPProtocolIPv6Routing, 60), ext(layers.IPProtocolIPv6Fragment, 43), frag6(layers.IPProtocolTCP, 0, true), tcpData(j), hello),
			want:  wantData("2001:db8::1", "2001:db8::2", 5)})
		j = ip6(v6a, v6b, layers.IPProtocolIPv6Fragment)
		add(decodeCase{name: "ipv6-later-fragment", link: layers.LinkTypeRaw, frame: serialize(t, j, frag6(layers.IPProtocolTCP, 185, false), hello), reason: SkipFragment})
	}
	{
		i := ip4(v4a, v4b, layers.IPProtocolTCP)
		i.Flags = layers.IPv4MoreFragments
		add(decodeCase{name: "ipv4-first-fragment", link: layers.LinkTypeRaw, frame: serialize(t, i, tcpData(i), hello), want: wantData("10.0.0.1", "10.0.0.2", 5)})
		i = ip4(v4a, v4b, layers.IPProtocolTCP)
		i.FragOffset = 185
		add(decodeCase{name: "ipv4-later-fragment", link: layers.LinkTypeRaw, frame: serialize(t, i, hello), reason: SkipFragment})
	}
	{
		// offload: IP length 0, header checksum not filled in; the TCP checksum is still checked
		i := ip4(v4a, v4b, layers.IPProtocolTCP)
		f := serialize(t, i, tcpData(i), hello)
		f[2], f[3], f[10], f[11] = 0, 0, 0, 0
		add(decodeCase{name: "tso-ip-length-zero", link: layers.LinkTypeRaw, verify: true, frame: f, want: wantData("10.0.0.1", "10.0.0.2", 5)})
		g := append([]byte(nil), f...)
		g[len(g)-1] ^= 0xff
		bad := wantData("10.0.0.1", "10.0.0.2", 5)
		bad.BadChecksum = true
		add(decodeCase{name: "tso-bad-tcp-checksum", link: layers.LinkTypeRaw, verify: true, frame: g, want: bad})
		// a first fragment's TCP checksum covers bytes in later fragments
		i = ip4(v4a, v4b, layers.IPProtocolTCP)
		i.Flags = layers.IPv4MoreFragments
		h := serialize(t, i, tcpData(i), hello)
		h[len(h)-1] ^= 0xff
		add(decodeCase{name: "first-fragment-not-verified", link: layers.LinkTypeRaw, verify: true, frame: h, want: wantData("10.0.0.1", "10.0.0.2", 5)})
	}
	// tunnels
	{
		o := ip4(o4a, o4b, layers.IPProtocolGRE)
		i := ip4(v4a, v4b, layers.IPProtocolTCP)
		add(decodeCase{name: "gre-ipv4", link: layers.LinkTypeEthernet, verify: true,
			frame: serialize(t, eth(layers.EthernetTypeIPv4), o, &layers.GRE{Protocol: layers.EthernetTypeIPv4, KeyPresent: true, Key: 9}, i, tcpData(i), hello),
			want:  wantData("10.0.0.1", "10.0.0.2", 5), encaps: []string{"GRE"}})
		o = ip4(o4a, o4b, layers.IPProtocolGRE)
		i = ip4(v4a, v4b, layers.IPProtocolTCP)
		add(decodeCase{name: "gre-teb-ethernet", link: layers.LinkTypeEthernet,
			frame: serialize(t, eth(layers.EthernetTypeIPv4), o, &layers.GRE{Protocol: layers.EthernetTypeTransparentEthernetBridging, SeqPresent: true, Seq: 3}, eth(layers.EthernetTypeIPv4), i, tcpData(i), hello),
			want:  wantData("10.0.0.1", "10.0.0.2", 5), encaps: []string{"GRE"}})
		o = ip4(o4a, o4b, layers.IPProtocolGRE)
		i = ip4(v4a, v4b, layers.IPProtocolTCP)
		add(decodeCase{name: "gre-erspan2", link: layers.LinkTypeEthernet,
			frame: serialize(t, eth(layers.EthernetTypeIPv4), o, &layers.GRE{Protocol: layers.EthernetTypeERSPAN, SeqPresent: true, Seq: 3}, &layers.ERSPANII{Version: 1, VLANIdentifier: 0, SessionID: 5}, eth(layers.EthernetTypeIPv4), i, tcpData(i), hello),
			want:  wantData("10.0.0.1", "10.0.0.2", 5), encaps: []string{"GRE", "ERSPAN"}})
	}
	{
		o := ip4(o4a, o4b, layers.IPProtocolUDP)
		u := &layers.UDP{SrcPort: 50000, DstPort: 4789}
		u.SetNetworkLayerForChecksum(o)
		i := ip4(v4a, v4b, layers.IPProtocolTCP)
		add(decodeCase{name: "vxlan", link: layers.LinkTypeEthernet, verify: true,
			frame: serialize(t, eth(layers.EthernetTypeIPv4), o, u, vxlanHeader(), eth(layers.EthernetTypeIPv4), i, tcpData(i), hello),
			want:  wantData("10.0.0.1", "10.0.0.2", 5), encaps: []string{"VXLAN"}})
		o = ip4(o4a, o4b, layers.IPProtocolUDP)
		u = &layers.UDP{SrcPort: 50000, DstPort: 6081}
		u.SetNetworkLayerForChecksum(o)
		j := ip6(v6a, v6b, layers.IPProtocolTCP)
		add(decodeCase{name: "geneve-ethernet-ipv6", link: layers.LinkTypeEthernet, verify: true,
			frame: serialize(t, eth(layers.EthernetTypeIPv4), o, u, geneveHeader(0x6558), eth(layers.EthernetTypeIPv6), j, tcpData(j), hello),
			want:  wantData("2001:db8::1", "2001:db8::2", 5), encaps: []string{"Geneve"}})
		o = ip4(o4a, o4b, layers.IPProtocolUDP)
		u = &layers.UDP{SrcPort: 50000, DstPort: 6081}
		u.SetNetworkLayerForChecksum(o)
		i = ip4(v4a, v4b, layers.IPProtocolTCP)
		add(decodeCase{name: "geneve-ipv4", link: layers.LinkTypeEthernet,
			frame: serialize(t, eth(layers.EthernetTypeIPv4), o, u, geneveHeader(0x0800), i, tcpData(i), hello),
			want:  wantData("10.0.0.1", "10.0.0.2", 5), encaps: []string{"Geneve"}})
	}
	{
		i := ip4(v4a, v4b, layers.IPProtocolTCP)
		add(decodeCase{name: "mpls-two-labels", link: layers.LinkTypeEthernet,
			frame: serialize(t, eth(layers.EthernetTypeMPLSUnicast), &layers.MPLS{Label: 100, TTL: 64}, &layers.MPLS{Label: 200, StackBottom: true, TTL: 64}, i, tcpData(i), hello),
			want:  wantData("10.0.0.1", "10.0.0.2", 5), encaps: []string{"MPLS"}})
		j := ip6(v6a, v6b, layers.IPProtocolTCP)
		add(decodeCase{name: "pppoe-ipv6", link: layers.LinkTypeEthernet,
			frame: serialize(t, eth(layers.EthernetTypePPPoESession), &layers.PPPoE{Version: 1, Type: 1, Code: layers.PPPoECodeSession, SessionId: 3}, &layers.PPP{PPPType: layers.PPPTypeIPv6}, j, tcpData(j), hello),
			want:  wantData("2001:db8::1", "2001:db8::2", 5), encaps: []string{"PPPoE"}})
		k := ip4(v4a, v4b, layers.IPProtocolTCP)
		add(decodeCase{name: "ppp-link", link: layers.LinkTypePPP, frame: serialize(t, &layers.PPP{PPPType: layers.PPPTypeIPv4, HasPPTPHeader: true}, k, tcpData(k), hello), want: wantData("10.0.0.1", "10.0.0.2", 5)})
	}
	for _, c := range []struct {
		name         string
		outer, inner int
	}{{"4in4", 4, 4}, {"6in4", 4, 6}, {"4in6", 6, 4}, {"6in6", 6, 6}} {
		proto := layers.IPProtocolIPv4
		if c.inner == 6 {
			proto = layers.IPProtocolIPv6
		}
		var outer gopacket.SerializableLayer
		et := layers.EthernetTypeIPv4
		if c.outer == 4 {
			outer = ip4(o4a, o4b, proto)
		} else {
			outer, et = ip6(o6a, o6b, proto), layers.EthernetTypeIPv6
		}
		var inner gopacket.SerializableLayer
		var nl gopacket.NetworkLayer
		want := wantData("10.0.0.1", "10.0.0.2", 5)
		if c.inner == 4 {
			x := ip4(v4a, v4b, layers.IPProtocolTCP)
			inner, nl = x, x
		} else {
			x := ip6(v6a, v6b, layers.IPProtocolTCP)
			inner, nl = x, x
			want = wantData("2001:db8::1", "2001:db8::2", 5)
		}
		add(decodeCase{name: "ipip-" + c.name, link: layers.LinkTypeEthernet, verify: true,
			frame: serialize(t, eth(et), outer, inner, tcpData(nl), hello), want: want, encaps: []string{"IP-in-IP"}})
	}
	{
		o := ip4(o4a, o4b, layers.IPProtocolUDP)
		u := &layers.UDP{SrcPort: 3544, DstPort: 50000}
		u.SetNetworkLayerForChecksum(o)
		j := ip6(v6a, v6b, layers.IPProtocolTCP)
		origin := raw{0, 0, 0xc3, 0x50, 1, 2, 3, 4}
		add(decodeCase{name: "teredo-origin", link: layers.LinkTypeEthernet,
			frame: serialize(t, eth(layers.EthernetTypeIPv4), o, u, origin, j, tcpData(j), hello),
			want:  wantData("2001:db8::1", "2001:db8::2", 5), encaps: []string{"Teredo"}})
		teredoA, teredoB := net.ParseIP("2001:0:4137:9e50:8000:f12a:b9c8:2815"), net.ParseIP("2001:4860::68")
		o = ip4(o4a, o4b, layers.IPProtocolUDP)
		u = &layers.UDP{SrcPort: 3797, DstPort: 32900}
		u.SetNetworkLayerForChecksum(o)
		j = ip6(teredoA, teredoB, layers.IPProtocolTCP)
		add(decodeCase{name: "teredo-off-port-sniffed", link: layers.LinkTypeEthernet, verify: true,
			frame: serialize(t, eth(layers.EthernetTypeIPv4), o, u, j, tcpData(j), hello),
			want:  wantData("2001:0:4137:9e50:8000:f12a:b9c8:2815", "2001:4860::68", 5), encaps: []string{"Teredo"}})
		o = ip4(o4a, o4b, layers.IPProtocolUDP)
		u = &layers.UDP{SrcPort: 3797, DstPort: 32900}
		u.SetNetworkLayerForChecksum(o)
		j = ip6(v6a, v6b, layers.IPProtocolTCP)
		add(decodeCase{name: "ipv6-in-udp-not-teredo-prefix", link: layers.LinkTypeEthernet,
			frame: serialize(t, eth(layers.EthernetTypeIPv4), o, u, j, tcpData(j), hello), reason: SkipNonTCP})
		o = ip4(o4a, o4b, layers.IPProtocolUDP)
		u = &layers.UDP{SrcPort: 2152, DstPort: 2152}
		u.SetNetworkLayerForChecksum(o)
		i := ip4(v4a, v4b, layers.IPProtocolTCP)
		add(decodeCase{name: "gtp-u", link: layers.LinkTypeEthernet,
			frame: serialize(t, eth(layers.EthernetTypeIPv4), o, u, &layers.GTPv1U{Version: 1, ProtocolType: 1, MessageType: 255, TEID: 77}, i, tcpData(i), hello),
			want:  wantData("10.0.0.1", "10.0.0.2", 5), encaps: []string{"GTP"}})
	}
	{
		// an IPv4 loose source route with a hop left: the pseudo-header uses
		// the final destination, the route's last address (RFC 9293 §3.1);
		// the header's destination is the next hop
		hop := net.IP{10, 0, 0, 9}
		lsrr := func(pointer uint8) *layers.IPv4 {
			i := ip4(v4a, hop, layers.IPProtocolTCP)
			i.Options = []layers.IPv4Option{{OptionType: 131, OptionLength: 11, OptionData: append([]byte{pointer, 10, 0, 0, 7}, v4b.To4()...)}}
			return i
		}
		i := lsrr(4)
		add(decodeCase{name: "ipv4-lsrr-hops-left", link: layers.LinkTypeEthernet, verify: true,
			frame: serialize(t, eth(layers.EthernetTypeIPv4), i, tcpData(i), hello), want: wantData("10.0.0.1", "10.0.0.9", 5)})
		i = lsrr(12) // the route is used up: the header names the destination
		add(decodeCase{name: "ipv4-lsrr-used-up", link: layers.LinkTypeEthernet, verify: true,
			frame: serialize(t, eth(layers.EthernetTypeIPv4), i, tcpData(i), hello), want: wantData("10.0.0.1", "10.0.0.9", 5)})
	}
	{
		// segment routing header with a segment left: the pseudo-header
		// uses the final destination from the segment list
		j := ip6(v6a, v6b, layers.IPProtocolIPv6Routing)
		srh := raw{byte(layers.IPProtocolTCP), 2, 4, 1, 0, 0, 0, 0}
		srh = append(srh, v6b.To16()...)
		f := serialize(t, j, srh, tcpData(j), hello)
		copy(f[24:40], o6b.To16()) // the next hop, in the IPv6 header
		want := wantData("2001:db8::1", "2001:db8:ffff::2", 5)
		add(decodeCase{name: "ipv6-srh-segments-left", link: layers.LinkTypeRaw, verify: true, frame: f, want: want})
	}
	{
		i := ip4(v4a, v4b, layers.IPProtocolTCP)
		add(decodeCase{name: "mpls-pseudowire-ethernet", link: layers.LinkTypeEthernet,
			frame: serialize(t, eth(layers.EthernetTypeMPLSUnicast), &layers.MPLS{Label: 100, StackBottom: true, TTL: 64}, raw{0, 0, 0, 0}, eth(layers.EthernetTypeIPv4), i, tcpData(i), hello),
			want:  wantData("10.0.0.1", "10.0.0.2", 5), encaps: []string{"MPLS"}})
		o := ip4(o4a, o4b, layers.IPProtocolGRE)
		i = ip4(v4a, v4b, layers.IPProtocolTCP)
		erspan3 := raw{0x20, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 1} // version 2 (type III), O bit set
		add(decodeCase{name: "gre-erspan3-platform-subheader", link: layers.LinkTypeEthernet,
			frame: serialize(t, eth(layers.EthernetTypeIPv4), o, &layers.GRE{Protocol: layers.EthernetType(0x22eb), SeqPresent: true, Seq: 1}, erspan3, raw{0, 0, 0, 0, 0, 0, 0, 0}, eth(layers.EthernetTypeIPv4), i, tcpData(i), hello),
			want:  wantData("10.0.0.1", "10.0.0.2", 5), encaps: []string{"GRE", "ERSPAN"}})
		o = ip4(o4a, o4b, layers.IPProtocolGRE)
		i = ip4(v4a, v4b, layers.IPProtocolTCP)
		add(decodeCase{name: "gre-checksum-key-seq", link: layers.LinkTypeEthernet,
			frame: serialize(t, eth(layers.EthernetTypeIPv4), o, &layers.GRE{Protocol: layers.EthernetTypeIPv4, ChecksumPresent: true, KeyPresent: true, Key: 1, SeqPresent: true, Seq: 2}, i, tcpData(i), hello),
			want:  wantData("10.0.0.1", "10.0.0.2", 5), encaps: []string{"GRE"}})
		o = ip4(o4a, o4b, layers.IPProtocolGRE)
		i = ip4(v4a, v4b, layers.IPProtocolTCP)
		pptp := raw{0x30, 0x81, 0x88, 0x0b, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 0} // version 1, key, seq and ack present
		add(decodeCase{name: "gre-pptp-ppp", link: layers.LinkTypeEthernet,
			frame: serialize(t, eth(layers.EthernetTypeIPv4), o, pptp, raw{0xff, 0x03, 0x00, 0x21}, i, tcpData(i), hello),
			want:  wantData("10.0.0.1", "10.0.0.2", 5), encaps: []string{"GRE"}})
		o = ip4(o4a, o4b, layers.IPProtocolUDP)
		u := &layers.UDP{SrcPort: 50000, DstPort: 4790}
		u.SetNetworkLayerForChecksum(o)
		j := ip6(v6a, v6b, layers.IPProtocolTCP)
		add(decodeCase{name: "vxlan-gpe-ipv6", link: layers.LinkTypeEthernet,
			frame: serialize(t, eth(layers.EthernetTypeIPv4), o, u, raw{0x0c, 0, 0, 2, 0, 0, 1, 0}, j, tcpData(j), hello),
			want:  wantData("2001:db8::1", "2001:db8::2", 5), encaps: []string{"VXLAN"}})
		teredoA, teredoB := net.ParseIP("2001:0:4137:9e50:8000:f12a:b9c8:2815"), net.ParseIP("2001:4860::68")
		o = ip4(o4a, o4b, layers.IPProtocolUDP)
		u = &layers.UDP{SrcPort: 3797, DstPort: 32900}
		u.SetNetworkLayerForChecksum(o)
		j = ip6(teredoA, teredoB, layers.IPProtocolTCP)
		add(decodeCase{name: "teredo-off-port-sniffed", link: layers.LinkTypeEthernet, verify: true,
			frame: serialize(t, eth(layers.EthernetTypeIPv4), o, u, j, tcpData(j), hello),
			want:  wantData("2001:0:4137:9e50:8000:f12a:b9c8:2815", "2001:4860::68", 5), encaps: []string{"Teredo"}})
		o = ip4(o4a, o4b, layers.IPProtocolUDP)
		u = &layers.UDP{SrcPort: 3797, DstPort: 32900}
		u.SetNetworkLayerForChecksum(o)
		j = ip6(v6a, v6b, layers.IPProtocolTCP)
		add(decodeCase{name: "ipv6-in-udp-not-teredo-prefix", link: layers.LinkTypeEthernet,
			frame: serialize(t, eth(layers.EthernetTypeIPv4), o, u, j, tcpData(j), hello), reason: SkipNonTCP})
		o = ip4(o4a, o4b, layers.IPProtocolUDP)
		u = &layers.UDP{SrcPort: 2152, DstPort: 2152}
		u.SetNetworkLayerForChecksum(o)
		i = ip4(v4a, v4b, layers.IPProtocolTCP)
		gtpExt := raw{0x34, 0xff, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0x85, 1, 0x10, 0x01, 0} // E flag; PDU session container, then no more
		add(decodeCase{name: "gtp-u-extension-header", link: layers.LinkTypeEthernet,
			frame: serialize(t, eth(layers.EthernetTypeIPv4), o, u, gtpExt, i, tcpData(i), hello),
			want:  wantData("10.0.0.1", "10.0.0.2", 5), encaps: []string{"GTP"}})
	}
	// more link layers and shims met in real captures
	{
		i := ip4(v4a, v4b, layers.IPProtocolTCP)
		vn := raw{0, 0, 0, 0x33, 0x08, 0x00} // VN-Tag, then IPv4
		add(decodeCase{name: "vn-tag", link: layers.LinkTypeEthernet, frame: serialize(t, eth(layers.EthernetType(0x8926)), vn, i, tcpData(i), hello), want: wantData("10.0.0.1", "10.0.0.2", 5), encaps: []string{"VN-Tag"}})
		o := ip4(o4a, o4b, layers.IPProtocolGRE)
		i = ip4(v4a, v4b, layers.IPProtocolTCP)
		add(decodeCase{name: "gre-wccp-redirect", link: layers.LinkTypeEthernet,
			frame: serialize(t, eth(layers.EthernetTypeIPv4), o, &layers.GRE{Protocol: layers.EthernetType(0x883e)}, raw{0x05, 0x59, 0x00, 0x48}, i, tcpData(i), hello),
			want:  wantData("10.0.0.1", "10.0.0.2", 5), encaps: []string{"GRE"}})
		i = ip4(v4a, v4b, layers.IPProtocolTCP)
		add(decodeCase{name: "arcnet-rfc1201", link: layers.LinkTypeARCNetLinux, frame: serialize(t, raw{0xbe, 0x50, 0xa8, 0xe7, 0xd4, 0, 1, 0x66}, i, tcpData(i), hello), want: wantData("10.0.0.1", "10.0.0.2", 5)})
		i = ip4(v4a, v4b, layers.IPProtocolTCP)
		add(decodeCase{name: "arcnet-rfc1051", link: layers.LinkTypeARCNetLinux, frame: serialize(t, raw{0xbe, 0x50, 0xa8, 0xe7, 0xf0}, i, tcpData(i), hello), want: wantData("10.0.0.1", "10.0.0.2", 5)})
		ipoib := make(raw, 44)
		ipoib[40], ipoib[41] = 0x86, 0xdd
		j := ip6(v6a, v6b, layers.IPProtocolTCP)
		add(decodeCase{name: "ip-over-infiniband", link: 242, frame: serialize(t, ipoib, j, tcpData(j), hello), want: wantData("2001:db8::1", "2001:db8::2", 5)})
		i = ip4(v4a, v4b, layers.IPProtocolTCP)
		juniper := raw{'M', 'G', 'C', 0x80, 0, 4, 1, 2, 3, 4}
		add(decodeCase{name: "juniper-ethernet", link: 178, frame: serialize(t, juniper, eth(layers.EthernetTypeIPv4), i, tcpData(i), hello), want: wantData("10.0.0.1", "10.0.0.2", 5)})
		i = ip4(v4a, v4b, layers.IPProtocolTCP)
		add(decodeCase{name: "cisco-hdlc", link: layers.LinkTypeC_HDLC, frame: serialize(t, raw{0x0f, 0x00, 0x08, 0x00}, i, tcpData(i), hello), want: wantData("10.0.0.1", "10.0.0.2", 5)})
		i = ip4(v4a, v4b, layers.IPProtocolTCP)
		fddi := append(raw{0x50}, make(raw, 12)...)
		add(decodeCase{name: "fddi-snap", link: layers.LinkTypeFDDI, frame: serialize(t, fddi, raw{0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00}, i, tcpData(i), hello), want: wantData("10.0.0.1", "10.0.0.2", 5)})
		i = ip4(v4a, v4b, layers.IPProtocolTCP)
		ipBytes := serialize(t, i, tcpData(i), hello)
		tlv := make(raw, 4)
		binary.LittleEndian.PutUint16(tlv, uint16(4+len(ipBytes)))
		binary.LittleEndian.PutUint16(tlv[2:], 9)               // NFULA_PAYLOAD
		prefix := raw{2, 0, 0, 1, 8, 0, 1, 0, 0x08, 0x00, 0, 0} // family, version, resource id; NFULA_PACKET_HDR
		add(decodeCase{name: "nflog", link: 239, frame: append(append(append([]byte(nil), prefix...), tlv...), ipBytes...), want: wantData("10.0.0.1", "10.0.0.2", 5)})
	}
	// length fields that lie
	{
		i := ip4(v4a, v4b, layers.IPProtocolTCP)
		f := serialize(t, eth(layers.EthernetTypeIPv4), i, tcpData(i), gopacket.Payload(make([]byte, 100)))
		binary.BigEndian.PutUint16(f[14+2:], 20+32+108) // IP claims 8 bytes more than the frame had
		add(decodeCase{name: "ip-length-beyond-wire", link: layers.LinkTypeEthernet, frame: f, wire: len(f), want: wantData("10.0.0.1", "10.0.0.2", 100)})
		beyond := wantData("10.0.0.1", "10.0.0.2", 108)
		beyond.Missing = 8 // the IP header is believed; 8 bytes are not in the frame
		add(decodeCase{name: "ip-length-beyond-capture-wire-unknown", link: layers.LinkTypeEthernet, frame: f, want: beyond})
		snapped := wantData("10.0.0.1", "10.0.0.2", 108)
		snapped.Missing = 108 - (80 - 14 - 20 - 32)
		add(decodeCase{name: "snaplen-cut-wire-known", link: layers.LinkTypeEthernet, frame: f[:80], wire: len(f) + 8, want: snapped})
		i = ip4(v4a, v4b, layers.IPProtocolTCP)
		p := serialize(t, eth(layers.EthernetTypePPPoESession), &layers.PPPoE{Version: 1, Type: 1, Code: layers.PPPoECodeSession, SessionId: 3}, &layers.PPP{PPPType: layers.PPPTypeIPv4}, i, tcpData(i), hello)
		binary.BigEndian.PutUint16(p[14+4:], uint16(2+20+32)) // PPPoE says no payload bytes
		// ... but the frame holds what IP says: IP is believed, as by Zeek
		// (zeek/pppoe-over-qinq, where the TCP checksum proves IP right).
		add(decodeCase{name: "pppoe-length-not-over-ip", link: layers.LinkTypeEthernet, frame: p, wire: len(p), want: wantData("10.0.0.1", "10.0.0.2", 5), encaps: []string{"PPPoE"}})
	}
	// snap length, damage, non-TCP
	{
		i := ip4(v4a, v4b, layers.IPProtocolTCP)
		f := serialize(t, eth(layers.EthernetTypeIPv4), i, tcpData(i), gopacket.Payload(make([]byte, 1000)))
		// Len keeps the IP header's count; Missing says what was not captured.
		cut := wantData("10.0.0.1", "10.0.0.2", 1000)
		cut.Missing, cut.IPLen = 990, 20+32+1000
		add(decodeCase{name: "snaplen-cut-keeps-len", link: layers.LinkTypeEthernet, verify: true, frame: f, cut: 14 + 20 + 32 + 10, want: cut})
		add(decodeCase{name: "cut-in-tcp-header", link: layers.LinkTypeEthernet, frame: f, cut: 14 + 20 + 19, reason: SkipTruncated})
		cutTS := wantData("10.0.0.1", "10.0.0.2", 1000)
		cutTS.Opts = Options{}
		cutTS.Missing, cutTS.HeaderCut = 1000, true
		add(decodeCase{name: "cut-in-tcp-options", link: layers.LinkTypeEthernet, verify: true, frame: f, cut: 14 + 20 + 25, want: cutTS})
		add(decodeCase{name: "cut-in-ip-header", link: layers.LinkTypeEthernet, frame: f, cut: 14 + 10, reason: SkipTruncated})
		add(decodeCase{name: "cut-in-ethernet", link: layers.LinkTypeEthernet, frame: f, cut: 10, reason: SkipTruncated})
		i = ip4(v4a, v4b, layers.IPProtocolTCP)
		f = serialize(t, eth(layers.EthernetTypeIPv4), i, tcpData(i))
		add(decodeCase{name: "ethernet-padding-ignored", link: layers.LinkTypeEthernet, verify: true, frame: append(f, 0, 0, 0, 0, 0, 0), want: wantData("10.0.0.1", "10.0.0.2", 0)})
	}
	{
		i := ip4(v4a, v4b, layers.IPProtocolTCP)
		f := serialize(t, eth(layers.EthernetTypeIPv4), i, tcpData(i), hello)
		f[len(f)-1] ^= 0xff // payload byte: TCP checksum now wrong
		bad := wantData("10.0.0.1", "10.0.0.2", 5)
		bad.BadChecksum = true
		// A bad TCP checksum is delivered, flagged: Zeek finds the
		// connection first. A bad IPv4 header checksum drops the frame.
		add(decodeCase{name: "bad-tcp-checksum-verified", link: layers.LinkTypeEthernet, verify: true, frame: f, want: bad})
		add(decodeCase{name: "bad-tcp-checksum-not-verified", link: layers.LinkTypeEthernet, frame: f, want: wantData("10.0.0.1", "10.0.0.2", 5)})
		g := append([]byte(nil), f...)
		g[len(g)-1] ^= 0xff // fix the payload
		g[14+8] ^= 0x01     // TTL: IPv4 header checksum now wrong
		add(decodeCase{name: "bad-ipv4-checksum-verified", link: layers.LinkTypeEthernet, verify: true, frame: g, want: bad, reason: SkipBadChecksum})
		j := ip6(v6a, v6b, layers.IPProtocolTCP)
		h := serialize(t, eth(layers.EthernetTypeIPv6), j, tcpData(j), hello)
		h[len(h)-2] ^= 0x10
		bad6 := wantData("2001:db8::1", "2001:db8::2", 5)
		bad6.BadChecksum = true
		add(decodeCase{name: "bad-tcp-checksum-ipv6", link: layers.LinkTypeEthernet, verify: true, frame: h, want: bad6})
	}
	{
		// a zero-length option after MSS: the segment and the MSS survive
		i := ip4(v4a, v4b, layers.IPProtocolTCP)
		tcp := &layers.TCP{SrcPort: 1, DstPort: 2, Seq: 5, SYN: true, Window: 1024}
		tcp.SetNetworkLayerForChecksum(i)
		opts := raw{2, 4, 0x05, 0xb4, 3, 0, 0, 0} // MSS 1460, then window scale with length 0
		f := serialize(t, i, tcp)
		f[20+12] = 7 << 4 // data offset 28 bytes
		f = append(f[:40], append(opts, f[40:]...)...)
		binary.BigEndian.PutUint16(f[2:], uint16(len(f)))
		add(decodeCase{name: "malformed-option-kept", link: layers.LinkTypeRaw, frame: f, want: Segment{
			Src: netip.MustParseAddrPort("10.0.0.1:1"), Dst: netip.MustParseAddrPort("10.0.0.2:2"), Seq: 5, Flags: SYN, Window: 1024,
			Opts: Options{MSS: 1460, HasMSS: true}}})
	}
	{
		add(decodeCase{name: "arp", link: layers.LinkTypeEthernet, frame: serialize(t, eth(layers.EthernetTypeARP), &layers.ARP{AddrType: 1, Protocol: 0x800, HwAddressSize: 6, ProtAddressSize: 4, SourceHwAddress: mac1, SourceProtAddress: v4a, DstHwAddress: mac2, DstProtAddress: v4b}), reason: SkipEtherType, detail: "ARP"})
		add(decodeCase{name: "unknown-ether-type", link: layers.LinkTypeEthernet, frame: serialize(t, eth(layers.EthernetType(0x88b5)), hello), reason: SkipEtherType, detail: "0x88b5"})
		o := ip4(v4a, v4b, layers.IPProtocolUDP)
		u := &layers.UDP{SrcPort: 53, DstPort: 53}
		u.SetNetworkLayerForChecksum(o)
		add(decodeCase{name: "udp", link: layers.LinkTypeEthernet, frame: serialize(t, eth(layers.EthernetTypeIPv4), o, u, hello), reason: SkipNonTCP})
		add(decodeCase{name: "unsupported-link", link: layers.LinkTypeIEEE802_11, frame: []byte{1, 2, 3}, reason: SkipLinkType, detail: "802.11"})
		add(decodeCase{name: "unnamed-link", link: 147, frame: []byte{1, 2, 3}, reason: SkipLinkType, detail: "147"})
		add(decodeCase{name: "llc", link: layers.LinkTypeEthernet, frame: serialize(t, &layers.Ethernet{SrcMAC: mac1, DstMAC: mac2, EthernetType: layers.EthernetTypeLLC, Length: 10}, raw{0x42, 0x42, 0x03, 0, 0, 0, 0, 0, 0, 0}), reason: SkipNonIP})
		add(decodeCase{name: "empty", link: layers.LinkTypeEthernet, frame: nil, reason: SkipTruncated})
	}
	return cs
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func TestDecode(t *testing.T) {
	for _, c := range decodeCases(t) {
		t.Run(c.name, func(t *testing.T) {
			d := NewDecoder(&Config{VerifyChecksums: c.verify})
			frame := c.frame
			if c.cut > 0 {
				frame = frame[:c.cut]
			}
			var got Segment
			var reason Reason
			if c.wire > 0 {
				reason = d.DecodeWire(frame, c.wire, c.link, &got)
			} else {
				reason = d.Decode(frame, c.link, &got)
			}
			if reason.Kind != c.reason || reason.Detail() != c.detail {
				t.Fatalf("Decode reason = %q (kind %q, detail %q), want kind %q, detail %q",
					reason, reason.Kind, reason.Detail(), c.reason, c.detail)
			}
			if reason.Skipped() && reason.Kind != SkipBadChecksum {
				return
			}
			if c.want.IPLen == 0 {
				got.IPLen = 0 // checked where the case states it
			}
			if (got.Tunnel != 0) != inTunnel(c.encaps) {
				t.Errorf("Tunnel = %#x inside %q", got.Tunnel, c.encaps)
			}
			got.Tunnel = 0 // TestTunnelIdentity checks its value
			if got != c.want {
				t.Errorf("Decode segment mismatch\n got %+v\nwant %+v", got, c.want)
			}
			enc := d.Encaps()
			if len(enc) != len(c.encaps) {
				t.Fatalf("Encaps = %q, want %q", enc, c.encaps)
			}
			for i := range enc {
				if enc[i] != c.encaps[i] {
					t.Errorf("Encaps = %q, want %q", enc, c.encaps)
				}
			}
		})
	}
}

// TestDecodeKeepsReaderFields checks Decode leaves Frame, Time and Input alone.
func TestDecodeKeepsReaderFields(t *testing.T) {
	i := ip4(v4a, v4b, layers.IPProtocolTCP)
	f := serialize(t, eth(layers.EthernetTypeIPv4), i, tcpData(i), hello)
	seg := Segment{Frame: 9, Input: 2}
	if r := NewDecoder(nil).Decode(f, layers.LinkTypeEthernet, &seg); r.Skipped() {
		t.Fatal(r)
	}
	if seg.Frame != 9 || seg.Input != 2 {
		t.Errorf("Decode changed Frame/Input: %+v", seg)
	}
}

func TestDecodeNoAllocs(t *testing.T) {
	cases := map[string]bool{"eth-ipv4-tcp": true, "eth-ipv4-tcp-verify": true, "sll2-ipv6-tcp": true, "vlan": true, "qinq-88a8": true, "vxlan": true, "gre-ipv4": true, "geneve-ethernet-ipv6": true, "ipv6-ext-headers": true, "arp": true, "udp": true}
	for _, c := range decodeCases(t) {
		if !cases[c.name] {
			continue
		}
		delete(cases, c.name)
		d := NewDecoder(&Config{VerifyChecksums: c.verify})
		var seg Segment
		d.Decode(c.frame, c.link, &seg) // warm the skip-reason caches
		n := testing.AllocsPerRun(1000, func() { d.Decode(c.frame, c.link, &seg) })
		if n != 0 {
			t.Errorf("%s: Decode allocates %v times per frame, want 0", c.name, n)
		}
	}
	if len(cases) > 0 {
		t.Errorf("cases not found: %v", cases)
	}
}

func TestChecksumAgainstGopacket(t *testing.T) {
	// The IPv4 header gopacket computed must sum to 0xffff.
	i := ip4(v4a, v4b, layers.IPProtocolTCP)
	f := serialize(t, i, tcpData(i), hello)
	if got := checksum(f[:20], 0); got != 0xffff {
		t.Errorf("checksum of a good IPv4 header = %#x, want 0xffff", got)
	}
	for n := range 5 { // odd lengths
		b := []byte{0x45, 0x00, 0x01, 0x02, 0x03}[:n]
		var slow uint32
		for j := 0; j < len(b); j += 2 {
			w := uint32(b[j]) << 8
			if j+1 < len(b) {
				w |= uint32(b[j+1])
			}
			slow += w
		}
		for slow>>16 != 0 {
			slow = slow&0xffff + slow>>16
		}
		if got := checksum(b, 0); uint32(got) != slow {
			t.Errorf("checksum(% x) = %#x, want %#x", b, got, slow)
		}
	}
}

// inTunnel reports whether encapsulations encaps hold a tunnel, which
// Segment.Tunnel names.
func inTunnel(encaps []string) bool {
	for _, e := range encaps {
		switch e {
		case "IP-in-IP", "GRE", "VXLAN", "Geneve", "AYIYA", "GTP", "Teredo":
			return true
		}
	}
	return false
}

// TestTunnelIdentity: the innermost tunnel is named the same in both
// directions and differently for other outer endpoints.
func TestTunnelIdentity(t *testing.T) {
	tunnelOf := func(ls ...gopacket.SerializableLayer) uint64 {
		t.Helper()
		var seg Segment
		if r := NewDecoder(nil).Decode(serialize(t, ls...), layers.LinkTypeEthernet, &seg); r.Skipped() {
			t.Fatalf("skipped: %s", r)
		}
		return seg.Tunnel
	}
	inner := func() []gopacket.SerializableLayer {
		i := ip4(v4a, v4b, layers.IPProtocolTCP)
		return []gopacket.SerializableLayer{eth(layers.EthernetTypeIPv4), i, tcpData(i), hello}
	}
	vxlan := func(src, dst net.IP, sport, dport layers.UDPPort) uint64 {
		o := ip4(src, dst, layers.IPProtocolUDP)
		u := &layers.UDP{SrcPort: sport, DstPort: dport}
		u.SetNetworkLayerForChecksum(o)
		return tunnelOf(append([]gopacket.SerializableLayer{eth(layers.EthernetTypeIPv4), o, u, vxlanHeader()}, inner()...)...)
	}
	gre := func(src, dst net.IP) uint64 {
		return tunnelOf(append([]gopacket.SerializableLayer{eth(layers.EthernetTypeIPv4), ip4(src, dst, layers.IPProtocolGRE),
			&layers.GRE{Protocol: layers.EthernetTypeTransparentEthernetBridging}}, inner()...)...)
	}
	fwd, back := vxlan(o4a, o4b, 4789, 4789), vxlan(o4b, o4a, 4789, 4789)
	if fwd == 0 || fwd != back {
		t.Errorf("VXLAN one way %#x, the other %#x: want the same, not 0", fwd, back)
	}
	if other := vxlan(o4a, o4b, 50000, 4789); other == fwd {
		t.Error("VXLAN from another outer port: the same tunnel")
	}
	g, gb := gre(o4a, o4b), gre(o4b, o4a)
	if g == 0 || g != gb || g == fwd {
		t.Errorf("GRE %#x and back %#x (VXLAN %#x): want equal, not 0, not VXLAN's", g, gb, fwd)
	}
	if other := gre(o4a, net.IP{192, 0, 2, 3}); other == g {
		t.Error("GRE to another address: the same tunnel")
	}
}

// TestParseOptionsLinuxSYN checks the shortcut for the options of Linux's
// SYN (MSS, SACK permitted, Timestamps, NOP, Window scale) against the
// walk of the list it skips, in a SYN and in a segment that is not one,
// and lists that only resemble it against the walk too.
func TestParseOptionsLinuxSYN(t *testing.T) {
	syn := []byte{2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9, 1, 3, 3, 7}
	for _, isSYN := range []bool{true, false} {
		var got, walked Options
		parseOptions(syn, isSYN, &got)
		want := Options{TSVal: 7, TSEcr: 9, HasTS: true}
		if isSYN {
			want.MSS, want.HasMSS, want.SACKPerm, want.WScale, want.HasWScale = 1460, true, true, 7, true
		}
		if got != want {
			t.Errorf("SYN %v: %+v, want %+v", isSYN, got, want)
		}
		parseOptions(append(append([]byte(nil), syn...), 0), isSYN, &walked) // an end of list: not the shortcut
		if walked != got {
			t.Errorf("SYN %v: the walk reads %+v, the shortcut %+v", isSYN, walked, got)
		}
	}
	for _, c := range []struct {
		name string
		at   int
		b    byte
	}{
		{"mss-length", 1, 5}, {"sack-kind", 4, 5}, {"ts-length", 7, 9}, {"nop-is-eol", 16, 0}, {"wscale-length", 18, 4},
	} {
		o := append([]byte(nil), syn...)
		o[c.at] = c.b
		var got, walked Options
		parseOptions(o, true, &got)
		parseOptions(append(o, 0), true, &walked)
		if got != walked {
			t.Errorf("%s: %+v, the walk reads %+v", c.name, got, walked)
		}
	}
}

// TestParseOptionsTimestampsOnly checks the shortcut for NOP, NOP,
// Timestamps against the walk of the list it skips: the same options, and
// the same for lists that only start like it.
func TestParseOptionsTimestampsOnly(t *testing.T) {
	ts := []byte{1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9}
	var got Options
	parseOptions(ts, false, &got)
	if want := (Options{TSVal: 7, TSEcr: 9, HasTS: true}); got != want {
		t.Fatalf("NOP NOP TS: %+v, want %+v", got, want)
	}
	walked := append(append([]byte(nil), ts...), 0) // an end of list: not the shortcut
	var w Options
	parseOptions(walked, true, &w)
	if w != got {
		t.Errorf("the walk reads %+v, the shortcut %+v", w, got)
	}
	for _, o := range [][]byte{
		{1, 1, 8, 9, 0, 0, 0, 7, 0, 0, 0, 9},   // a timestamp of the wrong length
		{1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0},     // cut short
		{1, 1, 2, 4, 5, 180, 1, 1, 1, 1, 0, 0}, // MSS
	} {
		var o1 Options
		parseOptions(o, true, &o1)
		if o1.HasTS {
			t.Errorf("% x: timestamps %+v", o, o1)
		}
	}
}
