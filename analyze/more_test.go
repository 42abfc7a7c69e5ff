package analyze_test

import (
	"math/rand"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/segtest"
)

func TestSequenceWrap(t *testing.T) {
	for _, isn := range []struct{ c, s uint32 }{{1<<32 - 5, 1<<32 - 300}, {1<<32 - 1, 0}, {1<<31 - 2, 1<<32 - 2}} {
		s := segtest.New()
		s.ISNc, s.ISNs = isn.c, isn.s
		s.Handshake().C("PA", 1, 1, 1000).S("A", 1, 1001, 0).S("PA", 1, 1001, 2000).C("A", 1001, 2001, 0).
			C("FA", 1001, 2001, 0).S("FA", 2001, 1002, 0).C("A", 1002, 2002, 0)
		got := analyzeScript(t, nil, s.Segments())
		if len(got.conns) != 1 {
			t.Fatalf("ISNs %d/%d: %d connections", isn.c, isn.s, len(got.conns))
		}
		c := got.conns[0]
		if c.ClientState != analyze.TimeWait || c.ServerState != analyze.Closed || len(c.Findings) != 0 {
			t.Errorf("ISNs %d/%d: client %s server %s findings %v", isn.c, isn.s, c.ClientState, c.ServerState, kinds(c))
		}
		if c.ClientBytes != 1000 || c.ServerBytes != 2000 {
			t.Errorf("ISNs %d/%d: bytes %d/%d, want 1000/2000", isn.c, isn.s, c.ClientBytes, c.ServerBytes)
		}
	}
}

func TestRetransmittedSynAndFinDoNotSplit(t *testing.T) {
	s := segtest.New()
	s.C("S", 0, 0, 0).Wait(time.Second).C("S", 0, 0, 0).S("SA", 0, 1, 0).C("A", 1, 1, 0).
		C("FA", 1, 1, 0).Wait(200*time.Millisecond).C("FA", 1, 1, 0).S("A", 1, 2, 0).S("FA", 1, 2, 0).C("A", 2, 2, 0)
	got := analyzeScript(t, nil, s.Segments())
	if len(got.conns) != 1 {
		t.Fatalf("got %d connections, want 1", len(got.conns))
	}
	if k := kinds(got.conns[0]); len(k) != 2 || k[0] != "fin_unacked" || k[1] != "syn_retransmitted" {
		t.Errorf("findings %v, want fin_unacked (the FIN was resent) and syn_retransmitted", k)
	}
}

func TestPortReuse(t *testing.T) {
	s := segtest.New()
	s.Handshake().C("FA", 1, 1, 0).S("FA", 1, 2, 0).C("A", 2, 2, 0).Wait(2 * time.Second)
	s.ISNc = 900000
	s.C("S", 0, 0, 0).S("SA", 0, 1, 0).C("A", 1, 1, 0)
	got := analyzeScript(t, nil, s.Segments())
	if len(got.conns) != 2 {
		t.Fatalf("got %d connections, want 2", len(got.conns))
	}
	first, second := got.conns[0], got.conns[1]
	if first.ID != 1 || second.ID != 2 {
		t.Errorf("ids %d, %d", first.ID, second.ID)
	}
	if first.ClientState != analyze.TimeWait {
		t.Errorf("first connection client %s, want TIME_WAIT (the capture ended within 2·MSL)", first.ClientState)
	}
	if k := kinds(second); len(k) != 1 || k[0] != "port_reused" {
		t.Fatalf("second connection findings %v, want port_reused", k)
	}
	if ev := second.Findings[0].Evidence; !strings.Contains(ev, "premature") {
		t.Errorf("reuse inside the client's TIME_WAIT should be premature: %s", ev)
	}
}

func TestTimeWaitEndsAfter2MSL(t *testing.T) {
	s := segtest.New()
	s.Handshake().C("FA", 1, 1, 0).S("FA", 1, 2, 0).C("A", 2, 2, 0)
	segs := s.Segments()
	// Another connection keeps the capture going for 61 s.
	o := segtest.New()
	o.Client = netip.AddrPortFrom(o.Client.Addr(), 40001)
	o.Now = segtest.T0.Add(61 * time.Second)
	o.C("S", 0, 0, 0).S("SA", 0, 1, 0).C("A", 1, 1, 0)
	for i, sg := range o.Segments() {
		sg.Frame = uint64(len(segs) + i + 1)
		segs = append(segs, sg)
	}
	got := analyzeScript(t, nil, segs)
	if len(got.conns) != 2 {
		t.Fatalf("got %d connections", len(got.conns))
	}
	if c := got.conns[0]; c.ClientState != analyze.Closed {
		t.Errorf("client %s 61 s after its TIME_WAIT began, want CLOSED (2·MSL = 60 s)", c.ClientState)
	}
}

func TestTimelineSettlesReceipt(t *testing.T) {
	s := segtest.New()
	s.C("S", 0, 0, 0).Wait(time.Second).C("S", 0, 0, 0).S("SA", 0, 1, 0).C("A", 1, 1, 0).S("PA", 1, 1, 5)
	got := analyzeScript(t, &analyze.Config{Timeline: true}, s.Segments())
	tl := got.conns[0].Timeline
	want := []struct{ c, s analyze.State }{
		{analyze.SynSent, analyze.Closed},      // the first SYN was lost: the server never saw it
		{analyze.SynSent, analyze.SynRcvd},     // the retransmission was received (the SYN-ACK shows it)
		{analyze.Established, analyze.SynRcvd}, // the client's ACK shows it got the SYN-ACK
		{analyze.Established, analyze.Established},
		{analyze.Established, analyze.Established},
	}
	if len(tl) != len(want) {
		t.Fatalf("timeline has %d steps, want %d", len(tl), len(want))
	}
	for i, w := range want {
		if tl[i].ClientState != w.c || tl[i].ServerState != w.s {
			t.Errorf("frame %d: client %s server %s, want %s %s", tl[i].Frame, tl[i].ClientState, tl[i].ServerState, w.c, w.s)
		}
	}
	if tl[2].Seq != 0 || tl[2].Ack != 1 || tl[3].Seq != 1 || tl[3].Ack != 1 {
		t.Errorf("relative numbers: SYN-ACK seq %d ack %d, ACK seq %d ack %d", tl[2].Seq, tl[2].Ack, tl[3].Seq, tl[3].Ack)
	}
}

func TestMaxConnsCap(t *testing.T) {
	var segs []capture.Segment
	for i := 0; i < 10; i++ {
		s := segtest.New()
		s.Client = netip.AddrPortFrom(s.Client.Addr(), uint16(41000+i))
		s.Now = segtest.T0.Add(time.Duration(i) * time.Millisecond)
		s.C("S", 0, 0, 0)
		sg := s.Segments()[0]
		sg.Frame = uint64(i + 1)
		segs = append(segs, sg)
	}
	var sk sink
	a := analyze.New(&analyze.Config{MaxConns: 4}, &sk)
	for i := range segs {
		a.Add(&segs[i])
		if a.Open() > 4 {
			t.Fatalf("%d connections open, cap is 4", a.Open())
		}
	}
	a.Flush()
	if st := a.Stats(); st.CapHit != 6 || st.Connections != 10 {
		t.Errorf("cap hit %d (want 6), connections %d (want 10)", st.CapHit, st.Connections)
	}
}

// TestNoAllocs proves the per-segment path allocates nothing once a
// connection is established: lookup, bookkeeping, state machine, judging.
func TestNoAllocs(t *testing.T) {
	s := segtest.New()
	s.Handshake()
	a := analyze.New(nil, &sink{})
	for _, sg := range s.Segments() {
		a.Add(&sg)
	}
	seqC, seqS := uint32(1001), uint32(5001)
	seg := capture.Segment{Src: s.Client, Dst: s.Server, Flags: capture.ACK | capture.PSH, Window: 500, Len: 100}
	ack := capture.Segment{Src: s.Server, Dst: s.Client, Flags: capture.ACK, Window: 500}
	now := s.Now
	frame := uint64(10)
	allocs := testing.AllocsPerRun(1000, func() {
		now = now.Add(time.Microsecond)
		frame++
		seg.Seq, seg.Ack, seg.Time, seg.Frame = seqC, seqS, now, frame
		a.Add(&seg)
		seqC += 100
		frame++
		ack.Seq, ack.Ack, ack.Time, ack.Frame = seqS, seqC, now, frame
		a.Add(&ack)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per two segments, want 0", allocs)
	}
}

// FuzzStateMachine feeds random segment scripts between two peers and checks
// invariants: no panic, one record per connection, findings carry evidence.
func FuzzStateMachine(f *testing.F) {
	f.Add(int64(1), 20)
	f.Add(int64(7), 60)
	f.Fuzz(randomScript)
}

// TestClientSynAckAfterSynFin is FuzzStateMachine's first crasher (seed 7,
// 93 segments; testdata/fuzz/FuzzStateMachine/client-synack-after-syn-fin):
// a client's SYN+FIN, then a SYN-ACK from the client. That SYN-ACK was taken
// for the server's, and an error-severity missing_third_ack came out with no
// frames and "SYN-ACK … sent 0 time(s)".
func TestClientSynAckAfterSynFin(t *testing.T) {
	for _, n := range []int{93, 125} {
		randomScript(t, 7, n)
	}
	s := segtest.New()
	s.C("SF", 0, 0, 0).C("SA", 0, 0, 0).Wait(5 * time.Second)
	got := analyzeScript(t, nil, s.Segments())
	for _, c := range got.conns {
		for _, f := range c.Findings {
			if f.Kind == analyze.MissingThirdAck {
				t.Errorf("missing_third_ack after the client's own SYN-ACK: %+v", f)
			}
		}
	}
}

// randomScript plays n random segments (from seed) between two peers and
// checks the invariants FuzzStateMachine holds.
func randomScript(t *testing.T, seed int64, n int) {
	if n < 0 || n > 500 {
		return
	}
	r := rand.New(rand.NewSource(seed))
	s := segtest.New()
	flags := []string{"S", "SA", "A", "PA", "FA", "R", "RA", "F", "SF"}
	for i := 0; i < n; i++ {
		fl := flags[r.Intn(len(flags))]
		seq, ack := uint32(r.Intn(3000))-100, uint32(r.Intn(3000))-100
		if r.Intn(2) == 0 {
			s.C(fl, seq, ack, r.Intn(3)*500)
		} else {
			s.S(fl, seq, ack, r.Intn(3)*500)
		}
		s.Wait(time.Duration(r.Intn(3000)) * time.Millisecond)
	}
	var sk sink
	a := analyze.New(&analyze.Config{Timeline: true}, &sk)
	segs := s.Segments()
	for i := range segs {
		a.Add(&segs[i])
	}
	a.Flush()
	if a.Open() != 0 {
		t.Fatalf("%d connections still open after Flush", a.Open())
	}
	for _, c := range sk.conns {
		for _, f := range c.Findings {
			if f.Evidence == "" || len(f.Frames) == 0 {
				t.Fatalf("finding %s without evidence or frames", f.Kind)
			}
			if _, ok := analyze.KindSeverity(f.Kind); !ok {
				t.Fatalf("finding kind %q not in the catalogue", f.Kind)
			}
		}
	}
}

func BenchmarkAnalyzeEstablished(b *testing.B) {
	s := segtest.New()
	s.Handshake()
	a := analyze.New(nil, &sink{})
	for _, sg := range s.Segments() {
		a.Add(&sg)
	}
	seqC, seqS := uint32(1001), uint32(5001)
	seg := capture.Segment{Src: s.Client, Dst: s.Server, Flags: capture.ACK | capture.PSH, Window: 500, Len: 100}
	ack := capture.Segment{Src: s.Server, Dst: s.Client, Flags: capture.ACK, Window: 500}
	now := s.Now
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Microsecond)
		seg.Seq, seg.Ack, seg.Time = seqC, seqS, now
		a.Add(&seg)
		seqC += 100
		ack.Seq, ack.Ack, ack.Time = seqS, seqC, now
		a.Add(&ack)
	}
}

// TestCatalogueImmutable: the catalogue a caller gets is a copy; changing
// it changes no severity.
func TestCatalogueImmutable(t *testing.T) {
	cat := analyze.Catalogue()
	sev, _ := analyze.KindSeverity(cat[0].Kind)
	cat[0].Severity = sev + 1
	if got, _ := analyze.KindSeverity(cat[0].Kind); got != sev {
		t.Errorf("KindSeverity(%s) = %v after the caller changed its copy, want %v", cat[0].Kind, got, sev)
	}
	if analyze.Catalogue()[0].Severity != sev {
		t.Error("Catalogue() returned the changed entry")
	}
}

// Only the capture's end makes a condition "pending at the end": a server
// whose client half-closed and then reset mid-capture is not
// half_close_stuck in a finished test's trace (the RST ended it), while a
// server the trace ends on in CLOSE_WAIT is.
func TestPendingOnlyAtTheCapturesEnd(t *testing.T) {
	s := segtest.New()
	s.Handshake().C("FA", 1, 1, 0).S("A", 1, 2, 0).C("R", 2, 0, 0)
	s.Wait(6 * time.Second) // past CloseLinger: the first connection is retired mid-capture
	s.Client = netip.MustParseAddrPort("192.0.2.1:40001")
	s.Handshake().C("FA", 1, 1, 0).S("A", 1, 2, 0)
	got := analyzeScript(t, &analyze.Config{FinishedTest: true}, s.Segments())
	if len(got.conns) != 2 {
		t.Fatalf("%d connections, want 2", len(got.conns))
	}
	for _, c := range got.conns {
		stuck := slices.Contains(kinds(c), "half_close_stuck")
		if last := c.Client.Port() == 40001; stuck != last {
			t.Errorf("connection from port %d: half_close_stuck %v, want %v (%v)", c.Client.Port(), stuck, last, kinds(c))
		}
	}
}

// The same for a window still 0 when a connection closed mid-capture: its
// record was final long before the trace ended.
func TestPendingZeroWindowOnlyAtTheEnd(t *testing.T) {
	s := segtest.New()
	s.Handshake().S("PA", 1, 1, 100).C("A", 1, 101, 0).Win(0).
		C("FA", 1, 101, 0).S("FA", 101, 2, 0).C("A", 2, 102, 0).Win(0)
	s.Wait(6 * time.Second) // past CloseLinger: retired mid-capture
	s.Client = netip.MustParseAddrPort("192.0.2.1:40001")
	s.Handshake().S("PA", 1, 1, 100).C("A", 1, 101, 0).Win(0)
	got := analyzeScript(t, &analyze.Config{FinishedTest: true}, s.Segments())
	if len(got.conns) != 2 {
		t.Fatalf("%d connections, want 2", len(got.conns))
	}
	for _, c := range got.conns {
		stuck := slices.Contains(kinds(c), "zero_window_stuck")
		if last := c.Client.Port() == 40001; stuck != last {
			t.Errorf("connection from port %d: zero_window_stuck %v, want %v (%v)", c.Client.Port(), stuck, last, kinds(c))
		}
	}
}
