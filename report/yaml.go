package report

import (
	"bytes"

	"go.yaml.in/yaml/v3"

	"github.com/tcpflow-check/tcpflow-check/analyze"
)

// yamlWriter streams the json document as YAML: "schema", then each
// connection as an item of "connections" as it ends, then "inputs" and
// "summary" at Close. Each record is marshalled on its own and indented under
// the sequence, so memory stays bounded by one record.
type yamlWriter struct {
	base
	scratch bytes.Buffer
	n       int
}

func (y *yamlWriter) Finding(*analyze.Conn, *analyze.Finding) {}

// encode marshals v with two-space indentation into y.scratch.
func (y *yamlWriter) encode(v any) {
	y.scratch.Reset()
	enc := yaml.NewEncoder(&y.scratch)
	enc.SetIndent(2)
	y.must(enc.Encode(v))
	y.must(enc.Close())
}

func (y *yamlWriter) End(c *analyze.Conn) {
	y.t.add(c)
	if y.n == 0 {
		y.buf.WriteString("schema: " + Schema + "\nconnections:\n")
	}
	y.n++
	y.encode(NewRecord(c, y.opts.Timeline))
	// The record's lines, as one item of the sequence: "  - " before the
	// first, "    " before the others (block scalars keep their relative
	// indentation).
	for i, line := range bytes.SplitAfter(y.scratch.Bytes(), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if i == 0 {
			y.buf.WriteString("  - ")
		} else if len(bytes.TrimSpace(line)) > 0 {
			y.buf.WriteString("    ")
		}
		y.buf.Write(line)
	}
	y.flush()
}

func (y *yamlWriter) Close(s *Summary) error {
	s = orEmpty(s)
	if y.n == 0 {
		y.buf.WriteString("schema: " + Schema + "\nconnections: []\n")
	}
	y.encode(struct {
		Inputs  []InputRecord  `yaml:"inputs"`
		Summary *SummaryRecord `yaml:"summary"`
	}{NewInputRecords(s), newSummaryRecord(s, &y.t, y.opts.NoElapsed)})
	y.buf.Write(y.scratch.Bytes())
	y.flush()
	return y.err
}
