package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcpflow-check/tcpflow-check/internal/human"
)

// textCommands are the commands whose text output a person reads, as run
// over one capture.
func textCommands(t *testing.T, pcap string) [][]string {
	t.Helper()
	cmds := [][]string{
		{"analyze", pcap},
		{"analyze", "--color", "always", pcap},
		{"ladder", pcap},
		{"ladder", "--color", "always", pcap},
	}
	policies, err := filepath.Glob("../../testdata/policies/*.yaml")
	if err != nil || len(policies) == 0 {
		t.Fatalf("no policies under testdata/policies: %v", err)
	}
	for _, p := range policies {
		cmds = append(cmds, []string{"check", "--policy", p, pcap})
	}
	return cmds
}

// overWidth returns the lines of out wider than width, but for the rows
// of a ladder diagram (and their heading) when the diagram cannot be any
// narrower: its arrows gave up all their spare length, so that the
// longest label's arrow is the shortest possible ("── label ─→" or
// "←─ label ──"). Those rows are a table, kept aligned.
func overWidth(out string, width int) []string {
	minimal := strings.Contains(out, " ─→│") || strings.Contains(out, "│←─ ")
	var over []string
	for _, l := range strings.Split(out, "\n") {
		if human.Columns(l) <= width {
			continue
		}
		if minimal && (strings.Contains(l, "│") || strings.HasPrefix(strings.TrimLeft(l, " "), "frame  ")) {
			continue
		}
		over = append(over, l)
	}
	return over
}

// TestTextFitsPipeWidth: off a terminal, no line of text output over any
// bundled capture is wider than 100 columns, in analyze, ladder and check,
// coloured or not.
func TestTextFitsPipeWidth(t *testing.T) {
	wrapped := false
	for _, pcap := range captures(t) {
		for _, args := range textCommands(t, pcap) {
			_, out, _ := runCmd(t, nil, args...)
			for _, l := range strings.Split(out, "\n") {
				if n := human.Columns(l); n > pipeWidth {
					t.Errorf("%s: a line of %d columns, want ≤ %d:\n%s", strings.Join(args, " "), n, pipeWidth, l)
				}
			}
			wrapped = wrapped || strings.Contains(out, "\n        ") // a continued evidence line
		}
	}
	if !wrapped {
		t.Error("no evidence was wrapped: the test no longer sees long lines")
	}
	// And the help of every command, its flags' usages wrapped.
	for name := range commandFlags() {
		args := append(strings.Fields(name), "--help")
		_, out, _ := runCmd(t, nil, args...)
		if !strings.Contains(out, "Usage:") {
			t.Errorf("%s: no usage:\n%s", strings.Join(args, " "), out)
		}
		for _, l := range strings.Split(out, "\n") {
			if n := human.Columns(l); n > pipeWidth {
				t.Errorf("%s: a line of %d columns, want ≤ %d:\n%s", strings.Join(args, " "), n, pipeWidth, l)
			}
		}
	}
}

// runOnTerminalOut runs tcpflow-check ARGS as a child whose standard
// output is a pseudo-terminal of cols columns, and returns what it wrote
// there.
func runOnTerminalOut(t *testing.T, cols uint16, args ...string) string {
	t.Helper()
	_, _, term, _ := onTerminal(t, terminal{cols: cols, stdout: true}, args...)
	return term
}

// TestTextFitsTerminal: on a terminal of 80 columns the text output fits
// them (a ladder diagram's rows only when it cannot be narrower), where
// off a terminal the same output runs to 100.
func TestTextFitsTerminal(t *testing.T) {
	const cols = 80
	files := []string{
		"../../testdata/pcaps/real/half-close-stuck.pcap",
		"../../testdata/pcaps/real/missing-third-ack.pcap",
		"../../testdata/pcaps/real/syn-unanswered.pcap",
		"../../testdata/pcaps/real/port-reuse.pcap",
		"../../testdata/pcaps/real/loss-retransmission.pcap",
		"../../testdata/pcaps/crafted/third-ack-not-captured.pcap",
		"../../testdata/pcaps/crafted/absurd-caplen.pcap",
	}
	beyond := false // some output runs past 80 columns off a terminal
	for _, pcap := range files {
		for _, args := range textCommands(t, pcap) {
			out := runOnTerminalOut(t, cols, args...)
			if !strings.Contains(out, "\n") {
				t.Fatalf("%s: nothing on the terminal", strings.Join(args, " "))
			}
			for _, l := range overWidth(out, cols) {
				t.Errorf("%s on %d columns: a line of %d:\n%s", strings.Join(args, " "), cols, human.Columns(l), l)
			}
			_, piped, _ := runCmd(t, nil, args...)
			beyond = beyond || len(overWidth(piped, cols)) > 0
		}
	}
	if !beyond {
		t.Error("off a terminal no line passed 80 columns: the test proves nothing")
	}
}
