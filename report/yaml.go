package report

import (
	"bytes"
	"math"
	"strconv"

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

// encode marshals v with two-space indentation into y.scratch, numbers in
// plain decimal as the JSON has them (0.000041, not 4.1e-05).
func (y *yamlWriter) encode(v any) {
	y.scratch.Reset()
	var n yaml.Node
	y.must(n.Encode(v))
	plainFloats(&n)
	enc := yaml.NewEncoder(&y.scratch)
	enc.SetIndent(2)
	y.must(enc.Encode(&n))
	y.must(enc.Close())
}

// plainFloats rewrites every float in the tree in decimal notation.
func plainFloats(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!float" {
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			n.Value = strconv.FormatFloat(f, 'f', -1, 64)
		}
	}
	for _, c := range n.Content {
		plainFloats(c)
	}
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
