package reassembly

import (
	"math"
	"testing"
	"time"
)

// Stamps round-trip every time a capture can carry, the zero time
// included, and differences saturate as time.Time.Sub does.
func TestStamp(t *testing.T) {
	for _, tm := range []time.Time{
		{},
		time.Unix(0, 0).UTC(),
		time.Unix(-1, 999_999_999).UTC(),
		time.Date(2026, 12, 2, 0, 30, 0, 123_456_789, time.UTC),
		time.Unix(1<<32-1, 999_999_999).UTC(), // pcap's last second
		time.Unix(0, math.MaxInt64).UTC(),
		time.Unix(0, math.MinInt64+1).UTC(),
	} {
		if got := TimeOf(Stamp(tm)); !got.Equal(tm) {
			t.Errorf("TimeOf(Stamp(%v)) = %v", tm, got)
		}
	}
	if s := Stamp(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)); s != math.MaxInt64 {
		t.Errorf("Stamp(year 3000) = %d, want the range's end", s)
	}
	if s := Stamp(time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)); s != math.MinInt64+1 {
		t.Errorf("Stamp(year 1600) = %d, want the range's start", s)
	}
	real := Stamp(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if Stamp(time.Time{}) >= real {
		t.Error("the zero time's stamp is not earlier than a real one")
	}
	for _, c := range []struct{ t, u int64 }{{real, NoTime}, {NoTime, real}, {real, real - 5}, {0, 7}} {
		want := TimeOf(c.t).Sub(TimeOf(c.u))
		if got := Since(c.t, c.u); got != want {
			t.Errorf("Since(%d, %d) = %v, want %v", c.t, c.u, got, want)
		}
	}
	if After(math.MaxInt64-1, time.Hour) != math.MaxInt64 || After(real, time.Second) != real+1e9 {
		t.Error("After does not hold at the range's end")
	}
}
