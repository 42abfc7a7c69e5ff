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

// closeAll feeds a n connections from distinct clients, each a handshake
// and a close the client begins (the client ends in TIME_WAIT), 10 µs
// apart, then moves the clock past the close linger: each connection is
// over and its record held until 2·MSL has passed (unless cfg.MSL is
// shorter than the linger).
func closeAll(a *analyze.Analyzer, n int) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	server := netip.MustParseAddrPort("198.19.0.1:80")
	var seg capture.Segment
	frame := uint64(0)
	for i := range n {
		a4 := [4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}
		client := netip.AddrPortFrom(netip.AddrFrom4(a4), uint16(10000+i%50000))
		t := t0.Add(time.Duration(i) * 10 * time.Microsecond)
		isnC, isnS := uint32(i)*7919, uint32(i)*104729
		for _, s := range [...]struct {
			c2s      bool
			flags    capture.Flags
			seq, ack uint32
		}{
			{true, capture.SYN, isnC, 0},
			{false, capture.SYN | capture.ACK, isnS, isnC + 1},
			{true, capture.ACK, isnC + 1, isnS + 1},
			{true, capture.FIN | capture.ACK, isnC + 1, isnS + 1},
			{false, capture.FIN | capture.ACK, isnS + 1, isnC + 2},
			{true, capture.ACK, isnC + 2, isnS + 2},
		} {
			frame++
			seg = capture.Segment{Frame: frame, Time: t, Src: client, Dst: server, Seq: s.seq, Ack: s.ack,
				Flags: s.flags, Window: 64240}
			if !s.c2s {
				seg.Src, seg.Dst = server, client
			}
			a.Add(&seg)
			t = t.Add(time.Microsecond)
		}
	}
	a.Advance(t0.Add(time.Duration(n)*10*time.Microsecond + 10*time.Second))
}

// heldBytes returns the memory a holds for n records held through
// TIME_WAIT, the live heap and what is mapped outside it: that of closing
// n connections (closeAll) less that of the same with a 2·MSL too short
// to hold any, so that what both leave behind (the table's spare room,
// the timer heap's) does not count.
func heldBytes(t testing.TB, n int) (per float64, memory int64) {
	live := func(msl time.Duration) (uint64, int64) {
		var ms runtime.MemStats
		inUse := func() uint64 {
			runtime.ReadMemStats(&ms)
			return ms.HeapAlloc + uint64(reassembly.MappedBytes()+analyze.HeldMappedBytes())
		}
		settle()
		before := inUse()
		a := analyze.New(&analyze.Config{MaxConns: 2 * n, MSL: msl}, nil)
		closeAll(a, n)
		if a.Open() != 0 {
			t.Fatalf("%d connections still open", a.Open())
		}
		runtime.GC()
		after, mem, tw := inUse(), a.Memory(), a.TimeWait()
		runtime.KeepAlive(a)
		if want := map[bool]int{true: n, false: 0}[msl >= 30*time.Second]; tw != want {
			t.Fatalf("MSL %s: %d records held, want %d", msl, tw, want)
		}
		return after - min(before, after), mem
	}
	none, _ := live(time.Millisecond)
	held, mem := live(30 * time.Second)
	return (float64(held) - float64(none)) / float64(n), mem
}

// TestHeldCost: a record held through TIME_WAIT costs at most 250 bytes
// in all, and the analyzer's account of it (Memory) is within a fifth of
// what it really holds.
func TestHeldCost(t *testing.T) {
	const n = 50_000
	per, mem := heldBytes(t, n)
	est := float64(mem) / n
	t.Logf("%.0f B per record held, Memory %.0f B per record", per, est)
	if per > 250 {
		t.Errorf("a held record costs %.0f B, more than 250", per)
	}
	if est < per*0.8 || est > per*1.2 {
		t.Errorf("Memory counts %.0f B per held record, but one holds %.0f B", est, per)
	}
}

// BenchmarkHeldCost measures what a record held through TIME_WAIT costs
// (B/held): 100k and 1M connections closed by their clients at once.
// go test -run '^$' -bench HeldCost -benchtime 1x ./analyze
func BenchmarkHeldCost(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmtN(n), func(b *testing.B) {
			var per, est float64
			for b.Loop() {
				var mem int64
				per, mem = heldBytes(b, n)
				est = float64(mem) / float64(n)
			}
			b.ReportMetric(per, "B/held")
			b.ReportMetric(est, "Memory-B/held")
		})
	}
}

// borrowSink discards its records, and borrows them (as the writers of
// package report do).
type borrowSink struct{}

func (borrowSink) Finding(*analyze.Conn, *analyze.Finding) {}
func (borrowSink) End(*analyze.Conn)                       {}
func (borrowSink) BorrowsRecords() bool                    { return true }

// BenchmarkHeldCycle measures a connection's life through TIME_WAIT: a
// handshake, a close, its record held, then released when 2·MSL passes,
// to a sink that borrows records (per connection: ns, allocations).
func BenchmarkHeldCycle(b *testing.B) {
	const n = 10_000
	b.ReportAllocs()
	for b.Loop() {
		a := analyze.New(nil, borrowSink{})
		closeAll(a, n)
		a.Advance(time.Date(2026, 1, 2, 3, 5, 30, 0, time.UTC))
		if a.TimeWait() != 0 {
			b.Fatalf("%d records still held", a.TimeWait())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/conn")
}
