//go:build !nolibpcap

package capture

// timevalUsec is struct timeval's tv_usec (suseconds_t, a long on FreeBSD).
type timevalUsec int
