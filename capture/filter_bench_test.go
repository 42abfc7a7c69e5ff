package capture

import (
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// BenchmarkFilterMatch is the cost of one frame through a compiled BPF
// filter: libpcap's interpreter, called once per frame.
func BenchmarkFilterMatch(b *testing.B) {
	f, err := CompileFilter("tcp port 80 and host 192.0.2.2", layers.LinkTypeEthernet, 0)
	if err != nil {
		b.Skip(err)
	}
	syn := synFrame(b)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if !f.Match(syn, len(syn)) {
			b.Fatal("no match")
		}
	}
}
