package report

import (
	"errors"
	"net/netip"
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/capture"
)

// Hand-built connections and a summary, as the analyzer would hand them over.

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 123000, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func ms(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }

const (
	c2s = analyze.ClientToServer
	s2c = analyze.ServerToClient
	S   = capture.SYN
	A   = capture.ACK
	F   = capture.FIN
	R   = capture.RST
	P   = capture.PSH
)

// step is a shorthand for a timeline entry.
func step(frame uint64, t time.Duration, d analyze.Dir, fl capture.Flags, seq, ack, n uint32, cs, ss analyze.State) analyze.Step {
	return analyze.Step{Frame: frame, Time: at(t), Dir: d, Flags: fl, Seq: seq, Ack: ack, Len: n, Window: 502,
		ClientState: cs, ServerState: ss}
}

// cleanConn is a textbook connection: handshake, a request, a response, and
// an orderly close by the client.
func cleanConn() *analyze.Conn {
	const (
		ss = analyze.SynSent
		sr = analyze.SynRcvd
		es = analyze.Established
	)
	return &analyze.Conn{
		ID: 1, Input: "trace.pcap",
		Client:     netip.MustParseAddrPort("10.0.0.1:41234"),
		Server:     netip.MustParseAddrPort("10.0.0.2:80"),
		FirstFrame: 1, LastFrame: 10,
		Start: at(0), End: at(ms(12.5)),
		ClientState: analyze.TimeWait, ServerState: analyze.Closed,
		ConnState: "SF", History: "ShADadFf",
		Handshake: analyze.Handshake{Complete: true, RTT: 231 * time.Microsecond, HasRTT: true,
			SYNCount: 1, SYNACKCount: 1, MSS: [2]uint16{1460, 1460}, WScale: [2]int8{7, 7}, SACK: true},
		ClientBytes: 120, ServerBytes: 4096, ClientPackets: 6, ServerPackets: 4,
		Findings: []analyze.Finding{},
		Timeline: []analyze.Step{
			step(1, 0, c2s, S, 0, 0, 0, ss, sr),
			step(2, ms(0.2), s2c, S|A, 0, 1, 0, es, sr),
			step(3, ms(0.231), c2s, A, 1, 1, 0, es, es),
			step(4, ms(0.3), c2s, P|A, 1, 1, 120, es, es),
			step(5, ms(1.1), s2c, A, 1, 121, 0, es, es),
			step(6, ms(10.4), s2c, P|A, 1, 121, 4096, es, es),
			step(7, ms(10.5), c2s, A, 121, 4097, 0, es, es),
			step(8, ms(12.0), c2s, F|A, 121, 4097, 0, analyze.FinWait1, analyze.CloseWait),
			step(9, ms(12.3), s2c, F|A, 4097, 122, 0, analyze.TimeWait, analyze.LastAck),
			step(10, ms(12.5), c2s, A, 122, 4098, 0, analyze.TimeWait, analyze.Closed),
		},
	}
}

// refusedConn is a SYN answered by RST,ACK: nobody listening.
func refusedConn() *analyze.Conn {
	return &analyze.Conn{
		ID: 2, Input: "trace.pcap",
		Client:     netip.MustParseAddrPort("10.0.0.1:41236"),
		Server:     netip.MustParseAddrPort("10.0.0.2:8080"),
		FirstFrame: 11, LastFrame: 12,
		Start: at(ms(20)), End: at(ms(20.1)),
		ClientState: analyze.Closed, ServerState: analyze.Closed,
		ConnState: "REJ", History: "Sr",
		Handshake:     analyze.Handshake{SYNCount: 1, MSS: [2]uint16{1460, 0}, WScale: [2]int8{7, -1}},
		ClientPackets: 1, ServerPackets: 1,
		Findings: []analyze.Finding{{
			Kind: analyze.ConnectionRefused, Severity: analyze.Warning, Frames: []uint64{11, 12},
			Time: at(ms(20)), Evidence: "RST,ACK ack 1 = ISN_c+1 answers the SYN 0.1ms later: port 8080 closed",
			By: "server",
		}},
		Timeline: []analyze.Step{
			step(11, ms(20), c2s, S, 0, 0, 0, analyze.SynSent, analyze.Listen),
			step(12, ms(20.1), s2c, R|A, 0, 1, 0, analyze.Closed, analyze.Closed),
		},
	}
}

// leakConn is a CLOSE_WAIT leak: the client closed, the server acknowledged
// the FIN and never sent its own; several findings.
func leakConn() *analyze.Conn {
	const es = analyze.Established
	return &analyze.Conn{
		ID: 3, Input: "trace.pcap",
		Client:     netip.MustParseAddrPort("10.0.0.1:41240"),
		Server:     netip.MustParseAddrPort("10.0.0.3:5432"),
		FirstFrame: 13, LastFrame: 21,
		Start: at(ms(30)), End: at(ms(30) + 4200*time.Millisecond),
		ClientState: analyze.FinWait2, ServerState: analyze.CloseWait,
		ConnState: "S2", History: "ShADadF",
		Handshake: analyze.Handshake{Complete: true, RTT: 1100 * time.Microsecond, HasRTT: true,
			SYNCount: 2, SYNACKCount: 1, MSS: [2]uint16{1460, 1400}, WScale: [2]int8{7, 9}, SACK: true},
		ClientBytes: 64, ServerBytes: 512, ClientPackets: 5, ServerPackets: 4,
		Findings: []analyze.Finding{
			{Kind: analyze.SynRetransmitted, Severity: analyze.Info, Frames: []uint64{13, 14}, Time: at(ms(30)),
				Evidence: "SYN seq 0 sent 2 times, 1.000s apart", By: "client"},
			{Kind: analyze.HalfCloseStuck, Severity: analyze.Error, Frames: []uint64{20, 21}, Time: at(ms(1040)),
				Duration: 3190 * time.Millisecond, HasDuration: true,
				Evidence: "client FIN (frame 20) acknowledged by frame 21; server sent no FIN for 3.190s until the end of the capture: server sat in CLOSE_WAIT",
				By:       "server"},
			{Kind: analyze.CaptureIncomplete, Severity: analyze.Info, Frames: []uint64{21}, Time: at(ms(1041)),
				Evidence: "capture ended mid-teardown"},
		},
		Timeline: []analyze.Step{
			step(13, ms(30), c2s, S, 0, 0, 0, analyze.SynSent, analyze.Listen),
			{Frame: 14, Time: at(ms(1030)), Dir: c2s, Flags: S, Window: 64240, ClientState: analyze.SynSent,
				ServerState: analyze.SynRcvd, Note: "retransmission"},
			step(15, ms(1031), s2c, S|A, 0, 1, 0, es, analyze.SynRcvd),
			step(16, ms(1031.1), c2s, A, 1, 1, 0, es, es),
			step(17, ms(1032), c2s, P|A, 1, 1, 64, es, es),
			step(18, ms(1035), s2c, P|A, 1, 65, 512, es, es),
			step(19, ms(1036), c2s, A, 65, 513, 0, es, es),
			step(20, ms(1040), c2s, F|A, 65, 513, 0, analyze.FinWait1, analyze.CloseWait),
			step(21, ms(1041), s2c, A, 513, 66, 0, analyze.FinWait2, analyze.CloseWait),
		},
	}
}

// v6Conn is an IPv6 connection seen mid-stream and reset by the server.
func v6Conn() *analyze.Conn {
	return &analyze.Conn{
		ID: 4, Input: "trace.pcap",
		Client:     netip.MustParseAddrPort("[2001:db8::1]:50000"),
		Server:     netip.MustParseAddrPort("[2001:db8::2]:443"),
		FirstFrame: 22, LastFrame: 24,
		Start: at(ms(100)), End: at(ms(150)),
		ClientState: analyze.Closed, ServerState: analyze.Closed,
		ConnState: "RSTR", History: "^DdR", Midstream: true, RolesGuessed: true,
		Handshake:   analyze.Handshake{WScale: [2]int8{-1, -1}},
		ClientBytes: 100, ServerBytes: 0, ClientPackets: 2, ServerPackets: 1,
		Findings: []analyze.Finding{
			{Kind: analyze.Midstream, Severity: analyze.Info, Frames: []uint64{22}, Time: at(ms(100)),
				Evidence: "first segment is data (seq 1000 ack 2000): no handshake seen"},
			{Kind: analyze.Reset, Severity: analyze.Warning, Frames: []uint64{24}, Time: at(ms(150)),
				Evidence: "RST seq 2000 = the client's expected seq, 50ms after its last data", By: "server"},
		},
	}
}

// unansweredConn is three SYNs and nothing back.
func unansweredConn() *analyze.Conn {
	return &analyze.Conn{
		ID: 5, Input: "trace.pcap",
		Client:     netip.MustParseAddrPort("10.0.0.1:41250"),
		Server:     netip.MustParseAddrPort("192.0.2.9:443"),
		FirstFrame: 25, LastFrame: 27,
		Start: at(ms(200)), End: at(ms(3200)),
		ClientState: analyze.SynSent, ServerState: analyze.Closed,
		ConnState: "S0", History: "S",
		Handshake:     analyze.Handshake{SYNCount: 3, MSS: [2]uint16{1460, 0}, WScale: [2]int8{7, -1}, SACK: false},
		ClientPackets: 3,
		Findings: []analyze.Finding{{
			Kind: analyze.SynUnanswered, Severity: analyze.Error, Frames: []uint64{25, 26, 27}, Time: at(ms(200)),
			Duration: 3 * time.Second, HasDuration: true,
			Evidence: "3 SYNs over 3.000s (backoff 1.000s, 2.000s) and nothing back from 192.0.2.9:443", By: "client",
		}},
	}
}

func allConns() []*analyze.Conn {
	return []*analyze.Conn{cleanConn(), refusedConn(), leakConn(), v6Conn(), unansweredConn()}
}

// testSummary is the summary of allConns, with the analyzer's maps left empty
// (the writers fill them from what they wrote).
func testSummary() *Summary {
	st := capture.Stats{
		Packets: 31, Bytes: 9000, Segments: 27,
		Skipped:   map[string]uint64{"non-tcp": 3, "truncated": 1},
		LinkTypes: map[string]uint64{"Ethernet": 31},
		First:     at(0), Last: at(ms(4300)),
	}
	return &Summary{
		Schema:  Schema,
		Inputs:  []Input{{Name: "trace.pcap", Stats: st}},
		Capture: st,
		Analysis: analyze.Stats{
			Segments: 27, MaxOpen: 3,
		},
		Elapsed: 1234 * time.Millisecond,
	}
}

var errTruncated = errors.New("capture: trace2.pcap: frame 9 at offset 1234: truncated packet record")
