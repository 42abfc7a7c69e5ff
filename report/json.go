package report

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/internal/human"
)

// encodeJSON appends v to buf as compact JSON without HTML escaping (so that
// "c>s" stays readable) and without the trailing newline.
func encodeJSON(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	return nil
}

// jsonWriter streams one document:
//
//	{"schema":"tcpflow-check/v1","connections":[
//	{...},
//	{...}
//	],
//	"inputs":[...],
//	"summary":{...}}
//
// The connections come first because they are written as they end; the
// inputs are known only at Close. Key order does not matter to JSON parsers.
type jsonWriter struct {
	base
	n int // records written
}

func (j *jsonWriter) Finding(*analyze.Conn, *analyze.Finding) {}

func (j *jsonWriter) End(c *analyze.Conn) {
	j.t.add(c)
	if j.n == 0 {
		j.buf.WriteString(`{"schema":"` + Schema + `","connections":[` + "\n")
	} else {
		j.buf.WriteString(",\n")
	}
	j.n++
	j.appendRecord(c)
	j.flush()
}

func (j *jsonWriter) Close(s *Summary) error {
	s = orEmpty(s)
	if j.n == 0 {
		j.buf.WriteString(`{"schema":"` + Schema + `","connections":[`)
	} else {
		j.buf.WriteString("\n")
	}
	j.buf.WriteString("],\n\"inputs\":")
	j.must(encodeJSON(&j.buf, NewInputRecords(s)))
	j.buf.WriteString(",\n\"summary\":")
	j.must(encodeJSON(&j.buf, newSummaryRecord(s, &j.t, j.opts.NoElapsed)))
	j.buf.WriteString("}\n")
	j.flush()
	return j.err
}

// must keeps the first error.
func (b *base) must(err error) {
	if err != nil && b.err == nil {
		b.err = err
	}
}

// jsonlWriter writes one {"type":"connection",...} object per line as
// connections end, then one {"type":"summary",...} line.
type jsonlWriter struct{ base }

// jsonlSummary is the last line of jsonl: the summary's fields, inlined, with
// the type, the schema and the inputs.
type jsonlSummary struct {
	Type   string        `json:"type"`
	Schema string        `json:"schema"`
	Inputs []InputRecord `json:"inputs"`
	*SummaryRecord
}

// FindingLine is a jsonl line written with Options.Live as soon as a finding
// is reported: the finding's fields and the connection it belongs to (whose
// record follows, with the same id, when the connection ends).
//
// A finding whose condition went on after it was streamed (a CLOSE_WAIT
// that lasted longer) gets a second line of type "finding_update" with its
// final values, just before its connection's record.
type FindingLine struct {
	Type   string `json:"type"` // "finding" or "finding_update"
	ID     uint64 `json:"id"`
	Input  string `json:"input"`
	Client string `json:"client"`
	Server string `json:"server"`
	// Judged is the capture time the finding was judged at ("finding"),
	// or the connection's end ("finding_update").
	Judged string `json:"judged,omitempty"`
	FindingRecord
}

func (j *jsonlWriter) Finding(c *analyze.Conn, f *analyze.Finding) {
	if !j.opts.Live {
		return
	}
	j.line("finding", j.stream(c.ID, f), c, f)
	j.flush()
}

func (j *jsonlWriter) line(typ string, at time.Time, c *analyze.Conn, f *analyze.Finding) {
	j.must(encodeJSON(&j.buf, FindingLine{
		Type: typ, ID: c.ID, Input: c.Input, Client: human.AddrPort(c.Client), Server: human.AddrPort(c.Server),
		Judged: formatTimeOpt(at), FindingRecord: NewFindingRecord(f),
	}))
	j.buf.WriteByte('\n')
}

func (j *jsonlWriter) End(c *analyze.Conn) {
	if j.opts.Live {
		for _, u := range j.changed(c) {
			j.line("finding_update", j.tick(c.End), c, u.f)
		}
	}
	j.t.add(c)
	j.rec = append(j.memo.appendRecord(j.rec[:0], c, j.opts.Timeline), '\n')
	j.write(j.rec)
}

func (j *jsonlWriter) Close(s *Summary) error {
	s = orEmpty(s)
	j.must(encodeJSON(&j.buf, jsonlSummary{
		Type:          "summary",
		Schema:        Schema,
		Inputs:        NewInputRecords(s),
		SummaryRecord: newSummaryRecord(s, &j.t, j.opts.NoElapsed),
	}))
	j.buf.WriteByte('\n')
	j.flush()
	return j.err
}
