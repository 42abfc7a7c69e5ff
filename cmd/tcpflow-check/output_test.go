package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/pcapgen"
)

// writeLog is an io.Writer that keeps each Write apart.
type writeLog struct {
	mu     sync.Mutex
	writes []string
	fail   error // returned from the next Write on, when set
}

func (l *writeLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return 0, l.fail
	}
	l.writes = append(l.writes, string(p))
	return len(p), nil
}

func (l *writeLog) all() (string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.writes, ""), len(l.writes)
}

// TestBatchOutput: many records become few writes, none split, all of
// them there after Close and in order; one bigger than a batch goes out
// whole.
func TestBatchOutput(t *testing.T) {
	var log writeLog
	w, closeOut := newOutput(&log)
	var want strings.Builder
	big := strings.Repeat("x", outputBatch+1) + "\n"
	for i := 0; i < 20000; i++ {
		rec := fmt.Sprintf(`{"type":"connection","id":%d}`+"\n", i)
		if i == 7000 {
			rec = big
		}
		want.WriteString(rec)
		if n, err := w.Write([]byte(rec)); n != len(rec) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if err := closeOut(); err != nil {
		t.Fatal(err)
	}
	got, n := log.all()
	if got != want.String() {
		t.Fatalf("output differs from what was written (%d bytes, want %d)", len(got), want.Len())
	}
	// 20,000 records of ~30 bytes and one of 128 KiB: some 8 batches, a
	// few more where the timer flushed a batch early.
	if n > 100 {
		t.Errorf("%d writes for 20000 records", n)
	}
	for i, s := range log.writes {
		if !strings.HasSuffix(s, "\n") {
			t.Fatalf("write %d splits a record: ends %q", i, s[max(0, len(s)-20):])
		}
		if strings.Contains(s, "x") && s != big {
			t.Errorf("write %d: the big record is not alone", i)
		}
	}
}

// TestBatchOutputLingers: a record written and nothing after it reaches
// the output without Close (who tails the output sees it).
func TestBatchOutputLingers(t *testing.T) {
	var log writeLog
	w, closeOut := newOutput(&log)
	defer closeOut()
	w.Write([]byte("one record\n"))
	waitUntil(t, "the record is written", hang, func() bool {
		got, _ := log.all()
		return got == "one record\n"
	})
	w.Write([]byte("another\n"))
	waitUntil(t, "the next record is written", hang, func() bool {
		got, _ := log.all()
		return got == "one record\nanother\n"
	})
}

// TestBatchOutputError: the first write error comes back from every later
// Write and from Close.
func TestBatchOutputError(t *testing.T) {
	broken := errors.New("broken pipe")
	log := writeLog{fail: broken}
	w, closeOut := newOutput(&log)
	big := bytes.Repeat([]byte("y"), outputBatch/2)
	var err error
	for i := 0; i < 4 && err == nil; i++ {
		_, err = w.Write(big)
	}
	if !errors.Is(err, broken) {
		t.Errorf("Write after a failed flush: %v, want %v", err, broken)
	}
	if err := closeOut(); !errors.Is(err, broken) {
		t.Errorf("Close: %v, want %v", err, broken)
	}
}

// TestAnalyzePipeStreams: analyze of a pipe writes each record as its
// connection ends, not at the end of the input: a refused connection, then
// a SYN 400 s later (the refusal is over by then), and the pipe held open.
// The refusal's record must show while analyze still waits for more.
func TestAnalyzePipeStreams(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	refused := pcapgen.NewConv(netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:81"), 1000, 0, start)
	refused.C(capture.SYN, 0, 0, 0)
	refused.S(capture.RST|capture.ACK, 0, 1, 0)
	later := pcapgen.NewConv(netip.MustParseAddrPort("10.0.0.1:40001"), netip.MustParseAddrPort("10.0.0.2:80"), 5000, 0,
		start.Add(400*time.Second))
	later.C(capture.SYN, 0, 0, 0)
	var capBytes bytes.Buffer
	if err := pcapgen.Write(&capBytes, pcapgen.Format{}, pcapgen.Ethernet, append(refused.Segs, later.Segs...)); err != nil {
		t.Fatal(err)
	}

	for _, workers := range []string{"1", "2"} {
		t.Run("workers="+workers, func(t *testing.T) {
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer pr.Close()
			an := exec.Command(os.Args[0], "analyze", "--format", "jsonl", "--workers", workers, "-")
			an.Stdin = pr
			p := startProc(t, an, nil)
			if _, err := pw.Write(capBytes.Bytes()); err != nil {
				t.Fatal(err)
			}
			line := p.waitFor(&p.stdout, `"server":"10.0.0.2:81"`, hang)
			var rec struct {
				ConnState string `json:"conn_state"`
			}
			if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.ConnState != "REJ" {
				t.Errorf("record of the refusal %q (%v), want conn_state REJ", line, err)
			}
			if stdout, _ := p.output(); strings.Contains(stdout, `"10.0.0.2:80"`) || strings.Contains(stdout, `"summary"`) {
				t.Errorf("the open connection or the summary came before the input ended:\n%s", stdout)
			}
			pw.Close()
			if code := p.stop(nil); code != 0 {
				stdout, stderr := p.output()
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			p.waitFor(&p.stdout, `"type":"summary"`, hang)
		})
	}
}
