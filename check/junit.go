package check

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tcpflow-check/tcpflow-check/internal/human"
	"github.com/tcpflow-check/tcpflow-check/report"
)

// JUnit XML, in the shape the common JUnit schema (the Ant JUnit task's,
// which Jenkins, GitLab, Azure DevOps and the GitHub test-report actions
// read) describes; report/testdata/junit/junit.xsd is that schema, with
// the totals on <testsuites> that those readers also accept.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Package    string          `xml:"package,attr"`
	ID         int             `xml:"id,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Hostname   string          `xml:"hostname,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out"`
	SystemErr  string          `xml:"system-err"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure"`
	Error     *junitProblem `xml:"error"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// JUnitAllInputs is the name (and classname) of the suite holding the rules
// over all inputs together: max and expect.
const JUnitAllInputs = "all inputs"

// WriteJUnit writes v as JUnit XML: one <testsuite> per input, named after
// it, with one <testcase> per rule (name = the rule, classname = the
// input); a rule that failed carries a <failure> whose message says what
// was found, whose type is the finding kind, and whose text is the findings
// with their evidence. An unreadable input is a testcase "readable" with an
// <error>. Rules over all inputs (max, expect) form one more suite. Warnings
// (warn_on) pass, and are listed in their suite's <system-out>. Output
// depends on the captures only: timestamps are the capture's start,
// durations the capture's span, the hostname "localhost".
func WriteJUnit(w io.Writer, v *Verdict) error {
	doc := junitSuites{Name: "tcpflow-check"}
	if v.Policy != "" {
		doc.Name += " " + v.Policy
	}
	var span time.Duration
	props := []junitProperty{{Name: "policy", Value: v.Policy}, {Name: "schema", Value: report.Schema}}
	for i := range v.Inputs {
		in := &v.Inputs[i]
		d := in.Stats.Last.Sub(in.Stats.First)
		span += d
		s := junitSuite{Name: in.Name, Package: "tcpflow-check", ID: i, Timestamp: junitTime(in.Stats.First),
			Hostname: "localhost", Time: junitSeconds(d), Properties: props}
		if in.Err != nil {
			s.Cases = append(s.Cases, junitCase{Name: "readable", Classname: in.Name, Time: "0",
				Error: &junitProblem{Message: in.Err.Error(), Type: "input_error",
					Text: in.Err.Error() + "\nThe readable part was checked; a damaged trace never passes.\n"}})
		}
		s.Cases = append(s.Cases, junitCases(in.Rules, in.Name, &s.SystemOut)...)
		doc.Suites = append(doc.Suites, s)
	}
	if len(v.Global) > 0 {
		first := time.Time{}
		if len(v.Inputs) > 0 {
			first = v.Inputs[0].Stats.First
		}
		s := junitSuite{Name: JUnitAllInputs, Package: "tcpflow-check", ID: len(doc.Suites), Timestamp: junitTime(first),
			Hostname: "localhost", Time: junitSeconds(span), Properties: props}
		s.Cases = junitCases(v.Global, JUnitAllInputs, &s.SystemOut)
		doc.Suites = append(doc.Suites, s)
	}
	for i := range doc.Suites {
		s := &doc.Suites[i]
		s.Tests = len(s.Cases)
		for _, c := range s.Cases {
			if c.Failure != nil {
				s.Failures++
			}
			if c.Error != nil {
				s.Errors++
			}
		}
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
	}
	doc.Time = junitSeconds(span)
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("check: junit: %w", err)
	}
	b.WriteString("\n")
	_, err := w.Write(b.Bytes())
	return err
}

func junitCases(rules []RuleResult, classname string, out *string) []junitCase {
	var cases []junitCase
	var warnings strings.Builder
	for i := range rules {
		r := &rules[i]
		c := junitCase{Name: r.Rule, Classname: classname, Time: "0"}
		if r.Failed {
			var text bytes.Buffer
			fmt.Fprintf(&text, "%s (%s)\n", r.Message, r.where())
			for _, f := range r.Found {
				writeFinding(&text, f, r.Input == "", human.Painter{}, 0)
			}
			if r.Level == LevelWarn {
				fmt.Fprintf(&warnings, "warning: %s: %s", r.Rule, text.String())
			} else {
				typ := r.Kind
				if typ == "" {
					typ = strings.SplitN(r.Rule, ":", 2)[0]
				}
				c.Failure = &junitProblem{Message: r.Message, Type: typ, Text: text.String()}
			}
		}
		cases = append(cases, c)
	}
	*out = warnings.String()
	return cases
}

// junitTime writes t as the schema wants it: UTC, seconds, no zone.
func junitTime(t time.Time) string {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	return t.UTC().Format("2006-01-02T15:04:05")
}

func junitSeconds(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return fmt.Sprintf("%.6f", d.Seconds())
}
