package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// The encapsulations Zeek decodes beyond the common ones: 802.1ah PBB,
// AYIYA, GRE in UDP, and Aruba's GRE-tunnelled 802.11 with A-MSDU
// subframes.

// innerTCP is an IPv4 packet carrying a TCP segment with 5 bytes of data.
func innerTCP(t *testing.T) []byte {
	i := ip4(v4a, v4b, layers.IPProtocolTCP)
	return serialize(t, i, tcpData(i), hello)
}

// wlanData is an 802.11 QoS data header from the distribution system; with
// amsdu its QoS control says an A-MSDU follows.
func wlanData(amsdu bool) raw {
	h := make(raw, wlanHeaderLen+wlanQoSLen)
	h[0], h[1] = 0x88, 0x02 // QoS data, From DS
	if amsdu {
		h[wlanHeaderLen] = wlanQoSAMSDU
	}
	return h
}

// snapIPv4 is the LLC/SNAP header of an IPv4 payload.
var snapIPv4 = raw{0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00}

// amsduSubframe is one A-MSDU subframe holding body, padded to 4 bytes
// unless last.
func amsduSubframe(body []byte, last bool) raw {
	h := make(raw, amsduHeaderLen, amsduHeaderLen+len(body)+3)
	binary.BigEndian.PutUint16(h[12:], uint16(len(body)))
	h = append(h, body...)
	for !last && len(h)%4 != 0 {
		h = append(h, 0)
	}
	return h
}

func TestDecodeEncapsulations(t *testing.T) {
	in := raw(innerTCP(t))
	want := wantData("10.0.0.1", "10.0.0.2", 5)
	udp := func(port uint16) (*layers.IPv4, *layers.UDP) {
		o := ip4(o4a, o4b, layers.IPProtocolUDP)
		u := &layers.UDP{SrcPort: 40000, DstPort: layers.UDPPort(port)}
		u.SetNetworkLayerForChecksum(o)
		return o, u
	}
	ayiya := raw{0x41, 0x50, 0x21, ayiyaNextIPv4, 0, 0, 0, 0} // 16-byte identity, 20-byte signature, forward
	ayiya = append(ayiya, make(raw, 16+20)...)
	ayiyaO, ayiyaU := udp(portAYIYA)
	greO, greU := udp(portGREinUDP)
	arubaO := ip4(o4a, o4b, layers.IPProtocolGRE)
	aruba9O := ip4(o4a, o4b, layers.IPProtocolGRE)
	for _, c := range []struct {
		name   string
		frame  []byte
		encaps []string
	}{
		{"pbb", serialize(t, eth(etherTypePBB), raw{0, 0x01, 0x02, 0x03}, eth(layers.EthernetTypeIPv4), in), []string{"PBB"}},
		{"pbb-in-vlan", serialize(t, eth(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: 7, Type: etherTypePBB}, raw{0, 0, 0, 1}, eth(layers.EthernetTypeIPv4), in), []string{"VLAN", "PBB"}},
		{"ayiya", serialize(t, eth(layers.EthernetTypeIPv4), ayiyaO, ayiyaU, ayiya, in), []string{"AYIYA"}},
		{"gre-in-udp", serialize(t, eth(layers.EthernetTypeIPv4), greO, greU, &layers.GRE{Protocol: layers.EthernetTypeIPv4}, in), []string{"GRE"}},
		{"aruba-8240", serialize(t, eth(layers.EthernetTypeIPv4), arubaO, &layers.GRE{Protocol: 0x8240}, wlanData(false), snapIPv4, in), []string{"GRE", "802.11"}},
		{"aruba-9000", serialize(t, eth(layers.EthernetTypeIPv4), aruba9O, &layers.GRE{Protocol: greAruba9000}, wlanData(false), snapIPv4, in), []string{"GRE", "802.11"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got Segment
			d := NewDecoder(nil)
			if r := d.Decode(c.frame, layers.LinkTypeEthernet, &got); r.Skipped() {
				t.Fatalf("skipped: %s", r)
			}
			got.IPLen = 0
			if (got.Tunnel != 0) != inTunnel(c.encaps) {
				t.Errorf("Tunnel = %#x inside %q", got.Tunnel, c.encaps)
			}
			got.Tunnel = 0
			if got != want {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
			if enc := d.Encaps(); len(enc) != len(c.encaps) || enc[len(enc)-1] != c.encaps[len(c.encaps)-1] {
				t.Errorf("encaps %q, want %q", enc, c.encaps)
			}
		})
	}
	// AYIYA's other opcodes (heartbeats, echo) carry no packet.
	hb := append(raw(nil), ayiya...)
	hb[2] = 0x20
	o, u := udp(portAYIYA)
	var seg Segment
	if r := NewDecoder(nil).Decode(serialize(t, eth(layers.EthernetTypeIPv4), o, u, hb, in), layers.LinkTypeEthernet, &seg); r.Kind != SkipNonTCP {
		t.Errorf("AYIYA heartbeat: %v, want non-tcp", r)
	}
}

// An A-MSDU frame carries several packets; the Reader hands over each
// subframe's segment, all with the frame's number, and counts the frame
// once (Stats.Extra says how many segments it added beyond the first).
func TestReaderAMSDU(t *testing.T) {
	first := innerTCP(t)
	i := ip4(v4b, v4a, layers.IPProtocolTCP)
	tcp := tcpData(i)
	tcp.SrcPort, tcp.DstPort = tcp.DstPort, tcp.SrcPort
	second := serialize(t, i, tcp)
	sub := func(b []byte, last bool) raw { return amsduSubframe(append(append(raw(nil), snapIPv4...), b...), last) }
	o := ip4(o4a, o4b, layers.IPProtocolGRE)
	frame := serialize(t, eth(layers.EthernetTypeIPv4), o, &layers.GRE{Protocol: 0x8240}, wlanData(true),
		sub(first, false),
		amsduSubframe(raw{0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x06, 0, 1, 8, 0}, false), // ARP: passed over
		sub(second, true))
	data := writePcap(t, layers.LinkTypeEthernet, [][]byte{frame, innerEther(t)}, false)
	r, err := NewReader(bytes.NewReader(data), "amsdu.pcap", nil)
	if err != nil {
		t.Fatal(err)
	}
	segs, err := readAll(t, r)
	if err != io.EOF {
		t.Fatal(err)
	}
	if len(segs) != 3 {
		t.Fatalf("%d segments, want 3 (two subframes, then the next frame)", len(segs))
	}
	if segs[0].Src.Addr().String() != "10.0.0.1" || segs[1].Src.Addr().String() != "10.0.0.2" || segs[0].Frame != 1 || segs[1].Frame != 1 || segs[2].Frame != 2 {
		t.Errorf("segments %+v", segs)
	}
	st := r.Stats()
	if st.Packets != 2 || st.Segments != 3 || st.Extra != 1 || st.Encaps["802.11"] != 2 {
		t.Errorf("stats: packets %d segments %d extra %d encaps %v", st.Packets, st.Segments, st.Extra, st.Encaps)
	}
}

// innerEther is a plain Ethernet frame of innerTCP.
func innerEther(t *testing.T) []byte {
	return serialize(t, eth(layers.EthernetTypeIPv4), raw(innerTCP(t)))
}
