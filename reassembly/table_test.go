package reassembly

import (
	"net/netip"
	"testing"

	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/segtest"
)

// feed runs the segments through a one-connection table and returns the
// connection and each segment's class.
func feed(segs []capture.Segment) (*Conn[struct{}], []Class) {
	t := NewTable[struct{}](0)
	var c *Conn[struct{}]
	var classes []Class
	for i := range segs {
		seg := &segs[i]
		k := KeyOf(seg.Src, seg.Dst)
		if c = t.Lookup(k); c == nil {
			c = t.Insert(k, seg)
		}
		classes = append(classes, c.Update(seg, c.DirOf(seg), Stamp(seg.Time)))
	}
	return c, classes
}

func TestClassify(t *testing.T) {
	c := func() *segtest.Script { return segtest.New() }
	for _, tc := range []struct {
		name   string
		script *segtest.Script
		want   []Class
		check  func(cs, sc *Half) string // "" when the counters are right
	}{
		{name: "handshake", script: c().Handshake(), want: []Class{New, New, PureAck}},
		{name: "new-data", script: c().Handshake().C("PA", 1, 1, 100).C("PA", 101, 1, 50),
			want: []Class{New, New, PureAck, New, New},
			check: func(cs, _ *Half) string {
				if cs.Bytes != 150 || cs.Nxt != 1000+151 || cs.Retrans.N()+cs.Gaps.N()+cs.OutOfOrder.N() != 0 {
					return "want 150 new bytes, Nxt 1151, nothing else"
				}
				return ""
			}},
		{name: "retransmission", script: c().Handshake().C("PA", 1, 1, 100).C("PA", 1, 1, 100),
			want: []Class{New, New, PureAck, New, Retrans},
			check: func(cs, _ *Half) string {
				if cs.Retrans.N() != 1 || cs.Bytes != 100 {
					return "want 1 retransmission, 100 bytes counted once"
				}
				return ""
			}},
		{name: "partial-overlap-is-new", script: c().Handshake().C("PA", 1, 1, 100).C("PA", 51, 1, 100),
			want: []Class{New, New, PureAck, New, New},
			check: func(cs, _ *Half) string {
				if cs.Bytes != 150 {
					return "want 150 bytes: the overlap counted once"
				}
				return ""
			}},
		{name: "gap", script: c().Handshake().C("PA", 101, 1, 100),
			want: []Class{New, New, PureAck, Gap},
			check: func(cs, _ *Half) string {
				if cs.Gaps.N() != 1 || cs.Missed != 100 || cs.Nxt != 1000+201 {
					return "want 1 gap of 100 bytes, Nxt 1201"
				}
				return ""
			}},
		{name: "out-of-order-fills-the-gap", script: c().Handshake().C("PA", 101, 1, 100).C("PA", 1, 1, 100).C("PA", 1, 1, 100),
			want: []Class{New, New, PureAck, Gap, OutOfOrder, Retrans},
			check: func(cs, _ *Half) string {
				if cs.OutOfOrder.N() != 1 || cs.Retrans.N() != 1 || cs.Gaps.N() != 1 {
					return "want 1 gap, 1 out-of-order fill, then a retransmission once the hole is filled"
				}
				return ""
			}},
		{name: "out-of-order-in-two-pieces", script: c().Handshake().C("PA", 101, 1, 10).C("PA", 1, 1, 50).C("PA", 51, 1, 50),
			want: []Class{New, New, PureAck, Gap, OutOfOrder, OutOfOrder}},
		{name: "pure-ack-beyond-nxt-is-a-gap", script: c().Handshake().C("A", 51, 1, 0),
			want: []Class{New, New, PureAck, Gap},
			check: func(cs, _ *Half) string {
				if cs.Missed != 50 {
					return "want 50 missed bytes"
				}
				return ""
			}},
		{name: "keep-alive-zero-bytes", script: c().Handshake().C("PA", 1, 1, 10).C("A", 10, 1, 0),
			want: []Class{New, New, PureAck, New, KeepAlive}},
		{name: "keep-alive-one-byte", script: c().Handshake().C("PA", 1, 1, 10).C("A", 10, 1, 1),
			want: []Class{New, New, PureAck, New, KeepAlive},
			check: func(cs, _ *Half) string {
				if cs.Retrans.N() != 0 || cs.Bytes != 10 {
					return "a keep-alive is neither a retransmission nor new data"
				}
				return ""
			}},
		// The peer's window is shut: the keep-alive's shape is Linux's
		// zero-window probe; one new byte at Nxt is BSD's, counted as data.
		{name: "zero-window-probe-at-nxt-minus-1", script: c().Handshake().C("PA", 1, 1, 10).S("A", 1, 11, 0).Win(0).C("A", 10, 1, 0),
			want: []Class{New, New, PureAck, New, PureAck, ZeroWindowProbe},
			check: func(cs, _ *Half) string {
				if cs.Retrans.N() != 0 || cs.Bytes != 10 || cs.Nxt != 1000+11 {
					return "a probe at Nxt-1 is neither a retransmission nor new data"
				}
				return ""
			}},
		{name: "zero-window-probe-one-new-byte", script: c().Handshake().C("PA", 1, 1, 10).S("A", 1, 11, 0).Win(0).C("A", 11, 1, 1).C("A", 11, 1, 1),
			want: []Class{New, New, PureAck, New, PureAck, ZeroWindowProbeNew, ZeroWindowProbe},
			check: func(cs, _ *Half) string {
				if cs.Retrans.N() != 0 || cs.Bytes != 11 || cs.Nxt != 1000+12 {
					return "want the probe's byte counted once as data, its repeat no retransmission"
				}
				return ""
			}},
		{name: "window-open-again-keep-alive", script: c().Handshake().C("PA", 1, 1, 10).S("A", 1, 11, 0).Win(0).S("A", 1, 11, 0).C("A", 10, 1, 0).C("A", 11, 1, 1),
			want: []Class{New, New, PureAck, New, PureAck, PureAck, KeepAlive, New}},
		{name: "fin-is-not-a-keep-alive", script: c().Handshake().C("FA", 1, 1, 0).C("FA", 1, 1, 0),
			want: []Class{New, New, PureAck, New, Retrans},
			check: func(cs, _ *Half) string {
				if !cs.FinSeen || cs.FinSeq != 1001 || cs.Fins.N() != 2 || cs.Bytes != 0 {
					return "want a FIN at 1001, seen twice, no payload bytes"
				}
				return ""
			}},
		{name: "ack-of-unseen-data", script: c().Handshake().C("A", 1, 500, 0),
			want: []Class{New, New, PureAck, PureAck},
			check: func(cs, _ *Half) string {
				if cs.AckUnseen.N() != 1 || cs.MaxAck != 5000+500 {
					return "want 1 ack of unseen data, MaxAck 5500"
				}
				return ""
			}},
		{name: "rst-ack-beyond-is-not-unseen", script: c().Handshake().C("RA", 1, 500, 0),
			want: []Class{New, New, PureAck, PureAck},
			check: func(cs, _ *Half) string {
				if cs.AckUnseen.N() != 0 || !cs.RstSeen || cs.Rsts.N() != 1 {
					return "an RST's ack is not evidence of unseen data"
				}
				return ""
			}},
		{name: "syn-retransmitted", script: c().C("S", 0, 0, 0).C("S", 0, 0, 0),
			want: []Class{New, Retrans},
			check: func(cs, _ *Half) string {
				if cs.Syns.N() != 2 || cs.ISN != 1000 {
					return "want 2 SYNs with ISN 1000"
				}
				return ""
			}},
		{name: "syn-with-new-isn-restarts", script: c().C("S", 0, 0, 0).C("S", 7000, 0, 0),
			want: []Class{New, New},
			check: func(cs, _ *Half) string {
				if cs.ISN != 8000 || cs.Nxt != 8001 {
					return "want the stream restarted at ISN 8000"
				}
				return ""
			}},
		{name: "midstream-first-segment", script: c().S("PA", 100, 100, 20).C("A", 100, 120, 0),
			want: []Class{New, New},
			check: func(cs, sc *Half) string {
				if sc.SynSeen || sc.Nxt != 5000+120 || sc.WScale != -1 {
					return "a first segment without SYN starts the stream at its end, scale unknown"
				}
				return ""
			}},
		{name: "sequence-wraps", script: func() *segtest.Script {
			s := c()
			s.ISNc = 1<<32 - 10
			return s.Handshake().C("PA", 1, 1, 100).C("PA", 101, 1, 100)
		}(), want: []Class{New, New, PureAck, New, New},
			check: func(cs, _ *Half) string {
				if cs.Bytes != 200 || cs.Nxt != 1<<32-10+201-1<<32 {
					return "want 200 bytes across the wrap"
				}
				return ""
			}},
		{name: "gap-across-the-wrap", script: func() *segtest.Script {
			s := c()
			s.ISNc = 1<<32 - 10
			return s.Handshake().C("PA", 101, 1, 100)
		}(), want: []Class{New, New, PureAck, Gap},
			check: func(cs, _ *Half) string {
				if cs.Missed != 100 {
					return "want 100 missed bytes across the wrap"
				}
				return ""
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, got := feed(tc.script.Segments())
			if len(got) != len(tc.want) {
				t.Fatalf("classes %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("segment %d: class %d (%q), want %d (%q)", i+1, got[i], got[i], tc.want[i], tc.want[i])
				}
			}
			if tc.check != nil {
				if msg := tc.check(&conn.Half[ClientToServer], &conn.Half[ServerToClient]); msg != "" {
					t.Errorf("%s: client %+v server %+v", msg, conn.Half[ClientToServer], conn.Half[ServerToClient])
				}
			}
		})
	}
}

func TestClassNames(t *testing.T) {
	for c, want := range map[Class]string{New: "", Retrans: "retransmission", OutOfOrder: "out-of-order",
		Gap: "gap", KeepAlive: "keep-alive", PureAck: "", ZeroWindowProbe: "zero-window probe",
		ZeroWindowProbeNew: "zero-window probe", Class(99): ""} {
		if got := c.String(); got != want {
			t.Errorf("Class(%d).String() = %q, want %q", c, got, want)
		}
	}
}

func TestReuses(t *testing.T) {
	c := func() *segtest.Script { return segtest.New() }
	for _, tc := range []struct {
		name   string
		before *segtest.Script // the connection so far
		next   *segtest.Script // its last segment is asked about
		want   bool
	}{
		{name: "syn-retransmitted", before: c().C("S", 0, 0, 0), next: c().C("S", 0, 0, 0), want: false},
		{name: "unanswered-syn-new-isn", before: c().C("S", 0, 0, 0), next: c().C("S", 9000, 0, 0), want: true},
		{name: "synack-never-acked-new-isn", before: c().C("S", 0, 0, 0).S("SA", 0, 1, 0), next: c().C("S", 9000, 0, 0), want: true},
		{name: "established-new-isn", before: c().Handshake().C("PA", 1, 1, 10), next: c().C("S", 9000, 0, 0), want: false},
		{name: "finished-same-isn", before: c().Handshake().C("FA", 1, 1, 0).S("FA", 1, 2, 0).C("A", 2, 2, 0),
			next: c().C("S", 0, 0, 0), want: true},
		{name: "fins-not-all-acked", before: c().Handshake().C("FA", 1, 1, 0).S("FA", 1, 2, 0),
			next: c().C("S", 9000, 0, 0), want: false},
		{name: "after-rst", before: c().Handshake().S("R", 1, 0, 0), next: c().C("S", 0, 0, 0), want: true},
		{name: "after-rst-from-server-side-syn", before: c().Handshake().C("R", 1, 0, 0), next: c().S("S", 9000, 0, 0), want: true},
		{name: "simultaneous-open", before: c().C("S", 0, 0, 0), next: c().S("S", 0, 0, 0), want: false},
		{name: "synack-never-reuses", before: c().Handshake().S("R", 1, 0, 0), next: c().S("SA", 9000, 1, 0), want: false},
		{name: "fin-never-reuses", before: c().Handshake().S("R", 1, 0, 0), next: c().C("FA", 1, 1, 0), want: false},
		{name: "rst-never-reuses", before: c().Handshake().S("R", 1, 0, 0), next: c().C("R", 1, 0, 0), want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, _ := feed(tc.before.Segments())
			next := tc.next.Segments()
			if got := conn.Reuses(&next[len(next)-1]); got != tc.want {
				t.Errorf("Reuses = %v, want %v (client %+v, server %+v)", got, tc.want, conn.Half[0], conn.Half[1])
			}
		})
	}
}

func TestRoles(t *testing.T) {
	ap := netip.MustParseAddrPort
	for _, tc := range []struct {
		name          string
		src, dst      string
		flags         string
		client        string
		guessed, flip bool
	}{
		{name: "syn-sender-is-client", src: "10.0.0.1:80", dst: "10.0.0.2:40000", flags: "S", client: "10.0.0.1:80"},
		{name: "synack-receiver-is-client", src: "10.0.0.2:80", dst: "10.0.0.1:40000", flags: "SA", client: "10.0.0.1:40000", guessed: true, flip: true},
		{name: "data-from-a-server-port", src: "10.0.0.2:443", dst: "10.0.0.1:50000", flags: "PA", client: "10.0.0.1:50000", guessed: true, flip: true},
		{name: "data-to-a-server-port", src: "10.0.0.1:50000", dst: "10.0.0.2:443", flags: "PA", client: "10.0.0.1:50000", guessed: true},
		{name: "both-listed-the-low-port-serves", src: "10.0.0.1:8080", dst: "10.0.0.2:443", flags: "A", client: "10.0.0.1:8080", guessed: true},
		{name: "low-port-unlisted", src: "10.0.0.2:999", dst: "10.0.0.1:50000", flags: "A", client: "10.0.0.1:50000", guessed: true, flip: true},
		{name: "no-hint-first-sender-is-client", src: "10.0.0.1:50001", dst: "10.0.0.2:50002", flags: "A", client: "10.0.0.1:50001", guessed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seg := capture.Segment{Src: ap(tc.src), Dst: ap(tc.dst), Flags: segtest.Flags(tc.flags)}
			c := NewTable[int](0).Insert(KeyOf(seg.Src, seg.Dst), &seg)
			if c.Client() != ap(tc.client) || c.RolesGuessed != tc.guessed || c.Flipped != tc.flip {
				t.Errorf("client %v guessed %v flipped %v, want client %v guessed %v flipped %v",
					c.Client(), c.RolesGuessed, c.Flipped, tc.client, tc.guessed, tc.flip)
			}
			want := ServerToClient
			if seg.Src == c.Client() {
				want = ClientToServer
			}
			if d := c.DirOf(&seg); d != want || c.Server() == c.Client() {
				t.Errorf("DirOf = %v, server %v", d, c.Server())
			}
		})
	}
}

// TestTableOrder checks the activity list: Insert and Touch move a
// connection to the newest end, Remove takes it out, and Range visits
// oldest first, tolerating Remove of the connection it is given.
func TestTableOrder(t *testing.T) {
	tb := NewTable[int](0)
	seg := func(port uint16) *capture.Segment {
		return &capture.Segment{Src: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), port),
			Dst: netip.MustParseAddrPort("10.0.0.2:80"), Flags: capture.SYN}
	}
	tb.PrefetchOldest() // empty: nothing to ask for
	var conns []*Conn[int]
	for i := range 3 {
		s := seg(uint16(40000 + i))
		c := tb.Insert(KeyOf(s.Dst, s.Src), s) // either order of the endpoints is the same key
		c.Data = i
		conns = append(conns, c)
	}
	order := func() []int {
		var o []int
		tb.Range(func(c *Conn[int]) bool { o = append(o, c.Data); return true })
		return o
	}
	if got := order(); len(got) != 3 || got[0] != 0 || got[2] != 2 || tb.Oldest() != conns[0] {
		t.Fatalf("after inserts: %v", got)
	}
	tb.Touch(conns[0])
	if got := order(); got[0] != 1 || got[2] != 0 || tb.Next(conns[2]) != conns[0] {
		t.Errorf("after Touch(0): %v", got)
	}
	if tb.Lookup(KeyOf(seg(40001).Src, seg(40001).Dst)) != conns[1] {
		t.Error("Lookup misses connection 1")
	}
	tb.Range(func(c *Conn[int]) bool {
		if c.Data == 1 {
			tb.Remove(c)
		}
		return true
	})
	tb.Remove(conns[1]) // twice is harmless
	if got := order(); tb.Len() != 2 || len(got) != 2 || got[0] != 2 || got[1] != 0 {
		t.Errorf("after Remove(1): %v, Len %d", got, tb.Len())
	}
	if tb.Lookup(conns[1].Key) != nil {
		t.Error("a removed connection is still found")
	}
	s := seg(41000)
	if c := tb.Insert(KeyOf(s.Src, s.Dst), s); c != conns[1] || c.Data != 0 || c.Half[0].Seen {
		t.Error("Insert did not recycle the removed connection as a zeroed one")
	}
}

// TestKey: a key is the same whichever way a segment travels, gives back
// both endpoints as they were (IPv4, IPv6, IPv4-mapped IPv6, the zero
// address) in netip's order, and tells which endpoint a source is.
func TestKey(t *testing.T) {
	ap := netip.MustParseAddrPort
	for _, pair := range [][2]netip.AddrPort{
		{ap("10.0.0.1:40000"), ap("10.0.0.2:80")},
		{ap("10.0.0.1:80"), ap("10.0.0.1:40000")},
		{ap("[2001:db8::1]:443"), ap("[2001:db8::2]:50000")},
		{ap("[::ffff:10.0.0.1]:1"), ap("10.0.0.1:1")},
		{ap("10.0.0.9:7"), ap("[2001:db8::1]:7")},
		{{}, ap("10.0.0.1:5")},
	} {
		a, b := pair[0], pair[1]
		k, aHi := KeyFrom(a, b)
		k2, bHi := KeyFrom(b, a)
		if k != k2 || aHi == bHi {
			t.Errorf("%v %v: keys %v/%v differ or both ends say hi %v", a, b, k, k2, aHi)
		}
		lo, hi := k.Endpoints()
		want := [2]netip.AddrPort{a, b}
		if a.Addr().Compare(b.Addr()) > 0 || a.Addr() == b.Addr() && a.Port() > b.Port() {
			want = [2]netip.AddrPort{b, a}
		}
		if lo != want[0] || hi != want[1] {
			t.Errorf("%v %v: endpoints %v %v, want %v", a, b, lo, hi, want)
		}
		if (hi == a) != aHi {
			t.Errorf("%v %v: KeyFrom says a is hi: %v, endpoints %v %v", a, b, aHi, lo, hi)
		}
	}
}
