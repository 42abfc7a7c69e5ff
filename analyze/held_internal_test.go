package analyze

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/tcpflow-check/tcpflow-check/internal/segtest"
	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// HeldMappedBytes is how much memory the held records' stores map outside
// the Go heap (for the tests of package analyze_test).
func HeldMappedBytes() int64 { return heldMapped.Bytes() }

// overSink keeps a copy of every record as Over saw it, and the records
// End gets (copies: with borrow, it borrows them).
type overSink struct {
	over   map[uint64]Conn
	end    []*Conn
	borrow bool
}

func (s *overSink) Finding(*Conn, *Finding) {}
func (s *overSink) Handshake(time.Duration) {}
func (s *overSink) BorrowsRecords() bool    { return s.borrow }

func (s *overSink) End(c *Conn) {
	cp := *c
	cp.Findings = append([]Finding(nil), c.Findings...)
	cp.Timeline = append([]Step(nil), c.Timeline...)
	s.end = append(s.end, &cp)
}

func (s *overSink) Over(c *Conn) {
	cp := *c
	cp.Timeline = append([]Step(nil), c.Timeline...)
	s.over[c.ID] = cp
}

// byID returns the record End got for connection id.
func (s *overSink) byID(id uint64) *Conn {
	for _, c := range s.end {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// TestHeldRecordRoundTrip: a record held through TIME_WAIT comes out as
// it went in (as Over saw it), but for what late segments of it changed
// and its peer CLOSED when TIME_WAIT ended: in the small form and kept
// whole (a timeline), on a shifted clock, over IPv6, released by 2·MSL,
// by a SYN reusing the tuple, or at the end of the capture; to a sink
// that keeps its records and to one that borrows them.
func TestHeldRecordRoundTrip(t *testing.T) {
	for _, borrow := range []bool{false, true} {
		heldRoundTrip(t, borrow)
	}
}

func heldRoundTrip(t *testing.T, borrow bool) {
	closed := func(s *segtest.Script) *segtest.Script {
		return s.Handshake().C("PA", 1, 1, 100).S("A", 1, 101, 0).S("PA", 1, 101, 300).C("A", 101, 301, 0).
			C("FA", 101, 301, 0).S("FA", 301, 102, 0).C("A", 102, 302, 0)
	}
	for _, tc := range []struct {
		name     string
		cfg      Config
		year     int
		v6       bool
		late     bool // the server's FIN comes again, after the close linger
		reuse    bool // a new SYN on the tuple within TIME_WAIT
		outlive  bool // another connection keeps the capture past 2·MSL
		wantHeld bool // the record was held, not ended at once
	}{
		{name: "capture ends", wantHeld: true},
		{name: "2MSL passes", outlive: true, wantHeld: true},
		{name: "late FIN", late: true, outlive: true, wantHeld: true},
		{name: "late FIN capture ends", late: true, wantHeld: true},
		{name: "SYN reuses", reuse: true, wantHeld: true},
		{name: "timeline", cfg: Config{Timeline: true}, late: true, outlive: true, wantHeld: true},
		{name: "shifted clock", year: 2400, late: true, outlive: true, wantHeld: true},
		{name: "ipv6", v6: true, late: true, wantHeld: true},
	} {
		t.Run(fmt.Sprintf("%s borrow %v", tc.name, borrow), func(t *testing.T) {
			s := segtest.New()
			if tc.year != 0 {
				s.Now = time.Date(tc.year, 1, 2, 3, 4, 5, 6, time.UTC)
			}
			if tc.v6 {
				s.Client = netip.MustParseAddrPort("[2001:db8::9]:40000")
				s.Server = netip.MustParseAddrPort("[2001:db8::1]:80")
			}
			// Past the close linger, another connection's SYN has the
			// connection retired and its record held.
			closed(s).Wait(6 * time.Second)
			c := s.Client
			s.Client = netip.AddrPortFrom(c.Addr(), 40002)
			s.C("S", 0, 0, 0)
			s.Client = c
			if tc.late {
				s.S("FA", 301, 102, 0)
			}
			if tc.reuse {
				s.ISNc += 1 << 20
				s.Wait(time.Second).Handshake()
			}
			segs := s.Segments()
			if tc.outlive {
				o := segtest.New()
				o.Client = netip.AddrPortFrom(o.Client.Addr(), 40001)
				o.Now = s.Now.Add(61 * time.Second)
				o.C("S", 0, 0, 0)
				for i, sg := range o.Segments() {
					sg.Frame = uint64(len(segs) + i + 1)
					segs = append(segs, sg)
				}
			}
			sk := &overSink{over: map[uint64]Conn{}, borrow: borrow}
			a := New(&tc.cfg, sk)
			held := 0
			for i := range segs {
				a.Add(&segs[i])
				held = max(held, a.held.len())
			}
			a.Flush()
			if held == 0 {
				t.Fatalf("no record was held")
			}
			if a.heldBytes != 0 || a.heldRecs.n != 0 || len(a.heldRecs.chunks) > 1 {
				t.Errorf("after the capture: %d bytes, %d records held", a.heldBytes, a.heldRecs.n)
			}
			want, ok := sk.over[1]
			got := sk.byID(1)
			if !ok || got == nil {
				t.Fatalf("connection 1: over %v, end %v", ok, got != nil)
			}
			if want.ClientState != TimeWait {
				t.Fatalf("client %s when over, want TIME_WAIT", want.ClientState)
			}
			if tc.outlive || tc.reuse {
				want.ClientState = Closed
			}
			if tc.late {
				late := segs[len(s.Segments())-1]
				if tc.reuse {
					t.Fatal("bad case")
				}
				want.End, want.LastFrame = late.Time, late.Frame
				want.ServerPackets++
			}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("released record:\n got %+v\nwant %+v", *got, want)
			}
		})
	}
}

// TestHeldStoreIndex runs random adds, finds and drops on a heldStore
// against a map, the obvious reference, on the Go heap and mapped.
func TestHeldStoreIndex(t *testing.T) {
	for _, mapped := range []bool{false, true} {
		var s heldStore
		if mapped {
			s.maps = &heldMaps{}
		}
		heldStoreOps(t, &s)
		if !mapped {
			continue
		}
		n := len(s.maps.index)
		for _, b := range s.maps.chunks {
			n += len(b)
		}
		if n == 0 {
			t.Error("nothing was mapped")
		}
		s.maps.release()
	}
}

func heldStoreOps(t *testing.T, s *heldStore) {
	ref := map[reassembly.Key]uint32{}
	var keys []reassembly.Key
	rng := rand.New(rand.NewPCG(1, 2))
	key := func() reassembly.Key {
		a := netip.AddrFrom4([4]byte{10, 0, byte(rng.IntN(8)), byte(rng.IntN(256))})
		b := netip.MustParseAddr("2001:db8::1")
		if rng.IntN(2) == 0 {
			b = netip.AddrFrom4([4]byte{192, 0, 2, 1})
		}
		return reassembly.KeyOf(netip.AddrPortFrom(a, uint16(rng.IntN(64))), netip.AddrPortFrom(b, 80))
	}
	for i := range 300_000 {
		if i == 200_000 {
			for len(keys) > 0 { // all go: the store starts over
				k := keys[len(keys)-1]
				keys = keys[:len(keys)-1]
				s.drop(ref[k])
				delete(ref, k)
			}
			if len(s.chunks) != 1 || len(s.slots) != heldMinSlots {
				t.Fatalf("empty: %d chunks, %d slots", len(s.chunks), len(s.slots))
			}
		}
		k := key()
		got := s.find(&k)
		if want := ref[k]; got != want {
			t.Fatalf("op %d: find %d, want %d", i, got, want)
		}
		switch {
		case got == 0 && rng.IntN(3) > 0 || len(ref) == 0:
			if got != 0 {
				continue
			}
			r, h := s.add(&k)
			h.id = uint64(i)
			ref[k] = r
			keys = append(keys, k)
		default:
			j := rng.IntN(len(keys))
			k = keys[j]
			keys[j] = keys[len(keys)-1]
			keys = keys[:len(keys)-1]
			r := ref[k]
			if s.at(r).key != k {
				t.Fatalf("op %d: ref %d holds another key", i, r)
			}
			delete(ref, k)
			s.drop(r)
		}
		if s.n != len(ref) || s.used != len(ref) {
			t.Fatalf("op %d: %d held, %d slots used, want %d", i, s.n, s.used, len(ref))
		}
	}
}

// TestHeldNoPointers: the small form of a held record holds no pointer,
// so its chunks are memory the garbage collector never scans.
func TestHeldNoPointers(t *testing.T) {
	if name, ok := pointers(reflect.TypeFor[heldRec]()); ok {
		t.Errorf("heldRec holds a pointer: %s", name)
	}
}
