package capture

import (
	"github.com/gopacket/gopacket/layers"
)

// Filter tells whether a frame passes a compiled BPF filter (tcpdump
// syntax). It is what --filter applies to capture files; a live capture
// runs its filter in the kernel instead (LiveConfig.Filter).
type Filter interface {
	// Match reports whether the frame data, wireLen bytes long on the wire
	// (0: unknown, taken as len(data)), passes the filter.
	Match(data []byte, wireLen int) bool
}

// LinkFilter applies one filter expression to frames of any link type,
// compiling it once per link type met (a pcapng file may mix them). A
// LinkFilter is not safe for concurrent use.
type LinkFilter struct {
	expr    string
	snaplen int
	byLink  map[layers.LinkType]Filter
	errs    map[layers.LinkType]error
}

// NewLinkFilter returns a LinkFilter for expr. It compiles expr for
// Ethernet at once, so that a syntax error is reported before any file is
// read (wrapping ErrFilter, or ErrNoLibpcap without libpcap).
func NewLinkFilter(expr string, snaplen int) (*LinkFilter, error) {
	if snaplen <= 0 {
		snaplen = maxSnapLen
	}
	f := &LinkFilter{expr: expr, snaplen: snaplen, byLink: make(map[layers.LinkType]Filter), errs: make(map[layers.LinkType]error)}
	if _, err := f.For(layers.LinkTypeEthernet); err != nil {
		return nil, err
	}
	return f, nil
}

// For returns the filter compiled for link. Compilation happens once per
// link type; so does its error (libpcap rejects some expressions for some
// link types, e.g. "ether host" on raw IP).
func (f *LinkFilter) For(link layers.LinkType) (Filter, error) {
	if m, ok := f.byLink[link]; ok {
		return m, nil
	}
	if err, ok := f.errs[link]; ok {
		return nil, err
	}
	m, err := CompileFilter(f.expr, link, f.snaplen)
	if err != nil {
		f.errs[link] = err
		return nil, err
	}
	f.byLink[link] = m
	return m, nil
}

// Match reports whether a frame of link type link passes the filter. A
// frame of a link type the expression cannot be compiled for does not.
func (f *LinkFilter) Match(link layers.LinkType, data []byte, wireLen int) bool {
	m, err := f.For(link)
	if err != nil {
		return false
	}
	return m.Match(data, wireLen)
}
