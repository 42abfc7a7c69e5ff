package zeek

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tcpflow-check/tcpflow-check/capture"
)

// TestEstablishedIsProcess: for data and acks between two established
// endpoints, the fast path (Tracker.established) leaves the tracker exactly
// as process does — sequence numbers near and far (wraps, underflows, old
// acks), payloads captured or not, zero windows, after gaps and
// out-of-order blocks.
func TestEstablishedIsProcess(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for run := range 200 {
		segs, from := zsegments(zServerAddr, []zseg{
			{from: 'c', flags: "S", seq: 0xfffff000 + uint32(run)*64},
			{from: 's', flags: "S.", seq: 5000, ack: 0xfffff001 + uint32(run)*64},
			{from: 'c', flags: ".", seq: 0xfffff001 + uint32(run)*64, ack: 5001},
		})
		var z Tracker
		for k := range segs {
			z.Update(from[k], &segs[k])
		}
		if z.ep[0].state != epEstablished || z.ep[1].state != epEstablished || z.firstSeen != 3 {
			t.Fatalf("handshake: states %d %d, firstSeen %d", z.ep[0].state, z.ep[1].state, z.firstSeen)
		}
		seq := [2]uint32{0xfffff001 + uint32(run)*64, 5001}
		seg := segs[len(segs)-1]
		for n := range 300 {
			i := rng.IntN(2)
			seg.Src, seg.Dst = zClientAddr, zServerAddr
			if i == 1 {
				seg.Src, seg.Dst = zServerAddr, zClientAddr
			}
			seg.Flags = capture.ACK
			seg.Len = 0
			if rng.IntN(3) > 0 {
				seg.Len = uint32(rng.IntN(1500))
			}
			s := seq[i]
			switch rng.IntN(8) {
			case 0: // a retransmission
				s -= uint32(rng.IntN(4000))
			case 1: // beyond a gap
				s += uint32(rng.IntN(4000))
			case 2: // anywhere
				s = rng.Uint32()
			}
			seg.Seq = s
			if s == seq[i] {
				seq[i] += seg.Len
			}
			seg.Ack = seq[1-i] - uint32(rng.IntN(3000))
			switch rng.IntN(10) {
			case 0:
				seg.Ack = seq[1-i] + uint32(rng.IntN(3000)) // acks data never seen
			case 1:
				seg.Ack = rng.Uint32()
			}
			seg.Window = 1000
			if rng.IntN(10) == 0 {
				seg.Window = 0
			}
			seg.Missing = 0
			if seg.Len > 0 && rng.IntN(8) == 0 {
				seg.Missing = seg.Len / 2
			}
			seg.Time = seg.Time.Add(time.Duration(rng.IntN(2000)) * time.Millisecond)
			fast, slow := z, z
			fast.established(i, &seg, seg.PayloadCaptured())
			slow.process(i, &seg, seg.PayloadCaptured())
			if fast != slow {
				t.Fatalf("run %d, segment %d (side %d, seq %d, ack %d, len %d): established left\n%+v\nprocess\n%+v", run, n, i, seg.Seq, seg.Ack, seg.Len, fast, slow)
			}
			z = slow
			if z.ep[0].state != epEstablished || z.ep[1].state != epEstablished {
				break
			}
		}
	}
}
