package capture_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/ipfrag"
	"github.com/tcpflow-check/tcpflow-check/internal/pcapgen"
)

var (
	fragT0  = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	fragSrc = net.IP{192, 0, 2, 1}
	fragDst = net.IP{192, 0, 2, 2}
	frag6a  = net.ParseIP("2001:db8::1")
	frag6b  = net.ParseIP("2001:db8::2")
)

// bigSegment is an Ethernet frame holding a TCP segment of n random bytes
// (random, so that bytes put in the wrong place break its checksum) from
// port sport, over IPv4 or IPv6.
func bigSegment(t testing.TB, v6 bool, sport layers.TCPPort, n int, seed uint64) []byte {
	t.Helper()
	tcp := &layers.TCP{SrcPort: sport, DstPort: 80, Seq: 1001, Ack: 5001, ACK: true, PSH: true, Window: 502}
	var nl gopacket.SerializableLayer
	et := layers.EthernetTypeIPv4
	if v6 {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: frag6a, DstIP: frag6b}
		tcp.SetNetworkLayerForChecksum(ip)
		nl, et = ip, layers.EthernetTypeIPv6
	} else {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: fragSrc, DstIP: fragDst}
		tcp.SetNetworkLayerForChecksum(ip)
		nl = ip
	}
	payload := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range payload {
		payload[i] = byte(r.Uint32())
	}
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: et}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, nl, tcp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// fragments splits frame's IP packet into pieces of size bytes.
func fragments(t testing.TB, frame []byte, size int, id uint32) [][]byte {
	t.Helper()
	fs, err := ipfrag.Split(frame, pcapgen.Ethernet.IPOffset(), size, id)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// withDestOpts puts an empty destination options header (the unfragmentable
// part) in front of the fragment header of IPv6 fragment f.
func withDestOpts(f []byte) []byte {
	const ip = 14
	g := append(append(append([]byte(nil), f[:ip+40]...), 44, 0, 1, 4, 0, 0, 0, 0), f[ip+40:]...)
	g[ip+6] = 60 // destination options
	plen := int(g[ip+4])<<8 | int(g[ip+5]) + 8
	g[ip+4], g[ip+5] = byte(plen>>8), byte(plen)
	return g
}

// pkt is one frame of a test capture: its bytes, when (after fragT0), and
// how many bytes were captured (0: all).
type pkt struct {
	data []byte
	at   time.Duration
	snap int
}

func pcapOf(t testing.TB, pkts []pkt) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapgen.NewWriterLinkTypes(&buf, pcapgen.Format{}, []layers.LinkType{layers.LinkTypeEthernet}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pkts {
		data := p.data
		if p.snap > 0 && p.snap < len(data) {
			data = data[:p.snap]
		}
		at := p.at
		if at == 0 {
			at = time.Duration(i) * time.Millisecond
		}
		if err := w.WriteFrame(0, fragT0.Add(at), data, len(p.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// got is what a test reads of a segment.
type got struct {
	Frame   uint64
	Sport   uint16
	Dport   uint16
	Len     uint32
	Missing uint32
	IPLen   uint32
	Bad     bool
	Encaps  int
}

func readFragments(t *testing.T, cfg capture.FragmentConfig, pkts []pkt) ([]got, *capture.Stats) {
	t.Helper()
	r, err := capture.NewReader(bytes.NewReader(pcapOf(t, pkts)), "fragments.pcap", &capture.Config{VerifyChecksums: true, Fragments: cfg})
	if err != nil {
		t.Fatal(err)
	}
	var out []got
	for {
		var seg capture.Segment
		err := r.Next(&seg)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, got{seg.Frame, seg.Src.Port(), seg.Dst.Port(), seg.Len, seg.Missing, seg.IPLen, seg.BadChecksum, len(r.Stats().Encaps)})
	}
	return out, r.Stats()
}

func TestReassembly(t *testing.T) {
	a4 := fragments(t, bigSegment(t, false, 40000, 3000, 1), 1480, 7) // 3 fragments
	b4 := fragments(t, bigSegment(t, false, 40001, 3000, 2), 1480, 8)
	c4 := fragments(t, bigSegment(t, false, 40002, 3000, 3), 1480, 9)
	a6 := fragments(t, bigSegment(t, true, 40000, 3000, 4), 1448, 0xa1b2c3d4)
	whole := bigSegment(t, false, 40003, 100, 5)
	const ipLen4 = 20 + 20 + 3000

	// altered returns a copy of f with payload byte i (from the end) changed.
	altered := func(f []byte, i int) []byte {
		g := append([]byte(nil), f...)
		g[len(g)-1-i] ^= 0xff
		return g
	}
	// portChanged is a copy of the first fragment f with another destination port.
	portChanged := func(f []byte) []byte {
		g := append([]byte(nil), f...)
		g[14+20+3] ^= 1
		return g
	}
	// lastAt moves the last fragment f to fragment offset off (8-byte units).
	lastAt := func(f []byte, off uint16) []byte {
		g := append([]byte(nil), f...)
		g[14+6], g[14+7] = byte(off>>8), byte(off)
		g[14+10], g[14+11] = 0, 0
		var s uint32
		for i := 14; i < 34; i += 2 {
			s += uint32(g[i])<<8 | uint32(g[i+1])
		}
		for s>>16 != 0 {
			s = s&0xffff + s>>16
		}
		g[14+10], g[14+11] = byte(^s>>8), byte(^s)
		return g
	}
	big := fragments(t, bigSegment(t, false, 40004, 50000, 6), 8000, 10) // 7 fragments
	big2 := fragments(t, bigSegment(t, false, 40005, 50000, 7), 8000, 11)

	seq := func(ps ...[]byte) []pkt {
		out := make([]pkt, len(ps))
		for i, p := range ps {
			out[i] = pkt{data: p}
		}
		return out
	}
	one := func(frame uint64, sport uint16) []got {
		return []got{{Frame: frame, Sport: sport, Dport: 80, Len: 3000, IPLen: ipLen4}}
	}
	for _, c := range []struct {
		name  string
		cfg   capture.FragmentConfig
		pkts  []pkt
		want  []got
		stats capture.FragmentStats
	}{
		{
			name:  "in order",
			pkts:  seq(a4[0], a4[1], a4[2]),
			want:  one(3, 40000),
			stats: capture.FragmentStats{Fragments: 3, Reassembled: 1},
		},
		{
			name:  "reversed: the segment comes with the last fragment to arrive",
			pkts:  seq(a4[2], a4[1], a4[0]),
			want:  one(3, 40000),
			stats: capture.FragmentStats{Fragments: 3, Reassembled: 1},
		},
		{
			name:  "interleaved datagrams and an unfragmented packet",
			pkts:  seq(a4[0], b4[1], whole, a4[2], b4[0], a4[1], b4[2]),
			want:  []got{{Frame: 3, Sport: 40003, Dport: 80, Len: 100, IPLen: 140}, one(6, 40000)[0], one(7, 40001)[0]},
			stats: capture.FragmentStats{Fragments: 6, Reassembled: 2},
		},
		{
			name:  "IPv6 fragment header, shuffled",
			pkts:  seq(a6[1], a6[2], a6[0]),
			want:  []got{{Frame: 3, Sport: 40000, Dport: 80, Len: 3000, IPLen: 40 + 20 + 3000}},
			stats: capture.FragmentStats{Fragments: 3, Reassembled: 1},
		},
		{
			name:  "IPv6 fragment header behind a destination options header",
			pkts:  seq(withDestOpts(a6[2]), withDestOpts(a6[0]), withDestOpts(a6[1])),
			want:  []got{{Frame: 3, Sport: 40000, Dport: 80, Len: 3000, IPLen: 40 + 8 + 20 + 3000}},
			stats: capture.FragmentStats{Fragments: 3, Reassembled: 1},
		},
		{
			name:  "a duplicate fragment overlaps with the same bytes",
			pkts:  seq(a4[0], a4[1], a4[1], a4[2]),
			want:  one(4, 40000),
			stats: capture.FragmentStats{Fragments: 4, Reassembled: 1, Overlapping: 1},
		},
		{
			name:  "overlap with other bytes: the first kept (the later good copy is ignored)",
			pkts:  seq(a4[0], altered(a4[1], 5), a4[1], a4[2]),
			want:  []got{{Frame: 4, Sport: 40000, Dport: 80, Len: 3000, IPLen: ipLen4, Bad: true}},
			stats: capture.FragmentStats{Fragments: 4, Reassembled: 1, Overlapping: 1, Inconsistent: 1},
		},
		{
			name:  "overlap with other bytes: the first kept (the later bad copy is ignored)",
			pkts:  seq(a4[0], a4[1], altered(a4[1], 5), a4[2]),
			want:  one(4, 40000),
			stats: capture.FragmentStats{Fragments: 4, Reassembled: 1, Overlapping: 1, Inconsistent: 1},
		},
		{
			name:  "a second first fragment cannot rewrite the TCP header",
			pkts:  seq(a4[0], portChanged(a4[0]), a4[1], a4[2]),
			want:  one(4, 40000),
			stats: capture.FragmentStats{Fragments: 4, Reassembled: 1, Overlapping: 1, Inconsistent: 1},
		},
		{
			name: "a missing piece times out on the capture clock; a late piece starts anew",
			pkts: []pkt{{data: a4[0]}, {data: a4[2], at: time.Second},
				{data: b4[0], at: 61 * time.Second}, {data: b4[1], at: 61*time.Second + 1}, {data: b4[2], at: 61*time.Second + 2},
				{data: a4[1], at: 62 * time.Second}},
			want:  one(5, 40001),
			stats: capture.FragmentStats{Fragments: 6, Reassembled: 1, Timeout: 1, TimeoutFrame: 1, Unfinished: 1, UnfinishedFrame: 6},
		},
		{
			name:  "a timeout of its own",
			cfg:   capture.FragmentConfig{Timeout: time.Second},
			pkts:  []pkt{{data: a4[0]}, {data: a4[1], at: time.Second}, {data: a4[2], at: time.Second + 1}},
			stats: capture.FragmentStats{Fragments: 3, Timeout: 1, TimeoutFrame: 1, Unfinished: 1, UnfinishedFrame: 2},
		},
		{
			name:  "a missing piece, and nothing else fragmented for longer than the timeout",
			pkts:  []pkt{{data: a4[0]}, {data: whole, at: time.Second}, {data: whole, at: 70 * time.Second}},
			want:  []got{{Frame: 2, Sport: 40003, Dport: 80, Len: 100, IPLen: 140}, {Frame: 3, Sport: 40003, Dport: 80, Len: 100, IPLen: 140}},
			stats: capture.FragmentStats{Fragments: 1, Timeout: 1, TimeoutFrame: 1},
		},
		{
			name:  "a missing piece at the end of the input",
			pkts:  seq(a4[0], a4[2]),
			stats: capture.FragmentStats{Fragments: 2, Unfinished: 1, UnfinishedFrame: 1},
		},
		{
			name: "too many datagrams pending: the oldest is given up",
			cfg:  capture.FragmentConfig{MaxDatagrams: 2},
			pkts: seq(a4[0], b4[0], c4[0], b4[1], b4[2], a4[1], a4[2]),
			want: one(5, 40001),
			// a4's later pieces start a datagram that cannot be whole
			stats: capture.FragmentStats{Fragments: 7, Reassembled: 1, Limit: 1, LimitFrame: 1, Unfinished: 2, UnfinishedFrame: 3},
		},
		{
			name:  "too many bytes held: the oldest is given up",
			cfg:   capture.FragmentConfig{MaxBytes: 65535},
			pkts:  seq(big[6], big2[6], big2[0], big2[1], big2[2], big2[3], big2[4], big2[5]),
			want:  []got{{Frame: 8, Sport: 40005, Dport: 80, Len: 50000, IPLen: 20 + 20 + 50000}},
			stats: capture.FragmentStats{Fragments: 8, Reassembled: 1, Limit: 1, LimitFrame: 1},
		},
		{
			name:  "longer than 65,535 bytes",
			pkts:  seq(a4[0], lastAt(a4[2], 8190)),
			stats: capture.FragmentStats{Fragments: 2, Invalid: 1, InvalidFrame: 1},
		},
		{
			name:  "two last fragments that disagree about the end",
			pkts:  seq(a4[2], lastAt(a4[2], 400), a4[0], a4[1]),
			stats: capture.FragmentStats{Fragments: 4, Invalid: 1, InvalidFrame: 1, Unfinished: 1, UnfinishedFrame: 3},
		},
		{
			name: "cut by the snap length: not reassembled, the first fragment decoded as it is",
			pkts: []pkt{{data: a4[0], snap: 100}, {data: a4[1], snap: 100}, {data: a4[2], snap: 100}},
			// the first fragment's lengths, as Zeek takes them; its TCP
			// checksum covers bytes not there: not verified. The last
			// fragment, 94 bytes, was captured whole and waits in vain.
			want:  []got{{Frame: 1, Sport: 40000, Dport: 80, Len: 1460, Missing: 1460 - (100 - 14 - 20 - 20), IPLen: 1500}},
			stats: capture.FragmentStats{Fragments: 3, Uncaptured: 2, Unfinished: 1, UnfinishedFrame: 3},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			segs, st := readFragments(t, c.cfg, c.pkts)
			if !reflect.DeepEqual(c.want, segs) {
				t.Errorf("segments:\n got %+v\nwant %+v", segs, c.want)
			}
			if c.stats != st.Fragments {
				t.Errorf("fragment stats:\n got %+v\nwant %+v", st.Fragments, c.stats)
			}
			skipped := st.Skipped[capture.Reason{Kind: capture.SkipFragment}.String()]
			if want := uint64(len(c.pkts)) - st.Segments; skipped != want && c.stats.Uncaptured == 0 {
				t.Errorf("skipped as fragment: %d, want %d", skipped, want)
			}
		})
	}
}

// TestReassemblyTunnel reassembles the outer packet of a GRE tunnel and
// decodes the TCP segment inside.
func TestReassemblyTunnel(t *testing.T) {
	inner := bigSegment(t, false, 40000, 3000, 8)[14:]
	outer := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolGRE, SrcIP: net.IP{198, 51, 100, 1}, DstIP: net.IP{198, 51, 100, 2}}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	if err := gopacket.SerializeLayers(buf, opts, eth, outer, &layers.GRE{Protocol: layers.EthernetTypeIPv4}, gopacket.Payload(inner)); err != nil {
		t.Fatal(err)
	}
	fs := fragments(t, buf.Bytes(), 1480, 99)
	segs, st := readFragments(t, capture.FragmentConfig{}, []pkt{{data: fs[1]}, {data: fs[0]}, {data: fs[2]}})
	want := []got{{Frame: 3, Sport: 40000, Dport: 80, Len: 3000, IPLen: 3040, Encaps: 1}}
	if !reflect.DeepEqual(want, segs) {
		t.Errorf("segments:\n got %+v\nwant %+v", segs, want)
	}
	if st.Encaps["GRE"] != 1 || st.Fragments.Reassembled != 1 {
		t.Errorf("encaps %v, fragments %+v", st.Encaps, st.Fragments)
	}
}

// TestReassemblyAllocs proves the fragmented path allocates nothing once
// its buffers exist: finished datagrams hand theirs on.
func TestReassemblyAllocs(t *testing.T) {
	fs := fragments(t, bigSegment(t, false, 40000, 3000, 9), 1480, 7)
	data := pcapOf(t, []pkt{{data: fs[2]}, {data: fs[0]}, {data: fs[1]}})
	r, err := capture.NewReader(capture.NewLoopingReader(data, 24), "loop.pcap", nil)
	if err != nil {
		t.Fatal(err)
	}
	var seg capture.Segment
	for range 100 {
		if err := r.Next(&seg); err != nil {
			t.Fatal(err)
		}
	}
	n := testing.AllocsPerRun(1000, func() {
		if err := r.Next(&seg); err != nil || seg.Len != 3000 {
			t.Fatal(err, seg.Len)
		}
	})
	if n != 0 {
		t.Errorf("a reassembled datagram costs %v allocations, want 0", n)
	}
}

// BenchmarkReassembly reads a 3000-byte segment sent in three fragments,
// out of order, again and again: the cost of a reassembled datagram.
func BenchmarkReassembly(b *testing.B) {
	fs := fragments(b, bigSegment(b, false, 40000, 3000, 9), 1480, 7)
	data := pcapOf(b, []pkt{{data: fs[2]}, {data: fs[0]}, {data: fs[1]}})
	r, err := capture.NewReader(capture.NewLoopingReader(data, 24), "loop.pcap", nil)
	if err != nil {
		b.Fatal(err)
	}
	var seg capture.Segment
	b.ReportAllocs()
	b.SetBytes(int64(len(data) - 24))
	for b.Loop() {
		if err := r.Next(&seg); err != nil {
			b.Fatal(err)
		}
	}
}
