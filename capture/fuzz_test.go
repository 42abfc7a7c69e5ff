package capture

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tcpflow-check/tcpflow-check/internal/ipfrag"
)

// FuzzReader feeds arbitrary bytes to the Reader: it must not panic, must
// end, and must end with io.EOF or a *FileError.
func FuzzReader(f *testing.F) {
	fs := testFrames(f)
	mixed := append(append([]frame(nil), fs...), frame{layers.LinkTypeLinuxSLL2, sll2Frame(f)})
	var tunnels [][]byte
	for _, c := range decodeCases(f) {
		if len(c.encaps) > 0 && c.link == layers.LinkTypeEthernet {
			tunnels = append(tunnels, c.frame)
		}
	}
	pcap := writePcap(f, layers.LinkTypeEthernet, datas(fs), false)
	f.Add(pcap)                                                              // pcap, µs, little endian
	f.Add(bigEndian(writePcap(f, layers.LinkTypeEthernet, datas(fs), true))) // pcap, ns, big endian
	f.Add(writePcap(f, layers.LinkTypeEthernet, tunnels, false))             // every tunnel
	f.Add(writePcapng(f, mixed))                                             // pcapng, two link types
	f.Add(gz(f, pcap))                                                       // gzip
	f.Add(pcap[:len(pcap)-7])                                                // cut mid-packet
	f.Add(pcap[:24])                                                         // header only
	f.Add(writePcap(f, layers.LinkTypeEthernet, fragmentSeeds(f), false))    // IP fragments, shuffled, overlapping
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), "fuzz.pcap", &Config{VerifyChecksums: len(data)%2 == 0})
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("NewReader error is %T, not *FileError: %v", err, err)
			}
			return
		}
		limit := len(data) // every frame takes at least a 16-byte header
		if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
			limit = 1 << 22 // gzip: a few bytes may expand to many frames
		}
		var seg Segment
		for i := 0; ; i++ {
			if i > limit {
				t.Fatalf("more than %d segments from %d bytes", limit, len(data))
			}
			err := r.Next(&seg)
			if err == io.EOF {
				break
			}
			if err != nil {
				var fe *FileError
				if !errors.As(err, &fe) {
					t.Fatalf("Next error is %T, not *FileError: %v", err, err)
				}
				break
			}
			if seg.Frame == 0 || !seg.Src.IsValid() || !seg.Dst.IsValid() {
				t.Fatalf("incomplete segment %+v", seg)
			}
		}
		st := r.Stats()
		var skipped uint64
		for _, n := range st.Skipped {
			skipped += n
		}
		if st.Packets != st.Segments-st.Extra+skipped {
			t.Fatalf("Packets %d != Segments %d + skipped %d", st.Packets, st.Segments, skipped)
		}
	})
}

// FuzzDecode feeds arbitrary frames of every supported link type to the
// Decoder: it must not panic, and a decoded segment has addresses.
func FuzzDecode(f *testing.F) {
	for _, c := range decodeCases(f) {
		f.Add(c.frame, uint16(c.link))
	}
	d := NewDecoder(&Config{VerifyChecksums: true})
	f.Fuzz(func(t *testing.T, data []byte, link uint16) {
		var seg Segment
		reason := d.DecodeWire(data, len(data)+int(link%64), layers.LinkType(link), &seg)
		if !reason.Skipped() && (!seg.Src.IsValid() || !seg.Dst.IsValid()) {
			t.Fatalf("segment without addresses: %+v", seg)
		}
	})
}

// fragmentSeeds are the fragments of an IPv4 and an IPv6 segment of 3000
// bytes, out of order, one repeated, one missing at the end.
func fragmentSeeds(t testing.TB) [][]byte {
	var out [][]byte
	for _, v6 := range []bool{false, true} {
		var frame []byte
		if v6 {
			i := ip6(v6a, v6b, layers.IPProtocolTCP)
			frame = serialize(t, eth(layers.EthernetTypeIPv6), i, tcpData(i), gopacket.Payload(make([]byte, 3000)))
		} else {
			i := ip4(v4a, v4b, layers.IPProtocolTCP)
			frame = serialize(t, eth(layers.EthernetTypeIPv4), i, tcpData(i), gopacket.Payload(make([]byte, 3000)))
		}
		fs, err := ipfrag.Split(frame, 14, 1200, 9)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fs[2], fs[0], fs[0], fs[1], fs[1][:100])
	}
	return out
}
