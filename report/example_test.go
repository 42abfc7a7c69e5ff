package report_test

import (
	"net/netip"
	"os"
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/report"
)

// refused is what the analyzer hands the sink for a SYN answered by RST.
func refused() *analyze.Conn {
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	return &analyze.Conn{
		ID: 7, Input: "trace.pcap",
		Client:     netip.MustParseAddrPort("10.0.0.1:41234"),
		Server:     netip.MustParseAddrPort("10.0.0.2:80"),
		FirstFrame: 1, LastFrame: 2, Start: t0, End: t0.Add(100 * time.Microsecond),
		ClientState: analyze.Closed, ServerState: analyze.Closed, ConnState: "REJ", History: "Sr",
		Handshake:     analyze.Handshake{SYNCount: 1, MSS: [2]uint16{1460, 0}, WScale: [2]int8{7, -1}},
		ClientPackets: 1, ServerPackets: 1,
		Findings: []analyze.Finding{{Kind: analyze.ConnectionRefused, Severity: analyze.Warning,
			Frames: []uint64{1, 2}, Time: t0, Evidence: "RST,ACK ack 1 = ISN_c+1 answers the SYN", By: "server"}},
		Timeline: []analyze.Step{
			{Frame: 1, Time: t0, Dir: analyze.ClientToServer, Flags: capture.SYN, Window: 64240,
				ClientState: analyze.SynSent, ServerState: analyze.Listen},
			{Frame: 2, Time: t0.Add(100 * time.Microsecond), Dir: analyze.ServerToClient,
				Flags: capture.RST | capture.ACK, Ack: 1, ClientState: analyze.Closed, ServerState: analyze.Closed},
		},
	}
}

// A Writer is the analyzer's sink: records go out as connections end, the
// summary at Close.
func ExampleNewWriter() {
	w, err := report.NewWriter("jsonl", os.Stdout, &report.Options{NoElapsed: true})
	if err != nil {
		panic(err)
	}
	w.End(refused()) // the analyzer calls this
	if err := w.Close(&report.Summary{Inputs: []report.Input{{Name: "trace.pcap"}}}); err != nil {
		panic(err)
	}
	// Output:
	// {"type":"connection","id":7,"input":"trace.pcap","client":"10.0.0.1:41234","server":"10.0.0.2:80","first_frame":1,"last_frame":2,"start":"2026-11-21T10:00:00.000000Z","duration_s":0.0001,"client_state":"CLOSED","server_state":"CLOSED","conn_state":"REJ","history":"Sr","midstream":false,"roles_guessed":false,"handshake":{"complete":false,"syn_count":1,"synack_count":0,"mss":[1460,null],"wscale":[7,null],"sack":false},"client_bytes":0,"server_bytes":0,"packets":[1,1],"findings":[{"kind":"connection_refused","severity":"warning","frames":[1,2],"time":"2026-11-21T10:00:00.000000Z","evidence":"RST,ACK ack 1 = ISN_c+1 answers the SYN","by":"server"}]}
	// {"type":"summary","schema":"tcpflow-check/v1","inputs":[{"name":"trace.pcap","packets":0,"bytes":0,"segments":0}],"packets":0,"bytes":0,"segments":0,"connections":1,"by_conn_state":{"REJ":1},"by_kind":{"connection_refused":1},"handshake_rtt":{"count":0,"min_s":0,"p50_s":0,"p90_s":0,"p99_s":0,"max_s":0},"skipped":{},"link_types":{},"encapsulations":{},"bad_checksum":0,"evicted":0,"cap_hit":0,"max_open":0}
}

func ExampleLadder() {
	if err := report.Ladder(os.Stdout, refused(), nil); err != nil {
		panic(err)
	}
	// Output:
	// connection #7  client 10.0.0.1:41234 → server 10.0.0.2:80  (trace.pcap, frames 1–2)
	// start 2026-11-21T10:00:00.000000Z · duration 100µs · conn_state REJ · history Sr
	//
	// frame      time  client                                       server
	//     1  0.000000  SYN_SENT    │── SYN seq=0 ────────────────→│ LISTEN       ◀ connection_refused
	//     2  0.000100  CLOSED      │←────── RST,ACK seq=0 ack=1 ──│ CLOSED
	// final: client CLOSED / server CLOSED
	//
	// findings:
	//   warning connection_refused  frames 1,2  at +0.000000s  by server
	//            RST,ACK ack 1 = ISN_c+1 answers the SYN
}
