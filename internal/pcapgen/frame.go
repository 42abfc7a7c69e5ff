package pcapgen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tcpflow-check/tcpflow-check/capture"
)

// Link is the framing around the IP packet, and so the file's link type.
type Link int

// The link layers Frame can build.
const (
	Ethernet Link = iota // LINKTYPE_ETHERNET (1)
	VLAN                 // Ethernet with one 802.1Q tag (VLAN 100); link type 1
	QinQ                 // Ethernet with an 802.1ad outer tag (VLAN 200) and an 802.1Q inner tag (VLAN 100); link type 1
	SLL                  // Linux cooked capture v1, LINKTYPE_LINUX_SLL (113)
	SLL2                 // Linux cooked capture v2 (tcpdump -i any), LINKTYPE_LINUX_SLL2 (276)
	Raw                  // raw IPv4/IPv6, LINKTYPE_RAW (101)
	Null                 // BSD loopback, LINKTYPE_NULL (0): 4-byte little-endian AF_INET (2) or AF_INET6 (24)
	GRE                  // Ethernet / IPv4 198.51.100.1→.2 / GRE / the segment's IP packet; link type 1
	VXLAN                // Ethernet / IPv4 198.51.100.1→.2 / UDP 4789 / VXLAN VNI 42 / Ethernet / IP; link type 1
)

var linkNames = [...]string{"ethernet", "vlan", "qinq", "sll", "sll2", "raw", "null", "gre", "vxlan"}

// String returns the link's lower-case name, as used in capture file names.
func (l Link) String() string {
	if l >= 0 && int(l) < len(linkNames) {
		return linkNames[l]
	}
	return fmt.Sprintf("Link(%d)", int(l))
}

// LinkType is the pcap link type of frames built for l.
func (l Link) LinkType() layers.LinkType {
	switch l {
	case SLL:
		return layers.LinkTypeLinuxSLL
	case SLL2:
		return layers.LinkTypeLinuxSLL2
	case Raw:
		return layers.LinkTypeRaw
	case Null:
		return layers.LinkTypeNull
	default:
		return layers.LinkTypeEthernet
	}
}

// ErrInvalidSegment reports a segment Frame cannot turn into a packet (an
// invalid address, or mixed IPv4 and IPv6 endpoints).
var ErrInvalidSegment = errors.New("pcapgen: invalid segment")

// The source and destination MAC addresses of every frame (the analyzer
// ignores them).
var (
	macA = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	macB = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x02}
)

var (
	tunnelSrc = net.IP{198, 51, 100, 1}
	tunnelDst = net.IP{198, 51, 100, 2}
)

// Framer builds frames, reusing its buffer: the returned slice is valid until
// the next call. The zero value is ready to use.
type Framer struct {
	buf  gopacket.SerializeBuffer
	ipID uint16
}

// Frame returns the frame carrying s on link l (a fresh slice).
func Frame(l Link, s *capture.Segment) ([]byte, error) {
	var f Framer
	b, err := f.Frame(l, s)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), b...), nil
}

var serializeOpts = gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}

// Frame builds the frame carrying s on link l. The payload is s.Len zero
// bytes; SYN segments carry the options set in s.Opts, other segments only
// the timestamps option when s.Opts.HasTS.
func (f *Framer) Frame(l Link, s *capture.Segment) ([]byte, error) {
	if f.buf == nil {
		f.buf = gopacket.NewSerializeBufferExpectedSize(128, 1600)
	}
	src, dst := s.Src.Addr(), s.Dst.Addr()
	if !src.IsValid() || !dst.IsValid() || src.Is4() != dst.Is4() {
		return nil, fmt.Errorf("%w: %v > %v", ErrInvalidSegment, s.Src, s.Dst)
	}
	v4 := src.Is4()
	f.ipID++

	tcp := &layers.TCP{
		SrcPort: layers.TCPPort(s.Src.Port()),
		DstPort: layers.TCPPort(s.Dst.Port()),
		Seq:     s.Seq,
		Ack:     s.Ack,
		FIN:     s.Flags&capture.FIN != 0,
		SYN:     s.Flags&capture.SYN != 0,
		RST:     s.Flags&capture.RST != 0,
		PSH:     s.Flags&capture.PSH != 0,
		ACK:     s.Flags&capture.ACK != 0,
		URG:     s.Flags&capture.URG != 0,
		ECE:     s.Flags&capture.ECE != 0,
		CWR:     s.Flags&capture.CWR != 0,
		Window:  s.Window,
		Options: tcpOptions(s),
	}
	var ipLayer gopacket.SerializableLayer
	var etherType layers.EthernetType
	if v4 {
		ip := &layers.IPv4{Version: 4, TTL: 64, Id: f.ipID, Flags: layers.IPv4DontFragment,
			Protocol: layers.IPProtocolTCP, SrcIP: ip4(src), DstIP: ip4(dst)}
		tcp.SetNetworkLayerForChecksum(ip)
		ipLayer, etherType = ip, layers.EthernetTypeIPv4
	} else {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP,
			SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		tcp.SetNetworkLayerForChecksum(ip)
		ipLayer, etherType = ip, layers.EthernetTypeIPv6
	}
	payload := gopacket.Payload(zeros(int(s.Len)))

	// Build the inner IP packet first, then prepend the link layers by hand
	// where gopacket has no serializer (SLL, SLL2) or where a tunnel needs
	// its own checksummed outer headers.
	if err := gopacket.SerializeLayers(f.buf, serializeOpts, ipLayer, tcp, payload); err != nil {
		return nil, fmt.Errorf("pcapgen: frame %d: %w", s.Frame, err)
	}
	switch l {
	case Raw:
	case Null:
		family := layers.ProtocolFamilyIPv4
		if !v4 {
			family = layers.ProtocolFamilyIPv6BSD
		}
		if err := (&layers.Loopback{Family: family}).SerializeTo(f.buf, serializeOpts); err != nil {
			return nil, err
		}
	case Ethernet:
		if err := ethernet(etherType).SerializeTo(f.buf, serializeOpts); err != nil {
			return nil, err
		}
	case VLAN:
		if err := prepend(f.buf, &layers.Dot1Q{VLANIdentifier: 100, Type: etherType},
			ethernet(layers.EthernetTypeDot1Q)); err != nil {
			return nil, err
		}
	case QinQ:
		if err := prepend(f.buf, &layers.Dot1Q{VLANIdentifier: 100, Type: etherType},
			&layers.Dot1Q{VLANIdentifier: 200, Type: layers.EthernetTypeDot1Q},
			ethernet(layers.EthernetTypeQinQ)); err != nil {
			return nil, err
		}
	case SLL:
		h, err := f.buf.PrependBytes(16)
		if err != nil {
			return nil, err
		}
		binary.BigEndian.PutUint16(h[0:], 0) // sent to us
		binary.BigEndian.PutUint16(h[2:], 1) // ARPHRD_ETHER
		binary.BigEndian.PutUint16(h[4:], 6) // address length
		copy(h[6:14], append(macA, 0, 0))    // source address, padded to 8
		binary.BigEndian.PutUint16(h[14:], uint16(etherType))
	case SLL2:
		h, err := f.buf.PrependBytes(20)
		if err != nil {
			return nil, err
		}
		binary.BigEndian.PutUint16(h[0:], uint16(etherType))
		binary.BigEndian.PutUint16(h[2:], 0) // reserved
		binary.BigEndian.PutUint32(h[4:], 2) // interface index
		binary.BigEndian.PutUint16(h[8:], 1) // ARPHRD_ETHER
		h[10] = 0                            // sent to us
		h[11] = 6
		copy(h[12:20], append(macA, 0, 0))
	case GRE:
		if err := prepend(f.buf, &layers.GRE{Protocol: etherType},
			outerIPv4(layers.IPProtocolGRE, f.ipID), ethernet(layers.EthernetTypeIPv4)); err != nil {
			return nil, err
		}
	case VXLAN:
		udp := &layers.UDP{SrcPort: 49152, DstPort: 4789}
		outer := outerIPv4(layers.IPProtocolUDP, f.ipID)
		udp.SetNetworkLayerForChecksum(outer)
		if err := prepend(f.buf, ethernet(etherType), &layers.VXLAN{ValidIDFlag: true, VNI: 42},
			udp); err != nil {
			return nil, err
		}
		if err := prepend(f.buf, outer, ethernet(layers.EthernetTypeIPv4)); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("pcapgen: unknown link %v", l)
	}
	return f.buf.Bytes(), nil
}

// prepend serializes ls onto the front of b, innermost first, fixing lengths
// (and the IPv4 header checksum) but leaving inner checksums alone.
func prepend(b gopacket.SerializeBuffer, ls ...gopacket.SerializableLayer) error {
	for _, l := range ls {
		if err := l.SerializeTo(b, serializeOpts); err != nil {
			return fmt.Errorf("pcapgen: %v: %w", l.LayerType(), err)
		}
	}
	return nil
}

func ethernet(t layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: t}
}

func outerIPv4(p layers.IPProtocol, id uint16) *layers.IPv4 {
	return &layers.IPv4{Version: 4, TTL: 64, Id: id, Protocol: p, SrcIP: tunnelSrc, DstIP: tunnelDst}
}

func ip4(a netip.Addr) net.IP {
	b := a.As4()
	return net.IP(b[:])
}

var zeroBuf = make([]byte, 65536)

func zeros(n int) []byte {
	if n <= len(zeroBuf) {
		return zeroBuf[:n]
	}
	return make([]byte, n)
}

func tcpOptions(s *capture.Segment) []layers.TCPOption {
	o := &s.Opts
	var opts []layers.TCPOption
	if s.Flags&capture.SYN != 0 {
		if o.HasMSS {
			opts = append(opts, layers.TCPOption{OptionType: layers.TCPOptionKindMSS, OptionLength: 4,
				OptionData: binary.BigEndian.AppendUint16(nil, o.MSS)})
		}
		if o.SACKPerm {
			opts = append(opts, layers.TCPOption{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2})
		}
	}
	if o.HasTS {
		d := binary.BigEndian.AppendUint32(nil, o.TSVal)
		d = binary.BigEndian.AppendUint32(d, o.TSEcr)
		opts = append(opts, layers.TCPOption{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: d})
	}
	if s.Flags&capture.SYN != 0 {
		if o.HasWScale {
			opts = append(opts, layers.TCPOption{OptionType: layers.TCPOptionKindNop},
				layers.TCPOption{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{o.WScale}})
		}
		if o.FastOpen {
			// An empty TFO option requests a cookie; with data it carries one.
			opts = append(opts, layers.TCPOption{OptionType: 34, OptionLength: 10, OptionData: make([]byte, 8)})
		}
	}
	return opts
}
