package analyze

import (
	"math"
	"time"
)

// Histogram summarizes durations in logarithmic buckets (10 per decade from
// 1µs to 1000s), so that percentiles cost constant memory however many
// handshakes a capture holds. Percentiles are exact to within one bucket
// (about 26%); Min and Max are exact.
type Histogram struct {
	Count    uint64
	Min, Max time.Duration
	Sum      time.Duration
	buckets  [histBuckets]uint64
}

const (
	histPerDecade = 10
	histBuckets   = 9*histPerDecade + 1 // 1µs .. 1000s, plus overflow
)

func histBucket(d time.Duration) int {
	us := float64(d) / float64(time.Microsecond)
	if us <= 1 {
		return 0
	}
	i := int(math.Log10(us)*histPerDecade) + 1
	if i >= histBuckets {
		i = histBuckets - 1
	}
	return i
}

// histUpper is the upper bound of bucket i.
func histUpper(i int) time.Duration {
	return time.Duration(math.Pow(10, float64(i)/histPerDecade) * float64(time.Microsecond))
}

// Observe adds one duration.
func (h *Histogram) Observe(d time.Duration) {
	if d < 0 {
		d = 0
	}
	if h.Count == 0 || d < h.Min {
		h.Min = d
	}
	if d > h.Max {
		h.Max = d
	}
	h.Count++
	h.Sum += d
	h.buckets[histBucket(d)]++
}

// Merge adds o's observations to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.Count == 0 {
		return
	}
	if h.Count == 0 || o.Min < h.Min {
		h.Min = o.Min
	}
	if o.Max > h.Max {
		h.Max = o.Max
	}
	h.Count += o.Count
	h.Sum += o.Sum
	for i := range h.buckets {
		h.buckets[i] += o.buckets[i]
	}
}

// Quantile returns the q-quantile (0 < q <= 1): the upper bound of the
// bucket holding it, clamped to [Min, Max]. It is 0 when h is empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.Count == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.Count)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, n := range h.buckets {
		seen += n
		if seen >= rank {
			d := histUpper(i)
			if d > h.Max {
				d = h.Max
			}
			if d < h.Min {
				d = h.Min
			}
			return d
		}
	}
	return h.Max
}

// Buckets calls fn for each non-empty bucket with its upper bound and count,
// in ascending order (for exporting, e.g. to Prometheus).
func (h *Histogram) Buckets(fn func(upper time.Duration, n uint64)) {
	for i, n := range h.buckets {
		if n > 0 {
			fn(histUpper(i), n)
		}
	}
}
