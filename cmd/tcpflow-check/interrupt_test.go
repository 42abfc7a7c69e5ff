package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/tcpflow-check/tcpflow-check/internal/pcapgen"
)

// The tests of SIGINT and SIGTERM on analyze run tcpflow-check as a child
// process (the test binary, see live_test.go's init) and send it a real
// signal: stopped while blocked on a FIFO, on a tcpdump pipeline, and in
// the middle of a big file, it must flush what it read, print the summary
// and exit 130.

// unread is the number of bytes in the pipe or FIFO of f not yet read.
func unread(t *testing.T, f *os.File) int {
	t.Helper()
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int32
	var errno syscall.Errno
	rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
	})
	if errno != 0 {
		t.Fatalf("FIONREAD: %v", errno)
	}
	return int(n)
}

// blockedIn reports whether a thread of process pid sleeps in the kernel
// function fn (/proc/PID/task/TID/wchan).
func blockedIn(pid int, fn string) bool {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/wchan", pid))
	for _, w := range tasks {
		if b, _ := os.ReadFile(w); string(b) == fn {
			return true
		}
	}
	return false
}

// waitUntil polls cond every 20ms for up to timeout.
func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
	}
}

// TestAnalyzeSignalFIFO: analyze reads a real capture from a FIFO whose
// writer keeps it open with no more data, so it is blocked in read. A
// signal must end it with the summary of what was read, exit 130.
func TestAnalyzeSignalFIFO(t *testing.T) {
	capBytes, err := os.ReadFile("../../testdata/pcaps/real/half-close-stuck.pcap")
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			fifo := filepath.Join(t.TempDir(), "trace.fifo")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			p := startProc(t, exec.Command(os.Args[0], "analyze", "--color", "never", fifo), nil)
			w, err := os.OpenFile(fifo, os.O_WRONLY, 0) // returns once analyze has opened it
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if _, err := w.Write(capBytes); err != nil {
				t.Fatal(err)
			}
			waitUntil(t, "analyze reads the FIFO", 10*time.Second, func() bool { return unread(t, w) == 0 })
			if code := p.stop(sig); code != exitInterrupted {
				stdout, stderr := p.output()
				t.Fatalf("exit %d after %v, want 130\nstdout:\n%s\nstderr:\n%s", code, sig, stdout, stderr)
			}
			stdout, stderr := p.output()
			name := map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM"}[sig]
			for _, want := range []string{
				"13 packets, 1 TCP connection",
				"interrupted: " + name + " while reading " + fifo + ", after 13 packets",
				"half_close_stuck × 1",
				"final client FIN_WAIT_2 / server CLOSE_WAIT",
			} {
				if !strings.Contains(flat(stdout), flat(want)) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
			if !strings.Contains(stderr, name+" while reading") {
				t.Errorf("stderr does not say the run was interrupted:\n%s", stderr)
			}
		})
	}

	// Nobody ever opens the FIFO for writing: analyze is blocked in open.
	t.Run("no writer", func(t *testing.T) {
		fifo := filepath.Join(t.TempDir(), "trace.fifo")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
		p := startProc(t, exec.Command(os.Args[0], "analyze", "--format", "json", fifo), nil)
		waitUntil(t, "analyze waits in open(2) for a writer", 10*time.Second, func() bool {
			return blockedIn(p.cmd.Process.Pid, "wait_for_partner")
		})
		if code := p.stop(syscall.SIGINT); code != exitInterrupted {
			stdout, stderr := p.output()
			t.Fatalf("exit %d, want 130\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		stdout, _ := p.output()
		var doc struct {
			Inputs []struct {
				Name        string `json:"name"`
				Packets     int    `json:"packets"`
				Interrupted string `json:"interrupted"`
			} `json:"inputs"`
		}
		if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
			t.Fatalf("not a JSON document: %v\n%s", err, stdout)
		}
		if len(doc.Inputs) != 1 || doc.Inputs[0].Name != fifo || doc.Inputs[0].Interrupted != "SIGINT" || doc.Inputs[0].Packets != 0 {
			t.Errorf("inputs %+v, want the FIFO interrupted by SIGINT with 0 packets", doc.Inputs)
		}
	})
}

// TestAnalyzeSignalPipeline is "tcpdump -U --immediate-mode -w - |
// tcpflow-check analyze -" stopped by SIGINT while analyze waits for more:
// tcpdump captures a handshake left open and a refused connect (-c 5) and
// exits, the test holds the pipe open, and once analyze has read all of it
// the signal comes. Both connections must be reported, the open one
// flushed in ESTABLISHED.
func TestAnalyzeSignalPipeline(t *testing.T) {
	needLive(t)
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("needs tcpdump")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	open, refused := ln.Addr().(*net.TCPAddr).Port, freePort(t)

	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close() // held open: analyze sees no end of input
	td := exec.Command(tcpdump, "-i", "lo", "-U", "--immediate-mode", "-c", "5", "-w", "-",
		fmt.Sprintf("tcp port %d or tcp port %d", open, refused))
	td.Stdout = pw
	tdErr, _ := td.StderrPipe()
	if err := td.Start(); err != nil {
		t.Fatal(err)
	}
	defer td.Process.Kill()
	an := exec.Command(os.Args[0], "analyze", "--format", "jsonl", "-")
	an.Stdin = pr
	p := startProc(t, an, nil)
	sc := bufio.NewScanner(tdErr)
	for sc.Scan() && !strings.Contains(sc.Text(), "listening on") {
	}
	go io.Copy(io.Discard, tdErr)

	// Five packets: a handshake (S, SA, A) left open, and S, R.
	acc := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); acc <- c }()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if s := <-acc; s != nil {
		defer s.Close()
	}
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", refused), 2*time.Second); err == nil {
		c.Close()
		t.Fatalf("port %d accepted", refused)
	}
	done := make(chan error, 1)
	go func() { done <- td.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("tcpdump: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("tcpdump did not capture 5 packets within 10s")
	}
	waitUntil(t, "analyze reads the pipe", 10*time.Second, func() bool { return unread(t, pr) == 0 })

	if code := p.stop(syscall.SIGINT); code != exitInterrupted {
		stdout, stderr := p.output()
		t.Fatalf("exit %d, want 130\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	stdout, _ := p.output()
	states := map[string]string{}
	var summary map[string]any
	for _, l := range strings.Split(stdout, "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("not a JSON line: %q", l)
		}
		if v["type"] == "summary" {
			summary = v
			continue
		}
		states[fmt.Sprint(v["server"])] = fmt.Sprintf("%v %v/%v", v["conn_state"], v["client_state"], v["server_state"])
	}
	for server, want := range map[string]string{
		fmt.Sprintf("127.0.0.1:%d", open):    "S1 ESTABLISHED/ESTABLISHED",
		fmt.Sprintf("127.0.0.1:%d", refused): "REJ CLOSED/CLOSED",
	} {
		if states[server] != want {
			t.Errorf("connection to %s: %q, want %q", server, states[server], want)
		}
	}
	if summary == nil {
		t.Fatalf("no summary line:\n%s", stdout)
	}
	if in := summary["inputs"].([]any)[0].(map[string]any); in["interrupted"] != "SIGINT" || in["packets"] != 5.0 {
		t.Errorf("summary input %v: want 5 packets, interrupted by SIGINT", in)
	}
}

// TestAnalyzeSignalBigFile stops analyze in the middle of a big regular
// file: its jsonl output goes to a pipe the test does not read until the
// signal has come, so it is held mid-file; then the test drains the pipe.
// Reading must stop there, everything still open be flushed, and the
// summary agree with the records that were written.
func TestAnalyzeSignalBigFile(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 20,000-connection capture")
	}
	const conns = 20000
	path := filepath.Join(t.TempDir(), "big.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	if _, err := pcapgen.WriteSynthetic(bw, pcapgen.Synthetic{Conns: conns, Concurrent: 100, Spacing: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	// --msl 1ms: a record is written at the first sweep (every second of
	// capture time, a thousand packets) after its TIME_WAIT is over.
	p := startProc(t, exec.Command(os.Args[0], "analyze", "--format", "jsonl", "--msl", "1ms", path), pw)
	pw.Close()
	// Once analyze has written (its handler is installed by then), it
	// cannot finish: its 14 MB of records do not fit in the pipe, which
	// the test reads only after the signal.
	waitUntil(t, "analyze writes its first records", 2*time.Minute, func() bool {
		select {
		case <-p.done:
			_, stderr := p.output()
			t.Fatalf("analyze exited (%d) before the signal:\n%s", p.exit, stderr)
		default:
		}
		return unread(t, pr) > 0
	})
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(pr)
	if err != nil {
		t.Fatal(err)
	}
	if code := p.stop(nil); code != exitInterrupted {
		_, stderr := p.output()
		t.Fatalf("exit %d, want 130\nstderr:\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var sum struct {
		Type        string `json:"type"`
		Connections int    `json:"connections"`
		Packets     int    `json:"packets"`
		Inputs      []struct {
			Interrupted string `json:"interrupted"`
		} `json:"inputs"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil || sum.Type != "summary" {
		t.Fatalf("last line is not the summary (%v): %.300s", err, lines[len(lines)-1])
	}
	records := len(lines) - 1
	if records >= conns || sum.Packets >= conns*pcapgen.SyntheticPacketsPerConn {
		t.Errorf("%d records, %d packets: the whole file was read despite the signal", records, sum.Packets)
	}
	if sum.Connections != records {
		t.Errorf("summary counts %d connections, %d records were written", sum.Connections, records)
	}
	if len(sum.Inputs) != 1 || sum.Inputs[0].Interrupted != "SIGINT" {
		t.Errorf("summary inputs %+v: not marked interrupted", sum.Inputs)
	}
}
