package zeek

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tcpflow-check/tcpflow-check/capture"
)

// TestExpiry: after every segment of random connections, Expired(t) holds
// exactly from expiry on (what lets a Table keep its sessions in a heap
// instead of asking each one every second).
func TestExpiry(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	flags := []capture.Flags{capture.SYN, capture.SYN | capture.ACK, capture.ACK, capture.ACK | capture.PSH,
		capture.FIN | capture.ACK, capture.RST, capture.RST | capture.ACK, capture.FIN, 0}
	gaps := []time.Duration{0, time.Millisecond, time.Second, 3 * time.Second, 5 * time.Second, 11 * time.Second, 61 * time.Second, 301 * time.Second}
	checked := map[bool]int{}
	for conn := range 3000 {
		var z Tracker
		now := time.Unix(1e9, int64(conn))
		seq := [2]uint32{1000, 5000}
		for range 1 + rng.IntN(12) {
			side := rng.IntN(2)
			g := capture.Segment{Time: now, Flags: flags[rng.IntN(len(flags))],
				Seq: seq[side] + uint32(rng.IntN(3))*100, Ack: seq[1-side] + uint32(rng.IntN(3)),
				Len: uint32(rng.IntN(2) * 100), Window: uint16(rng.IntN(4))}
			g.Src, g.Dst = zClientAddr, zHTTPAddr
			if side == 1 {
				g.Src, g.Dst = g.Dst, g.Src
			}
			z.Update(side == 0, &g)
			seq[side] += g.Len
			exp := z.expiry()
			for _, at := range []int64{exp - 1, exp, exp + 1, now.UnixNano(), now.UnixNano() + int64(rng.Int64N(int64(400*time.Second)))} {
				want := at >= exp
				if got := z.Expired(time.Unix(0, at)); got != want {
					t.Fatalf("connection %d (history %q, states %d/%d): Expired at %+d ns from expiry is %v", conn, z.History(), z.ep[0].state, z.ep[1].state, at-exp, got)
				}
				checked[want]++
			}
			now = now.Add(gaps[rng.IntN(len(gaps))] + time.Duration(rng.IntN(1000)))
		}
	}
	if checked[true] < 1000 || checked[false] < 1000 {
		t.Errorf("too few probes each way: %v", checked)
	}
}
