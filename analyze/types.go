package analyze

import (
	"net/netip"
	"slices"
	"time"

	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// State is the RFC 9293 state of one peer, as inferred by the observer.
type State uint8

// The peer states, named as netstat prints them.
const (
	Closed State = iota
	Listen
	SynSent
	SynRcvd
	Established
	FinWait1
	FinWait2
	CloseWait
	Closing
	LastAck
	TimeWait
)

var stateNames = [...]string{
	Closed: "CLOSED", Listen: "LISTEN", SynSent: "SYN_SENT", SynRcvd: "SYN_RCVD",
	Established: "ESTABLISHED", FinWait1: "FIN_WAIT_1", FinWait2: "FIN_WAIT_2",
	CloseWait: "CLOSE_WAIT", Closing: "CLOSING", LastAck: "LAST_ACK", TimeWait: "TIME_WAIT",
}

// String returns the state's name with underscores, e.g. "FIN_WAIT_1".
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "UNKNOWN"
}

// MarshalText implements encoding.TextMarshaler.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ParseState returns the state named name (as String prints it).
func ParseState(name string) (State, bool) {
	for i, n := range stateNames {
		if n == name {
			return State(i), true
		}
	}
	return 0, false
}

// Severity ranks findings: Info < Warning < Error.
type Severity uint8

// The severities.
const (
	Info Severity = iota
	Warning
	Error
)

// String returns "info", "warning" or "error".
func (s Severity) String() string {
	switch s {
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return "info"
}

// MarshalText implements encoding.TextMarshaler.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ParseSeverity is the inverse of Severity.String.
func ParseSeverity(name string) (Severity, bool) {
	switch name {
	case "info":
		return Info, true
	case "warning":
		return Warning, true
	case "error":
		return Error, true
	}
	return 0, false
}

// Kind names a finding. The names are a contract (docs/design.md §4): add, never rename.
type Kind string

// The finding catalogue.
const (
	SynUnanswered       Kind = "syn_unanswered"
	ConnectionRefused   Kind = "connection_refused"
	MissingThirdAck     Kind = "missing_third_ack"
	ThirdAckNotCaptured Kind = "third_ack_not_captured"
	SynAckBadAck        Kind = "synack_bad_ack"
	HandshakeBadAck     Kind = "handshake_bad_ack"
	SynRetransmitted    Kind = "syn_retransmitted"
	SynAckRetransmitted Kind = "synack_retransmitted"
	HandshakeReset      Kind = "handshake_reset"
	SimultaneousOpen    Kind = "simultaneous_open"
	DataBeforeHandshake Kind = "data_before_handshake"
	SynWithData         Kind = "syn_with_data"
	HalfCloseStuck      Kind = "half_close_stuck"
	FinUnacked          Kind = "fin_unacked"
	LastAckMissing      Kind = "last_ack_missing"
	SimultaneousClose   Kind = "simultaneous_close"
	Reset               Kind = "reset"
	RstInvalid          Kind = "rst_invalid"
	RstChallengeable    Kind = "rst_challengeable"
	DataAfterFin        Kind = "data_after_fin"
	DataAfterReset      Kind = "data_after_reset"
	PortReused          Kind = "port_reused"
	ZeroWindowStuck     Kind = "zero_window_stuck"
	Midstream           Kind = "midstream"
	CaptureIncomplete   Kind = "capture_incomplete"
	TrackingLimit       Kind = "tracking_limit"
)

// KindInfo is one entry of the finding catalogue.
type KindInfo struct {
	Kind     Kind
	Severity Severity // the default; a policy may override it
	Doc      string   // what the finding means, in one line
}

// Catalogue returns every kind with its default severity, in the order of
// docs/design.md §4. The slice is the caller's: changing it changes no finding.
func Catalogue() []KindInfo { return slices.Clone(catalogue) }

var catalogue = []KindInfo{
	{SynUnanswered, Error, "SYNs from the client and nothing back from the server within the handshake timeout"},
	{ConnectionRefused, Warning, "RST answering a SYN: nobody listening"},
	{MissingThirdAck, Error, "a valid SYN-ACK, then no ACK or data from the client within the handshake timeout"},
	{ThirdAckNotCaptured, Info, "the handshake's third ACK is missing from the capture, but the client's later segments show it was sent"},
	{SynAckBadAck, Error, "SYN-ACK whose ack is not ISN_c+1 for any SYN seen"},
	{HandshakeBadAck, Error, "the client's completing ACK has seq != ISN_c+1 or ack != ISN_s+1"},
	{SynRetransmitted, Info, "the same SYN sent again"},
	{SynAckRetransmitted, Info, "the same SYN-ACK sent again"},
	{HandshakeReset, Warning, "RST after SYN-ACK before the connection was established"},
	{SimultaneousOpen, Info, "SYNs crossed"},
	{DataBeforeHandshake, Warning, "payload from a peer not yet ESTABLISHED"},
	{SynWithData, Info, "SYN carrying data (TCP Fast Open)"},
	{HalfCloseStuck, Error, "one side's FIN was acknowledged and the other sent no FIN within the half-close timeout (CLOSE_WAIT)"},
	{FinUnacked, Warning, "a FIN retransmitted or never acknowledged (FIN_WAIT_1)"},
	{LastAckMissing, Warning, "the passive closer's FIN was never acknowledged (LAST_ACK)"},
	{SimultaneousClose, Info, "FINs crossed; both peers passed through CLOSING"},
	{Reset, Warning, "valid RST after establishment"},
	{RstInvalid, Error, "RST whose seq is outside the receiver's window (likely injected)"},
	{RstChallengeable, Info, "RST in the receiver's window but not at the exact next sequence number"},
	{DataAfterFin, Error, "new data from a peer after its own FIN"},
	{DataAfterReset, Warning, "the RST's sender keeps sending"},
	{PortReused, Info, "a new connection on a tuple whose previous one closed"},
	{ZeroWindowStuck, Warning, "a receiver advertised window 0 for at least the zero-window timeout"},
	{Midstream, Info, "no handshake seen; states are assumed"},
	{CaptureIncomplete, Info, "acks of data never captured, gaps, or the capture ending mid-teardown"},
	{TrackingLimit, Warning, "the analysis stopped following the connection before it ended: the connection table was full (--max-conns), the memory budget was spent (--max-memory), or it sat idle past the idle timeout with a condition still pending"},
}

// Why the analysis stopped following a connection before it ended
// (Conn.EndedEarly).
const (
	EndedMaxConns  = "max_conns"    // the table held Config.MaxConns connections; this was the idlest
	EndedMaxMemory = "max_memory"   // the connections held used up Config.MaxMemory; this was the idlest
	EndedIdle      = "idle_timeout" // no segment for Config.IdleTimeout
)

// KindSeverity returns the default severity of k and whether k is in the catalogue.
func KindSeverity(k Kind) (Severity, bool) {
	for _, c := range catalogue {
		if c.Kind == k {
			return c.Severity, true
		}
	}
	return 0, false
}

// Finding is one thing that went wrong (or is worth knowing) on a connection.
// Findings are data, not errors.
type Finding struct {
	Kind        Kind
	Severity    Severity
	Frames      []uint64      // the frames the finding rests on, ascending
	Time        time.Time     // capture time of the first frame it rests on
	Duration    time.Duration // how long the condition lasted, where it is about waiting; 0 otherwise
	HasDuration bool
	Evidence    string // a sentence quoting the numbers that prove it
	By          string // "client" or "server" where the finding is about one peer's act
	// Judged is the capture clock when the finding was first handed to
	// the Sink (Sink.Finding): live output prints it, so that streamed
	// lines read in capture order. Zero for findings made at the record.
	Judged time.Time
}

// Dir is the direction of a segment within its connection: ClientToServer
// ("c>s") or ServerToClient ("s>c").
type Dir = reassembly.Dir

// The directions.
const (
	ClientToServer = reassembly.ClientToServer
	ServerToClient = reassembly.ServerToClient
)

// Step is one segment of a connection's timeline, with both peers' states
// after it (as settled by later evidence, see docs/design.md §3).
type Step struct {
	Frame       uint64
	Time        time.Time
	Dir         Dir
	Flags       capture.Flags
	Seq, Ack    uint32 // relative to each side's ISN (as Wireshark shows them); raw when no ISN is known
	Len         uint32
	Window      uint16
	ClientState State
	ServerState State
	Note        string // classification when not plain: "retransmission", "out-of-order", "keep-alive", "zero-window probe", ...
}

// Handshake summarizes the three-way handshake of a connection.
type Handshake struct {
	Complete    bool
	RTT         time.Duration // SYN to the first ACK completing the handshake; valid when HasRTT
	HasRTT      bool
	SYNCount    int
	SYNACKCount int
	MSS         [2]uint16 // client, server; 0 = not offered
	WScale      [2]int8   // client, server; -1 = not offered
	SACK        bool      // both sides offered SACK
}

// Conn is the record of one TCP connection, complete when it is handed to
// the Sink's End.
type Conn struct {
	ID            uint64
	Input         string
	Client        netip.AddrPort
	Server        netip.AddrPort
	RolesGuessed  bool // no SYN seen: client and server chosen by port heuristics
	FirstFrame    uint64
	LastFrame     uint64
	Start, End    time.Time
	ClientState   State
	ServerState   State
	ConnState     string // Zeek conn_state
	History       string // Zeek history
	Handshake     Handshake
	ClientBytes   uint64 // payload bytes, from sequence numbers (retransmissions counted once)
	ServerBytes   uint64
	ClientPackets uint64
	ServerPackets uint64
	Midstream     bool
	// EndedEarly says why the analysis stopped following the connection
	// before it ended (EndedMaxConns, EndedMaxMemory, EndedIdle); "" when
	// it ran its course or the capture ended. Segments of it that come
	// later make a new, midstream connection.
	EndedEarly string
	// Control segments each peer sent, every copy counted (as tshark counts
	// frames): [ClientToServer] for the client, [ServerToClient] for the server.
	Control  [2]ControlCounts
	Findings []Finding
	Timeline []Step // with Config.Timeline
}

// ControlCounts counts one peer's control segments.
type ControlCounts struct {
	SYN, SYNACK, FIN, RST uint64
}

// HalfOpen reports whether a peer was still between opening and closing
// when the record was made final: SYN_SENT, SYN_RCVD, FIN_WAIT_1,
// FIN_WAIT_2, CLOSE_WAIT, CLOSING or LAST_ACK (ESTABLISHED on both sides is
// open, not half-open; TIME_WAIT is a proper close).
func (c *Conn) HalfOpen() bool {
	return c.ClientState.halfOpen() || c.ServerState.halfOpen()
}

func (s State) halfOpen() bool {
	switch s {
	case SynSent, SynRcvd, FinWait1, FinWait2, CloseWait, Closing, LastAck:
		return true
	}
	return false
}

// Duration is End - Start.
func (c *Conn) Duration() time.Duration { return c.End.Sub(c.Start) }

// Worst returns the highest severity among c's findings, and false when it has none.
func (c *Conn) Worst() (Severity, bool) {
	if len(c.Findings) == 0 {
		return 0, false
	}
	w := Info
	for i := range c.Findings {
		if c.Findings[i].Severity > w {
			w = c.Findings[i].Severity
		}
	}
	return w, true
}
