package check

import (
	"encoding/json"
	"io"

	"github.com/tcpflow-check/tcpflow-check/internal/human"
	"github.com/tcpflow-check/tcpflow-check/report"
)

// Record is the verdict as `check --format json` writes it. A later
// run reads its "findings" as a baseline (--baseline).
type Record struct {
	Schema   string          `json:"schema"`
	Type     string          `json:"type"`    // always "check"
	Verdict  string          `json:"verdict"` // "pass", "fail" or "error"
	Policy   string          `json:"policy"`
	Inputs   []InputRecord   `json:"inputs"`
	Rules    []RuleRecord    `json:"rules"`
	Findings []FindingRecord `json:"findings"` // every finding, ignored and known ones included
	Summary  SummaryRecord   `json:"summary"`
}

// InputRecord is one element of Record.Inputs.
type InputRecord struct {
	Name        string `json:"name"`
	Connections int    `json:"connections"`
	Packets     uint64 `json:"packets"`
	Error       string `json:"error,omitempty"` // damage that ended reading early
	// TimeBackwards is present when frames are stamped earlier than the
	// frame before them (as in analyze's records).
	TimeBackwards *report.BackwardsRecord `json:"time_backwards,omitempty"`
}

// RuleRecord is one rule on one input ("input" empty: over all inputs).
type RuleRecord struct {
	Rule     string `json:"rule"`
	Line     int    `json:"line"`
	Level    string `json:"level"` // "fail" or "warn"
	Input    string `json:"input"`
	Passed   bool   `json:"passed"`
	Message  string `json:"message"`
	Findings []int  `json:"findings"` // indexes into Record.Findings
}

// FindingRecord is one finding with its connection.
type FindingRecord struct {
	Input  string `json:"input"`
	ConnID uint64 `json:"conn_id"`
	Client string `json:"client"`
	Server string `json:"server"`
	report.FindingRecord
	Ignored  string `json:"ignored,omitempty"` // the ignore rule's reason
	Baseline bool   `json:"baseline,omitempty"`
}

// SummaryRecord counts the rules and findings.
type SummaryRecord struct {
	Rules       int `json:"rules"`
	Failed      int `json:"failed"`
	Warnings    int `json:"warnings"`
	Findings    int `json:"findings"`
	Ignored     int `json:"ignored"`
	Known       int `json:"baseline"`
	InputErrors int `json:"input_errors"`
}

// NewRecord converts v.
func NewRecord(v *Verdict) *Record {
	r := &Record{Schema: report.Schema, Type: "check", Verdict: v.Status(), Policy: v.Policy,
		Inputs: []InputRecord{}, Rules: []RuleRecord{}, Findings: []FindingRecord{}}
	index := map[*Finding]int{}
	for i, f := range v.Findings {
		index[f] = i
		r.Findings = append(r.Findings, FindingRecord{Input: f.Input, ConnID: f.ConnID,
			Client: human.AddrPort(f.Client), Server: human.AddrPort(f.Server), FindingRecord: report.NewFindingRecord(&f.Finding),
			Ignored: f.Ignored, Baseline: f.Baseline})
	}
	for i := range v.Inputs {
		in := &v.Inputs[i]
		ir := InputRecord{Name: in.Name, Connections: in.Connections, Packets: in.Stats.Packets,
			TimeBackwards: report.NewBackwardsRecord(&in.Stats, "")}
		if in.Err != nil {
			ir.Error = in.Err.Error()
			r.Summary.InputErrors++
		}
		r.Inputs = append(r.Inputs, ir)
	}
	v.each(func(rr *RuleResult) {
		rec := RuleRecord{Rule: rr.Rule, Line: rr.Line, Level: rr.Level.String(), Input: rr.Input,
			Passed: !rr.Failed, Message: rr.Message, Findings: []int{}}
		for _, f := range rr.Found {
			rec.Findings = append(rec.Findings, index[f])
		}
		r.Rules = append(r.Rules, rec)
		r.Summary.Rules++
		if rr.Failed && rr.Level == LevelFail {
			r.Summary.Failed++
		} else if rr.Failed {
			r.Summary.Warnings++
		}
	})
	r.Summary.Findings, r.Summary.Ignored, r.Summary.Known = len(v.Findings), v.Ignored, v.Known
	return r
}

// WriteJSON writes v as one JSON document (Record).
func WriteJSON(w io.Writer, v *Verdict) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(NewRecord(v))
}
