package capture

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// LiveConfig tunes a live capture. A nil *LiveConfig, like the zero
// LiveConfig, applies the defaults.
type LiveConfig struct {
	// SnapLen is how many bytes of each frame are kept. Default 256: the
	// headers of a TCP segment behind any usual encapsulation, no payload
	// (payload lengths come from the IP header).
	SnapLen int
	// Promisc puts the interface in promiscuous mode. Default off.
	Promisc bool
	// Filter is a BPF filter in tcpdump syntax ("tcp port 443"), run in
	// the kernel. Default "": every frame.
	Filter string
	// ReadTimeout bounds how long Next waits for a frame before it returns
	// ErrTimeout, so that the caller can advance its clock and look at its
	// signals. Default 100ms.
	ReadTimeout time.Duration
	// BufferSize is the kernel buffer for frames not yet read, in bytes.
	// Default 32 MiB.
	BufferSize int
	// VerifyChecksums checks TCP and IPv4 header checksums (see Config).
	VerifyChecksums bool
	// Fragments bounds IP fragment reassembly (see Config). Fragments the
	// snap length cuts short are not reassembled: a first fragment is
	// decoded as far as it goes.
	Fragments FragmentConfig
}

// DefaultSnapLen is LiveConfig.SnapLen's default.
const DefaultSnapLen = 256

func (c *LiveConfig) withDefaults() LiveConfig {
	var d LiveConfig
	if c != nil {
		d = *c
	}
	if d.SnapLen <= 0 {
		d.SnapLen = DefaultSnapLen
	}
	if d.SnapLen > maxSnapLen {
		d.SnapLen = maxSnapLen
	}
	if d.ReadTimeout <= 0 {
		d.ReadTimeout = 100 * time.Millisecond
	}
	if d.BufferSize <= 0 {
		d.BufferSize = 32 << 20
	}
	return d
}

// Errors of live capture, wrapped in a *LiveError that names the interface.
var (
	// ErrPermission: the process may not capture (it needs root, or the
	// capabilities CAP_NET_RAW and CAP_NET_ADMIN).
	ErrPermission = errors.New("no permission to capture")
	// ErrNoInterface: no interface of that name.
	ErrNoInterface = errors.New("no such interface")
	// ErrFilter: the BPF filter does not compile.
	ErrFilter = errors.New("bad filter")
	// ErrTimeout is what Live.Next returns when no frame came within the
	// read timeout. It is not wrapped.
	ErrTimeout = errors.New("capture: no frame within the read timeout")
)

// ErrNoLibpcap: libpcap's shared library, which live capture and BPF
// filters load at run time, is not installed (or this build does not load
// it). The error that wraps it says what to install.
var ErrNoLibpcap = errors.New("libpcap is not installed")

// LibpcapError says why libpcap could not be loaded. It wraps ErrNoLibpcap
// and errors.ErrUnsupported.
type LibpcapError struct {
	Tried    []string // the library names tried
	Detail   string   // what the loader said
	NoLoader bool     // this build does not load libpcap at all
}

// Error says what to install.
func (e *LibpcapError) Error() string {
	if e.NoLoader {
		return "live capture and BPF filters need libpcap: " + e.Detail
	}
	tried := ""
	if len(e.Tried) > 0 {
		tried = " (tried " + strings.Join(e.Tried, ", ") + ")"
	}
	return "live capture and BPF filters need libpcap, which is not installed" + tried + ".\n" +
		"  Install it: apt-get install libpcap0.8 (Debian, Ubuntu), dnf install libpcap (Fedora),\n" +
		"  apk add libpcap (Alpine), or set " + LibpcapEnv + " to the library's path.\n" +
		"  Detail: " + e.Detail
}

// Unwrap returns ErrNoLibpcap and errors.ErrUnsupported.
func (e *LibpcapError) Unwrap() []error { return []error{ErrNoLibpcap, errors.ErrUnsupported} }

// LibpcapEnv names the environment variable that, when set, is the path of
// the libpcap shared library to load instead of the usual names.
const LibpcapEnv = "TCPFLOW_LIBPCAP"

// Interface is a capture device, as libpcap lists it (tcpdump -D).
type Interface struct {
	Name         string
	Description  string
	Loopback     bool
	Up           bool
	Running      bool
	Disconnected bool
}

// LiveError says which interface a live capture failed on.
type LiveError struct {
	Interface string
	Err       error
}

// Error reads like "capture: live eth0: no permission to capture: ...".
func (e *LiveError) Error() string { return "capture: live " + e.Interface + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *LiveError) Unwrap() error { return e.Err }

// liveSource is what Live needs from a capture handle (libpcap's, or a
// fake in tests).
type liveSource interface {
	// ZeroCopyReadPacketData returns the next frame, ErrTimeout when none
	// came within the read timeout, or io.EOF once closed.
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	LinkType() layers.LinkType
	// KernelStats returns the kernel's counts of frames dropped for lack of
	// buffer space, and dropped by the interface.
	KernelStats() (dropped, ifDropped uint64, err error)
	Close()
}

// Live reads TCP segments from a network interface. A Live is not safe for
// concurrent use.
type Live struct {
	iface  string
	src    liveSource
	link   layers.LinkType
	err    error // sticky
	dump   FrameWriter
	frames // counts and decodes each frame, as Reader does
}

// FrameWriter takes every frame a Live captures, before it is decoded:
// pcapgo's Writer and NgWriter are FrameWriters (check -w writes the trace
// with one). ci.InterfaceIndex is 0.
type FrameWriter interface {
	WritePacket(ci gopacket.CaptureInfo, data []byte) error
}

// Dump hands every frame captured from now on to w as well (nil stops).
// A write error ends the capture: Next returns it, wrapped in a
// *LiveError.
func (l *Live) Dump(w FrameWriter) { l.dump = w }

// OpenLive starts capturing on the interface named iface ("any" for all of
// them, as tcpdump -i any). A nil cfg applies the defaults. It fails with a
// *LiveError wrapping ErrPermission, ErrNoInterface or ErrFilter, or a
// *LibpcapError (wrapping ErrNoLibpcap and errors.ErrUnsupported) when
// libpcap is not installed.
func OpenLive(iface string, cfg *LiveConfig) (*Live, error) {
	c := cfg.withDefaults()
	src, err := openLive(iface, &c)
	if errors.Is(err, errors.ErrUnsupported) {
		return nil, err
	}
	if err != nil {
		return nil, &LiveError{Interface: iface, Err: err}
	}
	return newLive(iface, src, &c), nil
}

func newLive(iface string, src liveSource, c *LiveConfig) *Live {
	l := &Live{
		iface:  iface,
		src:    src,
		link:   src.LinkType(),
		frames: frames{dec: NewDecoder(&Config{VerifyChecksums: c.VerifyChecksums})},
	}
	l.stats.LinkTypes = map[string]uint64{LinkTypeName(l.link): 0}
	l.reassemble(c.Fragments)
	return l
}

// Interface returns the name of the interface being captured.
func (l *Live) Interface() string { return l.iface }

// LinkType returns the interface's link type (Linux cooked SLL for "any").
func (l *Live) LinkType() layers.LinkType { return l.link }

// Next fills seg with the next TCP segment. Frames without one are counted
// in Stats and skipped. It returns ErrTimeout when no frame came within the
// read timeout (call it again), io.EOF after Close, and a *LiveError when
// the capture failed.
func (l *Live) Next(seg *Segment) error {
	if l.err != nil {
		return l.err
	}
	if l.resume(seg) {
		return nil
	}
	for {
		data, ci, err := l.src.ZeroCopyReadPacketData()
		if err != nil {
			if err == ErrTimeout {
				return err
			}
			if err != io.EOF {
				err = &LiveError{Interface: l.iface, Err: err}
			}
			l.end()
			l.err = err
			return err
		}
		if l.dump != nil {
			ci.InterfaceIndex = 0
			if err := l.dump.WritePacket(ci, data); err != nil {
				l.err = &LiveError{Interface: l.iface, Err: fmt.Errorf("writing the trace: %w", err)}
				return l.err
			}
		}
		rec := record{data: data, time: ci.Timestamp, length: ci.Length, link: l.link}
		if l.step(&rec, seg) {
			return nil
		}
	}
}

// Stats returns what was captured so far, with the kernel's drop counters
// read now. The Stats belong to the Live and keep changing while it reads;
// LinkTypes alone is brought up to date by each call of Stats and at the
// end of the capture.
func (l *Live) Stats() *Stats {
	l.countLinks()
	if l.src != nil {
		if d, ifd, err := l.src.KernelStats(); err == nil {
			l.stats.Dropped, l.stats.IfDropped = d, ifd
		}
	}
	return &l.stats
}

// Close stops the capture. Stats stay readable (with the last kernel
// counters) and Next returns io.EOF.
func (l *Live) Close() error {
	if l.src == nil {
		return nil
	}
	l.Stats()
	l.end()
	l.src.Close()
	l.src = nil
	if l.err == nil {
		l.err = io.EOF
	}
	return nil
}
