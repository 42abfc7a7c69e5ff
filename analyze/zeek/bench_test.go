package zeek

import (
	"net/netip"
	"testing"
	"time"

	"github.com/tcpflow-check/tcpflow-check/capture"
)

// BenchmarkTableOpen feeds segments to a Zeek session table holding 100,000
// established connections, one segment per millisecond of capture time (a
// sweep a second): the cost per segment must not grow with the
// connections open.
// go test -run '^$' -bench TableOpen -benchtime 1000000x ./analyze/zeek
func BenchmarkTableOpen(b *testing.B) {
	const n = 100_000
	tb := NewTable(func(*Record) {})
	t0 := time.Unix(1.7e9, 0)
	server := netip.MustParseAddrPort("198.19.0.1:443")
	client := func(i int) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 40000)
	}
	now := t0
	add := func(i int, from bool, f capture.Flags, seq, ack, length uint32) {
		g := capture.Segment{Time: now, Flags: f, Seq: seq, Ack: ack, Len: length, Window: 100, Src: client(i), Dst: server}
		if !from {
			g.Src, g.Dst = g.Dst, g.Src
		}
		tb.Add(&g, now, 2*n, "bench")
	}
	for i := range n {
		add(i, true, capture.SYN, 1000, 0, 0)
		add(i, false, capture.SYN|capture.ACK, 5000, 1001, 0)
		add(i, true, capture.ACK, 1001, 5001, 0)
	}
	seq := make([]uint32, n)
	i := 0
	for b.Loop() {
		i = (i + 7919) % n // a stride prime to n: every connection in turn, each every 100 s
		now = now.Add(time.Millisecond)
		add(i, true, capture.ACK|capture.PSH, 1001+seq[i], 5001, 100)
		seq[i] += 100
	}
	if len(tb.byKey) != n {
		b.Fatalf("%d open, want %d", len(tb.byKey), n)
	}
}
