package capture

import (
	"bytes"
	"io"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

var sinkReason Reason

func benchCases(b *testing.B) map[string]decodeCase {
	want := map[string]string{"eth-ipv4-tcp": "eth-ipv4-tcp", "sll2-ipv6-tcp": "sll2-ipv6-tcp", "vlan": "vlan", "vxlan": "vxlan"}
	out := map[string]decodeCase{}
	for _, c := range decodeCases(b) {
		if n, ok := want[c.name]; ok {
			out[n] = c
		}
	}
	return out
}

func BenchmarkDecode(b *testing.B) {
	cs := benchCases(b)
	for _, name := range []string{"eth-ipv4-tcp", "sll2-ipv6-tcp", "vlan", "vxlan"} {
		c := cs[name]
		for _, verify := range []bool{false, true} {
			sub := name
			if verify {
				sub += "/verify-checksums"
			}
			b.Run(sub, func(b *testing.B) {
				d := NewDecoder(&Config{VerifyChecksums: verify})
				var seg Segment
				b.ReportAllocs()
				b.SetBytes(int64(len(c.frame)))
				for b.Loop() {
					sinkReason = d.Decode(c.frame, c.link, &seg)
				}
				if sinkReason.Skipped() {
					b.Fatal(sinkReason)
				}
			})
		}
	}
}

// BenchmarkDecodeGopacket is the alternative we measured against: gopacket's
// DecodingLayerParser with pre-built layers, plus what it takes to fill a
// Segment from them.
func BenchmarkDecodeGopacket(b *testing.B) {
	c := benchCases(b)["eth-ipv4-tcp"]
	var (
		eth     layers.Ethernet
		ip4     layers.IPv4
		tcp     layers.TCP
		payload gopacket.Payload
	)
	p := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &tcp, &payload)
	p.IgnoreUnsupported = true
	decoded := make([]gopacket.LayerType, 0, 8)
	var seg Segment
	b.ReportAllocs()
	b.SetBytes(int64(len(c.frame)))
	for b.Loop() {
		p.DecodeLayers(c.frame, &decoded)
		src, _ := netip.AddrFromSlice(ip4.SrcIP)
		dst, _ := netip.AddrFromSlice(ip4.DstIP)
		seg.Src = netip.AddrPortFrom(src, uint16(tcp.SrcPort))
		seg.Dst = netip.AddrPortFrom(dst, uint16(tcp.DstPort))
		seg.Seq, seg.Ack, seg.Window = tcp.Seq, tcp.Ack, tcp.Window
		seg.Len = uint32(len(tcp.Payload))
	}
}

func BenchmarkReader(b *testing.B) {
	fs := testFrames(b)
	var frames [][]byte
	for range 250 {
		frames = append(frames, datas(fs)...)
	}
	data := writePcap(b, layers.LinkTypeEthernet, frames, false)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	var seg Segment
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(data), "bench.pcap", nil)
		if err != nil {
			b.Fatal(err)
		}
		drain(b, r, &seg)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(frames)), "ns/frame")
}

// drain reads r to its end, failing b on any error but io.EOF.
func drain(b *testing.B, r *Reader, seg *Segment) {
	for {
		if err := r.Next(seg); err != nil {
			if err != io.EOF {
				b.Fatal(err)
			}
			return
		}
	}
}
