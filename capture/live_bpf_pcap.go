//go:build (linux || darwin || freebsd) && !nolibpcap

package capture

import (
	"runtime"
	"unsafe"

	"github.com/ebitengine/purego"
	"github.com/gopacket/gopacket/layers"
)

// CompileFilter compiles a BPF filter in tcpdump syntax for frames of link
// type link cut at snaplen bytes. A filter that does not compile is an
// error wrapping ErrFilter; without libpcap installed, one wrapping
// ErrNoLibpcap.
func CompileFilter(expr string, link layers.LinkType, snaplen int) (Filter, error) {
	l, err := loadLibpcap()
	if err != nil {
		return nil, err
	}
	if snaplen <= 0 {
		snaplen = maxSnapLen
	}
	dlt := link
	if link == layers.LinkTypeRaw { // LINKTYPE_RAW in files is DLT_RAW (12) to libpcap
		dlt = 12
	}
	p := l.openDead(int32(dlt), int32(snaplen))
	if p == 0 {
		return nil, &LibpcapError{Detail: "pcap_open_dead failed"}
	}
	defer l.close(p)
	f := &bpfFilter{l: l}
	if l.compile(p, &f.prog, expr, 1, pcapNetmaskUnknown) != 0 {
		return nil, compileErr(l, p, expr, link)
	}
	runtime.SetFinalizer(f, func(f *bpfFilter) { f.l.freecode(&f.prog) })
	return f, nil
}

// bpfFilter is a compiled program, run by libpcap's interpreter.
type bpfFilter struct {
	l    *libpcap
	prog bpfProgram
	hdr  pkthdr
	args [3]uintptr
}

func (f *bpfFilter) Match(data []byte, wireLen int) bool {
	if len(data) == 0 {
		return false
	}
	if wireLen < len(data) {
		wireLen = len(data)
	}
	f.hdr.caplen, f.hdr.len = uint32(len(data)), uint32(wireLen)
	// The arguments live in f, so that the call allocates nothing.
	f.args = [3]uintptr{uintptr(unsafe.Pointer(&f.prog)), uintptr(unsafe.Pointer(&f.hdr)), uintptr(unsafe.Pointer(&data[0]))}
	r, _, _ := purego.SyscallN(f.l.offlineFilter, f.args[:]...)
	runtime.KeepAlive(data)
	return int32(r) != 0
}
