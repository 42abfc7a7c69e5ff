package reassembly

import (
	"math"
	"time"
)

// Capture times inside the connection state are Unix nanoseconds (int64):
// eight bytes and no pointer for the garbage collector to follow, against
// time.Time's 24 bytes with one. time.Time is only at the edges: Stamp
// turns a segment's time into a stamp, TimeOf a stamp back into the time a
// record carries.

// NoTime is the stamp of the zero time.Time (a frame whose block carries no
// timestamp): TimeOf gives the zero time back, and it is earlier than every
// real stamp, as the zero time is earlier than every real time.
const NoTime = math.MinInt64

// maxSec bounds the seconds whose nanoseconds surely fit an int64.
const maxSec = math.MaxInt64 / int64(time.Second)

// The range of real stamps: times before 1678 or after 2262, beyond int64
// nanoseconds, are held at its ends.
var (
	minTime = time.Unix(0, math.MinInt64+1)
	maxTime = time.Unix(0, math.MaxInt64)
)

// Stamp returns t in Unix nanoseconds: NoTime for the zero time, times
// beyond int64 nanoseconds held at the range's ends.
func Stamp(t time.Time) int64 {
	if sec := t.Unix(); sec > -maxSec && sec < maxSec {
		return sec*1e9 + int64(t.Nanosecond())
	}
	switch {
	case t.IsZero():
		return NoTime
	case t.Before(minTime):
		return math.MinInt64 + 1
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// TimeOf is the time (UTC) of stamp ns; the zero time for NoTime.
func TimeOf(ns int64) time.Time {
	if ns == NoTime {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// Since is the duration from stamp u to stamp t (t - u), held at the
// largest or smallest duration when it does not fit, as time.Time.Sub does.
func Since(t, u int64) time.Duration {
	d := t - u
	switch {
	case t >= u && d < 0:
		return math.MaxInt64
	case t < u && d > 0:
		return math.MinInt64
	}
	return time.Duration(d)
}

// After is stamp t moved on by d, held at the range's ends.
func After(t int64, d time.Duration) int64 {
	s := t + int64(d)
	switch {
	case d > 0 && s < t:
		return math.MaxInt64
	case d < 0 && s > t:
		return math.MinInt64 + 1
	}
	return s
}
