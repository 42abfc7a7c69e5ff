// Package analyze gives TCP segments their meaning: for each connection it
// runs two peer state machines (client and server) over the RFC 9293 states,
// keeps a timeline of both peers' states after every segment, detects the
// anomalies of the finding catalogue (Catalogue), times the handshake, and
// computes Zeek's conn_state and history (package analyze/zeek) so records
// line up with conn.log. For a sink that wants them (ZeekSink) it also runs
// Zeek's session table (zeek.Table), whose records begin and end where
// Zeek's would: its timers and its reuse test delimit them, not the TCP
// connection.
//
// The observer model: the capture shows what each peer sent. A peer's state
// changes when it sends, and when it receives — which only its own later
// segments can show. Segments that would move their receiver are held as
// pending until the receiver's next segment settles them (an ack covering
// them proves receipt; a retransmission of what they acknowledged proves
// loss), and the timeline is patched back to where receipt happened. At the
// end of a capture what is still pending is assumed delivered, except a SYN
// and anything its sender had to retransmit into silence.
//
// Conditions about waiting (unanswered SYN, missing third ACK, CLOSE_WAIT,
// zero window, unacknowledged FIN) are judged on the capture clock: a
// finding as soon as the timeout has passed (handed to the Sink at once),
// its duration growing until the condition ends; still under its timeout
// when the capture ends, it is capture_incomplete instead.
//
// Findings are data, not errors. The package reads no flags, files or
// environment; Config (zero value = defaults) is all it is told. It is not
// for decoding (package capture) or writing output (package report). The
// per-segment path of an established connection does not allocate.
package analyze
