package capture

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
)

// rawBuf is the buffer between a gzip file and its decompressor; the
// decompressed stream, like an uncompressed file, is read in a stream's
// large reads (streamSize).
const rawBuf = 256 << 10

// Config tunes decoding. A nil *Config, like the zero Config, applies the
// defaults.
type Config struct {
	// VerifyChecksums checks the TCP checksum and the checksum of every IPv4
	// header on the way to it, as Zeek does without -C: a frame with a bad
	// IPv4 header checksum is dropped; a segment with a bad TCP checksum is
	// delivered with Segment.BadChecksum set. Both count in
	// Stats.BadChecksum. Frames cut short by the
	// snap length, and offloaded frames whose IP length is 0, cannot be
	// verified and are kept. Default false: captures taken on a sending host
	// carry checksums the NIC fills in later, so they look wrong.
	VerifyChecksums bool
	// Filter is a BPF filter in tcpdump's syntax; frames that fail it are
	// skipped and counted in Stats.Skipped as "filtered". Default "": every
	// frame. Compiling it needs libpcap's shared library at run time.
	Filter string
	// Fragments bounds the reassembly of IP fragments (timeout on the
	// capture's clock, datagrams and bytes held). The zero value applies
	// the defaults.
	Fragments FragmentConfig
	// ReadAhead makes Open decompress a gzip file on a goroutine of its
	// own, a few chunks (512 KiB each) ahead of the reads: worth it when a
	// core is free to inflate while the caller analyzes, a loss when every
	// core is busy (a 619 MB gzip of the perf harness's medium capture on 2
	// cores: --workers 1 went from 4.26 to 3.61 s, two workers from 3.86
	// to 4.26 s). Only regular files are read ahead, never a pipe, whose
	// reads could keep the goroutine, and Close, waiting. Close stops the
	// goroutine: a Reader read ahead and never closed keeps it, and its
	// 1.5 MiB, for the life of the process. Default false.
	ReadAhead bool
	// Stdin is what Open reads for the name "-": the caller's standard
	// input (a command passes its own, a test a buffer). Open never reads
	// os.Stdin itself, nor closes Stdin. Default nil: Open("-") fails with
	// ErrNoStdin.
	Stdin io.Reader
}

// Reader reads TCP segments from a pcap or pcapng capture, optionally
// gzip-compressed. The format is recognised by its magic number, never by
// the file name. A Reader is not safe for concurrent use.
type Reader struct {
	name   string
	closer io.Closer // the file Open opened, or nil
	gz     *gzip.Reader
	ah     *ahead          // a gzip file decompressed ahead, or nil
	raw    *countingReader // bytes of the file
	cnt    *countingReader // bytes of the (decompressed) capture
	src    recordSource
	ng     bool // pcapng (errors speak of blocks)
	rec    record
	err    error // sticky: io.EOF or a *FileError
	frames       // counts and decodes each record
}

// Open opens the capture file name; "-" reads cfg.Stdin. A nil cfg
// applies the defaults. A directory, a missing or empty file, or a file in
// an unknown format is an error that names the file.
func Open(name string, cfg *Config) (*Reader, error) {
	if name == "-" {
		if cfg == nil || cfg.Stdin == nil {
			return nil, &FileError{File: name, Err: ErrNoStdin}
		}
		return NewReader(cfg.Stdin, name, cfg)
	}
	f, err := os.Open(name)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &FileError{File: name, Err: err}
	}
	fi, err := f.Stat()
	if err == nil && fi.IsDir() {
		f.Close()
		return nil, &FileError{File: name, Err: errIsDir}
	}
	r, err := newReader(f, name, cfg)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	if cfg != nil && cfg.ReadAhead && r.gz != nil && fi != nil && fi.Mode().IsRegular() {
		s := r.src.bytes()
		r.ah = readAhead(s.rd, r.live)
		s.rd = r.ah
	}
	return r, nil
}

var errIsDir = errors.New("is a directory, not a capture file")

// NewReader reads a capture from rd; name is used in errors and by Name. A
// nil cfg applies the defaults. It reads the file header before returning.
func NewReader(rd io.Reader, name string, cfg *Config) (*Reader, error) {
	return newReader(rd, name, cfg)
}

func newReader(rd io.Reader, name string, cfg *Config) (*Reader, error) {
	r := &Reader{
		name:   name,
		frames: frames{dec: NewDecoder(cfg)},
	}
	var fc FragmentConfig
	if cfg != nil {
		fc = cfg.Fragments
	}
	r.reassemble(fc)
	if cfg != nil && cfg.Filter != "" {
		f, err := NewLinkFilter(cfg.Filter, maxSnapLen)
		if err != nil {
			return nil, err
		}
		r.filter = f
	}
	r.raw = &countingReader{r: rd}
	r.cnt = r.raw
	s := newStream(r.raw)
	magic := s.peek(4)
	if len(magic) == 0 {
		return nil, r.fail(0, r.emptyErr())
	}
	if len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		// The decompressor reads the file through a bufio.Reader, which
		// klauspost/compress reads fastest; it starts with the bytes
		// the stream read already.
		read := s.buf[s.r:s.w]
		gz, err := gzip.NewReader(bufio.NewReaderSize(io.MultiReader(bytes.NewReader(read), r.raw), rawBuf))
		if err != nil {
			return nil, r.fail(0, r.headerErr(err))
		}
		r.gz = gz
		r.cnt = &countingReader{r: gz}
		s = newStream(r.cnt)
		magic = s.peek(4)
		if len(magic) == 0 {
			return nil, r.fail(0, r.emptyErr())
		}
	}
	var err error
	switch f := sniff(magic); f {
	case formatPcap:
		var ps *pcapFileSource
		if ps, err = newPcapFileSource(s); err == nil {
			r.src = ps
		}
	case formatPcapng:
		var ns *ngSource
		if ns, err = newNgSource(s, r.statedEnd); err == nil {
			r.src, r.ng = ns, true
		}
	case formatTruncated:
		err = fmt.Errorf("%w file header", ErrTruncated)
	case formatModifiedPcap:
		err = fmt.Errorf("%w: modified (Kuznetzov) pcap is not supported; convert it with editcap", ErrUnknownFormat)
	default:
		err = fmt.Errorf("%w (magic % x)", ErrUnknownFormat, magic)
	}
	if err != nil {
		return nil, r.fail(0, r.headerErr(err))
	}
	return r, nil
}

// statedEnd keeps the latest end an Interface Statistics Block states:
// isb_endtime, or the block's own timestamp when it has none (dumpcap
// writes both, equal, when it stops).
func (r *Reader) statedEnd(end, stamp time.Time) {
	if end.IsZero() || end.Unix() == 0 {
		end = stamp
	}
	if end.Unix() != 0 && end.After(r.stats.End) {
		r.stats.End = end
	}
}

type format int

const (
	formatUnknown format = iota
	formatPcap
	formatPcapng
	formatModifiedPcap
	formatTruncated // a prefix of a known magic number
)

var magics = []struct {
	m []byte
	f format
}{
	{[]byte{0xd4, 0xc3, 0xb2, 0xa1}, formatPcap}, // µs, little endian
	{[]byte{0xa1, 0xb2, 0xc3, 0xd4}, formatPcap}, // µs, big endian
	{[]byte{0x4d, 0x3c, 0xb2, 0xa1}, formatPcap}, // ns, little endian
	{[]byte{0xa1, 0xb2, 0x3c, 0x4d}, formatPcap}, // ns, big endian
	{[]byte{0x0a, 0x0d, 0x0d, 0x0a}, formatPcapng},
	{[]byte{0x34, 0xcd, 0xb2, 0xa1}, formatModifiedPcap},
	{[]byte{0xa1, 0xb2, 0xcd, 0x34}, formatModifiedPcap},
}

func sniff(b []byte) format {
	for _, m := range magics {
		if len(b) >= 4 && bytes.Equal(b[:4], m.m) {
			return m.f
		}
		if len(b) < 4 && bytes.HasPrefix(m.m, b) {
			return formatTruncated
		}
	}
	return formatUnknown
}

// emptyErr explains why not a byte could be read: a failing file or gzip
// stream, or an empty one.
func (r *Reader) emptyErr() error {
	if r.io().failed() {
		return r.classify(io.EOF, "file header")
	}
	return ErrEmpty
}

// io is what reading the file has met, as far as the records read have
// come.
func (r *Reader) io() ioState {
	if r.ah != nil {
		return r.ah.seen
	}
	return r.live()
}

// live is what reading the file has met, read off the counting readers:
// on the goroutine that reads ahead, when there is one.
func (r *Reader) live() ioState {
	st := ioState{rawN: r.raw.n, rawErr: r.raw.err}
	if r.cnt != r.raw {
		st.gzErr = r.cnt.err
	}
	return st
}

// headerErr classifies an error met while reading the file header.
func (r *Reader) headerErr(err error) error {
	if errors.Is(err, ErrEmpty) || errors.Is(err, ErrUnknownFormat) || errors.Is(err, ErrTruncated) || errors.Is(err, ErrCorrupt) {
		return err
	}
	return r.classify(err, "file header")
}

// classify turns an error from a source or the byte stream into one wrapping
// ErrTruncated or ErrCorrupt (or the underlying I/O error).
func (r *Reader) classify(err error, what string) error {
	st := r.io()
	if st.rawErr != nil { // the file itself failed to read
		return st.rawErr
	}
	if e := st.gzErr; e != nil { // the gzip stream failed
		var ce flate.CorruptInputError
		switch {
		case errors.Is(e, io.ErrUnexpectedEOF):
			return fmt.Errorf("%w gzip stream", ErrTruncated)
		case errors.Is(e, gzip.ErrChecksum), errors.Is(e, gzip.ErrHeader), errors.As(e, &ce):
			return fmt.Errorf("%w gzip stream: %v", ErrCorrupt, e)
		}
		return e
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w %s", ErrTruncated, what)
	}
	if errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) {
		return fmt.Errorf("%w gzip stream: %v", ErrCorrupt, err)
	}
	return fmt.Errorf("%w %s: %s", ErrCorrupt, what, lowerFirst(err.Error()))
}

func lowerFirst(s string) string {
	if s != "" && s[0] >= 'A' && s[0] <= 'Z' && (len(s) == 1 || s[1] < 'A' || s[1] > 'Z') {
		return string(s[0]+'a'-'A') + s[1:]
	}
	return s
}

func (r *Reader) fail(offset int64, err error) *FileError {
	return &FileError{File: r.name, Frame: 0, Offset: offset, Err: err}
}

// Next fills seg with the next TCP segment. Frames without one are counted
// in Stats and skipped. It returns io.EOF at the clean end of the capture.
// When the file is damaged it first returns every good frame before the
// damage, then a *FileError wrapping ErrTruncated or ErrCorrupt; after an
// error every call returns the same error.
func (r *Reader) Next(seg *Segment) error {
	if r.err != nil {
		return r.err
	}
	if r.pending.data != nil && r.resume(seg) {
		return nil
	}
	for {
		if err := r.src.next(&r.rec); err != nil {
			r.end()
			if err == io.EOF && !r.io().failed() {
				r.err = io.EOF
				return r.err
			}
			r.err = r.recordErr(err)
			return r.err
		}
		if r.step(&r.rec, seg) {
			return nil
		}
	}
}

// recordErr names the frame being read and where its record (or, in
// pcapng, the block that failed) starts.
func (r *Reader) recordErr(err error) *FileError {
	fe := &FileError{File: r.name, Frame: r.frame + 1, Offset: r.src.start()}
	what := "record"
	if r.ng {
		what = "block"
	}
	if errors.Is(err, ErrCorrupt) && !r.io().failed() {
		fe.Err = err
	} else {
		fe.Err = r.classify(err, what)
	}
	return fe
}

// SetInput sets the index stamped on every Segment's Input field (the
// position of this input among several). The default is 0.
func (r *Reader) SetInput(i int) { r.input = i }

// Stats returns what was read so far. The Stats belong to the Reader and
// keep changing while it reads; LinkTypes alone is brought up to date by
// each call of Stats and at the end of the input. Packets is always Segments plus the sum of
// Skipped. A frame dropped for a bad IPv4 header checksum counts in
// BadChecksum and Skipped["bad checksum"], a segment delivered with a bad TCP
// checksum in BadChecksum and Segments.
func (r *Reader) Stats() *Stats {
	r.countLinks()
	return &r.stats
}

// BytesRead returns how many bytes of the file have been read so far
// (compressed bytes for a gzip file): against the file's size, how far the
// reading is.
func (r *Reader) BytesRead() int64 { return r.io().rawN }

// Name returns the name the Reader was opened with.
func (r *Reader) Name() string { return r.name }

// Close releases the file Open opened. It does not close a reader given to
// NewReader (nor standard input).
func (r *Reader) Close() error {
	var err error
	if r.ah != nil {
		r.ah.close() // before what it reads is closed
		r.ah = nil
	}
	if r.gz != nil {
		r.gz.Close()
		r.gz = nil
	}
	if r.closer != nil {
		err = r.closer.Close()
		r.closer = nil
	}
	if r.err == nil {
		r.err = &FileError{File: r.name, Frame: r.frame + 1, Err: errClosed}
	}
	return err
}

var errClosed = errors.New("reader closed")

// countingReader counts the bytes read through it and keeps the first error
// other than io.EOF.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}
