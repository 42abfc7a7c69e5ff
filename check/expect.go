package check

import (
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/internal/human"
)

// expectation is one check of an Expect, named as the rule it is.
type expectation struct {
	name string
	line int
	eval func(s *trafficStats) (ok bool, msg string)
}

// expectations lists e's checks in a fixed order.
func (e *Expect) expectations() []expectation {
	var out []expectation
	if e.MinConnections != nil {
		m := *e.MinConnections
		out = append(out, expectation{fmt.Sprintf("min_connections: %d", m), e.lines["min_connections"], func(s *trafficStats) (bool, string) {
			return s.conns >= m, fmt.Sprintf("%d connection(s), expected at least %d", s.conns, m)
		}})
	}
	if e.MaxConnections != nil {
		m := *e.MaxConnections
		out = append(out, expectation{fmt.Sprintf("max_connections: %d", m), e.lines["max_connections"], func(s *trafficStats) (bool, string) {
			return s.conns <= m, fmt.Sprintf("%d connection(s), expected at most %d", s.conns, m)
		}})
	}
	for _, c := range e.ConnectionsTo {
		name := fmt.Sprintf("connections_to: port %d", c.Port)
		if c.Host.IsValid() {
			name = fmt.Sprintf("connections_to: %s port %d", prefixString(c.Host), c.Port)
		}
		bounds := fmt.Sprintf("at least %d", c.Min)
		if c.Max != nil {
			bounds = fmt.Sprintf("between %d and %d", c.Min, *c.Max)
		}
		name += " (" + bounds + ")"
		out = append(out, expectation{name, c.Line, func(s *trafficStats) (bool, string) {
			n := 0
			for ap, k := range s.servers {
				if ap.Port() == c.Port && (!c.Host.IsValid() || c.Host.Contains(ap.Addr())) {
					n += k
				}
			}
			return n >= c.Min && (c.Max == nil || n <= *c.Max), fmt.Sprintf("%d connection(s) to port %d, expected %s", n, c.Port, bounds)
		}})
	}
	if e.HandshakeRTTP99 > 0 {
		lim := e.HandshakeRTTP99
		out = append(out, expectation{"handshake_rtt_p99: " + lim.String(), e.lines["handshake_rtt_p99"], func(s *trafficStats) (bool, string) {
			if len(s.rtts) == 0 {
				return true, "no complete handshake with a measured RTT"
			}
			p := s.rttQuantile(0.99)
			return p <= lim, fmt.Sprintf("handshake RTT p99 %s over %d handshake(s), limit %s (max %s)", against(p, lim), len(s.rtts),
				human.Duration(lim), human.Duration(s.rttQuantile(1)))
		}})
	}
	if e.HandshakeRTTMax > 0 {
		lim := e.HandshakeRTTMax
		out = append(out, expectation{"handshake_rtt_max: " + lim.String(), e.lines["handshake_rtt_max"], func(s *trafficStats) (bool, string) {
			if len(s.rtts) == 0 {
				return true, "no complete handshake with a measured RTT"
			}
			m := s.rttQuantile(1)
			return m <= lim, fmt.Sprintf("slowest handshake RTT %s over %d handshake(s), limit %s", against(m, lim), len(s.rtts), human.Duration(lim))
		}})
	}
	for _, l := range e.MaxConnState {
		out = append(out, expectation{fmt.Sprintf("max_conn_state: %s ≤ %d", l.State, l.Max), l.Line, func(s *trafficStats) (bool, string) {
			n := s.connStates[l.State]
			return n <= l.Max, fmt.Sprintf("%d connection(s) with conn_state %s, allowed %d", n, l.State, l.Max)
		}})
	}
	for _, l := range e.MaxFinalState {
		out = append(out, expectation{fmt.Sprintf("max_final_state: %s ≤ %d", l.State, l.Max), l.Line, func(s *trafficStats) (bool, string) {
			n := s.finalStates[l.State]
			return n <= l.Max, fmt.Sprintf("%d connection(s) with a peer left in %s, allowed %d", n, l.State, l.Max)
		}})
	}
	return out
}

func prefixString(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// trafficStats is what expectations look at, per input or over all.
type trafficStats struct {
	conns       int
	servers     map[netip.AddrPort]int
	rtts        []time.Duration
	connStates  map[string]int
	finalStates map[string]int // connections in which a peer ended in the state
	sorted      bool
}

func newTrafficStats() *trafficStats {
	return &trafficStats{servers: map[netip.AddrPort]int{}, connStates: map[string]int{}, finalStates: map[string]int{}}
}

func (s *trafficStats) add(c *analyze.Conn) {
	s.conns++
	s.servers[netip.AddrPortFrom(c.Server.Addr().Unmap(), c.Server.Port())]++
	if c.Handshake.Complete && c.Handshake.HasRTT {
		s.rtts = append(s.rtts, c.Handshake.RTT)
		s.sorted = false
	}
	if c.ConnState != "" {
		s.connStates[c.ConnState]++
	}
	s.finalStates[c.ClientState.String()]++
	if c.ServerState != c.ClientState {
		s.finalStates[c.ServerState.String()]++
	}
}

func (s *trafficStats) merge(o *trafficStats) {
	s.conns += o.conns
	for k, v := range o.servers {
		s.servers[k] += v
	}
	s.rtts = append(s.rtts, o.rtts...)
	s.sorted = false
	for k, v := range o.connStates {
		s.connStates[k] += v
	}
	for k, v := range o.finalStates {
		s.finalStates[k] += v
	}
}

// rttQuantile is the nearest-rank quantile q of the RTTs (exact, not from a
// histogram); q = 1 is the maximum.
func (s *trafficStats) rttQuantile(q float64) time.Duration {
	if len(s.rtts) == 0 {
		return 0
	}
	if !s.sorted {
		sort.Slice(s.rtts, func(i, j int) bool { return s.rtts[i] < s.rtts[j] })
		s.sorted = true
	}
	rank := int(q*float64(len(s.rtts))+0.999999) - 1
	return s.rtts[max(0, min(rank, len(s.rtts)-1))]
}

// against writes d, measured against the limit lim, for people
// (human.Duration), or exactly where rounding would print it as lim while
// it differs: "1.0004ms" over a limit of 1ms.
func against(d, lim time.Duration) string {
	if s := human.Duration(d); s != human.Duration(lim) || d == lim {
		return s
	}
	return d.String()
}
