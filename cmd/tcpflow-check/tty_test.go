package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/creack/pty"
)

// runOnTerminal runs tcpflow-check ARGS as a child whose standard input
// (and, with ttyErr, standard error) is a pseudo-terminal, as when a person
// types the command. It returns the exit code, stdout and what reached the
// terminal.
func runOnTerminal(t *testing.T, ttyErr bool, env []string, args ...string) (int, string, string) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), liveChildEnv+"=main"), env...)
	var out, errOut bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, &out, &errOut
	if ttyErr {
		cmd.Stderr = tty
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	var term bytes.Buffer
	done := make(chan struct{})
	go func() { term.ReadFrom(ptmx); close(done) }() // ends with EIO once the child exits
	cmd.Wait()
	<-done
	return cmd.ProcessState.ExitCode(), out.String(), term.String() + errOut.String()
}

// TestStdinTerminal: with no file named, a terminal on standard input gets
// the usage (exit 2), where a pipe is read as the capture.
func TestStdinTerminal(t *testing.T) {
	code, out, term := runOnTerminal(t, false, nil)
	if code != 2 || out != "" || !strings.Contains(term, "Usage:") {
		t.Errorf("no arguments on a terminal: exit %d, stdout %q, stderr %q; want 2 and the usage", code, out, term)
	}
	code, _, term = runOnTerminal(t, false, nil, "analyze")
	if code != 2 || !strings.Contains(term, "no capture file given") {
		t.Errorf("analyze on a terminal: exit %d, stderr %q", code, term)
	}
	pcap, err := os.ReadFile("../../testdata/pcaps/real/refused.pcap")
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd(t, pcap)
	if code != 0 || !strings.Contains(out, "connection_refused") {
		t.Errorf("a capture piped in, no arguments: exit %d\n%s%s", code, out, errOut)
	}
}
