package main

import (
	"strings"
	"testing"

	"github.com/tcpflow-check/tcpflow-check/analyze"
)

// TestScenarioExpectations states, for every bundled capture, what the
// scenario that produced it means by docs/design.md's rules (testdata/pcaps/
// MANIFEST.md): both peers' final states, Zeek's conn_state, the findings
// that must be there, and that a clean connection carries no error or
// warning. Unlike the golden files, this is written from the scenario, not
// from our output.
func TestScenarioExpectations(t *testing.T) {
	type conn struct {
		client, server, connState string
		must                      []analyze.Kind
	}
	clean := func(c, s string) conn { return conn{client: c, server: s, connState: "SF"} }
	tests := map[string][]conn{
		"real/normal-close.pcap":              {clean("TIME_WAIT", "CLOSED")},
		"real/normal-close-ipv6.pcap":         {clean("TIME_WAIT", "CLOSED")},
		"real/normal-close-any.pcap":          {clean("TIME_WAIT", "CLOSED")},
		"real/server-closes-first.pcap":       {clean("CLOSED", "TIME_WAIT")},
		"real/half-close-with-data.pcap":      {clean("TIME_WAIT", "CLOSED")},
		"real/keep-alive.pcap":                {clean("TIME_WAIT", "CLOSED")},
		"real/loss-retransmission.pcap":       {clean("TIME_WAIT", "CLOSED")},
		"real/refused.pcap":                   {{"CLOSED", "CLOSED", "REJ", []analyze.Kind{analyze.ConnectionRefused}}},
		"real/refused-ipv6.pcap":              {{"CLOSED", "CLOSED", "REJ", []analyze.Kind{analyze.ConnectionRefused}}},
		"real/syn-unanswered.pcap":            {{"SYN_SENT", "CLOSED", "S0", []analyze.Kind{analyze.SynUnanswered}}},
		"real/missing-third-ack.pcap":         {{"SYN_SENT", "SYN_RCVD", "S1", []analyze.Kind{analyze.MissingThirdAck, analyze.SynAckRetransmitted}}},
		"real/half-close-stuck.pcap":          {{"FIN_WAIT_2", "CLOSE_WAIT", "S2", []analyze.Kind{analyze.HalfCloseStuck}}},
		"real/half-close-stuck-ipv6.pcap":     {{"FIN_WAIT_2", "CLOSE_WAIT", "S2", []analyze.Kind{analyze.HalfCloseStuck}}},
		"real/rst-by-client.pcap":             {{"CLOSED", "CLOSED", "RSTO", []analyze.Kind{analyze.Reset}}},
		"real/rst-by-server.pcap":             {{"CLOSED", "CLOSED", "RSTR", []analyze.Kind{analyze.Reset}}},
		"real/simultaneous-close.pcap":        {{"TIME_WAIT", "TIME_WAIT", "SF", []analyze.Kind{analyze.SimultaneousClose}}},
		"real/simultaneous-open.pcap":         {{"TIME_WAIT", "CLOSED", "SF", []analyze.Kind{analyze.SimultaneousOpen}}},
		"real/simultaneous-open-crossed.pcap": {{"TIME_WAIT", "CLOSED", "SF", []analyze.Kind{analyze.SimultaneousOpen}}},
		"real/syn-retransmitted.pcap":         {{"TIME_WAIT", "CLOSED", "SF", []analyze.Kind{analyze.SynRetransmitted}}},
		"real/zero-window.pcap":               {{"TIME_WAIT", "CLOSED", "SF", []analyze.Kind{analyze.ZeroWindowStuck}}},
		"real/port-reuse.pcap": {
			clean("CLOSED", "TIME_WAIT"),
			{"TIME_WAIT", "CLOSED", "SF", []analyze.Kind{analyze.PortReused}},
		},
		"crafted/synack-bad-ack.pcap":         {{"SYN_SENT", "SYN_RCVD", "", []analyze.Kind{analyze.SynAckBadAck}}},
		"crafted/handshake-bad-ack.pcap":      {{"", "", "", []analyze.Kind{analyze.HandshakeBadAck}}},
		"crafted/handshake-reset.pcap":        {{"CLOSED", "CLOSED", "", []analyze.Kind{analyze.HandshakeReset}}},
		"crafted/rst-invalid.pcap":            {{"", "", "", []analyze.Kind{analyze.RstInvalid}}},
		"crafted/rst-challengeable.pcap":      {{"", "", "", []analyze.Kind{analyze.RstChallengeable}}},
		"crafted/data-after-fin.pcap":         {{"", "", "", []analyze.Kind{analyze.DataAfterFin}}},
		"crafted/data-before-handshake.pcap":  {{"", "", "", []analyze.Kind{analyze.DataBeforeHandshake}}},
		"crafted/syn-with-data.pcap":          {{"", "", "", []analyze.Kind{analyze.SynWithData}}},
		"crafted/third-ack-not-captured.pcap": {{"TIME_WAIT", "CLOSED", "SF", []analyze.Kind{analyze.ThirdAckNotCaptured}}},
		"crafted/fin-unacked.pcap":            {{"FIN_WAIT_1", "ESTABLISHED", "", []analyze.Kind{analyze.FinUnacked}}},
		"crafted/last-ack-missing.pcap":       {{"FIN_WAIT_2", "LAST_ACK", "", []analyze.Kind{analyze.LastAckMissing}}},
		"crafted/midstream.pcap":              {{"TIME_WAIT", "CLOSED", "", []analyze.Kind{analyze.Midstream}}},
		"crafted/seq-wrap.pcap":               {clean("TIME_WAIT", "CLOSED")},
	}
	for _, l := range []string{"ethernet", "vlan", "qinq", "sll", "sll2", "raw", "null", "null-ipv6", "gre", "vxlan", "pcap-ns", "pcap-bigendian"} {
		tests["crafted/normal-"+l+".pcap"] = []conn{clean("TIME_WAIT", "CLOSED")}
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			var col recordCollector
			an := analyze.New(nil, &col)
			if _, err := readInputs(&env{}, []string{"../../testdata/pcaps/" + name}, nil, an); err != nil {
				t.Fatal(err)
			}
			if len(col.conns) != len(want) {
				t.Fatalf("%d connections, want %d", len(col.conns), len(want))
			}
			for i, w := range want {
				c := col.conns[i]
				if (w.client != "" && c.ClientState.String() != w.client) || (w.server != "" && c.ServerState.String() != w.server) {
					t.Errorf("#%d: client %s server %s, want %s %s", c.ID, c.ClientState, c.ServerState, w.client, w.server)
				}
				if w.connState != "" && c.ConnState != w.connState {
					t.Errorf("#%d: conn_state %s, want %s", c.ID, c.ConnState, w.connState)
				}
				have := map[analyze.Kind]bool{}
				var list []string
				for _, f := range c.Findings {
					have[f.Kind] = true
					list = append(list, string(f.Kind))
					if len(w.must) == 0 && f.Severity >= analyze.Warning {
						t.Errorf("#%d: a clean connection has %s: %s", c.ID, f.Kind, f.Evidence)
					}
				}
				for _, k := range w.must {
					if !have[k] {
						t.Errorf("#%d: no %s finding (have %s)", c.ID, k, strings.Join(list, ", "))
					}
				}
			}
		})
	}
}
