package report

import (
	"encoding/json"
	"io"
)

// CheckRecord is the verdict as `check --format json` writes it. A later
// run reads its "findings" as a baseline (--baseline).
type CheckRecord struct {
	Schema   string               `json:"schema"`
	Type     string               `json:"type"`    // always "check"
	Verdict  string               `json:"verdict"` // "pass", "fail" or "error"
	Policy   string               `json:"policy"`
	Inputs   []CheckInputRecord   `json:"inputs"`
	Rules    []RuleRecord         `json:"rules"`
	Findings []CheckFindingRecord `json:"findings"` // every finding, ignored and known ones included
	Summary  CheckSummaryRecord   `json:"summary"`
}

// CheckInputRecord is one element of CheckRecord.Inputs.
type CheckInputRecord struct {
	Name        string `json:"name"`
	Connections int    `json:"connections"`
	Packets     uint64 `json:"packets"`
	Error       string `json:"error,omitempty"` // damage that ended reading early
}

// RuleRecord is one rule on one input ("input" empty: over all inputs).
type RuleRecord struct {
	Rule     string `json:"rule"`
	Line     int    `json:"line"`
	Level    string `json:"level"` // "fail" or "warn"
	Input    string `json:"input"`
	Passed   bool   `json:"passed"`
	Message  string `json:"message"`
	Findings []int  `json:"findings"` // indexes into CheckRecord.Findings
}

// CheckFindingRecord is one finding with its connection.
type CheckFindingRecord struct {
	Input  string `json:"input"`
	ConnID uint64 `json:"conn_id"`
	Client string `json:"client"`
	Server string `json:"server"`
	FindingRecord
	Ignored  string `json:"ignored,omitempty"` // the ignore rule's reason
	Baseline bool   `json:"baseline,omitempty"`
}

// CheckSummaryRecord counts the rules and findings.
type CheckSummaryRecord struct {
	Rules       int `json:"rules"`
	Failed      int `json:"failed"`
	Warnings    int `json:"warnings"`
	Findings    int `json:"findings"`
	Ignored     int `json:"ignored"`
	Known       int `json:"baseline"`
	InputErrors int `json:"input_errors"`
}

// NewCheckRecord converts v.
func NewCheckRecord(v *Verdict) *CheckRecord {
	r := &CheckRecord{Schema: Schema, Type: "check", Verdict: v.Status(), Policy: v.Policy,
		Inputs: []CheckInputRecord{}, Rules: []RuleRecord{}, Findings: []CheckFindingRecord{}}
	index := map[*CheckFinding]int{}
	for i, f := range v.Findings {
		index[f] = i
		r.Findings = append(r.Findings, CheckFindingRecord{Input: f.Input, ConnID: f.ConnID,
			Client: addrPort(f.Client), Server: addrPort(f.Server), FindingRecord: newFindingRecord(&f.Finding),
			Ignored: f.Ignored, Baseline: f.Baseline})
	}
	for i := range v.Inputs {
		in := &v.Inputs[i]
		ir := CheckInputRecord{Name: in.Name, Connections: in.Connections, Packets: in.Stats.Packets}
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

// WriteCheckJSON writes v as one JSON document (CheckRecord).
func WriteCheckJSON(w io.Writer, v *Verdict) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(NewCheckRecord(v))
}
