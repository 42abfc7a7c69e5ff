package report

import (
	"sort"
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/human"
	"github.com/tcpflow-check/tcpflow-check/internal/timefmt"
)

// Record is one connection as the json, jsonl and yaml formats write it. The
// field names are the contract of docs/design.md §5: fields may be added, never
// renamed.
type Record struct {
	Type         string          `json:"type" yaml:"type"` // always "connection"
	ID           uint64          `json:"id" yaml:"id"`
	Input        string          `json:"input" yaml:"input"`
	Client       string          `json:"client" yaml:"client"` // "10.0.0.1:41234", "[2001:db8::1]:443"
	Server       string          `json:"server" yaml:"server"`
	FirstFrame   uint64          `json:"first_frame" yaml:"first_frame"`
	LastFrame    uint64          `json:"last_frame" yaml:"last_frame"`
	Start        string          `json:"start" yaml:"start"` // RFC 3339, UTC, µs (ns when the capture has them)
	DurationS    float64         `json:"duration_s" yaml:"duration_s"`
	ClientState  string          `json:"client_state" yaml:"client_state"`
	ServerState  string          `json:"server_state" yaml:"server_state"`
	ConnState    string          `json:"conn_state" yaml:"conn_state"` // Zeek vocabulary
	History      string          `json:"history" yaml:"history"`       // Zeek vocabulary
	Midstream    bool            `json:"midstream" yaml:"midstream"`
	EndedEarly   string          `json:"ended_early,omitempty" yaml:"ended_early,omitempty"` // max_conns, max_memory, idle_timeout: the analysis stopped following it
	RolesGuessed bool            `json:"roles_guessed" yaml:"roles_guessed"`
	Handshake    HandshakeRecord `json:"handshake" yaml:"handshake"`
	ClientBytes  uint64          `json:"client_bytes" yaml:"client_bytes"`
	ServerBytes  uint64          `json:"server_bytes" yaml:"server_bytes"`
	Packets      [2]uint64       `json:"packets" yaml:"packets,flow"` // client, server
	Findings     []FindingRecord `json:"findings" yaml:"findings"`    // [] when none
	Timeline     []StepRecord    `json:"timeline,omitempty" yaml:"timeline,omitempty"`
}

// HandshakeRecord is Record.Handshake. MSS and WScale are [client, server],
// null where that side did not offer the option.
type HandshakeRecord struct {
	Complete    bool     `json:"complete" yaml:"complete"`
	RTTS        *float64 `json:"rtt_s,omitempty" yaml:"rtt_s,omitempty"` // absent when unknown
	SYNCount    int      `json:"syn_count" yaml:"syn_count"`
	SYNACKCount int      `json:"synack_count" yaml:"synack_count"`
	MSS         [2]*int  `json:"mss" yaml:"mss,flow"`
	WScale      [2]*int  `json:"wscale" yaml:"wscale,flow"`
	SACK        bool     `json:"sack" yaml:"sack"`
}

// FindingRecord is one element of Record.Findings.
type FindingRecord struct {
	Kind      string   `json:"kind" yaml:"kind"`
	Severity  string   `json:"severity" yaml:"severity"`
	Frames    []uint64 `json:"frames" yaml:"frames,flow"`
	Time      string   `json:"time" yaml:"time"`
	DurationS *float64 `json:"duration_s,omitempty" yaml:"duration_s,omitempty"` // only for findings about waiting
	Evidence  string   `json:"evidence" yaml:"evidence"`
	By        string   `json:"by,omitempty" yaml:"by,omitempty"` // "client" or "server", when set
}

// StepRecord is one element of Record.Timeline. Seq and Ack are relative to
// each side's ISN, as Wireshark shows them.
type StepRecord struct {
	Frame       uint64 `json:"frame" yaml:"frame"`
	Time        string `json:"time" yaml:"time"`
	Dir         string `json:"dir" yaml:"dir"`     // "c>s" or "s>c"
	Flags       string `json:"flags" yaml:"flags"` // tcpdump letters: "S", "S.", "P.", "F.", "R"
	Seq         uint32 `json:"seq" yaml:"seq"`
	Ack         uint32 `json:"ack" yaml:"ack"`
	Len         uint32 `json:"len" yaml:"len"`
	Win         uint16 `json:"win" yaml:"win"`
	ClientState string `json:"client_state" yaml:"client_state"`
	ServerState string `json:"server_state" yaml:"server_state"`
	Note        string `json:"note,omitempty" yaml:"note,omitempty"` // "retransmission", "out-of-order", ...
}

// NewRecord converts c to its record. The timeline is included when
// timeline is true and c has one.
func NewRecord(c *analyze.Conn, timeline bool) *Record {
	r := &Record{
		Type:         "connection",
		ID:           c.ID,
		Input:        c.Input,
		Client:       human.AddrPort(c.Client),
		Server:       human.AddrPort(c.Server),
		FirstFrame:   c.FirstFrame,
		LastFrame:    c.LastFrame,
		Start:        formatTime(c.Start),
		DurationS:    seconds(c.Duration()),
		ClientState:  c.ClientState.String(),
		ServerState:  c.ServerState.String(),
		ConnState:    c.ConnState,
		History:      c.History,
		Midstream:    c.Midstream,
		EndedEarly:   c.EndedEarly,
		RolesGuessed: c.RolesGuessed,
		ClientBytes:  c.ClientBytes,
		ServerBytes:  c.ServerBytes,
		Packets:      [2]uint64{c.ClientPackets, c.ServerPackets},
		Findings:     make([]FindingRecord, 0, len(c.Findings)),
	}
	h := &c.Handshake
	r.Handshake = HandshakeRecord{
		Complete:    h.Complete,
		SYNCount:    h.SYNCount,
		SYNACKCount: h.SYNACKCount,
		SACK:        h.SACK,
	}
	if h.HasRTT {
		r.Handshake.RTTS = ptr(seconds(h.RTT))
	}
	for i := range 2 {
		if h.MSS[i] != 0 {
			r.Handshake.MSS[i] = ptr(int(h.MSS[i]))
		}
		if h.WScale[i] >= 0 {
			r.Handshake.WScale[i] = ptr(int(h.WScale[i]))
		}
	}
	for i := range c.Findings {
		r.Findings = append(r.Findings, NewFindingRecord(&c.Findings[i]))
	}
	if timeline && len(c.Timeline) > 0 {
		r.Timeline = make([]StepRecord, len(c.Timeline))
		for i := range c.Timeline {
			s := &c.Timeline[i]
			r.Timeline[i] = StepRecord{
				Frame:       s.Frame,
				Time:        formatTime(s.Time),
				Dir:         s.Dir.String(),
				Flags:       s.Flags.String(),
				Seq:         s.Seq,
				Ack:         s.Ack,
				Len:         s.Len,
				Win:         s.Window,
				ClientState: s.ClientState.String(),
				ServerState: s.ServerState.String(),
				Note:        s.Note,
			}
		}
	}
	return r
}

// NewFindingRecord converts f as the records write it; check's verdict
// embeds it.
func NewFindingRecord(f *analyze.Finding) FindingRecord {
	fr := FindingRecord{
		Kind:     string(f.Kind),
		Severity: f.Severity.String(),
		Frames:   f.Frames,
		Time:     formatTime(f.Time),
		Evidence: f.Evidence,
		By:       f.By,
	}
	if fr.Frames == nil {
		fr.Frames = []uint64{}
	}
	if f.HasDuration {
		fr.DurationS = ptr(seconds(f.Duration))
	}
	return fr
}

// InputRecord is one element of the document's "inputs".
type InputRecord struct {
	Name         string            `json:"name" yaml:"name"`
	Packets      uint64            `json:"packets" yaml:"packets"`
	Bytes        uint64            `json:"bytes" yaml:"bytes"`
	Segments     uint64            `json:"segments" yaml:"segments"`
	Skipped      map[string]uint64 `json:"skipped,omitempty" yaml:"skipped,omitempty"`
	CaptureStart string            `json:"capture_start,omitempty" yaml:"capture_start,omitempty"`
	CaptureEnd   string            `json:"capture_end,omitempty" yaml:"capture_end,omitempty"`
	// CaptureStopped is when the capture stopped as its source says
	// (pcapng isb_endtime), when that is later than its last packet: the
	// end pending conditions were judged against.
	CaptureStopped string `json:"capture_stopped,omitempty" yaml:"capture_stopped,omitempty"`
	// IPFragments counts IP fragment reassembly, with the frames of the
	// first datagrams given up; present when the input held fragments.
	IPFragments *capture.FragmentStats `json:"ip_fragments,omitempty" yaml:"ip_fragments,omitempty"`
	Dropped     uint64                 `json:"dropped,omitempty" yaml:"dropped,omitempty"`         // kernel drops (live)
	IfDropped   uint64                 `json:"if_dropped,omitempty" yaml:"if_dropped,omitempty"`   // interface drops (live)
	Error       string                 `json:"error,omitempty" yaml:"error,omitempty"`             // damage that ended reading early
	Interrupted string                 `json:"interrupted,omitempty" yaml:"interrupted,omitempty"` // the signal that ended reading early
	// TimeBackwards is present when frames are stamped earlier than the
	// frame before them.
	TimeBackwards *BackwardsRecord `json:"time_backwards,omitempty" yaml:"time_backwards,omitempty"`
}

// BackwardsRecord is "time_backwards" of an input and of the summary: the
// frames stamped earlier than the frame before them in their input (a
// clock stepped back), the largest step back, and the first frame that
// made one, of FirstInput in the summary. Each connection's clock is held
// at its latest time meanwhile, so that durations and RTTs are never
// negative.
type BackwardsRecord struct {
	Count      uint64  `json:"count" yaml:"count"`
	MaxJumpS   float64 `json:"max_jump_s" yaml:"max_jump_s"`
	FirstFrame uint64  `json:"first_frame" yaml:"first_frame"`
	FirstInput string  `json:"first_input,omitempty" yaml:"first_input,omitempty"` // in the summary
}

// NewBackwardsRecord is st's time_backwards; nil when time never went back.
func NewBackwardsRecord(st *capture.Stats, input string) *BackwardsRecord {
	if st.Backwards == 0 {
		return nil
	}
	return &BackwardsRecord{Count: st.Backwards, MaxJumpS: seconds(st.BackMax), FirstFrame: st.BackFrame, FirstInput: input}
}

// firstBackwards is the first input whose clock went back; nil when none did.
func firstBackwards(s *Summary) *Input {
	for i := range s.Inputs {
		if s.Inputs[i].Stats.Backwards > 0 {
			return &s.Inputs[i]
		}
	}
	return nil
}

// SummaryRecord is the document's "summary" (and, with "type":"summary", the
// last line of jsonl).
type SummaryRecord struct {
	Packets        uint64            `json:"packets" yaml:"packets"`
	Bytes          uint64            `json:"bytes" yaml:"bytes"`
	Segments       uint64            `json:"segments" yaml:"segments"`
	Connections    uint64            `json:"connections" yaml:"connections"`
	ByConnState    map[string]uint64 `json:"by_conn_state" yaml:"by_conn_state"`
	ByKind         map[string]uint64 `json:"by_kind" yaml:"by_kind"`
	HandshakeRTT   RTTRecord         `json:"handshake_rtt" yaml:"handshake_rtt"`
	Skipped        map[string]uint64 `json:"skipped" yaml:"skipped"`
	LinkTypes      map[string]uint64 `json:"link_types" yaml:"link_types"`
	Encapsulations map[string]uint64 `json:"encapsulations" yaml:"encapsulations"`
	BadChecksum    uint64            `json:"bad_checksum" yaml:"bad_checksum"`
	Evicted        uint64            `json:"evicted" yaml:"evicted"`                               // connections ended early: idle_evicted + cap_hit + memory_hit
	IdleEvicted    uint64            `json:"idle_evicted,omitempty" yaml:"idle_evicted,omitempty"` // when nonzero
	CapHit         uint64            `json:"cap_hit" yaml:"cap_hit"`
	MemoryHit      uint64            `json:"memory_hit,omitempty" yaml:"memory_hit,omitempty"` // when nonzero
	MaxOpen        int               `json:"max_open" yaml:"max_open"`
	CaptureStart   string            `json:"capture_start,omitempty" yaml:"capture_start,omitempty"` // absent when no packet was read
	CaptureEnd     string            `json:"capture_end,omitempty" yaml:"capture_end,omitempty"`
	// IPFragments counts IP fragment reassembly over every input (the
	// frames of datagrams given up are in each input's record); present
	// when any input held fragments.
	IPFragments   *capture.FragmentStats `json:"ip_fragments,omitempty" yaml:"ip_fragments,omitempty"`
	Dropped       uint64                 `json:"dropped,omitempty" yaml:"dropped,omitempty"` // kernel drops (live), when nonzero
	IfDropped     uint64                 `json:"if_dropped,omitempty" yaml:"if_dropped,omitempty"`
	ElapsedS      *float64               `json:"elapsed_s,omitempty" yaml:"elapsed_s,omitempty"`           // wall clock; absent with NoElapsed
	TimeBackwards *BackwardsRecord       `json:"time_backwards,omitempty" yaml:"time_backwards,omitempty"` // when a frame is stamped before the frame before it
}

// RTTRecord is SummaryRecord.HandshakeRTT. Percentiles come from a
// logarithmic histogram, rounded to the microsecond, and are exact to about
// a quarter; min and max are exact. All are 0 when count is 0.
type RTTRecord struct {
	Count uint64  `json:"count" yaml:"count"`
	MinS  float64 `json:"min_s" yaml:"min_s"`
	P50S  float64 `json:"p50_s" yaml:"p50_s"`
	P90S  float64 `json:"p90_s" yaml:"p90_s"`
	P99S  float64 `json:"p99_s" yaml:"p99_s"`
	MaxS  float64 `json:"max_s" yaml:"max_s"`
}

// NewInputRecords converts s.Inputs.
func NewInputRecords(s *Summary) []InputRecord {
	out := make([]InputRecord, 0, len(s.Inputs))
	for i := range s.Inputs {
		in := &s.Inputs[i]
		r := InputRecord{
			Name:          in.Name,
			Packets:       in.Stats.Packets,
			Bytes:         in.Stats.Bytes,
			Segments:      in.Stats.Segments,
			Skipped:       in.Stats.Skipped,
			CaptureStart:  formatTimeOpt(in.Stats.First),
			CaptureEnd:    formatTimeOpt(in.Stats.Last),
			IPFragments:   fragmentRecord(&in.Stats.Fragments, true),
			Dropped:       in.Stats.Dropped,
			IfDropped:     in.Stats.IfDropped,
			Interrupted:   in.Interrupted,
			TimeBackwards: NewBackwardsRecord(&in.Stats, ""),
		}
		if in.Stats.End.After(in.Stats.Last) {
			r.CaptureStopped = formatTimeOpt(in.Stats.End)
		}
		if in.Err != nil {
			r.Error = in.Err.Error()
		}
		out = append(out, r)
	}
	return out
}

// newSummaryRecord converts s. Analyzer counters that s leaves empty (nil
// maps, zero counts) are taken from t, the writer's own tally; with a nil t
// they stay empty.
func newSummaryRecord(s *Summary, t *tally, noElapsed bool) *SummaryRecord {
	a := s.Analysis
	if t != nil {
		a = t.analysis(s)
	}
	cs := &s.Capture
	r := &SummaryRecord{
		Packets:        cs.Packets,
		Bytes:          cs.Bytes,
		Segments:       cs.Segments,
		Connections:    a.Connections,
		ByConnState:    nonNil(a.ByConnState),
		ByKind:         make(map[string]uint64, len(a.ByKind)),
		HandshakeRTT:   newRTTRecord(&a.HandshakeRTT),
		Skipped:        nonNil(cs.Skipped),
		LinkTypes:      nonNil(cs.LinkTypes),
		Encapsulations: nonNil(cs.Encaps),
		BadChecksum:    cs.BadChecksum,
		Evicted:        a.Evicted,
		IdleEvicted:    a.IdleEvicted,
		CapHit:         a.CapHit,
		MemoryHit:      a.MemoryHit,
		MaxOpen:        a.MaxOpen,
		CaptureStart:   formatTimeOpt(cs.First),
		CaptureEnd:     formatTimeOpt(cs.Last),
		IPFragments:    fragmentRecord(&cs.Fragments, len(s.Inputs) <= 1),
		Dropped:        cs.Dropped,
		IfDropped:      cs.IfDropped,
	}
	for k, n := range a.ByKind {
		r.ByKind[string(k)] = n
	}
	if r.TimeBackwards = NewBackwardsRecord(cs, ""); r.TimeBackwards != nil {
		if in := firstBackwards(s); in != nil {
			r.TimeBackwards.FirstInput, r.TimeBackwards.FirstFrame = in.Name, in.Stats.BackFrame
		}
	}
	if !noElapsed {
		r.ElapsedS = ptr(seconds(s.Elapsed))
	}
	return r
}

// NewSummaryRecord converts s as the writers do, except that counters s
// leaves empty stay empty.
func NewSummaryRecord(s *Summary, noElapsed bool) *SummaryRecord {
	return newSummaryRecord(orEmpty(s), nil, noElapsed)
}

func newRTTRecord(h *analyze.Histogram) RTTRecord {
	if h.Count == 0 {
		return RTTRecord{}
	}
	return RTTRecord{
		Count: h.Count,
		MinS:  seconds(h.Min),
		P50S:  seconds(h.Quantile(0.50).Round(time.Microsecond)),
		P90S:  seconds(h.Quantile(0.90).Round(time.Microsecond)),
		P99S:  seconds(h.Quantile(0.99).Round(time.Microsecond)),
		MaxS:  seconds(h.Max),
	}
}

// formatTime writes t in UTC as RFC 3339 with microseconds, or nanoseconds
// when t has sub-microsecond precision (pcapng can), always ending in "Z";
// a time RFC 3339 cannot write (years past 9999) as seconds since the
// epoch, "9223372036854.775807" (timefmt.RFC3339).
func formatTime(t time.Time) string { return timefmt.RFC3339(t) }

func formatTimeOpt(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return formatTime(t)
}

func seconds(d time.Duration) float64 { return d.Seconds() }

func ptr[T any](v T) *T { return &v }

func nonNil(m map[string]uint64) map[string]uint64 {
	if m == nil {
		return map[string]uint64{}
	}
	return m
}

// sortedKeys returns m's keys by descending count, then name.
func sortedKeys(m map[string]uint64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}

// flagNames writes f as Wireshark does, e.g. "SYN,ACK", "FIN,PSH,ACK";
// "none" for no flags.
func flagNames(f capture.Flags) string {
	var b []byte
	for _, x := range [...]struct {
		f capture.Flags
		s string
	}{{capture.FIN, "FIN"}, {capture.SYN, "SYN"}, {capture.RST, "RST"}, {capture.PSH, "PSH"},
		{capture.ACK, "ACK"}, {capture.URG, "URG"}, {capture.ECE, "ECE"}, {capture.CWR, "CWR"}} {
		if f&x.f != 0 {
			if len(b) > 0 {
				b = append(b, ',')
			}
			b = append(b, x.s...)
		}
	}
	if b == nil {
		return "none"
	}
	return string(b)
}

// fragmentRecord is the record of f, nil when no fragment was read; frames
// says whether its frame numbers name frames of one input.
func fragmentRecord(f *capture.FragmentStats, frames bool) *capture.FragmentStats {
	if f.Fragments == 0 {
		return nil
	}
	r := *f
	if !frames {
		r.TimeoutFrame, r.LimitFrame, r.InvalidFrame, r.UnfinishedFrame = 0, 0, 0, 0
	}
	return &r
}
