package report

import (
	"math"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/tcpflow-check/tcpflow-check/analyze"
)

// The json and jsonl formats write a connection's record with the
// append-based encoder below instead of encoding/json's reflection: a record
// per connection is most of their cost on a large capture. Its output is
// byte for byte what encodeJSON(NewRecord(c, timeline)) writes (the field
// order of Record, encoding/json's string escaping without HTML escaping,
// its float format, its omitempty); TestAppendRecordMatchesEncodingJSON
// holds it to that. A field added to Record must be added here too.

// appendRecord appends c's record as compact JSON, without a newline.
func appendRecord(b []byte, c *analyze.Conn, timeline bool) []byte {
	return (*recMemo)(nil).appendRecord(b, c, timeline)
}

// recMemo remembers parts of the latest record's encoding that the next
// record likely shares — a flood's records have the same input, states,
// handshake and counts, mostly the same evidence, and start within the
// same second — to copy them instead of encoding them again. A nil
// *recMemo remembers nothing.
type recMemo struct {
	quoted [memoStrings]struct {
		s  string
		q  []byte // s quoted
		ok bool
	}
	// the latest time in the fast range: its second since the epoch, its
	// nanoseconds, its text
	sec      int64
	ns       int
	timeText []byte
	// the latest finding's kind and severity, and their text
	head     findingHead
	headText []byte
	mid      middle // the latest record's, and its text
	midOK    bool
	midText  []byte
}

// The strings a recMemo remembers.
const (
	memoInput = iota
	memoEvidence
	memoStrings
)

// quote appends s quoted (appendQuoted without HTML escaping), s being
// the memo's string i.
func (m *recMemo) quote(b []byte, i int, s string) []byte {
	if m == nil {
		return appendQuoted(b, s, false)
	}
	q := &m.quoted[i]
	if q.ok && s == q.s {
		return append(b, q.q...)
	}
	n := len(b)
	b = appendQuoted(b, s, false)
	q.s, q.q, q.ok = s, append(q.q[:0], b[n:]...), true
	return b
}

// appendRecord is appendRecord, remembering.
func (m *recMemo) appendRecord(b []byte, c *analyze.Conn, timeline bool) []byte {
	b = append(b, `{"type":"connection","id":`...)
	b = strconv.AppendUint(b, c.ID, 10)
	b = append(b, `,"input":`...)
	b = m.quote(b, memoInput, c.Input)
	b = append(b, `,"client":`...)
	b = appendAddrPort(b, c.Client)
	b = append(b, `,"server":`...)
	b = appendAddrPort(b, c.Server)
	b = append(b, `,"first_frame":`...)
	b = strconv.AppendUint(b, c.FirstFrame, 10)
	b = append(b, `,"last_frame":`...)
	b = strconv.AppendUint(b, c.LastFrame, 10)
	b = append(b, `,"start":"`...)
	b = m.appendTime(b, c.Start)
	b = append(b, `","duration_s":`...)
	b = appendJSONFloat(b, seconds(c.Duration()))
	b = m.appendMiddle(b, c)
	for i := range c.Findings {
		if i > 0 {
			b = append(b, ',')
		}
		b = m.appendFinding(b, &c.Findings[i])
	}
	b = append(b, ']')
	if timeline && len(c.Timeline) > 0 {
		b = append(b, `,"timeline":[`...)
		for i := range c.Timeline {
			if i > 0 {
				b = append(b, ',')
			}
			b = m.appendStep(b, &c.Timeline[i])
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// middle is what appendMiddle writes of a record: its fields from
// client_state to the packets, all comparable.
type middle struct {
	cs, ss                         analyze.State
	connState, history, endedEarly string
	midstream, rolesGuessed        bool
	hs                             analyze.Handshake
	cBytes, sBytes, cPkts, sPkts   uint64
}

func middleOf(c *analyze.Conn) middle {
	return middle{c.ClientState, c.ServerState, c.ConnState, c.History, c.EndedEarly, c.Midstream, c.RolesGuessed,
		c.Handshake, c.ClientBytes, c.ServerBytes, c.ClientPackets, c.ServerPackets}
}

// appendMiddle appends c's fields from client_state to the findings' "[",
// copied from the latest record's when they are the same (a flood's all
// are).
func (m *recMemo) appendMiddle(b []byte, c *analyze.Conn) []byte {
	if m == nil {
		return appendMiddle(b, c)
	}
	k := middleOf(c)
	if m.midOK && k == m.mid {
		return append(b, m.midText...)
	}
	n := len(b)
	b = appendMiddle(b, c)
	m.mid, m.midOK, m.midText = k, true, append(m.midText[:0], b[n:]...)
	return b
}

func appendMiddle(b []byte, c *analyze.Conn) []byte {
	b = append(b, `,"client_state":`...)
	b = appendQuoted(b, c.ClientState.String(), false)
	b = append(b, `,"server_state":`...)
	b = appendQuoted(b, c.ServerState.String(), false)
	b = append(b, `,"conn_state":`...)
	b = appendQuoted(b, c.ConnState, false)
	b = append(b, `,"history":`...)
	b = appendQuoted(b, c.History, false)
	b = append(b, `,"midstream":`...)
	b = strconv.AppendBool(b, c.Midstream)
	if c.EndedEarly != "" {
		b = append(b, `,"ended_early":`...)
		b = appendQuoted(b, c.EndedEarly, false)
	}
	b = append(b, `,"roles_guessed":`...)
	b = strconv.AppendBool(b, c.RolesGuessed)

	h := &c.Handshake
	b = append(b, `,"handshake":{"complete":`...)
	b = strconv.AppendBool(b, h.Complete)
	if h.HasRTT {
		b = append(b, `,"rtt_s":`...)
		b = appendJSONFloat(b, seconds(h.RTT))
	}
	b = append(b, `,"syn_count":`...)
	b = strconv.AppendInt(b, int64(h.SYNCount), 10)
	b = append(b, `,"synack_count":`...)
	b = strconv.AppendInt(b, int64(h.SYNACKCount), 10)
	b = append(b, `,"mss":[`...)
	for i := range 2 {
		if i > 0 {
			b = append(b, ',')
		}
		if h.MSS[i] != 0 {
			b = strconv.AppendInt(b, int64(h.MSS[i]), 10)
		} else {
			b = append(b, "null"...)
		}
	}
	b = append(b, `],"wscale":[`...)
	for i := range 2 {
		if i > 0 {
			b = append(b, ',')
		}
		if h.WScale[i] >= 0 {
			b = strconv.AppendInt(b, int64(h.WScale[i]), 10)
		} else {
			b = append(b, "null"...)
		}
	}
	b = append(b, `],"sack":`...)
	b = strconv.AppendBool(b, h.SACK)

	b = append(b, `},"client_bytes":`...)
	b = strconv.AppendUint(b, c.ClientBytes, 10)
	b = append(b, `,"server_bytes":`...)
	b = strconv.AppendUint(b, c.ServerBytes, 10)
	b = append(b, `,"packets":[`...)
	b = strconv.AppendUint(b, c.ClientPackets, 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, c.ServerPackets, 10)
	b = append(b, `],"findings":[`...)
	return b
}

// findingHead is what appendHead writes of a finding.
type findingHead struct {
	kind analyze.Kind
	sev  analyze.Severity
	ok   bool
}

// appendHead appends f's fields before its frames, and the frames' "[".
func (m *recMemo) appendHead(b []byte, f *analyze.Finding) []byte {
	k := findingHead{f.Kind, f.Severity, true}
	if m != nil && k == m.head {
		return append(b, m.headText...)
	}
	n := len(b)
	b = append(b, `{"kind":`...)
	b = appendQuoted(b, string(f.Kind), false)
	b = append(b, `,"severity":`...)
	b = appendQuoted(b, f.Severity.String(), false)
	b = append(b, `,"frames":[`...)
	if m != nil {
		m.head, m.headText = k, append(m.headText[:0], b[n:]...)
	}
	return b
}

// appendFinding appends f as NewFindingRecord(f) encodes.
func (m *recMemo) appendFinding(b []byte, f *analyze.Finding) []byte {
	b = m.appendHead(b, f)
	for i, fr := range f.Frames {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, fr, 10)
	}
	b = append(b, `],"time":"`...)
	b = m.appendTime(b, f.Time)
	b = append(b, '"')
	if f.HasDuration {
		b = append(b, `,"duration_s":`...)
		b = appendJSONFloat(b, seconds(f.Duration))
	}
	b = append(b, `,"evidence":`...)
	b = m.quote(b, memoEvidence, f.Evidence)
	if f.By != "" {
		b = append(b, `,"by":`...)
		b = appendQuoted(b, f.By, false)
	}
	return append(b, '}')
}

// appendStep appends s as a StepRecord encodes.
func (m *recMemo) appendStep(b []byte, s *analyze.Step) []byte {
	b = append(b, `{"frame":`...)
	b = strconv.AppendUint(b, s.Frame, 10)
	b = append(b, `,"time":"`...)
	b = m.appendTime(b, s.Time)
	b = append(b, `","dir":`...)
	b = appendQuoted(b, s.Dir.String(), false)
	b = append(b, `,"flags":`...)
	b = appendQuoted(b, s.Flags.String(), false)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, uint64(s.Seq), 10)
	b = append(b, `,"ack":`...)
	b = strconv.AppendUint(b, uint64(s.Ack), 10)
	b = append(b, `,"len":`...)
	b = strconv.AppendUint(b, uint64(s.Len), 10)
	b = append(b, `,"win":`...)
	b = strconv.AppendUint(b, uint64(s.Window), 10)
	b = append(b, `,"client_state":`...)
	b = appendQuoted(b, s.ClientState.String(), false)
	b = append(b, `,"server_state":`...)
	b = appendQuoted(b, s.ServerState.String(), false)
	if s.Note != "" {
		b = append(b, `,"note":`...)
		b = appendQuoted(b, s.Note, false)
	}
	return append(b, '}')
}

// appendAddrPort appends human.AddrPort(ap) as a JSON string.
func appendAddrPort(b []byte, ap netip.AddrPort) []byte {
	b = append(b, '"')
	if a := ap.Addr(); a.Is4() {
		// what AppendTo writes of an IPv4 address and port, directly
		for i, o := range a.As4() {
			if i > 0 {
				b = append(b, '.')
			}
			b = appendOctet(b, o)
		}
		b = strconv.AppendUint(append(b, ':'), uint64(ap.Port()), 10)
	} else if ap.IsValid() {
		b = netip.AddrPortFrom(a.WithZone(""), ap.Port()).AppendTo(b)
	}
	return append(b, '"')
}

// appendOctet appends o in decimal.
func appendOctet(b []byte, o byte) []byte {
	switch {
	case o >= 100:
		return append(b, '0'+o/100, '0'+o/10%10, '0'+o%10)
	case o >= 10:
		return append(b, '0'+o/10, '0'+o%10)
	}
	return append(b, '0'+o)
}

// appendJSONFloat appends f as encoding/json writes a float64: like %g
// but with ES6's exponent cutoffs and unpadded exponents.
func appendJSONFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendQuoted appends s quoted as encoding/json does: quotes,
// backslashes and control characters escaped, invalid UTF-8 as U+FFFD,
// U+2028 and U+2029 escaped, and with escapeHTML <, > and & too.
func appendQuoted(b []byte, s string, escapeHTML bool) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if i+8 <= len(s) {
			// Eight bytes at a time while none needs escaping: a byte
			// below 0x20, or equal to a quote or a backslash (or <, >, &
			// with escapeHTML), becomes a set high bit, as does one
			// beyond ASCII. A false alarm only sends the bytes to the
			// careful path below.
			const lo, hi = 0x0101010101010101, 0x8080808080808080
			x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
				uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
			q, bs := x^('"'*lo), x^('\\'*lo)
			bad := (x | (q-lo)&^q | (bs-lo)&^bs | (x-0x20*lo)&^x) & hi
			if escapeHTML {
				lt, gt, amp := x^('<'*lo), x^('>'*lo), x^('&'*lo)
				bad |= ((lt-lo)&^lt | (gt-lo)&^gt | (amp-lo)&^amp) & hi
			}
			if bad == 0 {
				i += 8
				continue
			}
		}
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && (!escapeHTML || c != '<' && c != '>' && c != '&') {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendTime appends formatTime(t): RFC 3339 in UTC with microseconds, or
// nanoseconds when t has sub-microsecond precision.
func appendTime(b []byte, t time.Time) []byte { return (*recMemo)(nil).appendTime(b, t) }

// appendTime is appendTime, remembering the latest second's text.
func (m *recMemo) appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	if sec := t.Unix(); sec >= minFastTime && sec < maxFastTime {
		ns := t.Nanosecond()
		n := len(b)
		if m != nil && sec == m.sec && len(m.timeText) > 0 {
			if ns == m.ns {
				return append(b, m.timeText...)
			}
			b = appendFraction(append(b, m.timeText[:secLen]...), ns)
			m.ns, m.timeText = ns, append(m.timeText[:0], b[n:]...)
			return b
		}
		// Years 0000 to 9999 (timefmt.InRange): what formatTime writes,
		// without interpreting a layout — the civil date from the days
		// since 0000-01-01 (H. Hinnant's civil_from_days).
		days := (sec - minFastTime) / 86400
		sod := int(sec - minFastTime - days*86400)
		z := days - 60 // days since 0000-03-01
		era := z
		if era < 0 {
			era -= 146096
		}
		era /= 146097
		doe := z - era*146097
		yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
		doy := doe - (365*yoe + yoe/4 - yoe/100)
		mp := (5*doy + 2) / 153
		d := int(doy - (153*mp+2)/5 + 1)
		mo := int(mp + 3)
		if mo > 12 {
			mo -= 12
		}
		y := int(yoe + era*400)
		if mo <= 2 {
			y++
		}
		b = appendDigits(b, y, 4)
		b = append(b, '-')
		b = append2(b, mo)
		b = append(b, '-')
		b = append2(b, d)
		b = append(b, 'T')
		b = append2(b, sod/3600)
		b = append(b, ':')
		b = append2(b, sod/60%60)
		b = append(b, ':')
		b = append2(b, sod%60)
		b = appendFraction(b, ns)
		if m != nil {
			m.sec, m.ns, m.timeText = sec, ns, append(m.timeText[:0], b[n:]...)
		}
		return b
	}
	return append(b, formatTime(t)...)
}

// secLen is the length of appendTime's fast path text to the second.
const secLen = len("2006-01-02T15:04:05")

// appendFraction appends the fraction of a second of appendTime's fast
// path, ns nanoseconds, and the zone.
func appendFraction(b []byte, ns int) []byte {
	if ns%1000 != 0 {
		b = appendDigits(append(b, '.'), ns, 9)
	} else {
		b = appendDigits(append(b, '.'), ns/1000, 6)
	}
	return append(b, 'Z')
}

// The seconds since the epoch of 0000-01-01 and of 10000-01-01: the times
// appendTime writes without time.Format.
const (
	minFastTime = -62167219200
	maxFastTime = 253402300800
)

// append2 appends v (0 <= v < 100) as two digits.
func append2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

// appendDigits appends v (0 <= v < 10^n) as n decimal digits.
func appendDigits(b []byte, v, n int) []byte {
	var d [9]byte
	for i := n - 1; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, d[:n]...)
}
