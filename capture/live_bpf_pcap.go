//go:build cgo

package capture

import (
	"fmt"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
)

// CompileFilter compiles a BPF filter in tcpdump syntax for frames of link
// type link cut at snaplen bytes. A filter that does not compile is an
// error wrapping ErrFilter.
func CompileFilter(expr string, link layers.LinkType, snaplen int) (Filter, error) {
	if snaplen <= 0 {
		snaplen = maxSnapLen
	}
	dlt := link
	if link == layers.LinkTypeRaw { // LINKTYPE_RAW in files is DLT_RAW (12) to libpcap
		dlt = 12
	}
	b, err := pcap.NewBPF(dlt, snaplen, expr)
	if err != nil {
		return nil, fmt.Errorf("%w %q for %s: %s", ErrFilter, expr, LinkTypeName(link), lowerFirst(err.Error()))
	}
	return &bpfFilter{b: b}, nil
}

type bpfFilter struct {
	b  *pcap.BPF
	ci gopacket.CaptureInfo
}

func (f *bpfFilter) Match(data []byte, wireLen int) bool {
	if wireLen < len(data) {
		wireLen = len(data)
	}
	f.ci.CaptureLength, f.ci.Length = len(data), wireLen
	return f.b.Matches(f.ci, data)
}
