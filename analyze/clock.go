package analyze

import (
	"time"

	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// The per-connection state keeps capture times as stamps, Unix nanoseconds
// (reassembly.Stamp): segments bring time.Time in, records carry time.Time
// out, and nothing between holds one.

func stamp(t time.Time) int64 { return reassembly.Stamp(t) }

func timeOf(ns int64) time.Time { return reassembly.TimeOf(ns) }

// since is t - u, saturating as time.Time.Sub does.
func since(t, u int64) time.Duration { return reassembly.Since(t, u) }

// later is t + d, saturating.
func later(t int64, d time.Duration) int64 { return reassembly.After(t, d) }
