package pcapgen

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/tcpflow-check/tcpflow-check/capture"
)

// Format is the file format. The zero value is classic little-endian pcap
// with microsecond timestamps and a snap length of 262144.
type Format struct {
	NG        bool   // pcapng instead of classic pcap
	Nanos     bool   // nanosecond timestamps (pcap magic a1b23c4d; pcapng if_tsresol 9) instead of µs
	BigEndian bool   // big-endian file (pcap magic a1b2c3d4 in network order; pcapng byte-order magic 1a2b3c4d likewise)
	Gzip      bool   // gzip the whole file
	Snaplen   uint32 // snap length; 0 means 262144. Longer frames are cut to it, keeping their original length (tcpdump -s).
}

type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// Writer writes frames to a capture file. Close it to flush.
type Writer struct {
	out     io.Writer
	bw      *bufio.Writer
	gz      *gzip.Writer
	f       Format
	links   []Link
	ng      bool // pcapng
	nifaces int  // pcapng interfaces
	blk     []byte
	snap    uint32
	order   byteOrder
	framer  Framer
	hdr     [16]byte
}

// ErrFormat reports a Format and link combination that cannot be written
// (several links in classic pcap, or none).
var ErrFormat = errors.New("pcapgen: unsupported format")

// NewWriter starts a capture file on w with one interface per link (more
// than one needs f.NG). The file header is written at once.
func NewWriter(w io.Writer, f Format, links ...Link) (*Writer, error) {
	if len(links) == 0 || (len(links) > 1 && !f.NG) {
		return nil, fmt.Errorf("%w: %d links in %s", ErrFormat, len(links), f)
	}
	lt := make([]layers.LinkType, len(links))
	for i, l := range links {
		lt[i] = l.LinkType()
	}
	return NewWriterLinkTypes(w, f, lt, links)
}

// NewWriterLinkTypes is NewWriter with the file's link types given
// explicitly, for files whose frames do not match their header (e.g. an
// unknown link type). links may be nil when only WriteFrame is used.
func NewWriterLinkTypes(w io.Writer, f Format, linkTypes []layers.LinkType, links []Link) (*Writer, error) {
	if len(linkTypes) == 0 || (len(linkTypes) > 1 && !f.NG) {
		return nil, fmt.Errorf("%w: %d link types in %s", ErrFormat, len(linkTypes), f)
	}
	wr := &Writer{out: w, f: f, links: links, snap: f.Snaplen}
	if wr.snap == 0 {
		wr.snap = 262144
	}
	if f.Gzip {
		wr.gz = gzip.NewWriter(w)
		w = wr.gz
	}
	wr.bw = bufio.NewWriterSize(w, 64*1024)
	snap := f.Snaplen
	if snap == 0 {
		snap = 262144
	}
	wr.order = byteOrder(binary.LittleEndian)
	if f.BigEndian {
		wr.order = binary.BigEndian
	}
	if f.NG {
		wr.ng = true
		wr.nifaces = len(linkTypes)
		if err := wr.ngHeader(linkTypes, snap); err != nil {
			return nil, fmt.Errorf("pcapgen: pcapng header: %w", err)
		}
		return wr, nil
	}
	magic := uint32(0xa1b2c3d4)
	if f.Nanos {
		magic = 0xa1b23c4d
	}
	var h [24]byte
	wr.order.PutUint32(h[0:], magic)
	wr.order.PutUint16(h[4:], 2)
	wr.order.PutUint16(h[6:], 4)
	wr.order.PutUint32(h[16:], snap)
	wr.order.PutUint32(h[20:], uint32(linkTypes[0]))
	if _, err := wr.bw.Write(h[:]); err != nil {
		return nil, fmt.Errorf("pcapgen: file header: %w", err)
	}
	return wr, nil
}

func (f Format) String() string {
	s := "pcap"
	if f.NG {
		s = "pcapng"
	}
	if f.Nanos {
		s += "-ns"
	}
	if f.BigEndian {
		s += "-be"
	}
	if f.Gzip {
		s += ".gz"
	}
	return s
}

// WriteSegment writes s as a frame on interface iface (an index into the
// links given to NewWriter), stamped with s.Time.
func (w *Writer) WriteSegment(iface int, s *capture.Segment) error {
	if iface < 0 || iface >= len(w.links) {
		return fmt.Errorf("%w: interface %d of %d", ErrFormat, iface, len(w.links))
	}
	b, err := w.framer.Frame(w.links[iface], s)
	if err != nil {
		return err
	}
	n := len(b)
	if uint32(len(b)) > w.snap {
		b = b[:w.snap]
	}
	return w.WriteFrame(iface, s.Time, b, n)
}

// WriteFrame writes one record holding data, with original length origLen
// (≥ len(data) for a frame cut by the snap length), on interface iface.
func (w *Writer) WriteFrame(iface int, t time.Time, data []byte, origLen int) error {
	if w.ng {
		if iface < 0 || iface >= w.nifaces {
			return fmt.Errorf("%w: interface %d of %d", ErrFormat, iface, w.nifaces)
		}
		return w.ngPacket(iface, t, data, origLen)
	}
	frac := t.Nanosecond()
	if !w.f.Nanos {
		frac /= 1000
	}
	w.order.PutUint32(w.hdr[0:], uint32(t.Unix()))
	w.order.PutUint32(w.hdr[4:], uint32(frac))
	w.order.PutUint32(w.hdr[8:], uint32(len(data)))
	w.order.PutUint32(w.hdr[12:], uint32(origLen))
	if _, err := w.bw.Write(w.hdr[:]); err != nil {
		return fmt.Errorf("pcapgen: record header: %w", err)
	}
	if _, err := w.bw.Write(data); err != nil {
		return fmt.Errorf("pcapgen: record: %w", err)
	}
	return nil
}

// Close flushes the file (and ends the gzip stream). It does not close the
// underlying io.Writer.
func (w *Writer) Close() error {
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("pcapgen: flush: %w", err)
	}
	if w.gz != nil {
		if err := w.gz.Close(); err != nil {
			return fmt.Errorf("pcapgen: gzip: %w", err)
		}
	}
	return nil
}

// Write writes segs as one capture file in format f on link l.
func Write(w io.Writer, f Format, l Link, segs []capture.Segment) error {
	wr, err := NewWriter(w, f, l)
	if err != nil {
		return err
	}
	for i := range segs {
		if err := wr.WriteSegment(0, &segs[i]); err != nil {
			return err
		}
	}
	return wr.Close()
}

// pcapng blocks (draft-ietf-opsawg-pcapng): a section header, one interface
// description per link, then enhanced packet blocks.
const (
	ngSHB = 0x0A0D0D0A
	ngIDB = 0x00000001
	ngEPB = 0x00000006
)

// ngOption appends one option (code, value padded to 32 bits) to b.
func (w *Writer) ngOption(b []byte, code uint16, v []byte) []byte {
	b = w.order.AppendUint16(b, code)
	b = w.order.AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	for len(v)%4 != 0 {
		b, v = append(b, 0), append(v, 0)
	}
	return b
}

// ngBlock writes a block of type typ with body, adding both lengths.
func (w *Writer) ngBlock(typ uint32, body []byte) error {
	n := uint32(12 + len(body))
	b := w.blk[:0]
	b = w.order.AppendUint32(b, typ)
	b = w.order.AppendUint32(b, n)
	b = append(b, body...)
	b = w.order.AppendUint32(b, n)
	w.blk = b
	_, err := w.bw.Write(b)
	return err
}

func (w *Writer) ngHeader(linkTypes []layers.LinkType, snap uint32) error {
	var b []byte
	b = w.order.AppendUint32(b, 0x1A2B3C4D)
	b = w.order.AppendUint16(b, 1)
	b = w.order.AppendUint16(b, 0)
	b = w.order.AppendUint64(b, ^uint64(0)) // section length unknown
	b = w.ngOption(b, 4, []byte("tcpflow-check pcapgen"))
	b = w.ngOption(b, 0, nil)
	if err := w.ngBlock(ngSHB, b); err != nil {
		return err
	}
	res := byte(6)
	if w.f.Nanos {
		res = 9
	}
	for i, lt := range linkTypes {
		b = b[:0]
		b = w.order.AppendUint16(b, uint16(lt))
		b = w.order.AppendUint16(b, 0)
		b = w.order.AppendUint32(b, snap)
		b = w.ngOption(b, 2, []byte(fmt.Sprintf("if%d", i))) // if_name
		b = w.ngOption(b, 9, []byte{res})                    // if_tsresol
		b = w.ngOption(b, 0, nil)
		if err := w.ngBlock(ngIDB, b); err != nil {
			return err
		}
	}
	return nil
}

func (w *Writer) ngPacket(iface int, t time.Time, data []byte, origLen int) error {
	ts := uint64(t.UnixNano())
	if !w.f.Nanos {
		ts = uint64(t.UnixMicro())
	}
	var h [20]byte
	w.order.PutUint32(h[0:], uint32(iface))
	w.order.PutUint32(h[4:], uint32(ts>>32))
	w.order.PutUint32(h[8:], uint32(ts))
	w.order.PutUint32(h[12:], uint32(len(data)))
	w.order.PutUint32(h[16:], uint32(origLen))
	pad := (4 - len(data)%4) % 4
	n := uint32(12 + 20 + len(data) + pad)
	b := w.blk[:0]
	b = w.order.AppendUint32(b, ngEPB)
	b = w.order.AppendUint32(b, n)
	b = append(b, h[:]...)
	b = append(b, data...)
	b = append(b, make([]byte, pad)...)
	b = w.order.AppendUint32(b, n)
	w.blk = b
	if _, err := w.bw.Write(b); err != nil {
		return fmt.Errorf("pcapgen: pcapng packet: %w", err)
	}
	return nil
}
