package analyze_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/segtest"
)

// sink collects records and the findings streamed before them.
type sink struct {
	conns    []*analyze.Conn
	streamed []analyze.Kind
}

func (s *sink) Finding(c *analyze.Conn, f *analyze.Finding) { s.streamed = append(s.streamed, f.Kind) }
func (s *sink) End(c *analyze.Conn)                         { s.conns = append(s.conns, c) }

func analyzeScript(t *testing.T, cfg *analyze.Config, segs []capture.Segment) *sink {
	t.Helper()
	var s sink
	a := analyze.New(cfg, &s)
	for i := range segs {
		a.Add(&segs[i])
	}
	a.Flush()
	return &s
}

func kinds(c *analyze.Conn) []string {
	var out []string
	for _, f := range c.Findings {
		out = append(out, string(f.Kind))
	}
	slices.Sort(out)
	return out
}

const (
	C = true
	S = false
)

func TestStateMachine(t *testing.T) {
	sec := time.Second
	tests := []struct {
		name         string
		script       func(s *segtest.Script)
		client       analyze.State
		server       analyze.State
		connState    string
		kinds        string // sorted, comma separated
		evidence     string // a substring every run must show in some finding's evidence
		wantDuration time.Duration
	}{
		{
			name: "normal close, client first",
			script: func(s *segtest.Script) {
				s.Handshake().C("PA", 1, 1, 100).S("A", 1, 101, 0).S("PA", 1, 101, 200).C("A", 101, 201, 0).
					C("FA", 101, 201, 0).S("A", 201, 102, 0).S("FA", 201, 102, 0).C("A", 102, 202, 0)
			},
			client: analyze.TimeWait, server: analyze.Closed, connState: "SF",
		},
		{
			name: "server closes first",
			script: func(s *segtest.Script) {
				s.Handshake().S("FA", 1, 1, 0).C("A", 1, 2, 0).C("FA", 1, 2, 0).S("A", 2, 2, 0)
			},
			client: analyze.Closed, server: analyze.TimeWait, connState: "SF",
		},
		{
			name: "FIN_WAIT_1 straight to TIME_WAIT when the FIN acks ours",
			script: func(s *segtest.Script) {
				s.Handshake().C("FA", 1, 1, 0).S("FA", 1, 2, 0).C("A", 2, 2, 0)
			},
			client: analyze.TimeWait, server: analyze.Closed, connState: "SF",
		},
		{
			name: "simultaneous close through CLOSING",
			script: func(s *segtest.Script) {
				s.Handshake().C("FA", 1, 1, 0).S("FA", 1, 1, 0).C("A", 2, 2, 0).S("A", 2, 2, 0)
			},
			client: analyze.TimeWait, server: analyze.TimeWait, connState: "SF", kinds: "simultaneous_close",
			evidence: "FINs crossed",
		},
		{
			name:   "refused",
			script: func(s *segtest.Script) { s.C("S", 0, 0, 0).S("RA", 0, 1, 0) },
			client: analyze.Closed, server: analyze.Closed, connState: "REJ", kinds: "connection_refused",
			evidence: "ack 1001 = ISN_c+1",
		},
		{
			name: "unanswered SYN retransmitted",
			script: func(s *segtest.Script) {
				s.C("S", 0, 0, 0).Wait(sec).C("S", 0, 0, 0).Wait(2*sec).C("S", 0, 0, 0).Wait(4*sec).C("S", 0, 0, 0)
			},
			client: analyze.SynSent, server: analyze.Closed, connState: "S0", kinds: "syn_retransmitted,syn_unanswered",
			evidence: "nothing came back", wantDuration: 7*sec + 3*time.Millisecond,
		},
		{
			name:   "SYN at the very end: too early to judge",
			script: func(s *segtest.Script) { s.C("S", 0, 0, 0) },
			client: analyze.SynSent, server: analyze.Closed, connState: "S0", kinds: "capture_incomplete",
			evidence: "before the handshake timeout",
		},
		{
			name: "missing third ACK, SYN-ACK retransmitted into silence",
			script: func(s *segtest.Script) {
				s.C("S", 0, 0, 0).S("SA", 0, 1, 0).Wait(sec).S("SA", 0, 1, 0).Wait(2*sec).S("SA", 0, 1, 0)
			},
			client: analyze.SynSent, server: analyze.SynRcvd, connState: "S1", kinds: "missing_third_ack,synack_retransmitted",
			evidence: "no ACK or data from the client",
		},
		{
			name: "third ACK not captured, data proves it",
			script: func(s *segtest.Script) {
				s.C("S", 0, 0, 0).S("SA", 0, 1, 0).C("PA", 1, 1, 10).S("A", 1, 11, 0)
			},
			client: analyze.Established, server: analyze.Established, connState: "S1", kinds: "third_ack_not_captured",
			evidence: "= ISN_c+1",
		},
		{
			name:   "SYN-ACK with a bad ack",
			script: func(s *segtest.Script) { s.C("S", 0, 0, 0).S("SA", 0, 100, 0) },
			client: analyze.SynSent, server: analyze.SynRcvd, connState: "S1", kinds: "capture_incomplete,synack_bad_ack",
			evidence: "ack 1100 ≠ ISN_c+1 = 1001",
		},
		{
			name:   "handshake ACK with a bad ack",
			script: func(s *segtest.Script) { s.C("S", 0, 0, 0).S("SA", 0, 1, 0).C("A", 1, 7, 0) },
			client: analyze.Established, server: analyze.SynRcvd, connState: "S1", kinds: "capture_incomplete,handshake_bad_ack",
			evidence: "ack 5007 ≠ ISN_s+1 = 5001",
		},
		{
			name:   "client resets the SYN-ACK",
			script: func(s *segtest.Script) { s.C("S", 0, 0, 0).S("SA", 0, 1, 0).C("R", 1, 0, 0) },
			client: analyze.Closed, server: analyze.Closed, connState: "RSTO", kinds: "handshake_reset",
		},
		{
			name: "simultaneous open",
			script: func(s *segtest.Script) {
				s.C("S", 0, 0, 0).S("S", 0, 0, 0).C("SA", 0, 1, 0).S("SA", 0, 1, 0).C("A", 1, 1, 0)
			},
			client: analyze.Established, server: analyze.Established, kinds: "simultaneous_open",
		},
		{
			name: "half-close stuck then finished",
			script: func(s *segtest.Script) {
				s.Handshake().C("FA", 1, 1, 0).S("A", 1, 2, 0).Wait(2*sec).S("FA", 1, 2, 0).C("A", 2, 2, 0)
			},
			client: analyze.TimeWait, server: analyze.Closed, connState: "SF", kinds: "half_close_stuck",
			evidence: "CLOSE_WAIT", wantDuration: 2*sec + time.Millisecond,
		},
		{
			name: "half-close stuck to the end of the capture",
			script: func(s *segtest.Script) {
				s.Handshake().C("FA", 1, 1, 0).S("A", 1, 2, 0).Wait(3*sec).S("A", 1, 2, 0)
			},
			client: analyze.FinWait2, server: analyze.CloseWait, connState: "S2", kinds: "half_close_stuck",
			evidence: "never closed",
		},
		{
			name: "legitimate half-close with data",
			script: func(s *segtest.Script) {
				s.Handshake().C("PA", 1, 1, 10).C("FA", 11, 1, 0).S("A", 1, 12, 0).Wait(800*time.Millisecond).
					S("PA", 1, 12, 1000).Wait(800*time.Millisecond).S("PA", 1001, 12, 1000).C("A", 12, 2001, 0).
					S("FA", 2001, 12, 0).C("A", 12, 2002, 0)
			},
			client: analyze.TimeWait, server: analyze.Closed, connState: "SF",
		},
		{
			name:   "reset by the server",
			script: func(s *segtest.Script) { s.Handshake().C("PA", 1, 1, 10).S("RA", 1, 11, 0) },
			client: analyze.Closed, server: analyze.Closed, connState: "RSTR", kinds: "reset",
		},
		{
			name:   "RST far outside the window is invalid and changes nothing",
			script: func(s *segtest.Script) { s.Handshake().C("PA", 1, 1, 10).S("A", 1, 11, 0).S("R", 1<<30, 0, 0) },
			client: analyze.Established, server: analyze.Established, kinds: "rst_invalid",
			evidence: "outside the receiver's window",
		},
		{
			name:   "RST inside the window but not exact is challengeable",
			script: func(s *segtest.Script) { s.Handshake().C("PA", 1, 1, 10).S("A", 1, 11, 0).S("R", 500, 0, 0) },
			client: analyze.Established, server: analyze.Established, kinds: "rst_challengeable",
			evidence: "challenge ACK",
		},
		{
			name: "data after FIN",
			script: func(s *segtest.Script) {
				s.Handshake().C("FA", 1, 1, 0).S("A", 1, 2, 0).C("PA", 2, 1, 10)
			},
			client: analyze.FinWait2, server: analyze.CloseWait, kinds: "capture_incomplete,data_after_fin",
			evidence: "beyond it",
		},
		{
			name:   "data after reset",
			script: func(s *segtest.Script) { s.Handshake().C("RA", 1, 1, 0).C("PA", 1, 1, 10) },
			client: analyze.Closed, kinds: "data_after_reset,reset",
		},
		{
			name:   "data before the handshake",
			script: func(s *segtest.Script) { s.C("S", 0, 0, 0).C("PA", 1, 0, 10).S("SA", 0, 1, 0).C("A", 11, 1, 0) },
			kinds:  "data_before_handshake",
			client: analyze.Established, server: analyze.Established,
		},
		{
			name:   "FIN retransmitted, never acknowledged",
			script: func(s *segtest.Script) { s.Handshake().C("FA", 1, 1, 0).Wait(sec).C("FA", 1, 1, 0) },
			client: analyze.FinWait1, server: analyze.Established, kinds: "fin_unacked",
			evidence: "never acknowledged",
		},
		{
			name: "last ACK missing",
			script: func(s *segtest.Script) {
				s.Handshake().C("FA", 1, 1, 0).S("A", 1, 2, 0).S("FA", 1, 2, 0).Wait(sec).S("FA", 1, 2, 0)
			},
			client: analyze.FinWait2, server: analyze.LastAck, kinds: "last_ack_missing",
			evidence: "LAST_ACK",
		},
		{
			name: "zero window held",
			script: func(s *segtest.Script) {
				s.Handshake().C("PA", 1, 1, 1000).S("A", 1, 1001, 0).Win(0).Wait(6*sec).S("A", 1, 1001, 0).Win(100)
			},
			client: analyze.Established, server: analyze.Established, connState: "S1", kinds: "zero_window_stuck",
		},
		{
			name:   "midstream",
			script: func(s *segtest.Script) { s.C("PA", 1, 1, 10).S("A", 1, 11, 0) },
			client: analyze.Established, server: analyze.Established, connState: "OTH", kinds: "midstream",
		},
		{
			name:   "SYN with data",
			script: func(s *segtest.Script) { s.C("S", 0, 0, 20).S("SA", 0, 21, 0).C("A", 21, 1, 0) },
			client: analyze.Established, server: analyze.Established, kinds: "syn_with_data",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := segtest.New()
			tt.script(s)
			got := analyzeScript(t, nil, s.Segments())
			if len(got.conns) != 1 {
				t.Fatalf("got %d connections, want 1", len(got.conns))
			}
			c := got.conns[0]
			if c.ClientState != tt.client || c.ServerState != tt.server {
				t.Errorf("states: got client %s server %s, want client %s server %s", c.ClientState, c.ServerState, tt.client, tt.server)
			}
			if tt.connState != "" && c.ConnState != tt.connState {
				t.Errorf("conn_state %s (history %s), want %s", c.ConnState, c.History, tt.connState)
			}
			if g := strings.Join(kinds(c), ","); g != tt.kinds {
				t.Errorf("findings (-want +got):\n- %s\n+ %s", tt.kinds, g)
				for _, f := range c.Findings {
					t.Logf("  %s: %s", f.Kind, f.Evidence)
				}
			}
			if tt.evidence != "" {
				found := false
				for _, f := range c.Findings {
					found = found || strings.Contains(f.Evidence, tt.evidence)
				}
				if !found {
					t.Errorf("no finding's evidence contains %q", tt.evidence)
					for _, f := range c.Findings {
						t.Logf("  %s: %s", f.Kind, f.Evidence)
					}
				}
			}
			if tt.wantDuration != 0 {
				ok := false
				for _, f := range c.Findings {
					ok = ok || (f.HasDuration && f.Duration == tt.wantDuration)
				}
				if !ok {
					t.Errorf("no finding lasted exactly %s", tt.wantDuration)
					for _, f := range c.Findings {
						t.Logf("  %s: %s", f.Kind, f.Duration)
					}
				}
			}
			for _, f := range c.Findings {
				if f.Evidence == "" || len(f.Frames) == 0 || f.Time.IsZero() {
					t.Errorf("finding %s lacks evidence, frames or time: %+v", f.Kind, f)
				}
			}
		})
	}
}
