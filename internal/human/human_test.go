package human

import (
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                          "0s",
		231 * time.Microsecond:     "231µs",
		1234567 * time.Nanosecond:  "1.23ms", // three digits, as evidence prints them (timefmt)
		3190 * time.Millisecond:    "3.19s",
		90*time.Second + time.Hour: "1h2m",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestFrames(t *testing.T) {
	for _, tc := range []struct {
		frames []uint64
		n      int
		want   string
	}{
		{[]uint64{7}, 1, "frame 7"},
		{[]uint64{5, 6, 7}, 3, "frames 5,6,7"},
		{[]uint64{1, 2, 3, 4, 5, 6, 7, 8}, 8, "frames 1,2,3,4,5,6,… (8 frames)"},
		{[]uint64{1, 2, 3, 4, 5, 6}, 900, "frames 1,2,3,4,5,6,… (900 frames)"},
	} {
		if got := Frames(tc.frames, tc.n); got != tc.want {
			t.Errorf("Frames(%v, %d) = %q, want %q", tc.frames, tc.n, got, tc.want)
		}
	}
}
