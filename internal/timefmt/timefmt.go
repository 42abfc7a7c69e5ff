package timefmt

import (
	"strconv"
	"time"
)

// InRange reports whether RFC 3339 can write t: its year, in UTC, is 0000
// to 9999.
func InRange(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 0 && y <= 9999
}

// RFC3339 writes t in UTC as RFC 3339 with microseconds, or nanoseconds
// when t has sub-microsecond precision (pcapng can), always ending in "Z";
// out of RFC 3339's range, Epoch(t). The records' times are written so.
func RFC3339(t time.Time) string {
	if !InRange(t) {
		return Epoch(t)
	}
	t = t.UTC()
	if t.Nanosecond()%1000 != 0 {
		return t.Format("2006-01-02T15:04:05.000000000Z")
	}
	return t.Format("2006-01-02T15:04:05.000000Z")
}

// Layout writes t in UTC with the time layout for people (text, html,
// ladder), or "@" and Epoch(t) when RFC 3339 could not write it: GNU
// date's notation for seconds since the epoch (date -d @1700000000).
func Layout(t time.Time, layout string) string {
	if !InRange(t) {
		return "@" + Epoch(t)
	}
	return t.UTC().Format(layout)
}

// Epoch writes t as seconds since the Unix epoch with six decimals, or
// nine when t has sub-microsecond precision: "1700000000.000123",
// "-1.500000". It is exact for every time.Time.
func Epoch(t time.Time) string {
	ns := int64(t.Nanosecond())
	digits := 6
	if ns%1000 != 0 {
		digits = 9
	}
	return epoch(t.Unix(), ns, digits)
}

// EpochMicro writes t as seconds since the Unix epoch with exactly six
// decimals (Zeek's time type), truncated to the microsecond.
func EpochMicro(t time.Time) string {
	return epoch(t.Unix(), int64(t.Nanosecond())/1000*1000, 6)
}

// epoch writes sec seconds and ns nanoseconds (0 ≤ ns < 1e9) after the
// epoch with digits (6 or 9) decimals, as one signed number.
func epoch(sec, ns int64, digits int) string {
	neg := sec < 0
	// sec + ns/1e9 < 0: write -(|sec|-1) and the complement of ns.
	var whole uint64
	if neg {
		whole = uint64(-(sec + 1)) // no overflow, even for the minimum int64
		if ns == 0 {
			whole++
		} else {
			ns = 1e9 - ns
		}
	} else {
		whole = uint64(sec)
	}
	frac := ns
	if digits == 6 {
		frac /= 1000
	}
	b := make([]byte, 0, 32)
	if neg {
		b = append(b, '-')
	}
	b = strconv.AppendUint(b, whole, 10)
	b = append(b, '.')
	f := strconv.AppendInt(nil, frac, 10)
	for range digits - len(f) {
		b = append(b, '0')
	}
	return string(append(b, f...))
}

// Duration writes d for people, three significant digits in the unit that
// fits below a minute, then whole units: "850ns", "850µs", "12.3ms",
// "1.5s", "59.9s", "2m30s", "1h5m", "3d4h", "136y35d" (a year is 365 days).
// Zero and negative durations are "0s". Rounding never writes 1000 of a
// unit: 999.7ms is "1s".
func Duration(d time.Duration) string {
	var b [24]byte
	return string(AppendDuration(b[:0], d))
}

// AppendDuration appends Duration(d) to b, for a caller building a longer
// text without a string per duration.
func AppendDuration(b []byte, d time.Duration) []byte {
	if d <= 0 {
		return append(b, "0s"...)
	}
	if d < time.Minute {
		r := round3(d)
		switch {
		case r < time.Microsecond:
			return append(strconv.AppendInt(b, int64(r), 10), "ns"...)
		case r < time.Millisecond:
			return in(b, r, time.Microsecond, "µs")
		case r < time.Second:
			return in(b, r, time.Millisecond, "ms")
		case r < time.Minute:
			return in(b, r, time.Second, "s")
		}
		d = r
	}
	const day, year = 24 * time.Hour, 365 * 24 * time.Hour
	if r := d.Round(time.Second); r < time.Hour {
		return two(b, r, time.Minute, "m", time.Second, "s")
	}
	if r := d.Round(time.Minute); r < day {
		return two(b, r, time.Hour, "h", time.Minute, "m")
	}
	if r := d.Round(time.Hour); r < year {
		return two(b, r, day, "d", time.Hour, "h")
	}
	return two(b, d.Round(day), year, "y", day, "d")
}

// round3 rounds d to three significant digits.
func round3(d time.Duration) time.Duration {
	p := time.Duration(1)
	for d/p >= 1000 {
		p *= 10
	}
	return (d + p/2) / p * p
}

// in appends d in unit (a power of ten nanoseconds), as the shortest
// decimal: 12.3ms, 250ms. The quotient of integers is exact in decimal,
// so this is what strconv.FormatFloat(float64(d)/float64(unit), 'f', -1)
// writes for d of three significant digits, without floating point.
func in(b []byte, d, unit time.Duration, name string) []byte {
	b = strconv.AppendInt(b, int64(d/unit), 10)
	if frac := d % unit; frac > 0 {
		b = append(b, '.')
		for unit /= 10; frac > 0; unit /= 10 {
			b = append(b, byte('0'+frac/unit))
			frac %= unit
		}
	}
	return append(b, name...)
}

// two appends d in whole big units and the whole small units that remain,
// leaving out a zero remainder: "2m30s", "1h", "3d4h".
func two(b []byte, d, big time.Duration, bigName string, small time.Duration, smallName string) []byte {
	b = append(strconv.AppendInt(b, int64(d/big), 10), bigName...)
	if rest := (d % big) / small; rest > 0 {
		b = append(strconv.AppendInt(b, int64(rest), 10), smallName...)
	}
	return b
}
