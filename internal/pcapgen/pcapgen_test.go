package pcapgen

import (
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcpflow-check/tcpflow-check/capture"
)

var update = flag.Bool("update", false, "rewrite testdata/pcaps/crafted from Crafted()")

const craftedDir = "../../testdata/pcaps/crafted"

func testSegments(client, server netip.AddrPort) []capture.Segment {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	syn := capture.Segment{Time: t0, Src: client, Dst: server, Seq: 0xfffffff0, Flags: capture.SYN, Window: 64240,
		Opts: capture.Options{MSS: 1460, HasMSS: true, WScale: 7, HasWScale: true, SACKPerm: true, TSVal: 7, TSEcr: 0, HasTS: true}}
	data := capture.Segment{Time: t0.Add(time.Millisecond), Src: server, Dst: client, Seq: 12345, Ack: 0xfffffff1,
		Flags: capture.PSH | capture.ACK, Window: 501, Len: 1000}
	rst := capture.Segment{Time: t0.Add(2 * time.Millisecond), Src: client, Dst: server, Seq: 1, Flags: capture.RST}
	fin := capture.Segment{Time: t0.Add(3 * time.Millisecond), Src: client, Dst: server, Seq: 2, Ack: 3,
		Flags: capture.FIN | capture.ACK | capture.ECE | capture.CWR | capture.URG, Window: 1}
	return []capture.Segment{syn, data, rst, fin}
}

var allLinks = []Link{Ethernet, VLAN, QinQ, SLL, SLL2, Raw, Null, GRE, VXLAN}

// decodeTCP decodes frame with gopacket's own decoders and returns the
// innermost TCP layer, with its checksum verified against the IP layer
// around it.
func decodeTCP(t *testing.T, frame []byte, lt layers.LinkType) (*layers.TCP, gopacket.Packet) {
	t.Helper()
	p := gopacket.NewPacket(frame, lt, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		t.Fatalf("decode error: %v", el.Error())
	}
	var tcp *layers.TCP
	var net gopacket.NetworkLayer
	for _, l := range p.Layers() {
		switch l := l.(type) {
		case *layers.IPv4:
			net = l
		case *layers.IPv6:
			net = l
		case *layers.TCP:
			tcp = l
		}
	}
	if tcp == nil {
		t.Fatalf("no TCP layer in %v", p)
	}
	if err := tcp.SetNetworkLayerForChecksum(net); err != nil {
		t.Fatal(err)
	}
	err, res := tcp.VerifyChecksum()
	if err != nil || !res.Valid {
		t.Errorf("TCP checksum invalid: %v %+v", err, res)
	}
	if ip, ok := net.(*layers.IPv4); ok {
		if err := checkIPv4Checksum(ip); err != nil {
			t.Error(err)
		}
	}
	return tcp, p
}

func checkIPv4Checksum(ip *layers.IPv4) error {
	var sum uint32
	h := ip.Contents
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(h[i])<<8 | uint32(h[i+1])
	}
	if gopacket.FoldChecksum(sum) != 0 {
		return errors.New("IPv4 header checksum invalid")
	}
	return nil
}

func flagsOf(tcp *layers.TCP) capture.Flags {
	var f capture.Flags
	for _, x := range []struct {
		on bool
		f  capture.Flags
	}{{tcp.FIN, capture.FIN}, {tcp.SYN, capture.SYN}, {tcp.RST, capture.RST}, {tcp.PSH, capture.PSH},
		{tcp.ACK, capture.ACK}, {tcp.URG, capture.URG}, {tcp.ECE, capture.ECE}, {tcp.CWR, capture.CWR}} {
		if x.on {
			f |= x.f
		}
	}
	return f
}

func TestFrameRoundTrip(t *testing.T) {
	for _, fam := range []struct {
		name           string
		client, server netip.AddrPort
	}{
		{"ipv4", netip.MustParseAddrPort("192.0.2.1:40000"), netip.MustParseAddrPort("192.0.2.2:80")},
		{"ipv6", netip.MustParseAddrPort("[2001:db8::1]:40000"), netip.MustParseAddrPort("[2001:db8::2]:443")},
	} {
		for _, l := range allLinks {
			t.Run(fam.name+"/"+l.String(), func(t *testing.T) {
				for i, s := range testSegments(fam.client, fam.server) {
					frame, err := Frame(l, &s)
					if err != nil {
						t.Fatal(err)
					}
					tcp, p := decodeTCP(t, frame, l.LinkType())
					if got := netip.AddrPortFrom(s.Src.Addr(), uint16(tcp.SrcPort)); got != s.Src {
						t.Errorf("seg %d: src port %v, want %v", i, got, s.Src)
					}
					if uint16(tcp.DstPort) != s.Dst.Port() {
						t.Errorf("seg %d: dst port %d, want %d", i, tcp.DstPort, s.Dst.Port())
					}
					if tcp.Seq != s.Seq || tcp.Ack != s.Ack || tcp.Window != s.Window {
						t.Errorf("seg %d: seq/ack/win %d/%d/%d, want %d/%d/%d", i, tcp.Seq, tcp.Ack, tcp.Window, s.Seq, s.Ack, s.Window)
					}
					if f := flagsOf(tcp); f != s.Flags {
						t.Errorf("seg %d: flags %v, want %v", i, f, s.Flags)
					}
					if len(tcp.Payload) != int(s.Len) {
						t.Errorf("seg %d: payload %d bytes, want %d", i, len(tcp.Payload), s.Len)
					}
					nl := p.NetworkLayer()
					if l != GRE && l != VXLAN {
						src, _ := netip.AddrFromSlice(nl.NetworkFlow().Src().Raw())
						if src.Unmap() != s.Src.Addr() {
							t.Errorf("seg %d: src addr %v, want %v", i, src, s.Src.Addr())
						}
					}
					if s.Flags&capture.SYN != 0 {
						var mss, ws, sack, ts bool
						for _, o := range tcp.Options {
							switch o.OptionType {
							case layers.TCPOptionKindMSS:
								mss = len(o.OptionData) == 2 && int(o.OptionData[0])<<8|int(o.OptionData[1]) == 1460
							case layers.TCPOptionKindWindowScale:
								ws = len(o.OptionData) == 1 && o.OptionData[0] == 7
							case layers.TCPOptionKindSACKPermitted:
								sack = true
							case layers.TCPOptionKindTimestamps:
								ts = true
							}
						}
						if !mss || !ws || !sack || !ts {
							t.Errorf("SYN options: mss %v wscale %v sack %v ts %v, want all", mss, ws, sack, ts)
						}
					}
				}
			})
		}
	}
}

func TestFrameTunnelLayers(t *testing.T) {
	s := testSegments(netip.MustParseAddrPort("192.0.2.1:1"), netip.MustParseAddrPort("192.0.2.2:2"))[0]
	for _, tc := range []struct {
		l    Link
		want []gopacket.LayerType
	}{
		{VLAN, []gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeDot1Q, layers.LayerTypeIPv4, layers.LayerTypeTCP}},
		{QinQ, []gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeDot1Q, layers.LayerTypeDot1Q, layers.LayerTypeIPv4, layers.LayerTypeTCP}},
		{GRE, []gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeIPv4, layers.LayerTypeGRE, layers.LayerTypeIPv4, layers.LayerTypeTCP}},
		{VXLAN, []gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeIPv4, layers.LayerTypeUDP, layers.LayerTypeVXLAN, layers.LayerTypeEthernet, layers.LayerTypeIPv4, layers.LayerTypeTCP}},
		{SLL2, []gopacket.LayerType{layers.LayerTypeLinuxSLL2, layers.LayerTypeIPv4, layers.LayerTypeTCP}},
		{Null, []gopacket.LayerType{layers.LayerTypeLoopback, layers.LayerTypeIPv4, layers.LayerTypeTCP}},
	} {
		frame, err := Frame(tc.l, &s)
		if err != nil {
			t.Fatal(err)
		}
		p := gopacket.NewPacket(frame, tc.l.LinkType(), gopacket.Default)
		var got []gopacket.LayerType
		for _, l := range p.Layers() {
			got = append(got, l.LayerType())
		}
		if len(got) != len(tc.want) {
			t.Errorf("%v: layers %v, want %v", tc.l, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%v: layers %v, want %v", tc.l, got, tc.want)
				break
			}
		}
		if u, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
			u.SetNetworkLayerForChecksum(p.Layers()[1].(*layers.IPv4))
			if err, res := u.VerifyChecksum(); err != nil || !res.Valid {
				t.Errorf("VXLAN outer UDP checksum invalid: %v %+v", err, res)
			}
		}
	}
}

func TestFrameInvalid(t *testing.T) {
	s := capture.Segment{Src: netip.MustParseAddrPort("192.0.2.1:1"), Dst: netip.MustParseAddrPort("[2001:db8::2]:2")}
	if _, err := Frame(Ethernet, &s); !errors.Is(err, ErrInvalidSegment) {
		t.Errorf("mixed families: err %v, want ErrInvalidSegment", err)
	}
	if _, err := NewWriter(io.Discard, Format{}, Ethernet, Raw); !errors.Is(err, ErrFormat) {
		t.Errorf("two links in classic pcap: err %v, want ErrFormat", err)
	}
}

// readAll reads a capture written by Write with gopacket's readers.
func readAll(t *testing.T, b []byte, f Format) ([]gopacket.CaptureInfo, [][]byte, []layers.LinkType) {
	t.Helper()
	var r io.Reader = bytes.NewReader(b)
	if f.Gzip {
		if b[0] != 0x1f || b[1] != 0x8b {
			t.Fatalf("no gzip magic")
		}
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	var cis []gopacket.CaptureInfo
	var data [][]byte
	if f.NG {
		ng, err := pcapgo.NewNgReader(r, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			t.Fatal(err)
		}
		for {
			d, ci, err := ng.ReadPacketData()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			cis, data = append(cis, ci), append(data, d)
		}
		var lts []layers.LinkType
		for i := 0; i < ng.NInterfaces(); i++ {
			intf, _ := ng.Interface(i)
			lts = append(lts, intf.LinkType)
		}
		return cis, data, lts
	}
	pr, err := pcapgo.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	for {
		d, ci, err := pr.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		cis, data = append(cis, ci), append(data, d)
	}
	return cis, data, []layers.LinkType{pr.LinkType()}
}

func TestWriteFormats(t *testing.T) {
	segs := normalConv(CraftedClient, CraftedServer).Segs
	segs[3].Time = segs[3].Time.Add(789 * time.Nanosecond)
	for _, f := range []Format{{}, {Nanos: true}, {BigEndian: true}, {BigEndian: true, Nanos: true}, {Gzip: true},
		{NG: true}, {NG: true, Nanos: true}, {NG: true, Gzip: true}, {NG: true, BigEndian: true}} {
		t.Run(f.String(), func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, f, Ethernet, segs); err != nil {
				t.Fatal(err)
			}
			b := buf.Bytes()
			if f.BigEndian && !f.NG && !bytes.HasPrefix(b, []byte{0xa1, 0xb2}) {
				t.Errorf("big-endian magic: % x", b[:4])
			}
			cis, data, lts := readAll(t, b, f)
			if len(cis) != len(segs) || lts[0] != layers.LinkTypeEthernet {
				t.Fatalf("read %d packets link %v, want %d Ethernet", len(cis), lts, len(segs))
			}
			for i, ci := range cis {
				want := segs[i].Time
				if !f.Nanos {
					want = want.Truncate(time.Microsecond)
				}
				if !ci.Timestamp.Equal(want) {
					t.Errorf("packet %d: time %v, want %v", i, ci.Timestamp, want)
				}
				tcp, _ := decodeTCP(t, data[i], lts[0])
				if tcp.Seq != segs[i].Seq || flagsOf(tcp) != segs[i].Flags {
					t.Errorf("packet %d: seq %d flags %v, want %d %v", i, tcp.Seq, flagsOf(tcp), segs[i].Seq, segs[i].Flags)
				}
			}
		})
	}
}

func TestSnaplen(t *testing.T) {
	segs := normalConv(CraftedClient, CraftedServer).Segs
	var buf bytes.Buffer
	if err := Write(&buf, Format{Snaplen: 96}, Ethernet, segs); err != nil {
		t.Fatal(err)
	}
	cis, data, _ := readAll(t, buf.Bytes(), Format{})
	for i, ci := range cis {
		full, _ := Frame(Ethernet, &segs[i]) // same length; the IP ID differs
		if ci.Length != len(full) || ci.CaptureLength != min(len(full), 96) || len(data[i]) != ci.CaptureLength {
			t.Errorf("frame %d: caplen %d len %d, want %d %d", i+1, ci.CaptureLength, ci.Length, min(len(full), 96), len(full))
		}
	}
}

func TestMultiInterface(t *testing.T) {
	var buf bytes.Buffer
	if err := writeMultiInterface(&buf); err != nil {
		t.Fatal(err)
	}
	cis, data, lts := readAll(t, buf.Bytes(), Format{NG: true})
	if len(lts) != 2 || lts[0] != layers.LinkTypeEthernet || lts[1] != layers.LinkTypeRaw {
		t.Fatalf("interfaces %v, want [Ethernet Raw]", lts)
	}
	if len(cis) != 20 {
		t.Fatalf("%d packets, want 20", len(cis))
	}
	for i, ci := range cis {
		tcp, _ := decodeTCP(t, data[i], lts[ci.InterfaceIndex])
		if want := layers.TCPPort(40000 + ci.InterfaceIndex); tcp.SrcPort != want && tcp.DstPort != want {
			t.Errorf("packet %d on if%d: ports %d→%d", i, ci.InterfaceIndex, tcp.SrcPort, tcp.DstPort)
		}
	}
}

func TestWriteSynthetic(t *testing.T) {
	var buf bytes.Buffer
	const conns, concurrent = 57, 8
	n, err := WriteSynthetic(&buf, Synthetic{Conns: conns, Concurrent: concurrent})
	if err != nil {
		t.Fatal(err)
	}
	if n != conns*SyntheticPacketsPerConn {
		t.Fatalf("%d packets, want %d", n, conns*SyntheticPacketsPerConn)
	}
	cis, data, lts := readAll(t, buf.Bytes(), Format{})
	if len(cis) != n {
		t.Fatalf("read %d packets, want %d", len(cis), n)
	}
	perConn := map[uint16]int{}
	open, maxOpen := map[uint16]bool{}, 0
	var last time.Time
	for i := range cis {
		if cis[i].Timestamp.Before(last) {
			t.Fatalf("packet %d goes back in time", i)
		}
		last = cis[i].Timestamp
		tcp, _ := decodeTCP(t, data[i], lts[0])
		port := uint16(tcp.SrcPort)
		if tcp.SrcPort == 80 {
			port = uint16(tcp.DstPort)
		}
		perConn[port]++
		if tcp.SYN && !tcp.ACK {
			open[port] = true
		}
		if len(open) > maxOpen {
			maxOpen = len(open)
		}
		if perConn[port] == SyntheticPacketsPerConn {
			delete(open, port)
			if !tcp.ACK || tcp.FIN || tcp.SrcPort == 80 {
				t.Errorf("connection %d does not end with the client's last ACK", port)
			}
		}
	}
	if len(perConn) != conns {
		t.Errorf("%d connections, want %d", len(perConn), conns)
	}
	for p, c := range perConn {
		if c != SyntheticPacketsPerConn {
			t.Errorf("connection %d: %d packets", p, c)
		}
	}
	if maxOpen != concurrent {
		t.Errorf("at most %d connections open at once, want %d", maxOpen, concurrent)
	}
}

func TestSyntheticClientUnique(t *testing.T) {
	seen := map[netip.AddrPort]int{}
	for _, i := range []int{0, 1, 49999, 50000, 50001, 99999, 100000, 1_000_000, 3_276_750, 6_553_500} {
		a := SyntheticClient(i)
		if !netip.MustParsePrefix("198.18.0.0/15").Contains(a.Addr()) {
			t.Errorf("client %d: %v outside 198.18.0.0/15", i, a)
		}
		if j, ok := seen[a]; ok {
			t.Errorf("clients %d and %d share %v", i, j, a)
		}
		seen[a] = i
	}
}

// TestCrafted checks that testdata/pcaps/crafted matches Crafted(); run with
// -update to rewrite it (also: go run ./internal/pcapgen/cmd/gen-crafted).
func TestCrafted(t *testing.T) {
	names := map[string]bool{}
	for _, c := range Crafted() {
		if names[c.Name] {
			t.Errorf("duplicate capture %s", c.Name)
		}
		names[c.Name] = true
		var buf bytes.Buffer
		if err := c.Write(&buf); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		path := filepath.Join(craftedDir, c.Name)
		if *update {
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v (run go test ./internal/pcapgen -update)", c.Name, err)
			continue
		}
		if !bytes.Equal(got, buf.Bytes()) {
			t.Errorf("%s differs from Crafted(); run go test ./internal/pcapgen -update", c.Name)
		}
	}
}

// TestCraftedDecodes reads every well-formed crafted capture back and checks
// each frame decodes to a TCP segment with valid checksums.
func TestCraftedDecodes(t *testing.T) {
	damaged := map[string]bool{
		"normal-snaplen-96.pcap":    true, // cut frames: checksums cannot be verified
		"truncated-mid-packet.pcap": true, "garbage.bin": true, "absurd-caplen.pcap": true, "unknown-linktype.pcap": true}
	for _, c := range Crafted() {
		if damaged[c.Name] {
			continue
		}
		var buf bytes.Buffer
		if err := c.Write(&buf); err != nil {
			t.Fatal(err)
		}
		f := Format{NG: filepath.Ext(c.Name) == ".pcapng", Gzip: filepath.Ext(c.Name) == ".gz"}
		cis, data, lts := readAll(t, buf.Bytes(), f)
		for i := range cis {
			decodeTCP(t, data[i], lts[cis[i].InterfaceIndex])
		}
	}
}
