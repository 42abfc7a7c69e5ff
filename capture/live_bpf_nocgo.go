//go:build !cgo

package capture

import "github.com/gopacket/gopacket/layers"

// CompileFilter compiles a BPF filter; without cgo there is no libpcap to
// compile it, and it returns an error wrapping errors.ErrUnsupported.
func CompileFilter(expr string, link layers.LinkType, snaplen int) (Filter, error) {
	return nil, errNoCgoFilter
}

var errNoCgoFilter error = noCgoFilterError{}

type noCgoFilterError struct{}

func (noCgoFilterError) Error() string { return "BPF filters need libpcap: this build has no cgo" }
func (noCgoFilterError) Unwrap() error { return errNoCgo }
