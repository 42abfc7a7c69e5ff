package capture

import (
	"bufio"
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

// stream reads the bytes of a capture, counting them, into one buffer it
// reuses. The buffer never grows past what the caller asks for, and callers
// ask only for lengths they have bounded.
type stream struct {
	br  *bufio.Reader
	off int64 // bytes consumed
	buf []byte
}

// read returns the next n bytes, valid until the next read. Fewer bytes is
// io.ErrUnexpectedEOF, none at all with atStart is io.EOF.
func (s *stream) read(n int, atStart bool) ([]byte, error) {
	if cap(s.buf) < n {
		s.buf = make([]byte, n)
	}
	b := s.buf[:n]
	m, err := io.ReadFull(s.br, b)
	s.off += int64(m)
	switch {
	case err == io.EOF && atStart:
		return nil, io.EOF
	case err == io.EOF:
		return nil, io.ErrUnexpectedEOF
	}
	return b, err
}

// fixed reads n ≤ len(dst) bytes into dst, which the caller owns.
func (s *stream) fixed(dst []byte, atStart bool) error {
	m, err := io.ReadFull(s.br, dst)
	s.off += int64(m)
	switch {
	case err == io.EOF && atStart:
		return io.EOF
	case err == io.EOF:
		return io.ErrUnexpectedEOF
	}
	return err
}

// skip discards n bytes without buffering them.
func (s *stream) skip(n int64) error {
	for n > 0 {
		step := min(n, 1<<30)
		m, err := s.br.Discard(int(step))
		s.off += int64(m)
		n -= int64(m)
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// pcapFileSource reads classic pcap: a 24-byte file header, then records of a
// 16-byte header and the captured bytes.
type pcapFileSource struct {
	s       stream
	order   binary.ByteOrder
	nanos   bool
	snaplen uint32
	link    layers.LinkType
	at      int64 // where the current record starts
	hdr     [16]byte
}

var errPcapVersion = errors.New("pcap version")

func newPcapFileSource(br *bufio.Reader) (*pcapFileSource, error) {
	p := &pcapFileSource{s: stream{br: br}}
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
	if major := p.order.Uint16(h[4:6]); major != 2 {
		return nil, corruptf("file header", "%v %d.%d is not 2.x", errPcapVersion, major, p.order.Uint16(h[6:8]))
	}
	p.snaplen = p.order.Uint32(h[16:20])
	// The upper bits of the link type field hold FCS information (pcap
	// file format, §4): the link type is the low 16 bits.
	p.link = layers.LinkType(p.order.Uint32(h[20:24]))
	return p, nil
}

func (p *pcapFileSource) start() int64 { return p.at }

func (p *pcapFileSource) next(rec *record) error {
	p.at = p.s.off
	if err := p.s.fixed(p.hdr[:], true); err != nil {
		return err
	}
	o := p.order
	sec, frac := o.Uint32(p.hdr[0:4]), int64(o.Uint32(p.hdr[4:8]))
	caplen, length := o.Uint32(p.hdr[8:12]), o.Uint32(p.hdr[12:16])
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
	if !p.nanos {
		frac *= 1000
	}
	rec.data, rec.length, rec.link = data, int(length), p.link
	rec.time = time.Unix(int64(sec), frac).UTC()
	return nil
}
