//go:build !((linux || darwin || freebsd) && !nolibpcap)

package capture

import (
	"github.com/gopacket/gopacket/layers"
)

// This build does not load libpcap (the nolibpcap tag, or a system purego
// does not run on): files are read, live capture and BPF filters are not.

var errNoLoader = &LibpcapError{Detail: "this build of tcpflow-check does not load libpcap (built with -tags nolibpcap, or for a system without it)", NoLoader: true}

func openLive(iface string, c *LiveConfig) (liveSource, error) { return nil, errNoLoader }

// CompileFilter compiles a BPF filter; this build cannot, and returns an
// error wrapping ErrNoLibpcap.
func CompileFilter(expr string, link layers.LinkType, snaplen int) (Filter, error) {
	return nil, errNoLoader
}

// Interfaces lists the interfaces libpcap can capture on; this build
// cannot, and returns an error wrapping ErrNoLibpcap.
func Interfaces() ([]Interface, error) { return nil, errNoLoader }

// LibpcapVersion returns libpcap's version; this build has none.
func LibpcapVersion() (string, error) { return "", errNoLoader }
