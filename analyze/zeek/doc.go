// Package zeek reimplements, in Go, the rules by which Zeek derives a TCP
// connection's conn_state and history (conn.log), so that tcpflow-check's
// records line up with Zeek's. A Tracker follows one connection, segment by
// segment (Update), as Zeek's TCP analyzer would; ConnState and History are
// what conn.log would say of it. Nothing here is copied from Zeek; each rule
// cites the Zeek source it follows (zeek/zeek, see reference/peers.md §2):
//
//   - src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc: Process,
//     init_endpoint, get_relative_seq, update_history, update_window,
//     init_peer, update_ack_seq, update_last_seq, UpdateStateMachine and its
//     Update*State helpers, ConnectionClosed, IsReuse, the timers;
//   - src/analyzer/protocol/tcp/TCP_Endpoint.cc: Size, CheckHistory,
//     ChecksumError/DidRxmit/ZeroWindow/Gap (scaled history entries);
//   - src/analyzer/protocol/tcp/TCP_Reassembler.cc: AckReceived,
//     Undelivered and Gap (the 'g' letter);
//   - src/session/Session.{h,cc} and src/Conn.cc: CheckHistory,
//     ScaledHistoryEntry, FlipRoles;
//   - src/packet_analysis/protocol/tcp/TCP.cc and IPBasedAnalyzer.cc:
//     WantConnection's likely_server_ports flip, checksum validation;
//   - scripts/base/protocols/conn/main.zeek: conn_state.
//
// The files follow Zeek's split: tracker.go is Process, the per-segment
// walk; state.go the endpoint states (TCP_ENDPOINT_*, which are Zeek's and
// not RFC 9293's), UpdateStateMachine and conn_state; seq.go the relative
// sequence numbers; history.go the letters; gaps.go the reassembler's
// bookkeeping behind 'g'; ports.go likely_server_ports.
//
// Record boundaries (boundaries.go): Zeek splits one tuple's packets into
// several connections where a SYN reuses the tuple (IsReuse) or a timer
// removed the connection first (Expired, with the default timers of
// init-bare.zeek). Table (table.go) is Zeek's session table: it asks
// IsReuse and Expired before each Update and sweeps on the capture clock,
// so its Records match conn.log one to one; the analyzer runs one for a
// sink that wants them (analyze.ZeekSink, --format zeek), beside its own
// records, which follow the TCP connection.
package zeek
