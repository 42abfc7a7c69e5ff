package capture

import (
	"bytes"
	stdgzip "compress/gzip"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	kgzip "github.com/klauspost/compress/gzip"
)

// BenchmarkGunzip measures decompressing a gzip-compressed pcap with the
// standard library's compress/gzip and with klauspost/compress/gzip, which
// the Reader uses: the same stream, read to its end through the Reader's
// stream buffer size. cpu-ns/op is the process's CPU time, which a shared
// machine's load does not inflate as it does ns/op.
func BenchmarkGunzip(b *testing.B) {
	data, zb := gzippedPcap(b)
	buf := make([]byte, streamSize)
	run := func(b *testing.B, open func(io.Reader) (io.Reader, error)) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		cpu0 := cpuTime()
		for b.Loop() {
			zr, err := open(bytes.NewReader(zb.Bytes()))
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{zr}, buf)
			if err != nil || n != int64(len(data)) {
				b.Fatalf("%d bytes, %v; want %d", n, err, len(data))
			}
		}
		b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	}
	b.Run("compress-gzip", func(b *testing.B) {
		run(b, func(r io.Reader) (io.Reader, error) { return stdgzip.NewReader(r) })
	})
	b.Run("klauspost-gzip", func(b *testing.B) {
		run(b, func(r io.Reader) (io.Reader, error) { return kgzip.NewReader(r) })
	})
}

// BenchmarkReaderGzip reads a gzip-compressed pcap through the Reader.
func BenchmarkReaderGzip(b *testing.B) {
	data, zb := gzippedPcap(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	var seg Segment
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(zb.Bytes()), "bench.pcap.gz", nil)
		if err != nil {
			b.Fatal(err)
		}
		drain(b, r, &seg)
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// gzippedPcap returns a pcap of 500 copies of the test frames and its gzip
// compression, the input of the gzip benchmarks.
func gzippedPcap(b *testing.B) (data []byte, zb *bytes.Buffer) {
	fs := testFrames(b)
	var frames [][]byte
	for range 500 {
		frames = append(frames, datas(fs)...)
	}
	data = writePcap(b, layers.LinkTypeEthernet, frames, false)
	zb = new(bytes.Buffer)
	zw := stdgzip.NewWriter(zb)
	zw.Write(data)
	zw.Close()
	return data, zb
}
