package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tcpflow-check/tcpflow-check/capture"
)

// testServer listens on 127.0.0.1 and answers each connection's request
// with "pong"; after the client's FIN it closes, unless leak: then it
// keeps the socket open (CLOSE_WAIT) until the test ends.
func testServer(t *testing.T, leak bool) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				buf := make([]byte, 4)
				io.ReadFull(c, buf)
				c.Write([]byte("pong"))
				io.Copy(io.Discard, c)
				if !leak {
					c.Close()
					return
				}
				mu.Lock()
				held = append(held, c)
				mu.Unlock()
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// runCheckAround runs "tcpflow-check check --policy P -i lo --filter 'tcp
// port PORT' ARGS -- COMMAND..." as a child process.
func runCheckAround(t *testing.T, port int, args []string, command ...string) (int, string) {
	t.Helper()
	pol := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(pol, []byte("fail_on: [half_close_stuck, syn_unanswered]\nmax:\n  connection_refused: 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	argv := append([]string{"check", "--policy", pol, "-i", "lo", "--grace", "1s", "--filter", fmt.Sprintf("tcp port %d", port)}, args...)
	argv = append(append(argv, "--"), command...)
	cmd := exec.Command(os.Args[0], argv...)
	cmd.Env = append(os.Environ(), liveChildEnv+"=main")
	out, _ := cmd.CombinedOutput()
	return cmd.ProcessState.ExitCode(), string(out)
}

// TestCheckAround runs check -i lo -w t.pcapng -- python3 leak.py against
// a leaking server, a refused port and a clean server, on real loopback
// traffic: the exit code says which failed, and the trace opens in tshark
// with isb_endtime where the capture stopped.
func TestCheckAround(t *testing.T) {
	needLive(t)
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("needs python3")
	}
	leakPy, _ := filepath.Abs("testdata/leak.py")
	for _, c := range []struct {
		name   string
		port   func() int
		exit   int
		output []string
	}{
		{"leaking server", func() int { return testServer(t, true) }, exitViolations,
			[]string{"half_close_stuck", "server CLOSE_WAIT", "verdict: FAIL"}},
		{"refused port", func() int { return freePort(t) }, exitBothFailed,
			[]string{"connection_refused", "verdict: FAIL", "python3: exit status 1"}},
		{"clean server", func() int { return testServer(t, false) }, exitOK,
			[]string{"verdict: PASS"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			trace := filepath.Join(t.TempDir(), "t.pcapng")
			port := c.port()
			code, out := runCheckAround(t, port, []string{"-w", trace}, python, leakPy, fmt.Sprint(port))
			if code != c.exit {
				t.Errorf("exit %d, want %d\n%s", code, c.exit, out)
			}
			for _, want := range c.output {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			checkTrace(t, trace, port)
		})
	}
}

// checkTrace opens the trace in tshark and in our reader: its packets are
// the connection's, and its isb_endtime is after the last one.
func checkTrace(t *testing.T, trace string, port int) {
	t.Helper()
	r, err := capture.Open(trace, nil)
	if err != nil {
		t.Fatalf("the trace does not open: %v", err)
	}
	var seg capture.Segment
	n := 0
	for r.Next(&seg) == nil {
		if int(seg.Src.Port()) != port && int(seg.Dst.Port()) != port {
			t.Errorf("frame %d is outside the filter: %s → %s", seg.Frame, seg.Src, seg.Dst)
		}
		n++
	}
	st := r.Stats()
	r.Close()
	if n == 0 {
		t.Fatal("the trace holds no segment")
	}
	if !st.End.After(st.Last) {
		t.Errorf("isb_endtime %v is not after the last packet %v", st.End, st.Last)
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Log("tshark not installed: the trace was not opened with it")
		return
	}
	out, err := exec.Command(tshark, "-r", trace).CombinedOutput()
	if err != nil {
		t.Errorf("tshark -r %s: %v\n%s", trace, err, out)
	}
	if got := strings.Count(strings.TrimSpace(string(out)), "\n") + 1; !strings.Contains(string(out), fmt.Sprintf("%d", port)) || got < n {
		t.Errorf("tshark lists %d lines for %d segments:\n%s", got, n, out)
	}
}

// TestCheckAroundExitCodes: a command that fails while the policy passes
// exits 3; a capture that cannot open exits 2 before the command runs.
func TestCheckAroundExitCodes(t *testing.T) {
	needLive(t)
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("needs python3")
	}
	leakPy, _ := filepath.Abs("testdata/leak.py")
	port := testServer(t, false)
	if code, out := runCheckAround(t, port, nil, "sh", "-c", fmt.Sprintf("%s %s %d && exit 7", python, leakPy, port)); code != exitCommandFailed ||
		!strings.Contains(out, "exit status 7") {
		t.Errorf("a failing command under a passing policy: exit %d, want 3\n%s", code, out)
	}

	marker := filepath.Join(t.TempDir(), "ran")
	pol := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(pol, []byte("fail_on: [half_close_stuck]\n"), 0o644)
	cmd := exec.Command(os.Args[0], "check", "--policy", pol, "-i", "tfc-nosuch0", "--", "touch", marker)
	cmd.Env = append(os.Environ(), liveChildEnv+"=main")
	out, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != exitError || !strings.Contains(string(out), "no such interface") {
		t.Errorf("no such interface: exit %d, want 2\n%s", code, out)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the command ran although the capture did not open")
	}

	// Usage: -i without a command.
	code, _, stderr := runCmd(t, nil, "check", "--policy", pol, "-i", "lo")
	if code != exitError || !strings.Contains(stderr, "give the command to run after --") {
		t.Errorf("check -i without a command: exit %d, %q", code, stderr)
	}
}
