package check

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/internal/human"
)

// Baseline is the findings of an earlier run, which a check does not count
// again: how a team adopts the gate on a system that is already noisy.
//
// A finding matches the baseline when the baseline holds a finding with the
// same key: the input's base name (so traces may move between directories),
// the client's address without its port (ephemeral ports change from run to
// run), the server's address and port, and the kind. Matching counts: a
// baseline with two refusals of 10.0.0.1 → 10.0.0.2:80 in t.pcap excuses
// the first two such findings of the run, and a third is new. Findings
// taken out by an ignore rule do not use up baseline entries.
type Baseline struct {
	counts map[baselineKey]int
	total  int
}

type baselineKey struct {
	input, client, server string
	kind                  analyze.Kind
}

func keyOf(input string, client, server netip.AddrPort, kind analyze.Kind) baselineKey {
	return baselineKey{input: filepath.Base(input), client: client.Addr().Unmap().WithZone("").String(),
		server: human.AddrPort(netip.AddrPortFrom(server.Addr().Unmap(), server.Port())), kind: kind}
}

// Len returns how many findings the baseline holds.
func (b *Baseline) Len() int {
	if b == nil {
		return 0
	}
	return b.total
}

func (b *Baseline) clone() *Baseline {
	if b == nil {
		return nil
	}
	c := &Baseline{counts: make(map[baselineKey]int, len(b.counts)), total: b.total}
	for k, v := range b.counts {
		c.counts[k] = v
	}
	return c
}

// take uses up one baseline entry matching f, and reports whether there was one.
func (b *Baseline) take(f *Finding) bool {
	if b == nil {
		return false
	}
	k := keyOf(f.Input, f.Client, f.Server, f.Kind)
	if b.counts[k] > 0 {
		b.counts[k]--
		return true
	}
	return false
}

func (b *Baseline) add(input, client, server, kind string) error {
	c, err := netip.ParseAddrPort(client)
	if err != nil {
		return fmt.Errorf("client %q: %w", client, err)
	}
	s, err := netip.ParseAddrPort(server)
	if err != nil {
		return fmt.Errorf("server %q: %w", server, err)
	}
	b.counts[keyOf(input, c, s, analyze.Kind(kind))]++
	b.total++
	return nil
}

// LoadBaseline reads a baseline file; see ReadBaseline.
func LoadBaseline(name string) (*Baseline, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("check: baseline: %w", err)
	}
	defer f.Close()
	b, err := ReadBaseline(f)
	if err != nil {
		return nil, fmt.Errorf("check: baseline %s: %w", name, err)
	}
	return b, nil
}

// baselineDoc is the part of the documents a baseline reads: analyze's
// json document ("connections"), its jsonl lines (each a connection or the
// summary, whose "connections" is a count), and check's json verdict
// ("findings"). Connections is decoded once the document's type is known.
type baselineDoc struct {
	Schema      string            `json:"schema"`
	Type        string            `json:"type"`
	Input       string            `json:"input"`
	Client      string            `json:"client"`
	Server      string            `json:"server"`
	Findings    []baselineFinding `json:"findings"`
	Connections json.RawMessage   `json:"connections"`
}

type baselineConn struct {
	Input    string            `json:"input"`
	Client   string            `json:"client"`
	Server   string            `json:"server"`
	Findings []baselineFinding `json:"findings"`
}

type baselineFinding struct {
	Kind   string `json:"kind"`
	Input  string `json:"input"`
	Client string `json:"client"`
	Server string `json:"server"`
}

// ReadBaseline reads the output of an earlier run: `analyze --format json`
// (or jsonl), or `check --format json`.
func ReadBaseline(r io.Reader) (*Baseline, error) {
	b := &Baseline{counts: map[baselineKey]int{}}
	dec := json.NewDecoder(r)
	values := 0
	for {
		var d baselineDoc
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not the JSON output of tcpflow-check analyze or check: %w", err)
		}
		values++
		switch {
		case d.Type == "connection":
			for _, f := range d.Findings {
				if err := b.add(d.Input, d.Client, d.Server, f.Kind); err != nil {
					return nil, err
				}
			}
		case d.Type == "summary":
		case len(d.Connections) > 0 && d.Connections[0] == '[':
			var conns []baselineConn
			if err := json.Unmarshal(d.Connections, &conns); err != nil {
				return nil, fmt.Errorf("not the JSON output of tcpflow-check analyze or check: connections: %w", err)
			}
			for _, c := range conns {
				for _, f := range c.Findings {
					if err := b.add(c.Input, c.Client, c.Server, f.Kind); err != nil {
						return nil, err
					}
				}
			}
		case d.Type == "check":
			for _, f := range d.Findings {
				if err := b.add(f.Input, f.Client, f.Server, f.Kind); err != nil {
					return nil, err
				}
			}
		default:
			return nil, errors.New("not the JSON output of tcpflow-check analyze or check (no connections or findings)")
		}
	}
	if values == 0 {
		return nil, errors.New("empty file")
	}
	return b, nil
}
