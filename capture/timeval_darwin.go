//go:build !nolibpcap

package capture

// timevalUsec is struct timeval's tv_usec and the padding after it
// (suseconds_t is 32 bits on macOS, tv_sec 64).
type timevalUsec struct {
	usec int32
	_    int32
}

func (u timevalUsec) micros() int64 { return int64(u.usec) }
