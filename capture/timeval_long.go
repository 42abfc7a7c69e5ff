//go:build (linux || freebsd) && !nolibpcap

package capture

func (u timevalUsec) micros() int64 { return int64(u) }
