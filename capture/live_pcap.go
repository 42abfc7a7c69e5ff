//go:build (linux || darwin || freebsd) && !nolibpcap

package capture

import (
	"fmt"
	"io"
	"sync"
	"time"
	"unsafe"

	"github.com/ebitengine/purego"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"
)

// pcapSource is a live libpcap handle.
type pcapSource struct {
	l  *libpcap
	mu sync.Mutex // Close waits for a read in progress
	p  uintptr    // pcap_t *; 0 once closed

	// pcap_next_ex's out-parameters, on the heap so that they do not move
	// while libpcap writes them.
	hdr  *pkthdr
	data *byte

	args      [3]uintptr
	fd        int32 // to poll in non-blocking mode; -1: libpcap blocks
	timeoutMs int
}

// next calls pcap_next_ex.
func (s *pcapSource) next() int32 {
	s.args = [3]uintptr{s.p, uintptr(unsafe.Pointer(&s.hdr)), uintptr(unsafe.Pointer(&s.data))}
	r, _, _ := purego.SyscallN(s.l.nextEx, s.args[:]...) // args in s: no allocation
	return int32(r)
}

func (s *pcapSource) ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p == 0 {
		return nil, gopacket.CaptureInfo{}, io.EOF
	}
	r := s.next()
	if r == 0 && s.fd >= 0 {
		// Nothing ready: wait for the descriptor, at most the read timeout.
		// (libpcap's own timeout never fires on Linux's TPACKET_V3 ring
		// while no frame at all arrives.)
		fds := []unix.PollFd{{Fd: s.fd, Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, s.timeoutMs); err != nil && err != unix.EINTR {
			return nil, gopacket.CaptureInfo{}, fmt.Errorf("poll: %w", err)
		}
		r = s.next()
	}
	switch r {
	case 1:
	case 0:
		return nil, gopacket.CaptureInfo{}, ErrTimeout
	case -2: // pcap_breakloop
		return nil, gopacket.CaptureInfo{}, io.EOF
	default:
		return nil, gopacket.CaptureInfo{}, fmt.Errorf("reading: %s", lowerFirst(s.l.geterr(s.p)))
	}
	h := s.hdr
	ci := gopacket.CaptureInfo{
		Timestamp:     time.Unix(int64(h.sec), h.usec.micros()*1000),
		CaptureLength: int(h.caplen),
		Length:        int(h.len),
	}
	return unsafe.Slice(s.data, h.caplen), ci, nil
}

func (s *pcapSource) LinkType() layers.LinkType { return layers.LinkType(s.l.datalink(s.p)) }

func (s *pcapSource) KernelStats() (dropped, ifDropped uint64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p == 0 {
		return 0, 0, io.EOF
	}
	var st pcapStat
	if s.l.stats(s.p, &st) != 0 {
		return 0, 0, fmt.Errorf("stats: %s", lowerFirst(s.l.geterr(s.p)))
	}
	return uint64(st.drop), uint64(st.ifdrop), nil
}

func (s *pcapSource) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p != 0 {
		s.l.close(s.p)
		s.p = 0
	}
}

// openLive opens iface with libpcap: create, set the options, activate,
// then install the filter.
func openLive(iface string, c *LiveConfig) (liveSource, error) {
	l, err := loadLibpcap()
	if err != nil {
		return nil, err
	}
	errbuf := make([]byte, pcapErrbufSize)
	p := l.create(iface, &errbuf[0])
	if p == 0 {
		return nil, fmt.Errorf("%s", lowerFirst(errbufString(errbuf)))
	}
	fail := func(err error) (liveSource, error) {
		l.close(p)
		return nil, err
	}
	for _, set := range []func() int32{
		func() int32 { return l.setSnaplen(p, int32(c.SnapLen)) },
		func() int32 { return l.setPromisc(p, boolInt(c.Promisc)) },
		func() int32 { return l.setTimeout(p, int32(c.ReadTimeout/time.Millisecond)) },
		func() int32 { return l.setBufferSize(p, int32(c.BufferSize)) },
	} {
		if rc := set(); rc != 0 {
			return fail(l.statusError(p, rc))
		}
	}
	if rc := l.activate(p); rc < 0 { // > 0 are warnings
		return fail(l.statusError(p, rc))
	}
	if c.Filter != "" {
		var prog bpfProgram
		if l.compile(p, &prog, c.Filter, 1, pcapNetmaskUnknown) != 0 {
			return fail(compileErr(l, p, c.Filter, layers.LinkType(l.datalink(p))))
		}
		rc := l.setfilter(p, &prog)
		l.freecode(&prog)
		if rc != 0 {
			return fail(fmt.Errorf("%w %q: %s", ErrFilter, c.Filter, lowerFirst(l.geterr(p))))
		}
	}
	src := &pcapSource{l: l, p: p, fd: -1, timeoutMs: int(c.ReadTimeout / time.Millisecond)}
	if fd := l.selectableFd(p); fd >= 0 && l.setnonblock(p, 1, &errbuf[0]) == 0 {
		src.fd = fd
	}
	return src, nil
}

func boolInt(b bool) int32 {
	if b {
		return 1
	}
	return 0
}
