package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/gopacket/gopacket/layers"
)

// The stream hands out packets as slices of its buffer, refilled in large
// reads. These tests put records across the buffer's end, at the largest
// length, and cut or break the input there, through every kind of input.

// seqFrames makes Ethernet, IPv4, TCP frames whose sequence number tells
// which frame each is, padded (as Ethernet pads) to any size.
type seqFrames struct {
	base []byte
	at   int // offset of the TCP sequence number
}

func newSeqFrames(t testing.TB) seqFrames {
	var base []byte
	for _, c := range decodeCases(t) {
		if c.name == "eth-ipv4-tcp-iplen" {
			base = c.frame
		}
	}
	var seg Segment
	if r := NewDecoder(nil).Decode(base, layers.LinkTypeEthernet, &seg); r.Skipped() {
		t.Fatal(r)
	}
	at := 14 + 20 + 4
	if binary.BigEndian.Uint32(base[at:]) != seg.Seq {
		t.Fatalf("the sequence number is not at byte %d of the test frame", at)
	}
	return seqFrames{base: base, at: at}
}

func (s seqFrames) frame(i uint32, size int) []byte {
	f := make([]byte, max(size, len(s.base)))
	copy(f, s.base)
	binary.BigEndian.PutUint32(f[s.at:], i)
	for j := len(s.base); j < len(f); j++ {
		f[j] = byte(i) ^ byte(j)
	}
	return f
}

// sizes are frame lengths that put many records across a stream buffer's
// end: short and long ones at random, and runs of the largest a record may
// have.
func sizes(n int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]int, n)
	for i := range out {
		switch k := rng.IntN(10); {
		case k == 0:
			out[i] = maxSnapLen
		case k < 4:
			out[i] = 1 + rng.IntN(maxSnapLen)
		default:
			out[i] = 60 + rng.IntN(1500)
		}
	}
	return out
}

// boundaryPcap is a pcap of n frames of the given sizes, and the byte
// offset where each record starts.
func boundaryPcap(t testing.TB, sf seqFrames, sz []int) (data []byte, at []int64) {
	frames := make([][]byte, len(sz))
	off := int64(24)
	for i, n := range sz {
		frames[i] = sf.frame(uint32(i), n)
		at = append(at, off)
		off += 16 + int64(len(frames[i]))
	}
	return writePcapMax(t, frames), at
}

// writePcapMax writes a pcap whose snap length allows the largest records.
func writePcapMax(t testing.TB, frames [][]byte) []byte {
	b := writePcap(t, layers.LinkTypeEthernet, frames, false)
	binary.LittleEndian.PutUint32(b[16:], maxSnapLen)
	return b
}

// boundaryPcapng is boundaryPcap in pcapng, each packet in an Enhanced
// Packet Block with options of random length after it: a few longer than
// the stream's buffer, so that the packet is copied out of it.
func boundaryPcapng(t testing.TB, sf seqFrames, sz []int) []byte {
	f := newNgFile(false).idb(uint16(layers.LinkTypeEthernet), 0)
	rng := rand.New(rand.NewPCG(7, 7))
	for i, n := range sz {
		data := sf.frame(uint32(i), n)
		body := f.o.AppendUint32(nil, 0)
		body = f.o.AppendUint32(body, 0)
		body = f.o.AppendUint32(body, uint32(i))
		body = f.o.AppendUint32(body, uint32(len(data)))
		body = f.o.AppendUint32(body, uint32(len(data)))
		body = append(body, data...)
		body = append(body, make([]byte, (4-len(data)%4)%4)...)
		opts := rng.IntN(200)
		if i%50 == 49 {
			opts = streamSize + rng.IntN(maxSnapLen)
		}
		for opts > 0 { // comments of up to 65,532 bytes
			l := min(opts, 65532)
			body = f.o.AppendUint16(body, 1)
			body = f.o.AppendUint16(body, uint16(l))
			body = append(body, make([]byte, (l+3)&^3)...)
			opts -= l
		}
		body = f.o.AppendUint32(body, 0)
		f.block(blockEPB, body)
	}
	return f.b
}

// checkSeq reads r to its end and checks that frame i came whole and in
// order: its sequence number is i.
func checkSeq(t *testing.T, r *Reader, n int) error {
	t.Helper()
	var seg Segment
	for i := 0; ; i++ {
		err := r.Next(&seg)
		if err != nil {
			if err == io.EOF && i != n {
				t.Errorf("%d segments, want %d", i, n)
			}
			return err
		}
		if seg.Seq != uint32(i) || seg.Frame != uint64(i+1) {
			t.Fatalf("segment %d: frame %d, seq %d", i, seg.Frame, seg.Seq)
		}
	}
}

func writeFile(t testing.TB, data []byte) string {
	p := filepath.Join(t.TempDir(), "t.pcap")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// inputs are the ways a capture reaches a Reader: a file Open reads, a
// gzip file Open decompresses ahead, and readers that return a byte, half
// of what was asked for, or a gzip stream.
var inputs = []struct {
	name string
	open func(t *testing.T, data []byte) (*Reader, error)
}{
	{"file", func(t *testing.T, data []byte) (*Reader, error) { return Open(writeFile(t, data), nil) }},
	{"gzip-file", func(t *testing.T, data []byte) (*Reader, error) { return Open(writeFile(t, gz(t, data)), aheadConfig) }},
	{"half-reads", func(t *testing.T, data []byte) (*Reader, error) {
		return NewReader(iotest.HalfReader(bytes.NewReader(data)), "half", nil)
	}},
	{"data-with-eof", func(t *testing.T, data []byte) (*Reader, error) {
		return NewReader(iotest.DataErrReader(bytes.NewReader(data)), "dataerr", nil)
	}},
	{"gzip", func(t *testing.T, data []byte) (*Reader, error) {
		return NewReader(bytes.NewReader(gz(t, data)), "gz", nil)
	}},
}

func TestStreamBoundaries(t *testing.T) {
	sf := newSeqFrames(t)
	sz := sizes(400, 1)
	pcap, _ := boundaryPcap(t, sf, sz)
	ng := boundaryPcapng(t, sf, sz)
	for _, in := range inputs {
		for _, f := range []struct {
			name string
			data []byte
		}{{"pcap", pcap}, {"pcapng", ng}} {
			t.Run(in.name+"/"+f.name, func(t *testing.T) {
				r, err := in.open(t, f.data)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				if err := checkSeq(t, r, len(sz)); err != io.EOF {
					t.Fatalf("final error %v, want io.EOF", err)
				}
			})
		}
	}
	t.Run("one-byte-reads", func(t *testing.T) {
		small, _ := boundaryPcap(t, sf, sizes(40, 2))
		r, err := NewReader(iotest.OneByteReader(bytes.NewReader(small)), "one", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkSeq(t, r, 40); err != io.EOF {
			t.Fatalf("final error %v, want io.EOF", err)
		}
	})
}

// TestStreamCut cuts a capture inside records that cross the stream
// buffer's end, and at the end of it: the good frames come first, then an
// error that names the frame cut and where its record starts.
func TestStreamCut(t *testing.T) {
	sf := newSeqFrames(t)
	sz := sizes(60, 3)
	data, at := boundaryPcap(t, sf, sz)
	// the first record to cross the first buffer's end, and the last one
	cross := 0
	for at[cross+1] <= streamSize {
		cross++
	}
	last := len(sz) - 1
	for _, c := range []struct {
		name   string
		cut    int64
		record int
	}{
		{"in-header-across-buffer", at[cross] + 9, cross},
		{"in-data-across-buffer", at[cross] + 16 + int64(sz[cross])/2, cross},
		{"header-only", at[cross] + 16, cross},
		{"last-byte", int64(len(data)) - 1, last},
		{"at-buffer-end", streamSize, cross},
	} {
		for _, in := range inputs {
			t.Run(c.name+"/"+in.name, func(t *testing.T) {
				r, err := in.open(t, data[:c.cut])
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				err = checkSeq(t, r, c.record)
				if c.cut == at[c.record] { // cut between records
					if err != io.EOF {
						t.Fatalf("error %v, want io.EOF", err)
					}
					return
				}
				var fe *FileError
				if !errors.Is(err, ErrTruncated) || !errors.As(err, &fe) {
					t.Fatalf("error %v, want a *FileError wrapping ErrTruncated", err)
				}
				if fe.Frame != uint64(c.record+1) || fe.Offset != at[c.record] {
					t.Errorf("%v: want frame %d at byte offset %d", err, c.record+1, at[c.record])
				}
				if got := r.Stats().Segments; got != uint64(c.record) {
					t.Errorf("Stats().Segments = %d, want %d", got, c.record)
				}
			})
		}
	}
}

// TestStreamCorruptOffsets breaks records past the first buffers: the
// error gives the offset of the broken record, counted across refills.
func TestStreamCorruptOffsets(t *testing.T) {
	sf := newSeqFrames(t)
	sz := sizes(80, 4)
	data, at := boundaryPcap(t, sf, sz)
	bad := len(sz) - 3
	for _, c := range []struct {
		name   string
		caplen uint32
		length uint32
	}{
		{"caplen-over-maximum", maxSnapLen + 1, maxSnapLen + 1},
		{"caplen-over-length", 100, 99},
	} {
		b := append([]byte(nil), data...)
		binary.LittleEndian.PutUint32(b[at[bad]+8:], c.caplen)
		binary.LittleEndian.PutUint32(b[at[bad]+12:], c.length)
		for _, in := range inputs {
			t.Run(c.name+"/"+in.name, func(t *testing.T) {
				r, err := in.open(t, b)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				err = checkSeq(t, r, bad)
				var fe *FileError
				if !errors.Is(err, ErrCorrupt) || !errors.As(err, &fe) || fe.Frame != uint64(bad+1) || fe.Offset != at[bad] {
					t.Fatalf("error %v, want ErrCorrupt at frame %d, byte offset %d", err, bad+1, at[bad])
				}
			})
		}
	}
}

// failingReader returns its data, then err.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

// TestStreamReadError: a read that fails after the first buffers ends the
// capture with that error, after every frame read whole before it.
func TestStreamReadError(t *testing.T) {
	sf := newSeqFrames(t)
	sz := sizes(60, 5)
	data, at := boundaryPcap(t, sf, sz)
	broken := errors.New("input/output error")
	cut := len(sz) - 5
	r, err := NewReader(&failingReader{data: data[:at[cut]+20], err: broken}, "eio", nil)
	if err != nil {
		t.Fatal(err)
	}
	err = checkSeq(t, r, cut)
	var fe *FileError
	if !errors.Is(err, broken) || !errors.As(err, &fe) || fe.Frame != uint64(cut+1) || fe.Offset != at[cut] {
		t.Fatalf("error %v, want %v at frame %d, byte offset %d", err, broken, cut+1, at[cut])
	}
}

// TestOpenGrowing reads a capture while it is written, as tcpdump -w
// writes it: what is appended before the Reader gets to the end is read,
// and a record still half written at the end is a truncated record.
func TestOpenGrowing(t *testing.T) {
	sf := newSeqFrames(t)
	sz := sizes(30, 6)
	data, at := boundaryPcap(t, sf, sz)
	first, second := 10, 25 // records written before Open, and before reading on
	p := writeFile(t, data[:at[first]])
	r, err := Open(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var seg Segment
	for i := range first {
		if err := r.Next(&seg); err != nil || seg.Seq != uint32(i) {
			t.Fatalf("segment %d: seq %d, %v", i, seg.Seq, err)
		}
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	half := at[second] + 16 + int64(sz[second])/2
	if _, err := f.Write(data[at[first]:half]); err != nil {
		t.Fatal(err)
	}
	for i := first; i < second; i++ {
		if err := r.Next(&seg); err != nil || seg.Seq != uint32(i) {
			t.Fatalf("segment %d after the append: seq %d, %v", i, seg.Seq, err)
		}
	}
	err = r.Next(&seg)
	var fe *FileError
	if !errors.Is(err, ErrTruncated) || !errors.As(err, &fe) || fe.Frame != uint64(second+1) || fe.Offset != at[second] {
		t.Fatalf("at the half-written record: %v, want ErrTruncated at frame %d, byte offset %d", err, second+1, at[second])
	}
	if got := r.Stats().Segments; got != uint64(second) {
		t.Errorf("Stats().Segments = %d, want %d", got, second)
	}
}

// TestOpenEmptyAndTiny: files too short for a header, read through Open.
func TestOpenEmptyAndTiny(t *testing.T) {
	pcap := writePcap(t, layers.LinkTypeEthernet, nil, false)
	for _, c := range []struct {
		name string
		data []byte
		is   error
	}{
		{"empty", nil, ErrEmpty},
		{"one-byte", pcap[:1], ErrTruncated},
		{"cut-header", pcap[:23], ErrTruncated},
		{"pcapng-cut-section", newNgFile(false).b[:20], ErrTruncated},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, c.data)
			r, err := Open(p, nil)
			var fe *FileError
			if r != nil || !errors.Is(err, c.is) || !errors.As(err, &fe) || fe.File != p {
				t.Fatalf("Open = %v, %v; want a *FileError for %s wrapping %v", r, err, p, c.is)
			}
		})
	}
	r, err := Open(writeFile(t, pcap), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Next(&Segment{}); err != io.EOF {
		t.Errorf("a header-only file: %v, want io.EOF", err)
	}
}

// TestOpenNoAllocs is TestReaderNoAllocs through Open, over a file long
// enough for the stream to refill its buffer many times in the run, and
// over its gzip, decompressed ahead.
func TestOpenNoAllocs(t *testing.T) {
	sf := newSeqFrames(t)
	sz := make([]int, 3000)
	for i := range sz {
		sz[i] = 1500 + i%3000
	}
	data, _ := boundaryPcap(t, sf, sz)
	for _, f := range []struct {
		name string
		data []byte
	}{{"pcap", data}, {"pcapng", boundaryPcapng(t, sf, sz)}, {"pcap.gz", gz(t, data)}} {
		t.Run(f.name, func(t *testing.T) {
			r, err := Open(writeFile(t, f.data), aheadConfig)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var seg Segment
			for range 100 {
				if err := r.Next(&seg); err != nil {
					t.Fatal(err)
				}
			}
			before := r.src.bytes().off
			n := testing.AllocsPerRun(2000, func() {
				if err := r.Next(&seg); err != nil {
					t.Fatal(err)
				}
			})
			if refills := (r.src.bytes().off - before) / streamSize; refills < 5 {
				t.Fatalf("only %d refills in the run", refills)
			}
			if n != 0 {
				t.Errorf("Next allocates %v times per segment, want 0", n)
			}
		})
	}
}

// BenchmarkReaderFile reads a generated capture file shaped like the
// performance harness's medium.pcap (a third full-size segments, the rest
// ACKs, 550 bytes a record on average) through Open, as analyze does, in
// pcap and in pcapng (as dumpcap writes it: one Enhanced Packet Block a
// packet).
func BenchmarkReaderFile(b *testing.B) {
	const n = 100_000
	files := func() []struct {
		name string
		data []byte
	} {
		sf := newSeqFrames(b)
		frames := make([]frame, n)
		for i := range frames {
			size := 66
			if i%3 == 0 {
				size = 1514
			}
			frames[i] = frame{layers.LinkTypeEthernet, sf.frame(uint32(i), size)}
		}
		return []struct {
			name string
			data []byte
		}{{"pcap", writePcap(b, layers.LinkTypeEthernet, datas(frames), false)}, {"pcapng", writePcapng(b, frames)}}
	}() // the frames are garbage before the clock starts: the collector has nothing to scan
	for _, f := range files {
		b.Run(f.name, func(b *testing.B) {
			p := filepath.Join(b.TempDir(), "bench."+f.name)
			if err := os.WriteFile(p, f.data, 0o644); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(f.data)))
			cpu0 := cpuTime()
			var seg Segment
			for b.Loop() {
				r, err := Open(p, nil)
				if err != nil {
					b.Fatal(err)
				}
				drain(b, r, &seg)
				r.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/frame")
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*n), "cpu-ns/frame")
		})
	}
}
