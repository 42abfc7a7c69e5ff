package capture

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

var update = flag.Bool("update", false, "rewrite testdata/handshake.pcap")

// handshakeFrames is a connection in 8 frames: handshake, an ARP frame,
// data, and a close.
func handshakeFrames(t testing.TB) [][]byte {
	type pkt struct {
		fromClient bool
		syn, ack   bool
		fin, psh   bool
		seq, ackN  uint32
		data       string
	}
	var out [][]byte
	for _, p := range []pkt{
		{true, true, false, false, false, 100, 0, ""},
		{false, true, true, false, false, 500, 101, ""},
		{true, false, true, false, false, 101, 501, ""},
		{},
		{true, false, true, false, true, 101, 501, "hello"},
		{false, false, true, true, false, 501, 106, ""},
		{true, false, true, true, false, 106, 502, ""},
		{false, false, true, false, false, 502, 107, ""},
	} {
		if p.seq == 0 {
			out = append(out, serialize(t, eth(layers.EthernetTypeARP), &layers.ARP{AddrType: 1, Protocol: 0x800, HwAddressSize: 6, ProtAddressSize: 4, SourceHwAddress: mac1, SourceProtAddress: v4a, DstHwAddress: mac2, DstProtAddress: v4b}))
			continue
		}
		src, dst, sp, dp := v4a, v4b, layers.TCPPort(41234), layers.TCPPort(80)
		if !p.fromClient {
			src, dst, sp, dp = v4b, v4a, 80, 41234
		}
		i := ip4(src, dst, layers.IPProtocolTCP)
		tcp := &layers.TCP{SrcPort: sp, DstPort: dp, Seq: p.seq, Ack: p.ackN, SYN: p.syn, ACK: p.ack, FIN: p.fin, PSH: p.psh, Window: 1024}
		tcp.SetNetworkLayerForChecksum(i)
		out = append(out, serialize(t, eth(layers.EthernetTypeIPv4), i, tcp, gopacket.Payload(p.data)))
	}
	return out
}

func TestTestdataHandshake(t *testing.T) {
	path := filepath.Join("testdata", "handshake.pcap")
	want := writePcap(t, layers.LinkTypeEthernet, handshakeFrames(t), false)
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s is stale; run go test ./capture -run TestTestdataHandshake -update", path)
	}
}
