//go:build (linux || darwin || freebsd) && !nolibpcap

package capture

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
	"github.com/gopacket/gopacket/layers"
)

// libpcap is the C library as loaded at run time: the build needs neither a
// C compiler nor libpcap's headers, and the binary starts (and reads files)
// where libpcap is not installed. Only live capture and BPF filters need it.
//
// The functions called once per frame (pcap_next_ex, pcap_offline_filter)
// are called through purego.SyscallN, which does not allocate; the others
// through typed Go functions that purego builds.
type libpcap struct {
	nextEx        uintptr // int pcap_next_ex(pcap_t *, struct pcap_pkthdr **, const u_char **)
	offlineFilter uintptr // int pcap_offline_filter(const struct bpf_program *, const struct pcap_pkthdr *, const u_char *)

	create        func(source string, errbuf *byte) uintptr
	setSnaplen    func(p uintptr, n int32) int32
	setPromisc    func(p uintptr, on int32) int32
	setTimeout    func(p uintptr, ms int32) int32
	setBufferSize func(p uintptr, n int32) int32
	activate      func(p uintptr) int32
	setnonblock   func(p uintptr, on int32, errbuf *byte) int32
	selectableFd  func(p uintptr) int32
	geterr        func(p uintptr) string
	statustostr   func(code int32) string
	datalink      func(p uintptr) int32
	compile       func(p uintptr, prog *bpfProgram, expr string, optimize int32, netmask uint32) int32
	setfilter     func(p uintptr, prog *bpfProgram) int32
	freecode      func(prog *bpfProgram)
	openDead      func(linktype, snaplen int32) uintptr
	stats         func(p uintptr, st *pcapStat) int32
	close         func(p uintptr)
	findalldevs   func(devs **pcapIf, errbuf *byte) int32
	freealldevs   func(devs *pcapIf)
	libVersion    func() string
}

// struct pcap_pkthdr: a struct timeval, then caplen and len. C's long is
// Go's int on every platform purego runs on.
type pkthdr struct {
	sec    int
	usec   timevalUsec
	caplen uint32
	len    uint32
}

// struct bpf_program.
type bpfProgram struct {
	len   uint32
	insns unsafe.Pointer
}

// struct pcap_stat (without the Windows-only fields).
type pcapStat struct {
	recv, drop, ifdrop uint32
}

// struct pcap_if.
type pcapIf struct {
	next        *pcapIf
	name        *byte
	description *byte
	addresses   unsafe.Pointer
	flags       uint32
}

const (
	pcapErrbufSize = 256

	pcapError                   = -1
	pcapErrorNoSuchDevice       = -5
	pcapErrorPermDenied         = -8
	pcapErrorPromiscPermDenied  = -11
	pcapNetmaskUnknown          = 0xffffffff
	pcapIfLoopback              = 0x1
	pcapIfUp                    = 0x2
	pcapIfRunning               = 0x4
	pcapIfConnectionStatus      = 0x30
	pcapIfConnectionDisconneced = 0x20
)

// libpcapNames are the names tried, in order, when LibpcapEnv is not set.
func libpcapNames() []string {
	if p := os.Getenv(LibpcapEnv); p != "" {
		return []string{p}
	}
	if runtime.GOOS == "darwin" {
		return []string{"libpcap.A.dylib", "/usr/lib/libpcap.A.dylib", "libpcap.dylib"}
	}
	// Debian and Ubuntu ship libpcap.so.0.8 (package libpcap0.8), Fedora,
	// Arch and Alpine libpcap.so.1; libpcap.so comes with the -dev package.
	return []string{"libpcap.so.0.8", "libpcap.so.1", "libpcap.so"}
}

var (
	libOnce sync.Once
	lib     *libpcap
	libErr  error
)

// loadLibpcap loads libpcap once; later calls return the same answer.
func loadLibpcap() (*libpcap, error) {
	libOnce.Do(func() { lib, libErr = openLibpcap(libpcapNames()) })
	return lib, libErr
}

func openLibpcap(names []string) (*libpcap, error) {
	var h uintptr
	var why []string
	for _, n := range names {
		var err error
		if h, err = purego.Dlopen(n, purego.RTLD_NOW|purego.RTLD_GLOBAL); err == nil {
			break
		}
		why = append(why, err.Error())
	}
	if h == 0 {
		return nil, &LibpcapError{Tried: names, Detail: strings.Join(why, "; ")}
	}
	l := &libpcap{}
	sym := func(name string) (uintptr, error) {
		p, err := purego.Dlsym(h, name)
		if err != nil {
			return 0, &LibpcapError{Tried: names, Detail: "the library has no " + name + " (libpcap 1.0 or later is needed)"}
		}
		return p, nil
	}
	var err error
	if l.nextEx, err = sym("pcap_next_ex"); err != nil {
		return nil, err
	}
	if l.offlineFilter, err = sym("pcap_offline_filter"); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		fn   any
		name string
	}{
		{&l.create, "pcap_create"}, {&l.setSnaplen, "pcap_set_snaplen"}, {&l.setPromisc, "pcap_set_promisc"},
		{&l.setTimeout, "pcap_set_timeout"}, {&l.setBufferSize, "pcap_set_buffer_size"},
		{&l.activate, "pcap_activate"}, {&l.setnonblock, "pcap_setnonblock"}, {&l.selectableFd, "pcap_get_selectable_fd"}, {&l.geterr, "pcap_geterr"}, {&l.statustostr, "pcap_statustostr"},
		{&l.datalink, "pcap_datalink"}, {&l.compile, "pcap_compile"}, {&l.setfilter, "pcap_setfilter"},
		{&l.freecode, "pcap_freecode"}, {&l.openDead, "pcap_open_dead"}, {&l.stats, "pcap_stats"},
		{&l.close, "pcap_close"}, {&l.findalldevs, "pcap_findalldevs"}, {&l.freealldevs, "pcap_freealldevs"},
		{&l.libVersion, "pcap_lib_version"},
	} {
		p, err := sym(f.name)
		if err != nil {
			return nil, err
		}
		purego.RegisterFunc(f.fn, p)
	}
	return l, nil
}

// LibpcapVersion returns libpcap's version string ("libpcap version
// 1.10.3 (with TPACKET_V3)"), or an error wrapping ErrNoLibpcap.
func LibpcapVersion() (string, error) {
	l, err := loadLibpcap()
	if err != nil {
		return "", err
	}
	return l.libVersion(), nil
}

// cstring copies a NUL-terminated C string.
func cstring(p *byte) string {
	if p == nil {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}

// errbufString is the message libpcap left in an error buffer.
func errbufString(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// Interfaces lists the interfaces libpcap can capture on, as tcpdump -D
// does. It fails with an error wrapping ErrNoLibpcap where libpcap is not
// installed.
func Interfaces() ([]Interface, error) {
	l, err := loadLibpcap()
	if err != nil {
		return nil, err
	}
	var devs *pcapIf
	errbuf := make([]byte, pcapErrbufSize)
	if l.findalldevs(&devs, &errbuf[0]) != 0 {
		return nil, fmt.Errorf("capture: listing interfaces: %s", lowerFirst(errbufString(errbuf)))
	}
	defer l.freealldevs(devs)
	var out []Interface
	for d := devs; d != nil; d = d.next {
		out = append(out, Interface{
			Name:         cstring(d.name),
			Description:  cstring(d.description),
			Loopback:     d.flags&pcapIfLoopback != 0,
			Up:           d.flags&pcapIfUp != 0,
			Running:      d.flags&pcapIfRunning != 0,
			Disconnected: d.flags&pcapIfConnectionStatus == pcapIfConnectionDisconneced,
		})
	}
	return out, nil
}

// statusError turns a libpcap status code into an error, classified
// onto the package's sentinels.
func (l *libpcap) statusError(p uintptr, code int32) error {
	msg := l.statustostr(code)
	switch code {
	case pcapError, pcapErrorNoSuchDevice, pcapErrorPermDenied, pcapErrorPromiscPermDenied:
		if e := l.geterr(p); e != "" { // the details, when libpcap gives them
			msg = e
		}
	}
	switch code {
	case pcapErrorPermDenied, pcapErrorPromiscPermDenied:
		return fmt.Errorf("%w (%s)", ErrPermission, lowerFirst(msg))
	case pcapErrorNoSuchDevice:
		return ErrNoInterface
	}
	return errors.New(lowerFirst(msg))
}

// compileErr is libpcap's complaint about a filter that did not compile.
func compileErr(l *libpcap, p uintptr, expr string, link layers.LinkType) error {
	return fmt.Errorf("%w %q for %s: %s", ErrFilter, expr, LinkTypeName(link), lowerFirst(l.geterr(p)))
}
