package analyze_test

import (
	"fmt"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/segtest"
)

// BenchmarkAnalyzeOpenConns measures the per-segment cost with many
// connections open at once: each iteration sends one data segment on the
// next of n established connections, round robin, capture time moving
// 100 µs per segment (so a second of capture time passes every 10,000
// segments, and with it a sweep of the deadlines). The cost must not grow
// with n: before the deadlines were kept in a heap, every sweep judged all
// n connections.
func BenchmarkAnalyzeOpenConns(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("open=%d", n), func(b *testing.B) {
			a := analyze.New(nil, &sink{})
			now := segtest.T0
			server := netip.MustParseAddrPort("198.51.100.1:443")
			clients := make([]netip.AddrPort, n)
			seqs := make([]uint32, n)
			frame := uint64(0)
			add := func(seg capture.Segment) {
				frame++
				seg.Frame, seg.Time, seg.Window = frame, now, 64240
				a.Add(&seg)
			}
			for i := range clients {
				clients[i] = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 40000)
				c := clients[i]
				add(capture.Segment{Src: c, Dst: server, Flags: capture.SYN, Seq: 1000})
				add(capture.Segment{Src: server, Dst: c, Flags: capture.SYN | capture.ACK, Seq: 5000, Ack: 1001})
				add(capture.Segment{Src: c, Dst: server, Flags: capture.ACK, Seq: 1001, Ack: 5001})
				seqs[i] = 1001
			}
			if a.Open() != n {
				b.Fatalf("%d connections open, want %d", a.Open(), n)
			}
			seg := capture.Segment{Dst: server, Flags: capture.ACK | capture.PSH, Ack: 5001, Len: 100, Window: 64240}
			i := 0
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for b.Loop() {
				now = now.Add(100 * time.Microsecond)
				frame++
				seg.Src, seg.Seq, seg.Time, seg.Frame = clients[i], seqs[i], now, frame
				a.Add(&seg)
				seqs[i] += 100
				if i++; i == n {
					i = 0
				}
			}
			b.StopTimer()
			// The machine may be shared: CPU time per segment is the figure
			// that load does not inflate.
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
			if a.Open() != n {
				b.Fatalf("%d connections open after the run, want %d", a.Open(), n)
			}
		})
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// discard is a Sink that keeps nothing.
type discard struct{}

func (discard) Finding(*analyze.Conn, *analyze.Finding) {}
func (discard) End(*analyze.Conn)                       {}

// BenchmarkSynFloodAtCap measures a SYN flood at the connection cap: the
// table is full of half-open connections and each iteration is one more
// distinct SYN, which ends the idlest connection early (judge, its
// tracking_limit finding, its record) and takes its place. A SYN every
// microsecond of capture time, as compare.py's synflood has them.
func BenchmarkSynFloodAtCap(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("cap=%d", n), func(b *testing.B) {
			a := analyze.New(&analyze.Config{MaxConns: n}, discard{})
			t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			server := netip.MustParseAddrPort("198.19.0.1:80")
			seg := capture.Segment{Dst: server, Flags: capture.SYN, Window: 64240,
				Opts: capture.Options{MSS: 1460, HasMSS: true, WScale: 7, HasWScale: true, SACKPerm: true}}
			i := 0
			syn := func() {
				a4 := [4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}
				seg.Src = netip.AddrPortFrom(netip.AddrFrom4(a4), uint16(10000+i%50000))
				seg.Time, seg.Frame, seg.Seq = t0.Add(time.Duration(i)*time.Microsecond), uint64(i+1), uint32(i)*7919
				a.Add(&seg)
				i++
			}
			for range 2 * n {
				syn()
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for b.Loop() {
				syn()
			}
			b.StopTimer()
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
			if a.Stats().CapHit == 0 {
				b.Fatal("the cap was never hit")
			}
		})
	}
}
