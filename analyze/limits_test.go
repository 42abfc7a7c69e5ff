package analyze_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/segtest"
)

// TestEndedEarly: a connection the analysis stops following says why in
// its record and in a tracking_limit finding, never that the capture ended,
// and the counters add up.
func TestEndedEarly(t *testing.T) {
	t.Run("cap", func(t *testing.T) {
		var segs []capture.Segment
		t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		server := netip.MustParseAddrPort("10.0.0.2:80")
		for i := range 3 {
			segs = append(segs, capture.Segment{Frame: uint64(i + 1), Time: t0.Add(time.Duration(i) * 10 * time.Millisecond),
				Src: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), uint16(40000+i)), Dst: server, Flags: capture.SYN, Seq: 100})
		}
		var sk sink
		a := analyze.New(&analyze.Config{MaxConns: 2}, &sk)
		for i := range segs {
			a.Add(&segs[i])
		}
		a.Flush()
		st := a.Stats()
		if st.Evicted != 1 || st.CapHit != 1 || st.IdleEvicted != 0 || st.MemoryHit != 0 {
			t.Errorf("stats %+v, want one connection ended by the cap", st)
		}
		c := sk.conns[0]
		if c.EndedEarly != analyze.EndedMaxConns || len(c.Findings) != 1 || c.Findings[0].Kind != analyze.TrackingLimit {
			t.Fatalf("first connection: ended early %q, findings %v", c.EndedEarly, kinds(c))
		}
		f := c.Findings[0]
		want := "the connection table was full (--max-conns 2) and this was the idlest connection; tracking stopped 20ms after the first SYN, before the handshake timeout (3s)"
		if f.Severity != analyze.Warning || f.Evidence != want || len(f.Frames) != 1 || f.Frames[0] != 1 {
			t.Errorf("finding %+v,\nwant evidence %q at frame 1", f, want)
		}
		for _, c := range sk.conns[1:] {
			if c.EndedEarly != "" || strings.Contains(strings.Join(kinds(c), ","), "tracking_limit") {
				t.Errorf("connection %d ended with the capture, yet %q %v", c.ID, c.EndedEarly, kinds(c))
			}
		}
	})
	t.Run("memory", func(t *testing.T) {
		var sk sink
		a := analyze.New(&analyze.Config{MaxMemory: 2*analyze.ConnCost + 100}, &sk)
		segs := make([]capture.Segment, 3)
		for i := range segs {
			segs[i] = capture.Segment{Frame: uint64(i + 1), Time: time.Date(2026, 1, 2, 3, 4, 5, i*1e6, time.UTC),
				Src: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), uint16(40000+i)), Dst: netip.MustParseAddrPort("10.0.0.2:80"),
				Flags: capture.SYN, Seq: 100}
			a.Add(&segs[i])
			if a.Memory() > 2*analyze.ConnCost+100 {
				t.Fatalf("after %d SYNs the analysis holds %d B, over its budget", i+1, a.Memory())
			}
		}
		a.Flush()
		if st := a.Stats(); st.Evicted != 1 || st.MemoryHit != 1 || st.CapHit != 0 {
			t.Errorf("stats %+v, want one connection ended by the memory budget", st)
		}
		c := sk.conns[0]
		if c.EndedEarly != analyze.EndedMaxMemory || len(c.Findings) != 1 ||
			!strings.HasPrefix(c.Findings[0].Evidence, "the connections tracked had used the memory budget (--max-memory ") {
			t.Errorf("first connection: ended early %q, findings %+v", c.EndedEarly, c.Findings)
		}
	})
	t.Run("idle", func(t *testing.T) {
		// A SYN, then nothing for longer than a short idle timeout: the
		// SYN's wait was cut short, which is a tracking_limit.
		s := segtest.New()
		s.C("S", 0, 0, 0).Wait(2 * time.Second)
		other := s.Client
		s.Client = netip.AddrPortFrom(other.Addr(), other.Port()+1)
		s.C("S", 0, 0, 0)
		got := analyzeScript(t, &analyze.Config{IdleTimeout: time.Second, HandshakeTimeout: 10 * time.Second}, s.Segments())
		c := got.conns[0]
		if c.EndedEarly != analyze.EndedIdle || len(c.Findings) != 1 || c.Findings[0].Kind != analyze.TrackingLimit ||
			!strings.HasPrefix(c.Findings[0].Evidence, "no segment for 1s (--idle-timeout); tracking stopped 2s after the first SYN") {
			t.Errorf("idle connection: ended early %q, findings %+v", c.EndedEarly, c.Findings)
		}
	})
	t.Run("idle-nothing-pending", func(t *testing.T) {
		s := segtest.New()
		s.Handshake().Wait(2 * time.Second)
		s.Client = netip.AddrPortFrom(s.Client.Addr(), s.Client.Port()+1)
		s.Handshake()
		got := analyzeScript(t, &analyze.Config{IdleTimeout: time.Second}, s.Segments())
		if c := got.conns[0]; c.EndedEarly != analyze.EndedIdle || len(c.Findings) != 0 {
			t.Errorf("idle established connection: ended early %q, findings %v; want no finding", c.EndedEarly, kinds(c))
		}
	})
}
