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
func runOnTerminal(t *testing.T, ttyErr bool, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	code, out, term, errOut := onTerminal(t, terminal{cols: 120, stdin: stdin, stderr: ttyErr}, args...)
	return code, out, term + errOut
}

// terminal says which of a child's standard files are a pseudo-terminal
// of cols columns: standard input unless stdin is given, standard output
// and standard error when asked.
type terminal struct {
	cols           uint16
	stdin          []byte
	stdout, stderr bool
}

// onTerminal runs tcpflow-check ARGS on the terminal tm describes and
// returns the exit code, what reached the terminal (newlines as the child
// wrote them), and standard output and error where they are not the
// terminal.
func onTerminal(t *testing.T, tm terminal, args ...string) (code int, stdout, term, stderr string) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: tm.cols}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), liveChildEnv+"=main", "TERM=xterm")
	var out, errOut bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, &out, &errOut
	if tm.stdin != nil {
		cmd.Stdin = bytes.NewReader(tm.stdin)
	}
	if tm.stdout {
		cmd.Stdout = tty
	}
	if tm.stderr {
		cmd.Stderr = tty
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	var onTTY bytes.Buffer
	done := make(chan struct{})
	go func() { onTTY.ReadFrom(ptmx); close(done) }() // ends with EIO once the child exits
	cmd.Wait()
	<-done
	return cmd.ProcessState.ExitCode(), out.String(), strings.ReplaceAll(onTTY.String(), "\r\n", "\n"), errOut.String()
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

// TestProgress: a progress bar on a terminal, with the file's name, the
// share read and packets per second; a spinner for standard input; nothing
// when standard error is not a terminal.
func TestProgress(t *testing.T) {
	const file = "../../testdata/pcaps/real/half-close-stuck.pcap"
	code, out, term := runOnTerminal(t, true, nil, file)
	if code != 0 || !strings.Contains(out, "half_close_stuck") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, want := range []string{"half-close-stuck.pcap", "pkt/s", "100%"} {
		if !strings.Contains(term, want) {
			t.Errorf("the terminal did not show %q:\n%q", want, term)
		}
	}
	if strings.Contains(out, "pkt/s") {
		t.Error("progress reached standard output")
	}
	pcap, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	code, _, term = runOnTerminal(t, true, pcap, "-")
	if code != 0 || !strings.Contains(term, "- ") || !strings.Contains(term, "pkt/s") || strings.Contains(term, "%") {
		t.Errorf("stdin: exit %d, want a spinner (no percentage):\n%q", code, term)
	}
	// Not a terminal: a pipe, or a buffer as in the other tests.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if showProgress(w) || showProgress(&bytes.Buffer{}) {
		t.Error("progress would be drawn into a pipe")
	}
	_, _, errOut := runCmd(t, nil, file)
	if errOut != "" {
		t.Errorf("stderr not a terminal, yet: %q", errOut)
	}
}
