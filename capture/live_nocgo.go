//go:build !cgo

package capture

import "errors"

// errNoCgo is what live capture answers in a build without cgo, which has
// no libpcap.
var errNoCgo error = noCgoError{}

type noCgoError struct{}

func (noCgoError) Error() string { return "live capture needs libpcap: this build has no cgo" }
func (noCgoError) Unwrap() error { return errors.ErrUnsupported }

func openLive(iface string, c *LiveConfig) (liveSource, error) { return nil, errNoCgo }
