package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/pcapgen"
	"github.com/tcpflow-check/tcpflow-check/internal/segtest"
)

type nullSink struct{ n int }

func (s *nullSink) Finding(*analyze.Conn, *analyze.Finding) {}
func (s *nullSink) End(*analyze.Conn)                       { s.n++ }

// TestPipelineNoAllocs proves that the whole per-packet path — reading a
// record, decoding it, the connection table and the state machine — does
// not allocate for the segments of an established connection.
func TestPipelineNoAllocs(t *testing.T) {
	s := segtest.New()
	s.Handshake()
	for i := 0; i < 3000; i++ {
		seq := uint32(1 + 100*i)
		s.C("PA", seq, 1, 100).S("A", 1, seq+100, 0)
	}
	var buf bytes.Buffer
	if err := pcapgen.Write(&buf, pcapgen.Format{}, pcapgen.Ethernet, s.Segments()); err != nil {
		t.Fatal(err)
	}
	r, err := capture.NewReader(bytes.NewReader(buf.Bytes()), "mem", nil)
	if err != nil {
		t.Fatal(err)
	}
	a := analyze.New(nil, &nullSink{})
	var seg capture.Segment
	for i := 0; i < 100; i++ { // the handshake and a warm-up
		if err := r.Next(&seg); err != nil {
			t.Fatal(err)
		}
		a.Add(&seg)
	}
	allocs := testing.AllocsPerRun(5000, func() {
		if err := r.Next(&seg); err != nil {
			t.Fatal(err)
		}
		a.Add(&seg)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per packet through decode → table → analyze, want 0", allocs)
	}
}

var (
	bigOnce sync.Once
	bigPath string
	bigPkts int
	bigErr  error
)

// bigCapture writes (once per run) a synthetic capture of 1,000,000 packets:
// 100,000 complete connections, 1000 open at a time.
func bigCapture(b *testing.B) (string, int) {
	bigOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tcpflow-bench")
		if err != nil {
			bigErr = err
			return
		}
		bigPath = filepath.Join(dir, "synthetic-1M.pcap")
		f, err := os.Create(bigPath)
		if err != nil {
			bigErr = err
			return
		}
		defer f.Close()
		bigPkts, bigErr = pcapgen.WriteSynthetic(f, pcapgen.Synthetic{Conns: 100_000, Concurrent: 1000})
	})
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return bigPath, bigPkts
}

// BenchmarkPipeline reads, decodes and analyzes a million-packet capture.
// It reports packets/s and allocations per packet.
func BenchmarkPipeline(b *testing.B) {
	path, pkts := bigCapture(b)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		r, err := capture.Open(path, nil)
		if err != nil {
			b.Fatal(err)
		}
		sink := &nullSink{}
		a := analyze.New(nil, sink)
		var seg capture.Segment
		for {
			if err := r.Next(&seg); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
			a.Add(&seg)
		}
		a.Flush()
		r.Close()
		if sink.n != 100_000 {
			b.Fatalf("%d connections, want 100000", sink.n)
		}
	}
	b.ReportMetric(float64(pkts)*float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
	b.ReportMetric(float64(pkts), "pkts/op")
}
