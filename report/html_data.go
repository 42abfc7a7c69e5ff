package report

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/internal/human"
)

// The HTML report embeds every connection once, as compact JSON that its
// script reads (html/report.js, decodeSteps and the row layout there): the
// page draws tables and ladders from it on demand instead of carrying
// 100,000 pre-drawn SVGs. These bounds keep the page's size bounded however
// big the capture; each one hit is said on the page.
const (
	// htmlMaxRows is how many connections the page lists; the rest are in
	// the summary's counts only.
	htmlMaxRows = 200_000
	// htmlMaxSteps is how many segments of one connection its ladder shows
	// (its opening and its end, where a connection's problems usually are,
	// and every segment a finding rests on; see pickSteps).
	htmlMaxSteps = 1000
	// htmlStepBudget caps the bytes of encoded timelines on the page:
	// 10 to 20 bytes a segment, so about a million segments. Connections
	// without findings may use only three quarters of it, so that the ones
	// with findings that come later keep theirs.
	htmlStepBudget = 16 << 20
)

// Row fields, in order (report.js's R_* constants name the same indexes).
//
//	[id, input, client, server, first_frame, last_frame, start_us, duration_us,
//	 client_state, server_state, conn_state, history, rtt_us, client_bytes,
//	 server_bytes, client_packets, server_packets, flags, findings, steps, timeline
//	 (, gaps)]
//
// start_us is relative to the data's "t0" (the start of the first connection
// written), rtt_us is -1 when unknown, flags has bit 0 for midstream and bit 1
// for guessed roles, findings is a list of
// [kind, severity, frames, time_us (from the connection's start, -1 when
// unknown), duration_us (-1 when not about waiting), evidence, by], steps is
// the number of segments in the connection's timeline, timeline is the
// encoding of those on the page (encodeSteps) or 0 when none is, and gaps,
// present only when some were left out (pickSteps), lists
// [index, segments left out before it].

// htmlLimits are the page's bounds; the writer uses the constants above,
// tests smaller ones.
type htmlLimits struct {
	rows, steps, stepBudget int
}

var defaultHTMLLimits = htmlLimits{rows: htmlMaxRows, steps: htmlMaxSteps, stepBudget: htmlStepBudget}

// htmlData accumulates the embedded data as connections end.
type htmlData struct {
	lim       htmlLimits
	rows      bytes.Buffer // the rows, comma separated
	n         int          // rows written
	dropped   uint64       // connections beyond htmlMaxRows
	t0        time.Time
	stepBytes int    // bytes of timelines embedded
	noSteps   uint64 // connections whose timeline was left out for the budget
	cutSteps  uint64 // connections whose timeline was cut at htmlMaxSteps
	inputs    intern
	zeek      intern
	kinds     intern
	notes     intern
	tmp       []byte
}

// intern numbers strings in order of first appearance.
type intern struct {
	index map[string]int
	list  []string
}

func (in *intern) id(s string) int {
	if i, ok := in.index[s]; ok {
		return i
	}
	if in.index == nil {
		in.index = make(map[string]int)
	}
	in.index[s] = len(in.list)
	in.list = append(in.list, s)
	return len(in.list) - 1
}

// add appends c's row and returns its index, or -1 when the page is full.
func (d *htmlData) add(c *analyze.Conn) int {
	if d.n >= d.lim.rows {
		d.dropped++
		return -1
	}
	if d.n == 0 {
		d.t0 = c.Start
		d.notes.id("") // note 0 is "no note"
	}
	b := d.tmp[:0]
	if d.n > 0 {
		b = append(b, ",\n"...)
	}
	b = append(b, '[')
	b = strconv.AppendUint(b, c.ID, 10)
	b = appendInt(b, d.inputs.id(c.Input))
	b = appendJSONString(append(b, ','), human.AddrPort(c.Client))
	b = appendJSONString(append(b, ','), human.AddrPort(c.Server))
	b = appendUint(b, c.FirstFrame)
	b = appendUint(b, c.LastFrame)
	b = appendInt64(b, micros(c.Start, d.t0))
	b = appendInt64(b, c.Duration().Microseconds())
	b = appendInt(b, int(c.ClientState))
	b = appendInt(b, int(c.ServerState))
	b = appendInt(b, d.zeek.id(c.ConnState))
	b = appendJSONString(append(b, ','), c.History)
	rtt := int64(-1)
	if c.Handshake.HasRTT {
		rtt = c.Handshake.RTT.Microseconds()
	}
	b = appendInt64(b, rtt)
	b = appendUint(b, c.ClientBytes)
	b = appendUint(b, c.ServerBytes)
	b = appendUint(b, c.ClientPackets)
	b = appendUint(b, c.ServerPackets)
	flags := 0
	if c.Midstream {
		flags |= 1
	}
	if c.RolesGuessed {
		flags |= 2
	}
	b = appendInt(b, flags)
	b = append(b, ",["...)
	for i := range c.Findings {
		f := &c.Findings[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(d.kinds.id(string(f.Kind))), 10)
		b = appendInt(b, int(f.Severity))
		b = append(b, ",["...)
		for j, fr := range f.Frames {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendUint(b, fr, 10)
		}
		b = append(b, ']')
		t := int64(-1)
		if !f.Time.IsZero() && !c.Start.IsZero() {
			t = f.Time.Sub(c.Start).Microseconds()
		}
		b = appendInt64(b, t)
		dur := int64(-1)
		if f.HasDuration {
			dur = f.Duration.Microseconds()
		}
		b = appendInt64(b, dur)
		b = appendJSONString(append(b, ','), f.Evidence)
		b = appendJSONString(append(b, ','), f.By)
		b = append(b, ']')
	}
	b = append(b, ']')
	b = appendInt(b, len(c.Timeline))
	b = append(b, ',')
	// The budget: connections with findings may fill it, others three
	// quarters.
	budget := d.lim.stepBudget
	if len(c.Findings) == 0 {
		budget -= budget / 4
	}
	switch {
	case len(c.Timeline) == 0:
		b = append(b, '0')
	case d.stepBytes >= budget:
		d.noSteps++
		b = append(b, '0')
	default:
		steps, gaps := pickSteps(c, d.lim.steps)
		if gaps != nil {
			d.cutSteps++
		}
		n := len(b)
		b = append(b, '"')
		b = d.encodeSteps(b, c, steps)
		b = append(b, '"')
		if gaps != nil {
			b = append(b, ",["...)
			for i, g := range gaps {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(strconv.AppendInt(append(strconv.AppendInt(append(b, '['), int64(g[0]), 10), ','), int64(g[1]), 10), ']')
			}
			b = append(b, ']')
		}
		d.stepBytes += len(b) - n
	}
	b = append(b, ']')
	d.rows.Write(b)
	d.tmp = b[:0]
	d.n++
	return d.n - 1
}

// pickSteps returns the segments of c's ladder: all of them when they are
// at most limit; else the first nine tenths of limit, the last tenth, and
// every segment a finding rests on (a reset at the end of a long transfer
// stays on its ladder), in order. gaps lists where segments were left out:
// [index in the result of the segment after the gap, segments left out].
func pickSteps(c *analyze.Conn, limit int) (steps []analyze.Step, gaps [][2]int) {
	all := c.Timeline
	if len(all) <= limit {
		return all, nil
	}
	head := limit * 9 / 10
	tail := len(all) - (limit - head)
	wanted := map[uint64]bool{}
	for i := range c.Findings {
		for _, fr := range c.Findings[i].Frames {
			wanted[fr] = true
		}
	}
	steps = make([]analyze.Step, 0, limit+len(wanted))
	prev := -1
	for i := range all {
		if i >= head && i < tail && !wanted[all[i].Frame] {
			continue
		}
		if i > prev+1 {
			gaps = append(gaps, [2]int{len(steps), i - prev - 1})
		}
		steps = append(steps, all[i])
		prev = i
	}
	return steps, gaps
}

// encodeSteps appends steps as base64 VLQ numbers (as source maps write
// them: 5 bits a character, the sixth says more follow; signed values
// zigzag encoded), nine a step:
//
//	frame - previous frame (the first: - first_frame)
//	µs since the previous step (the first: since the connection's start)
//	dir<<8 | flags          (dir 1 = server to client)
//	seq - previous seq of the same direction (mod 2³², signed)
//	ack - previous ack of the same direction (mod 2³², signed)
//	len
//	window - previous window of the same direction
//	client_state<<4 | server_state
//	note (an index into the data's "notes"; 0 = none)
//
// Deltas make most of them one character. The characters need no JSON
// escaping.
func (d *htmlData) encodeSteps(b []byte, c *analyze.Conn, steps []analyze.Step) []byte {
	prevFrame, prevTime := c.FirstFrame, c.Start
	if prevTime.IsZero() && len(steps) > 0 {
		prevTime = steps[0].Time
	}
	var seq, ack [2]uint32
	var win [2]int64
	for i := range steps {
		s := &steps[i]
		dir := 0
		if s.Dir == analyze.ServerToClient {
			dir = 1
		}
		b = appendVLQ(b, int64(s.Frame)-int64(prevFrame))
		b = appendVLQ(b, s.Time.Sub(prevTime).Microseconds())
		b = appendVLQ(b, int64(dir<<8|int(s.Flags)))
		b = appendVLQ(b, int64(int32(s.Seq-seq[dir])))
		b = appendVLQ(b, int64(int32(s.Ack-ack[dir])))
		b = appendVLQ(b, int64(s.Len))
		b = appendVLQ(b, int64(s.Window)-win[dir])
		b = appendVLQ(b, int64(s.ClientState)<<4|int64(s.ServerState))
		b = appendVLQ(b, int64(d.notes.id(s.Note)))
		prevFrame, prevTime = s.Frame, s.Time
		seq[dir], ack[dir], win[dir] = s.Seq, s.Ack, int64(s.Window)
	}
	return b
}

const vlqDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// appendVLQ appends v zigzag encoded (0, -1, 1, -2 … → 0, 1, 2, 3 …), least
// significant 5 bits first.
func appendVLQ(b []byte, v int64) []byte {
	u := uint64(v<<1) ^ uint64(v>>63)
	for {
		digit := u & 31
		u >>= 5
		if u != 0 {
			digit |= 32
		}
		b = append(b, vlqDigits[digit])
		if u == 0 {
			return b
		}
	}
}

// document writes the data as one JSON object. States and severities are
// indexes into the lists given here.
func (d *htmlData) document(buf *bytes.Buffer, s *Summary) {
	buf.WriteString(`{"schema":"` + Schema + `","states":`)
	writeJSON(buf, stateList())
	buf.WriteString(`,"severities":["info","warning","error"],"inputs":`)
	writeJSON(buf, nonNilList(d.inputs.list))
	buf.WriteString(`,"conn_states":`)
	writeJSON(buf, nonNilList(d.zeek.list))
	buf.WriteString(`,"kinds":`)
	writeJSON(buf, nonNilList(d.kinds.list))
	buf.WriteString(`,"notes":`)
	writeJSON(buf, nonNilList(d.notes.list))
	buf.WriteString(`,"t0_us":`)
	buf.WriteString(strconv.FormatInt(d.t0.UnixMicro(), 10))
	buf.WriteString(`,"capture_start_us":`)
	buf.WriteString(strconv.FormatInt(micros(s.Capture.First, d.t0), 10))
	buf.WriteString(`,"max_steps":` + strconv.Itoa(d.lim.steps))
	buf.WriteString(",\"rows\":[\n")
	buf.Write(d.rows.Bytes())
	buf.WriteString("]}")
}

func stateList() []string {
	var out []string
	for s := analyze.Closed; s <= analyze.TimeWait; s++ {
		out = append(out, s.String())
	}
	return out
}

func nonNilList(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// writeJSON writes v with HTML escaping on, so that no "</script" can end
// the element the data sits in.
func writeJSON(buf *bytes.Buffer, v any) {
	b, _ := json.Marshal(v) // string lists cannot fail
	buf.Write(b)
}

// appendJSONString appends s as a JSON string with <, > and & escaped (as
// encoding/json does), for the same reason.
func appendJSONString(b []byte, s string) []byte { return appendQuoted(b, s, true) }

func appendInt(b []byte, v int) []byte     { return strconv.AppendInt(append(b, ','), int64(v), 10) }
func appendInt64(b []byte, v int64) []byte { return strconv.AppendInt(append(b, ','), v, 10) }
func appendUint(b []byte, v uint64) []byte { return strconv.AppendUint(append(b, ','), v, 10) }
func micros(t, base time.Time) int64 {
	if t.IsZero() || base.IsZero() {
		return 0
	}
	return t.Sub(base).Microseconds()
}
