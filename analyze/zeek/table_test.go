package zeek

import (
	"testing"
)

// TestTunnelParents: a record lists each tunnel its segments came in once,
// in the order first seen, as Zeek's tunnel_parents set; none outside
// tunnels; at most maxTunnelParents; the same tunnel has the same uid in
// every record of an input, another input gives it another.
func TestTunnelParents(t *testing.T) {
	segs, _ := zsegments(zServerAddr, zhandshake(
		zseg{from: 'c', flags: "P.", seq: 1001, ack: 5001, len: 10},
		zseg{from: 's', flags: ".", seq: 5001, ack: 1011},
		zseg{from: 'c', flags: ".", seq: 1011, ack: 5001, repeat: 8},
	))
	run := func(input string, tunnels ...uint64) *Record {
		t.Helper()
		var recs []*Record
		tb := NewTable(func(r *Record) { recs = append(recs, r) })
		for i := range segs {
			s := segs[i]
			if len(tunnels) > 0 {
				s.Tunnel = tunnels[i%len(tunnels)]
			}
			tb.Add(&s, s.Time, 100, input)
		}
		tb.Flush(input)
		if len(recs) != 1 {
			t.Fatalf("%d records, want 1", len(recs))
		}
		return recs[0]
	}
	if r := run("a.pcap"); r.TunnelParents != nil {
		t.Errorf("outside tunnels: tunnel_parents %q, want none", r.TunnelParents)
	}
	one := run("a.pcap", 7)
	if len(one.TunnelParents) != 1 || one.TunnelParents[0][0] != 'C' || len(one.TunnelParents[0]) < 10 {
		t.Fatalf("in one tunnel: %q, want one uid of Zeek's form", one.TunnelParents)
	}
	if again := run("a.pcap", 7); again.TunnelParents[0] != one.TunnelParents[0] {
		t.Errorf("the same tunnel named %q, then %q", one.TunnelParents[0], again.TunnelParents[0])
	}
	if other := run("b.pcap", 7); other.TunnelParents[0] == one.TunnelParents[0] {
		t.Errorf("the same uid %q in another input", one.TunnelParents[0])
	}
	// The tunnel changed (Zeek's tunnel_changed): both, in order.
	two := run("a.pcap", 7, 7, 9)
	if len(two.TunnelParents) != 2 || two.TunnelParents[0] != one.TunnelParents[0] || two.TunnelParents[1] == two.TunnelParents[0] {
		t.Errorf("two tunnels: %q", two.TunnelParents)
	}
	// Some segments in no tunnel add nothing.
	if mixed := run("a.pcap", 7, 0); len(mixed.TunnelParents) != 1 {
		t.Errorf("tunnel and none: %q", mixed.TunnelParents)
	}
	many := make([]uint64, len(segs))
	for i := range many {
		many[i] = uint64(100 + i)
	}
	if len(segs) <= maxTunnelParents {
		t.Fatalf("script too short for the cap: %d segments", len(segs))
	}
	if r := run("a.pcap", many...); len(r.TunnelParents) != maxTunnelParents {
		t.Errorf("%d tunnels: %d parents, want the cap %d", len(many), len(r.TunnelParents), maxTunnelParents)
	}
}
