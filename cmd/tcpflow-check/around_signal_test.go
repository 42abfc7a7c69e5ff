package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCheckAroundSignals: a SIGINT or SIGTERM to check -i goes on to the
// command it runs (which traps it and says so), the capture then stops at
// once although --grace asks for ten minutes, the verdict is printed, and
// tcpflow-check exits 130 naming the signal.
func TestCheckAroundSignals(t *testing.T) {
	needLive(t)
	pol := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(pol, []byte("fail_on: [half_close_stuck]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		name := map[syscall.Signal]string{syscall.SIGINT: "INT", syscall.SIGTERM: "TERM"}[sig]
		t.Run(name, func(t *testing.T) {
			marker := filepath.Join(t.TempDir(), "started")
			script := fmt.Sprintf(`trap 'echo command got SIG%s; exit 9' %s; touch %s; while :; do sleep 0.05; done`, name, name, marker)
			cmd := exec.Command(os.Args[0], "check", "--policy", pol, "-i", "lo", "--grace", "10m",
				"--filter", fmt.Sprintf("tcp port %d", freePort(t)), "--color", "never", "--", "sh", "-c", script)
			cmd.Env = append(os.Environ(), liveChildEnv+"=main")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			// The command runs once its marker exists (the capture opened
			// before it started).
			for deadline := time.Now().Add(hang); ; time.Sleep(10 * time.Millisecond) {
				if _, err := os.Stat(marker); err == nil {
					break
				}
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					t.Fatalf("the command never started\n%s%s", stdout.String(), stderr.String())
				}
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-exited:
			case <-time.After(hang):
				cmd.Process.Kill()
				<-exited
				t.Fatalf("check -i did not end after SIG%s (the grace period was not cut short?)\n%s%s", name, stdout.String(), stderr.String())
			}
			out, errOut := strings.Join(strings.Fields(stdout.String()), " "), stderr.String() // the text output wraps
			if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
				t.Errorf("exit %d, want %d\n%s%s", code, exitInterrupted, out, errOut)
			}
			if !strings.Contains(out, "command got SIG"+name) {
				t.Errorf("the command did not get SIG%s:\n%s", name, out)
			}
			if !strings.Contains(out, "verdict: FAIL") || !strings.Contains(out, "nothing was captured on lo while the command ran") {
				t.Errorf("no verdict on the empty capture:\n%s", out)
			}
			want := "tcpflow-check: SIG" + name + " during sh, passed on to it: the verdict covers what was captured on lo\n"
			if !strings.Contains(errOut, want) || !strings.Contains(errOut, "sh: exit status 9") {
				t.Errorf("stderr lacks %q and the command's exit:\n%s", want, errOut)
			}
		})
	}
}

// TestCheckAroundNothingCaptured: an empty capture around a command is
// explained by the interface and the filter, not by tcpdump, which played
// no part.
func TestCheckAroundNothingCaptured(t *testing.T) {
	needLive(t)
	pol := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(pol, []byte("fail_on: [half_close_stuck]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "check", "--policy", pol, "-i", "lo", "--grace", "0s", "--color", "never",
		"--filter", fmt.Sprintf("tcp port %d", freePort(t)), "--", "true")
	cmd.Env = append(os.Environ(), liveChildEnv+"=main")
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitViolations {
		t.Fatalf("exit %v, want %d\n%s", err, exitViolations, out)
	}
	s := strings.Join(strings.Fields(string(out)), " ") // the text output wraps
	want := "nothing was captured on lo while the command ran: no packets. Likely causes: the test's traffic went over another interface"
	if !strings.Contains(s, want) || strings.Contains(s, "tcpdump") {
		t.Errorf("the hint does not speak of the interface (or speaks of tcpdump):\n%s", s)
	}
}
