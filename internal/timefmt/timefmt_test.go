package timefmt

import (
	"math"
	"strconv"
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	const day, year = 24 * time.Hour, 365 * 24 * time.Hour
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"},
		{0, "0s"},
		{1, "1ns"},
		{850, "850ns"},
		{999, "999ns"},
		{1000, "1µs"},
		{1234, "1.23µs"},
		{999_600, "1ms"}, // rounds up into the next unit, never "1e+03µs"
		{850 * time.Microsecond, "850µs"},
		{12345 * time.Microsecond, "12.3ms"},
		{250 * time.Millisecond, "250ms"},
		{999_700 * time.Microsecond, "1s"}, // never "1e+03ms"
		{1000 * time.Millisecond, "1s"},
		{1500 * time.Millisecond, "1.5s"},
		{4200 * time.Millisecond, "4.2s"},
		{59_900 * time.Millisecond, "59.9s"},
		{59_990 * time.Millisecond, "1m"},
		{time.Minute, "1m"},
		{61200 * time.Millisecond, "1m1s"},
		{150 * time.Second, "2m30s"},
		{59*time.Minute + 59*time.Second + 600*time.Millisecond, "1h"},
		{time.Hour + 5*time.Minute + 20*time.Second, "1h5m"},
		{23*time.Hour + 59*time.Minute + 40*time.Second, "1d"},
		{3*day + 4*time.Hour, "3d4h"},
		{400 * day, "1y35d"},
		{136*year + 35*day, "136y35d"},
		{math.MaxInt64, "292y171d"},
	} {
		if got := Duration(c.d); got != c.want {
			t.Errorf("Duration(%d) = %q, want %q", int64(c.d), got, c.want)
		}
		if got := string(AppendDuration([]byte("after "), c.d)); got != "after "+c.want {
			t.Errorf("AppendDuration(\"after \", %d) = %q, want %q", int64(c.d), got, "after "+c.want)
		}
	}
}

func TestTimes(t *testing.T) {
	for _, c := range []struct {
		t                      time.Time
		rfc, layout, epoch, us string
	}{
		{time.Date(2026, 11, 21, 10, 0, 0, 123000, time.UTC),
			"2026-11-21T10:00:00.000123Z", "2026-11-21 10:00:00.000123", "1795255200.000123", "1795255200.000123"},
		{time.Date(2026, 11, 21, 10, 0, 0, 123456789, time.UTC),
			"2026-11-21T10:00:00.123456789Z", "2026-11-21 10:00:00.123456", "1795255200.123456789", "1795255200.123456"},
		{time.Unix(0, 0), "1970-01-01T00:00:00.000000Z", "1970-01-01 00:00:00.000000", "0.000000", "0.000000"},
		// the largest classic pcap time: 32 unsigned bits of seconds
		{time.Unix(math.MaxUint32, 999999000), "2106-02-07T06:28:15.999999Z", "2106-02-07 06:28:15.999999",
			"4294967295.999999", "4294967295.999999"},
		{time.Unix(-2, 500_000_000), "1969-12-31T23:59:58.500000Z", "1969-12-31 23:59:58.500000", "-1.500000", "-1.500000"},
		{time.Unix(-3, 0), "1969-12-31T23:59:57.000000Z", "1969-12-31 23:59:57.000000", "-3.000000", "-3.000000"},
		// 2⁶³-1 µs: the year 294247, past RFC 3339's 9999
		{time.UnixMicro(math.MaxInt64), "9223372036854.775807", "@9223372036854.775807",
			"9223372036854.775807", "9223372036854.775807"},
		{time.Unix(math.MinInt64, 1), "-9223372036854775807.999999999", "@-9223372036854775807.999999999",
			"-9223372036854775807.999999999", "-9223372036854775808.000000"}, // floored to the µs
		{time.Unix(math.MinInt64, 0), "-9223372036854775808.000000", "@-9223372036854775808.000000",
			"-9223372036854775808.000000", "-9223372036854775808.000000"},
		{time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), "9999-12-31T23:59:59.000000Z", "9999-12-31 23:59:59.000000",
			"253402300799.000000", "253402300799.000000"},
		{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), "253402300800.000000", "@253402300800.000000",
			"253402300800.000000", "253402300800.000000"},
		{time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), "0000-01-01T00:00:00.000000Z", "0000-01-01 00:00:00.000000",
			"-62167219200.000000", "-62167219200.000000"},
		{time.Date(-1, 12, 31, 0, 0, 0, 0, time.UTC), "-62167305600.000000", "@-62167305600.000000",
			"-62167305600.000000", "-62167305600.000000"},
	} {
		if got := RFC3339(c.t); got != c.rfc {
			t.Errorf("RFC3339(%v) = %q, want %q", c.t, got, c.rfc)
		}
		if got := Layout(c.t, "2006-01-02 15:04:05.000000"); got != c.layout {
			t.Errorf("Layout(%v) = %q, want %q", c.t, got, c.layout)
		}
		if got := Epoch(c.t); got != c.epoch {
			t.Errorf("Epoch(%v) = %q, want %q", c.t, got, c.epoch)
		}
		if got := EpochMicro(c.t); got != c.us {
			t.Errorf("EpochMicro(%v) = %q, want %q", c.t, got, c.us)
		}
	}
}

// TestDurationAsFloat: below a minute a duration is its three significant
// digits as the shortest decimal in its unit, what strconv writes of the
// quotient as a float64, over every three-digit value in every unit.
func TestDurationAsFloat(t *testing.T) {
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{time.Microsecond, "µs"}, {time.Millisecond, "ms"}, {time.Second, "s"}} {
		for p := u.unit / 1000; p <= u.unit*10; p *= 10 {
			if p == 0 {
				continue
			}
			for m := time.Duration(1); m < 1000; m++ {
				d := m * p
				if d < u.unit || d >= 1000*u.unit || d >= time.Minute {
					continue
				}
				want := strconv.FormatFloat(float64(d)/float64(u.unit), 'f', -1, 64) + u.name
				if got := Duration(d); got != want {
					t.Errorf("Duration(%d) = %q, want %q", int64(d), got, want)
				}
			}
		}
	}
}
