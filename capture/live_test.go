package capture

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// fakeSource replays frames, then times out once per call until closed.
type fakeSource struct {
	frames [][]byte
	drops  uint64
	closed bool
}

func (f *fakeSource) ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	if f.closed {
		return nil, gopacket.CaptureInfo{}, io.EOF
	}
	if len(f.frames) == 0 {
		return nil, gopacket.CaptureInfo{}, ErrTimeout
	}
	b := f.frames[0]
	f.frames = f.frames[1:]
	return b, gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: len(b), Length: len(b)}, nil
}
func (f *fakeSource) LinkType() layers.LinkType { return layers.LinkTypeEthernet }
func (f *fakeSource) KernelStats() (uint64, uint64, error) {
	return f.drops, 0, nil
}
func (f *fakeSource) Close() { f.closed = true }

// synFrame is an Ethernet/IPv4/TCP SYN from 192.0.2.1:1000 to 192.0.2.2:80.
func synFrame(t testing.TB) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: make([]byte, 6), DstMAC: make([]byte, 6), EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: []byte{192, 0, 2, 1}, DstIP: []byte{192, 0, 2, 2}}
	tcp := &layers.TCP{SrcPort: 1000, DstPort: 80, Seq: 7, SYN: true, Window: 1000}
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLiveNext(t *testing.T) {
	src := &fakeSource{frames: [][]byte{{0xff, 0xff}, synFrame(t)}, drops: 3}
	l := newLive("eth9", src, &LiveConfig{})
	var seg Segment
	if err := l.Next(&seg); err != nil {
		t.Fatal(err)
	}
	if seg.Frame != 2 || seg.Flags != SYN || seg.Src.Port() != 1000 || seg.Seq != 7 {
		t.Errorf("segment %+v: want frame 2, a SYN from port 1000, seq 7", seg)
	}
	if err := l.Next(&seg); err != ErrTimeout {
		t.Errorf("quiet wire: %v, want ErrTimeout", err)
	}
	st := l.Stats()
	if st.Packets != 2 || st.Segments != 1 || st.Skipped[SkipTruncated.String()] != 1 || st.Dropped != 3 || st.LinkTypes["Ethernet"] != 2 {
		t.Errorf("stats %+v", st)
	}
	l.Close()
	if err := l.Next(&seg); err != io.EOF {
		t.Errorf("after Close: %v, want io.EOF", err)
	}
	if l.Stats().Dropped != 3 {
		t.Error("drop counter lost at Close")
	}
}

func TestCompileFilter(t *testing.T) {
	f, err := CompileFilter("tcp port 80", layers.LinkTypeEthernet, 256)
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("BPF filters need libpcap: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	syn := synFrame(t)
	if !f.Match(syn, 0) {
		t.Error("a SYN to port 80 does not pass tcp port 80")
	}
	g, _ := CompileFilter("tcp port 443", layers.LinkTypeEthernet, 256)
	if g.Match(syn, 0) {
		t.Error("a SYN to port 80 passes tcp port 443")
	}
	if _, err := CompileFilter("tcp port nonsense-port", layers.LinkTypeEthernet, 256); !errors.Is(err, ErrFilter) {
		t.Errorf("bad filter: %v, want ErrFilter", err)
	}
	lf, err := NewLinkFilter("host 192.0.2.2", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !lf.Match(layers.LinkTypeEthernet, syn, len(syn)) || !lf.Match(layers.LinkTypeRaw, syn[14:], 0) {
		t.Error("LinkFilter: the SYN to 192.0.2.2 should pass on Ethernet and raw IP")
	}
	if _, err := NewLinkFilter("nonsense (", 0); !errors.Is(err, ErrFilter) {
		t.Errorf("NewLinkFilter: %v, want ErrFilter", err)
	}
}
