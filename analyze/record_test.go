package analyze_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/segtest"
)

// lendingSink borrows its records (analyze.Borrower) and keeps a count.
type lendingSink struct{ ends, findings int }

func (s *lendingSink) Finding(*analyze.Conn, *analyze.Finding) {}
func (s *lendingSink) End(c *analyze.Conn)                     { s.ends++; s.findings += len(c.Findings) }
func (s *lendingSink) BorrowsRecords() bool                    { return true }

// keepingSink is the same sink, keeping its records.
type keepingSink struct{ lendingSink }

func (s *keepingSink) BorrowsRecords() bool { return false }

// floodAllocs is the allocations per SYN of a flood of distinct tuples at
// the connection cap: each SYN evicts the idlest connection, whose record
// (with its tracking_limit finding) goes to sink.
func floodAllocs(t *testing.T, sink analyze.Sink) float64 {
	const conns = 1000
	a := analyze.New(&analyze.Config{MaxConns: conns}, sink)
	s := segtest.New()
	seg := capture.Segment{Dst: s.Server, Flags: capture.SYN, Window: 64240}
	now, n := s.Now, 0
	syn := func() {
		n++
		now = now.Add(time.Microsecond)
		seg.Src = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)}), uint16(1024+n%60000))
		seg.Seq, seg.Time, seg.Frame = uint32(n)*7919, now, uint64(n)
		a.Add(&seg)
	}
	for range 3 * conns { // the table full, and evicting
		syn()
	}
	return testing.AllocsPerRun(5000, syn)
}

// TestFloodLentRecords: a sink that borrows the records of evicted
// connections gets them without an allocation of their own, so that a
// flood at the cap allocates nothing per SYN.
func TestFloodLentRecords(t *testing.T) {
	lend, keep := &lendingSink{}, &keepingSink{}
	lent, kept := floodAllocs(t, lend), floodAllocs(t, keep)
	if lend.ends == 0 || lend.findings != lend.ends || keep.ends != lend.ends {
		t.Fatalf("%d and %d records ended, %d findings; want as many of each, and some", lend.ends, keep.ends, lend.findings)
	}
	t.Logf("allocations per SYN: %v lent, %v kept", lent, kept)
	if lent != 0 || kept < 1 {
		t.Errorf("%v allocations per SYN with the records lent, %v kept: want none lent, and the kept record's own", lent, kept)
	}
}
