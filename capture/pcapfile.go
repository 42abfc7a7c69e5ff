package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// The file readers are written here rather than taken from pcapgo because
// every length they meet comes from the file: pcapgo grows a buffer to
// whatever a record claims (a 17 MB gzip with a 4 GB record took 8 GB) and
// keeps every pcapng interface, name and secrets block of a section. These
// readers check each length against the bounds below before reading a byte
// of what it announces, hold one packet at a time and 24 bytes per pcapng
// interface, and know the byte offset of every record for the error.

// maxSnapLen is the largest capture length a record may claim: libpcap's
// MAXIMUM_SNAPLEN, the most tcpdump and Wireshark read of a packet (link
// types that never carry TCP, like D-Bus, may go further there). Longer
// records are corrupt, and no buffer is sized from them.
const maxSnapLen = 262144

// record is one packet as a source reads it. data is valid until the next
// read.
type record struct {
	data   []byte
	time   time.Time
	length int // the packet's length on the wire
	link   layers.LinkType
}

// recordSource reads the packets of one file format. next returns io.EOF
// at a clean end of the file, io.ErrUnexpectedEOF (or the stream's own
// error) when it ends inside a header or record, and a *formatError when
// the bytes make no sense; start is the byte offset where the record or
// block being read begins.
type recordSource interface {
	next(rec *record) error
	start() int64
	bytes() *stream // the stream the records are read from
}

// formatError is a header, record or block that cannot be right.
type formatError struct {
	what string // "file header", "record", "block"
	msg  string
}

func (e *formatError) Error() string { return fmt.Sprintf("%v %s: %s", ErrCorrupt, e.what, e.msg) }
func (e *formatError) Unwrap() error { return ErrCorrupt }

func corruptf(what, format string, args ...any) *formatError {
	return &formatError{what: what, msg: fmt.Sprintf(format, args...)}
}

// stream reads the bytes of a capture in large reads into one buffer of
// its own and hands out slices of it: a packet's bytes are copied once,
// by the read that brings them in (out of the page cache, or out of the
// gzip decompressor), and never again. Every length asked for is bounded
// by the caller; none exceeds the buffer, which never grows.
type stream struct {
	rd   io.Reader
	buf  []byte // buf[r:w] is read and not yet consumed
	r, w int
	off  int64 // bytes consumed
}

// streamSize is a stream's buffer: two maximum-length packets, so that
// every read is at least maxSnapLen bytes, while the buffer stays within
// the core's cache as the decoder reads what the read brought in (medium
// perf capture, Reader alone: 0.54 s of CPU at 512 KiB, 0.55 s at 1 MiB,
// 0.63 s at 256 KiB, 0.73 s at 2 MiB).
const streamSize = 2 * maxSnapLen

func newStream(rd io.Reader) stream { return stream{rd: rd, buf: make([]byte, streamSize)} }

// fill makes at least n ≤ len(buf) unconsumed bytes available in
// buf[r:w], moving what is left to the start of the buffer and reading as
// much as fits. It invalidates every slice handed out before. Its error
// is the reader's (io.EOF when the input ended first).
func (s *stream) fill(n int) error {
	if s.r > 0 {
		s.w = copy(s.buf, s.buf[s.r:s.w])
		s.r = 0
	}
	m, err := readAtLeast(s.rd, s.buf[s.w:], n-s.w)
	if s.w += m; s.w >= n {
		return nil
	}
	return err
}

// readAtLeast reads into b until it holds min bytes or rd fails, as
// io.ReadAtLeast does, but returns rd's own error (io.EOF included), also
// when it came with the last bytes, and gives up with io.ErrNoProgress on
// a reader that returns nothing 100 times, as bufio does.
func readAtLeast(rd io.Reader, b []byte, min int) (n int, err error) {
	for empty := 0; n < min && err == nil; {
		m, e := rd.Read(b[n:])
		n, err = n+m, e
		if m > 0 {
			empty = 0
		} else if empty++; empty == 100 && err == nil {
			err = io.ErrNoProgress
		}
	}
	return n, err
}

// read returns the next n bytes, valid until the next read, fixed, skip
// or hold. Fewer bytes is io.ErrUnexpectedEOF, none at all with atStart is
// io.EOF, as io.ReadFull has it.
func (s *stream) read(n int, atStart bool) ([]byte, error) {
	if s.w-s.r < n {
		if err := s.fill(n); err != nil {
			return nil, s.short(err, atStart)
		}
	}
	b := s.buf[s.r : s.r+n : s.r+n]
	s.r += n
	s.off += int64(n)
	return b, nil
}

// short consumes the bytes that did not make up a read of more, as
// io.ReadFull would, and turns err into what read returns.
func (s *stream) short(err error, atStart bool) error {
	got := s.w - s.r
	s.off += int64(got)
	s.r = s.w
	switch {
	case err == io.EOF && got == 0 && atStart:
		return io.EOF
	case err == io.EOF:
		return io.ErrUnexpectedEOF
	}
	return err
}

// fixed reads n ≤ len(dst) bytes into dst, which the caller owns.
func (s *stream) fixed(dst []byte, atStart bool) error {
	b, err := s.read(len(dst), atStart)
	copy(dst, b)
	return err
}

// own reads n ≤ maxSnapLen bytes into dst, made maxSnapLen long the first
// time, and returns them: a copy that later reads leave alone.
func (s *stream) own(dst *[]byte, n int) ([]byte, error) {
	if cap(*dst) < n {
		*dst = make([]byte, max(n, maxSnapLen))
	}
	b := (*dst)[:n]
	return b, s.fixed(b, false)
}

// hold makes the next n bytes available, so that reads and skips of up to
// n bytes in all leave the slices they hand out valid. It reports whether
// it could: not when n exceeds the buffer or the input ends sooner.
func (s *stream) hold(n int64) bool {
	if int64(s.w-s.r) >= n {
		return true
	}
	return n <= int64(len(s.buf)) && s.fill(int(n)) == nil
}

// peek returns up to n ≤ len(buf) bytes without consuming them: fewer
// only when the input ends (or fails) first.
func (s *stream) peek(n int) []byte {
	if s.w-s.r < n {
		s.fill(n)
	}
	return s.buf[s.r:min(s.w, s.r+n)]
}

// skip discards n bytes.
func (s *stream) skip(n int64) error {
	for {
		k := min(n, int64(s.w-s.r))
		s.r += int(k)
		s.off += k
		if n -= k; n == 0 {
			return nil
		}
		if err := s.fill(1); err != nil {
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
}

// pcapFileSource reads classic pcap: a 24-byte file header, then records of a
// 16-byte header and the captured bytes.
type pcapFileSource struct {
	s       stream
	order   binary.ByteOrder
	big     bool // order is big endian
	nanos   bool
	snaplen uint32
	link    layers.LinkType
	at      int64 // where the current record starts
}

var errPcapVersion = errors.New("pcap version")

func newPcapFileSource(s stream) (*pcapFileSource, error) {
	p := &pcapFileSource{s: s}
	var h [24]byte
	if err := p.s.fixed(h[:], false); err != nil {
		return nil, err
	}
	switch binary.LittleEndian.Uint32(h[:4]) {
	case 0xa1b2c3d4:
		p.order = binary.LittleEndian
	case 0xa1b23c4d:
		p.order, p.nanos = binary.LittleEndian, true
	case 0xd4c3b2a1:
		p.order = binary.BigEndian
	case 0x4d3cb2a1:
		p.order, p.nanos = binary.BigEndian, true
	}
	p.big = p.order == binary.BigEndian
	if major := p.order.Uint16(h[4:6]); major != 2 {
		return nil, corruptf("file header", "%v %d.%d is not 2.x", errPcapVersion, major, p.order.Uint16(h[6:8]))
	}
	p.snaplen = p.order.Uint32(h[16:20])
	// The upper bits of the link type field hold FCS information (pcap
	// file format, §4): the link type is the low 16 bits.
	p.link = layers.LinkType(p.order.Uint32(h[20:24]))
	return p, nil
}

func (p *pcapFileSource) start() int64   { return p.at }
func (p *pcapFileSource) bytes() *stream { return &p.s }

// slow reads the next record header and packet through the stream,
// checking its lengths first.
func (p *pcapFileSource) slow(rec *record) error {
	p.at = p.s.off
	h, err := p.s.read(16, true)
	if err != nil {
		return err
	}
	// Read in the file's byte order without a call through p.order.
	var sec, frac, caplen, length uint32
	if p.big {
		be := binary.BigEndian
		sec, frac, caplen, length = be.Uint32(h[0:4]), be.Uint32(h[4:8]), be.Uint32(h[8:12]), be.Uint32(h[12:16])
	} else {
		le := binary.LittleEndian
		sec, frac, caplen, length = le.Uint32(h[0:4]), le.Uint32(h[4:8]), le.Uint32(h[8:12]), le.Uint32(h[12:16])
	}
	// The lengths are checked before a byte of the packet is read. A record
	// longer than the file's own snap length (but within libpcap's maximum)
	// is read whole, as tcpdump and Wireshark do: some writers (dpkt) do not
	// truncate to the snap length they declare.
	if caplen > maxSnapLen {
		return corruptf("record", "capture length %d exceeds the maximum %d", caplen, maxSnapLen)
	}
	if caplen > length {
		return corruptf("record", "capture length %d exceeds packet length %d", caplen, length)
	}
	data, err := p.s.read(int(caplen), false)
	if err != nil {
		return err
	}
	p.fill(rec, data, sec, frac, length)
	return nil
}

// next reads the next record. One that lies whole in the stream's buffer
// and whose lengths pass the checks slow makes is read in one step: one
// bounds check for header and packet instead of two reads, and no call.
// Any other record is left to slow, which reads it, or fails on it, as it
// always has.
func (p *pcapFileSource) next(rec *record) error {
	s := &p.s
	b := s.buf[s.r:s.w]
	if len(b) < 16 {
		return p.slow(rec)
	}
	var sec, frac, caplen, length uint32
	if p.big {
		be := binary.BigEndian
		sec, frac, caplen, length = be.Uint32(b[0:4]), be.Uint32(b[4:8]), be.Uint32(b[8:12]), be.Uint32(b[12:16])
	} else {
		le := binary.LittleEndian
		sec, frac, caplen, length = le.Uint32(b[0:4]), le.Uint32(b[4:8]), le.Uint32(b[8:12]), le.Uint32(b[12:16])
	}
	if caplen > maxSnapLen || caplen > length || int(caplen) > len(b)-16 {
		return p.slow(rec)
	}
	n := 16 + int(caplen)
	p.at = s.off
	s.r += n
	s.off += int64(n)
	// fill, written out: the call costs more than these lines
	ns := int64(frac)
	if !p.nanos {
		ns *= 1000
	}
	rec.data, rec.length, rec.link = b[16:n:n], int(length), p.link
	rec.time = time.Unix(int64(sec), ns).UTC()
	return nil
}

// fill makes rec the packet data, captured at sec and frac (microseconds
// or nanoseconds) and length bytes long on the wire.
func (p *pcapFileSource) fill(rec *record, data []byte, sec, frac, length uint32) {
	ns := int64(frac)
	if !p.nanos {
		ns *= 1000
	}
	rec.data, rec.length, rec.link = data, int(length), p.link
	rec.time = time.Unix(int64(sec), ns).UTC()
}
