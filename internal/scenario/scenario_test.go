package scenario

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"
)

// freePort returns a loopback port nobody listens on right now.
func freePort(t *testing.T) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return uint16(ln.Addr().(*net.TCPAddr).Port)
}

// TestRunLoopback runs the scenarios that need nothing from the network
// over loopback, both halves in this process, as live-capture tests will.
func TestRunLoopback(t *testing.T) {
	for _, tc := range []struct {
		name string
		slow bool
	}{
		{"normal-close", false},
		{"server-closes-first", false},
		{"refused", false},
		{"half-close-with-data", false},
		{"rst-by-client", false},
		{"rst-by-server", false},
		{"simultaneous-close", false},
		// simultaneous-open is left out: on loopback a SYN is delivered
		// inside the sender's connect(), so the SYNs never cross in
		// practice; it needs the netns setup of scripts/record-pcaps.sh.
		{"port-reuse", false},
		{"loss-retransmission", false},
		{"close-wait-leak", false},
		{"half-close-stuck", true},
		{"keep-alive", true},
		{"zero-window", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.slow && testing.Short() {
				t.Skip("takes several seconds")
			}
			s, ok := Lookup(tc.name)
			if !ok {
				t.Fatalf("no scenario %q", tc.name)
			}
			lo := netip.MustParseAddr("127.0.0.1")
			c := Config{
				Server: netip.AddrPortFrom(lo, freePort(t)),
				Client: netip.AddrPortFrom(lo, freePort(t)),
				At:     time.Now().Add(300 * time.Millisecond),
			}
			if tc.name != "port-reuse" {
				c.Client = netip.AddrPort{}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if err := Run(ctx, s, c); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	all := All()
	if len(all) < 16 {
		t.Fatalf("%d scenarios", len(all))
	}
	for _, s := range all {
		if got, ok := Lookup(s.Name); !ok || got.Name != s.Name || got.Client == nil || got.Doc == "" {
			t.Errorf("Lookup(%q) = %v, %v", s.Name, got.Name, ok)
		}
	}
	if _, ok := Lookup("nope"); ok {
		t.Error("Lookup(nope) found something")
	}
}
