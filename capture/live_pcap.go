//go:build cgo

package capture

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
)

// pcapSource is a libpcap handle.
type pcapSource struct{ h *pcap.Handle }

func (p pcapSource) ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	data, ci, err := p.h.ZeroCopyReadPacketData()
	if err == pcap.NextErrorTimeoutExpired {
		err = ErrTimeout
	}
	return data, ci, err
}

func (p pcapSource) LinkType() layers.LinkType { return p.h.LinkType() }

func (p pcapSource) KernelStats() (dropped, ifDropped uint64, err error) {
	s, err := p.h.Stats()
	if err != nil {
		return 0, 0, err
	}
	return uint64(s.PacketsDropped), uint64(s.PacketsIfDropped), nil
}

func (p pcapSource) Close() { p.h.Close() }

// openLive opens iface with libpcap: create, set the options, activate,
// then install the filter.
func openLive(iface string, c *LiveConfig) (liveSource, error) {
	ih, err := pcap.NewInactiveHandle(iface)
	if err != nil {
		return nil, classifyPcap(err)
	}
	defer ih.CleanUp()
	for _, set := range []func() error{
		func() error { return ih.SetSnapLen(c.SnapLen) },
		func() error { return ih.SetPromisc(c.Promisc) },
		func() error { return ih.SetTimeout(c.ReadTimeout) },
		func() error { return ih.SetBufferSize(c.BufferSize) },
	} {
		if err := set(); err != nil {
			return nil, classifyPcap(err)
		}
	}
	h, err := ih.Activate()
	if err != nil {
		return nil, classifyPcap(err)
	}
	if c.Filter != "" {
		if err := h.SetBPFFilter(c.Filter); err != nil {
			h.Close()
			return nil, fmt.Errorf("%w %q: %s", ErrFilter, c.Filter, lowerFirst(err.Error()))
		}
	}
	return pcapSource{h}, nil
}

// classifyPcap maps libpcap's activation errors (which gopacket does not
// export) onto the package's sentinels.
func classifyPcap(err error) error {
	msg := err.Error()
	low := strings.ToLower(msg)
	switch {
	case strings.Contains(low, "permission denied"), strings.Contains(low, "operation not permitted"),
		strings.HasSuffix(msg, ": -11"): // PCAP_ERROR_PROMISC_PERM_DENIED
		return fmt.Errorf("%w (%s)", ErrPermission, lowerFirst(msg))
	case strings.Contains(low, "no such device"):
		return ErrNoInterface
	}
	return errors.New(lowerFirst(msg))
}
