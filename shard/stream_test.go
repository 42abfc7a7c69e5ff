package shard

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/analyze/zeek"
	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/segtest"
)

// calls writes down the Sink calls; onEnd, when set, runs at the first End
// of the final phase (Finish) before it is written down.
type calls struct {
	got   []string
	final bool
	onEnd func()
}

func (c *calls) Finding(conn *analyze.Conn, f *analyze.Finding) {
	c.got = append(c.got, fmt.Sprintf("finding %+v\n  of %+v", *f, *conn))
}

func (c *calls) End(conn *analyze.Conn) {
	if c.final && c.onEnd != nil {
		c.onEnd()
		c.onEnd = nil
	}
	c.got = append(c.got, fmt.Sprintf("end %+v", *conn))
}
func (c *calls) Handshake(rtt time.Duration) { c.got = append(c.got, fmt.Sprint("handshake ", rtt)) }
func (c *calls) Over(conn *analyze.Conn)     { c.got = append(c.got, fmt.Sprintf("over %+v", *conn)) }
func (c *calls) ZeekEnd(z *zeek.Record)      { c.got = append(c.got, fmt.Sprintf("zeek %+v", *z)) }

// openConns is n handshakes with data, every one still open at the end.
func openConns(n int) []capture.Segment {
	var all []capture.Segment
	for i := 0; i < n; i++ {
		s := segtest.New()
		s.Client = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), uint16(20000+i%1000))
		s.Now = segtest.T0.Add(time.Duration(i) * time.Millisecond)
		s.Handshake().C("PA", 1, 1, 10)
		all = append(all, s.Segments()...)
	}
	for i := range all {
		all[i].Frame = uint64(i + 1)
	}
	return all
}

// TestFinishStreams: at the end of an input the shards' records reach the
// Sink while the shards still make them, each shard held back once a few
// chunks are ahead of the merge — not all of them kept until every shard
// is through. With the Sink stopped at its first record of the Finish,
// every shard must come to wait on a full stream; then the calls must be
// a lone Analyzer's, in its order.
func TestFinishStreams(t *testing.T) {
	const n = 3
	segs := openConns(6000) // some 2,000 a shard, 3 calls each: far more than chunks·chunkSize
	var want calls
	lone := analyze.New(nil, &want)
	for i := range segs {
		lone.Add(&segs[i])
	}
	lone.Finish(time.Time{})

	var got calls
	x := New(nil, &got, n)
	defer x.Close()
	for i := range segs {
		x.Add(&segs[i])
	}
	x.sync()
	got.final = true
	held := false
	got.onEnd = func() {
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			blocked := 0
			for _, w := range x.shards {
				if len(w.st.full) == cap(w.st.full) && len(w.st.free) == 0 {
					blocked++
				}
			}
			if blocked == n {
				held = true
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	x.Finish(time.Time{})
	if !held {
		t.Errorf("the shards did not wait for the merge at the end of the input")
	}
	if len(got.got) != len(want.got) {
		t.Fatalf("%d calls, want %d", len(got.got), len(want.got))
	}
	for i := range got.got {
		if got.got[i] != want.got[i] {
			t.Fatalf("call %d is\n%s\nwant\n%s", i, got.got[i], want.got[i])
		}
	}
	if len(want.got) < 3*6000 {
		t.Fatalf("%d calls: the connections did not stay open", len(want.got))
	}
}
