package analyze_test

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// synFlood feeds n SYNs from distinct clients, 1 µs apart, to a, and returns
// the memory they hold in bytes: the live heap (after a GC) and the table's
// entries mapped outside it.
func synFlood(a *analyze.Analyzer, n int) uint64 {
	var ms runtime.MemStats
	settle()
	runtime.ReadMemStats(&ms)
	before := ms.HeapAlloc + uint64(reassembly.MappedBytes())
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	server := netip.MustParseAddrPort("198.19.0.1:80")
	seg := capture.Segment{Dst: server, Flags: capture.SYN, Window: 64240,
		Opts: capture.Options{MSS: 1460, HasMSS: true, WScale: 7, HasWScale: true, SACKPerm: true}}
	for i := range n {
		a4 := [4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}
		seg.Src = netip.AddrPortFrom(netip.AddrFrom4(a4), uint16(10000+i%50000))
		seg.Time, seg.Frame, seg.Seq = t0.Add(time.Duration(i)*time.Microsecond), uint64(i+1), uint32(i)*7919
		a.Add(&seg)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	after := ms.HeapAlloc + uint64(reassembly.MappedBytes())
	return after - min(before, after)
}

// settle collects garbage until the tables dropped before have unmapped
// their entries too (which their cleanups do, after a collection).
func settle() {
	for i, prev := 0, int64(-1); i < 50 && (i < 3 || prev != reassembly.MappedBytes()); i++ {
		prev = reassembly.MappedBytes()
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}

// TestConnCost: the analyzer's estimate of a connection's cost, which its
// memory budget counts, is within a fifth of what a SYN flood really holds.
func TestConnCost(t *testing.T) {
	const n = 20_000
	a := analyze.New(nil, &sink{})
	per := float64(synFlood(a, n)) / n
	runtime.KeepAlive(a)
	t.Logf("%.0f B per connection held, ConnCost %d, Memory %d", per, analyze.ConnCost, a.Memory())
	if est := float64(analyze.ConnCost); est < per*0.8 || est > per*1.2 {
		t.Errorf("ConnCost %d B, but a connection holds %.0f B", analyze.ConnCost, per)
	}
	if a.Memory() != n*analyze.ConnCost {
		t.Errorf("Memory %d, want %d connections × ConnCost", a.Memory(), n)
	}
}

// BenchmarkConnCost measures what one tracked connection costs: a SYN flood
// of 100k and 1M connections, all open at once; it reports the live heap per
// connection (B/conn) beside the analyzer's own estimate (ConnCost).
// go test -run '^$' -bench ConnCost -benchtime 1x ./analyze
func BenchmarkConnCost(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmtN(n), func(b *testing.B) {
			var per float64
			for b.Loop() {
				a := analyze.New(&analyze.Config{MaxConns: 2 * n}, &sink{})
				held := synFlood(a, n)
				per = float64(held) / float64(n)
				if a.Open() != n {
					b.Fatalf("%d open, want %d", a.Open(), n)
				}
				runtime.KeepAlive(a)
			}
			b.ReportMetric(per, "B/conn")
		})
	}
}

func fmtN(n int) string {
	if n >= 1_000_000 {
		return "1M"
	}
	return "100k"
}
