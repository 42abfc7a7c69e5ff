package shard_test

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/analyze/zeek"
	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/segtest"
	"github.com/tcpflow-check/tcpflow-check/shard"
)

// recorder writes down every Sink call, in full.
type recorder struct{ calls []string }

func (r *recorder) Finding(c *analyze.Conn, f *analyze.Finding) {
	r.calls = append(r.calls, fmt.Sprintf("finding %+v\n  of %+v", *f, *c))
}
func (r *recorder) End(c *analyze.Conn) { r.calls = append(r.calls, fmt.Sprintf("end %+v", *c)) }
func (r *recorder) Handshake(rtt time.Duration) {
	r.calls = append(r.calls, fmt.Sprint("handshake ", rtt))
}
func (r *recorder) Over(c *analyze.Conn)                { r.calls = append(r.calls, fmt.Sprintf("over %+v", *c)) }
func (r *recorder) ZeekEnd(z *zeek.Record)              { r.calls = append(r.calls, fmt.Sprintf("zeek %+v", *z)) }
func (r *recorder) OpenStates(func(c, s analyze.State)) {}

// borrower is a recorder that lends its records (analyze.Borrower): it
// writes each down before the call returns, so keeps nothing of it.
type borrower struct{ recorder }

func (*borrower) BorrowsRecords() bool { return true }

// analysis is what both kinds of analyzer offer.
type analysis interface {
	Add(*capture.Segment)
	Advance(time.Time)
	Finish(time.Time)
	SetInput(string)
	Stats() *analyze.Stats
}

// mixed is a stream of many interleaved connections of every ending: a
// complete exchange, an unanswered SYN, a half-close left stuck, a
// refusal, one left idle, a zero window — on 150 tuples, each used twice
// so that ports are reused (their evidence names the connection replaced)
// — with segments whose checksum is bad.
func mixed() []capture.Segment {
	var all []capture.Segment
	for i := 0; i < 300; i++ {
		s := segtest.New()
		s.Client = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i % 150 % 7), 1}), uint16(40000+i%150))
		s.ISNc, s.ISNs = uint32(1000+i*7919), uint32(5000+i*104729)
		s.Now = segtest.T0.Add(time.Duration(i)*37*time.Millisecond + time.Duration(i/150)*3*time.Second)
		switch i % 6 {
		case 0:
			s.Handshake().C("PA", 1, 1, 100).S("A", 1, 101, 0).C("FA", 101, 1, 0).S("FA", 1, 102, 0).C("A", 102, 2, 0)
		case 1:
			s.C("S", 0, 0, 0).Wait(time.Second).C("S", 0, 0, 0)
		case 2:
			s.Handshake().C("FA", 1, 1, 0).S("A", 1, 2, 0).Wait(3*time.Second).S("PA", 1, 2, 10)
		case 3:
			s.C("S", 0, 0, 0).S("RA", 0, 1, 0)
		case 4:
			s.Handshake().C("PA", 1, 1, 50)
		case 5:
			s.Handshake().C("PA", 1, 1, 100).S("A", 1, 101, 0).Win(0).Wait(6*time.Second).S("A", 1, 101, 0).Win(0)
		}
		segs := s.Segments()
		if i%11 == 0 {
			segs[len(segs)-1].BadChecksum = true
		}
		all = append(all, segs...)
	}
	slices.SortStableFunc(all, func(a, b capture.Segment) int { return a.Time.Compare(b.Time) })
	for i := range all {
		all[i].Frame = uint64(i + 1)
	}
	return all
}

// feed gives segs to an as two inputs (cut at four fifths), advancing the clock now and then as
// live capture does, and returns the stats.
func feed(an analysis, segs []capture.Segment) analyze.Stats {
	half := len(segs) * 4 / 5
	for k, part := range [][]capture.Segment{segs[:half], segs[half:]} {
		an.SetInput(fmt.Sprint("input", k))
		for i := range part {
			an.Add(&part[i])
			if i%997 == 996 {
				an.Advance(part[i].Time.Add(700 * time.Millisecond))
			}
		}
		an.Finish(part[len(part)-1].Time.Add(2 * time.Second))
	}
	return *an.Stats()
}

// TestSameCalls: the Sink hears the same calls, in the same order, from
// 2, 3 and 7 shards as from one Analyzer — records, findings, handshakes,
// the exchange being over, Zeek's records — and the counters agree.
func TestSameCalls(t *testing.T) {
	segs := mixed()
	for _, timeline := range []bool{false, true} {
		cfg := &analyze.Config{Timeline: timeline}
		var want recorder
		wantStats := feed(analyze.New(cfg, &want), segs)
		if len(want.calls) < 600 || wantStats.ByKind[analyze.PortReused] < 20 {
			t.Fatalf("the stream makes %d calls and %d reused ports; want more", len(want.calls), wantStats.ByKind[analyze.PortReused])
		}
		var lent borrower
		feed(analyze.New(cfg, &lent), segs)
		compareCalls(t, fmt.Sprintf("one analyzer lending its records, timeline %v", timeline), lent.calls, want.calls)
		for _, n := range []int{2, 3, 7} {
			for _, lend := range []bool{false, true} {
				var got *recorder
				var sink analyze.Sink
				if lend {
					b := &borrower{}
					got, sink = &b.recorder, b
				} else {
					got = &recorder{}
					sink = got
				}
				x := shard.New(cfg, sink, n)
				gotStats := feed(x, segs)
				x.Close()
				compareCalls(t, fmt.Sprintf("%d shards, timeline %v, lending %v", n, timeline, lend), got.calls, want.calls)
				if fmt.Sprintf("%+v", gotStats) != fmt.Sprintf("%+v", wantStats) {
					t.Errorf("%d shards: stats\n%+v\nwant\n%+v", n, gotStats, wantStats)
				}
			}
		}
	}
}

func compareCalls(t *testing.T, what string, got, want []string) {
	t.Helper()
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Fatalf("%s: call %d is\n%s\nwant\n%s", what, i, got[i], want[i])
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d calls, want %d", what, len(got), len(want))
	}
}

// TestSameCallsCaptures: the same over the bundled captures, all of them
// one after the other in one run.
func TestSameCallsCaptures(t *testing.T) {
	var files []string
	filepath.WalkDir("../testdata/pcaps", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(p, ".md") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		t.Fatal("no bundled captures")
	}
	run := func(an analysis) analyze.Stats {
		var seg capture.Segment
		for _, f := range files {
			r, err := capture.Open(f, nil)
			if err != nil {
				continue
			}
			an.SetInput(f)
			for {
				if err := r.Next(&seg); err != nil {
					if !errors.Is(err, io.EOF) {
						t.Logf("%s: %v", f, err)
					}
					break
				}
				an.Add(&seg)
			}
			an.Finish(r.Stats().End)
			r.Close()
		}
		return *an.Stats()
	}
	var want recorder
	wantStats := run(analyze.New(nil, &want))
	var got recorder
	x := shard.New(nil, &got, 3)
	defer x.Close()
	gotStats := run(x)
	compareCalls(t, "bundled captures, 3 shards", got.calls, want.calls)
	if fmt.Sprintf("%+v", gotStats) != fmt.Sprintf("%+v", wantStats) {
		t.Errorf("stats\n%+v\nwant\n%+v", gotStats, wantStats)
	}
}

type nullSink struct{}

func (nullSink) Finding(*analyze.Conn, *analyze.Finding) {}
func (nullSink) End(*analyze.Conn)                       {}

// TestNoAllocs: the segments of established connections pass through the
// shards without an allocation per packet, batches, goroutines and merge
// included (every goroutine's allocations count).
func TestNoAllocs(t *testing.T) {
	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) { testNoAllocs(t, n) })
	}
}

// adder is what testNoAllocs feeds.
type adder interface {
	Add(*capture.Segment)
	Open() int
	Stats() *analyze.Stats
}

func testNoAllocs(t *testing.T, shards int) {
	var conns []*segtest.Script
	for i := 0; i < 64; i++ {
		s := segtest.New()
		s.Client = netip.AddrPortFrom(s.Client.Addr(), uint16(30000+i))
		s.Handshake()
		conns = append(conns, s)
	}
	var x adder = analyze.New(nil, nullSink{})
	if shards > 1 {
		sx := shard.New(nil, nullSink{}, shards)
		defer sx.Close()
		x = sx
	}
	var segs []capture.Segment
	for _, s := range conns {
		segs = append(segs, s.Segments()...)
	}
	for i := range segs {
		x.Add(&segs[i])
	}
	// Data both ways on every connection, a microsecond apart.
	data := make([]capture.Segment, 0, 2*len(conns))
	for _, s := range conns {
		c := s.Segments()[2]
		c.Flags, c.Len = capture.ACK|capture.PSH, 100
		a := s.Segments()[1]
		a.Flags = capture.ACK
		data = append(data, c, a)
	}
	t0 := segs[len(segs)-1].Time
	const packets = 300_000
	send := func(k int) {
		d := &data[k%len(data)]
		if d.Len > 0 {
			d.Seq += 100
		} else {
			d.Ack += 100
		}
		d.Time = t0.Add(time.Duration(k) * time.Microsecond)
		x.Add(d)
	}
	for k := 0; k < 5*4096; k++ { // warm up: every batch of the pool used, scratch grown
		send(k)
	}
	x.Open() // wait for the shards
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for k := 5 * 4096; k < 5*4096+packets; k++ {
		send(k)
	}
	x.Open()
	runtime.ReadMemStats(&after)
	// A goroutine that blocks (the shards waiting for a batch, the reader
	// for a shard) may make the runtime allocate a waiter (a sudog) when
	// its cache is empty: at most once per batch, never per packet.
	n := after.Mallocs - before.Mallocs
	t.Logf("%d allocations for %d packets through %d shard(s)", n, packets, shards)
	// (The test binary's own goroutines count too: the bound is the same for
	// one analyzer, which TestPipelineNoAllocs holds to zero per packet.)
	if n >= packets/4096 {
		t.Errorf("%d allocations for %d packets through %d shard(s), want fewer than one per batch of 4096", n, packets, shards)
	}
	if st := x.Stats(); st.Connections != 0 || x.Open() != len(conns) {
		t.Errorf("%d connections ended, %d open; want 0 and %d", st.Connections, x.Open(), len(conns))
	}
}
