// Package check is the CI gate of `tcpflow-check check` (and of
// `live --policy`): it holds a run's findings to a Policy and says whether
// the run passes.
//
// A Policy is read from YAML (LoadPolicy, ParsePolicy; StarterPolicy is
// what `policy init` prints). Parsing walks the YAML tree itself (decode.go)
// so that every mistake is reported with its line and column, unknown keys
// and kinds with a did-you-mean (suggest.go), all of them at once.
//
// A Checker is an analyze.Sink: fed the analysis of every input, it keeps
// each finding with its connection, applies the policy's severity
// overrides, ignore rules and the Baseline of an earlier run, and counts
// what expectations look at (expect.go). Verdict then evaluates the rules
// per input and over all inputs. The Verdict is written for a person
// (WriteText), for GitHub Actions (WriteGitHub: workflow-command
// annotations), for programs (WriteJSON, which a later run reads back as
// its baseline) and for CI test reports (WriteJUnit).
//
// The policy's timeouts are data here: the command sets them in the
// analysis configuration. This package decides nothing about the traffic
// itself (package analyze does) and writes no analysis output (package
// report does).
package check
