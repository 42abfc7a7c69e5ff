package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// ngFile builds pcapng files block by block, in either byte order.
type ngFile struct {
	o binary.AppendByteOrder
	b []byte
}

func newNgFile(big bool) *ngFile {
	f := &ngFile{o: binary.LittleEndian}
	if big {
		f.o = binary.BigEndian
	}
	return f.shb(1, 0)
}

// block appends a block of type typ around body (padded to 4 bytes).
func (f *ngFile) block(typ uint32, body []byte) *ngFile {
	pad := (4 - len(body)%4) % 4
	n := uint32(12 + len(body) + pad)
	f.b = f.o.AppendUint32(f.b, typ)
	f.b = f.o.AppendUint32(f.b, n)
	f.b = append(f.b, body...)
	f.b = append(f.b, make([]byte, pad)...)
	f.b = f.o.AppendUint32(f.b, n)
	return f
}

func (f *ngFile) shb(major, minor uint16) *ngFile {
	body := f.o.AppendUint32(nil, 0x1a2b3c4d)
	body = f.o.AppendUint16(body, major)
	body = f.o.AppendUint16(body, minor)
	body = f.o.AppendUint64(body, ^uint64(0))
	return f.block(blockSHB, body)
}

// idb appends an interface; opts are (code, value) pairs.
func (f *ngFile) idb(link uint16, snap uint32, opts ...any) *ngFile {
	body := f.o.AppendUint16(nil, link)
	body = f.o.AppendUint16(body, 0)
	body = f.o.AppendUint32(body, snap)
	for i := 0; i+1 < len(opts); i += 2 {
		v := opts[i+1].([]byte)
		body = f.o.AppendUint16(body, uint16(opts[i].(int)))
		body = f.o.AppendUint16(body, uint16(len(v)))
		body = append(body, v...)
		body = append(body, make([]byte, (4-len(v)%4)%4)...)
	}
	if len(opts) > 0 {
		body = f.o.AppendUint32(body, 0)
	}
	return f.block(blockIDB, body)
}

func (f *ngFile) epb(iface uint32, ts uint64, data []byte) *ngFile {
	body := f.o.AppendUint32(nil, iface)
	body = f.o.AppendUint32(body, uint32(ts>>32))
	body = f.o.AppendUint32(body, uint32(ts))
	body = f.o.AppendUint32(body, uint32(len(data)))
	body = f.o.AppendUint32(body, uint32(len(data)))
	return f.block(blockEPB, append(body, data...))
}

func (f *ngFile) spb(origLen uint32, data []byte) *ngFile {
	return f.block(blockSPB, append(f.o.AppendUint32(nil, origLen), data...))
}

// readNg reads data to the end and returns the segments' times and the
// final error.
func readNg(t *testing.T, data []byte) ([]time.Time, error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), "t.pcapng", nil)
	if err != nil {
		return nil, err
	}
	var times []time.Time
	var seg Segment
	for {
		err := r.Next(&seg)
		if err != nil {
			return times, err
		}
		times = append(times, seg.Time)
	}
}

func TestPcapngRead(t *testing.T) {
	tcp := testFrames(t)[0].data
	sec := uint64(t0.Unix())
	for _, big := range []bool{false, true} {
		f := newNgFile(big).
			idb(1, 65535).                                                // µs by default
			idb(1, 0, optTSResol, []byte{9}, optTSOffset, be64(big, 10)). // ns, +10 s
			idb(1, 0, optTSResol, []byte{0x80 | 10}).                     // 2^-10 s
			block(4, []byte("name resolution, skipped")).
			epb(0, sec*1e6+123456, tcp).
			epb(1, (sec-10)*1e9+123456789, tcp).
			epb(2, sec<<10|512, tcp).
			spb(uint32(len(tcp)), tcp)
		times, err := readNg(t, f.b)
		if err != io.EOF {
			t.Fatalf("big=%v: %v", big, err)
		}
		want := []time.Time{
			time.Unix(int64(sec), 123456000).UTC(),
			time.Unix(int64(sec), 123456789).UTC(),
			time.Unix(int64(sec), 500000000).UTC(),
			{}, // a simple packet has no timestamp
		}
		if len(times) != len(want) {
			t.Fatalf("big=%v: %d segments, want %d", big, len(times), len(want))
		}
		for i := range want {
			if !times[i].Equal(want[i]) {
				t.Errorf("big=%v: segment %d at %v, want %v", big, i, times[i], want[i])
			}
		}
	}
}

func be64(big bool, v uint64) []byte {
	if big {
		return binary.BigEndian.AppendUint64(nil, v)
	}
	return binary.LittleEndian.AppendUint64(nil, v)
}

// TestPcapngBounds: every bound on a pcapng file is an error naming the
// frame and the offset of the block that broke it, after the good frames.
func TestPcapngBounds(t *testing.T) {
	tcp := testFrames(t)[0].data
	good := func() *ngFile { return newNgFile(false).idb(1, 0).epb(0, 1, tcp) }
	type bad struct {
		name string
		add  func(f *ngFile) *ngFile
		want string
	}
	setLen := func(n uint32) func(f *ngFile) *ngFile {
		return func(f *ngFile) *ngFile {
			f.b = binary.LittleEndian.AppendUint32(f.b, 6)
			f.b = binary.LittleEndian.AppendUint32(f.b, n)
			f.b = append(f.b, make([]byte, 64)...)
			return f
		}
	}
	cases := []bad{
		{"block-too-long", setLen(0xfffffff0), "block size 4294967280 > maximum 16777216"},
		{"block-too-short", setLen(8), "block length 8 is less than 12"},
		{"block-unaligned", setLen(33), "block length 33 is not a multiple of 4"},
		{"caplen-over-max", func(f *ngFile) *ngFile {
			return f.epb(0, 1, make([]byte, maxSnapLen+4))
		}, "capture length 262148 exceeds the maximum 262144"},
		{"caplen-over-block", func(f *ngFile) *ngFile {
			f.epb(0, 1, tcp)
			binary.LittleEndian.PutUint32(f.b[len(f.b)-(len(tcp)+3)&^3-4-8:], 1000)
			return f
		}, "capture length 1000 exceeds the "},
		{"trailer-mismatch", func(f *ngFile) *ngFile {
			f.epb(0, 1, tcp)
			f.b[len(f.b)-4]++
			return f
		}, "at the start, "},
		{"unknown-interface", func(f *ngFile) *ngFile { return f.epb(7, 1, tcp) }, "packet of interface 7, but the section has 1 interface(s)"},
		{"option-overrun", func(f *ngFile) *ngFile {
			f.idb(1, 0, optTSResol, []byte{6})
			binary.LittleEndian.PutUint16(f.b[len(f.b)-4-4-4-2:], 200) // if_tsresol claims 200 bytes
			return f
		}, "option 9 of 200 bytes runs past the end of its block"},
		{"tsresol-too-fine", func(f *ngFile) *ngFile { return f.idb(1, 0, optTSResol, []byte{20}) }, "timestamp resolution 0x14"},
		{"version", func(f *ngFile) *ngFile { return f.shb(2, 0) }, "pcapng version 2.0 is not supported"},
		{"too-many-interfaces", func(f *ngFile) *ngFile {
			for range maxInterfaces {
				f.idb(1, 0)
			}
			return f
		}, "more than 65536 interfaces in one section"},
		{"too-many-sections", func(f *ngFile) *ngFile {
			for range maxSections {
				f.shb(1, 0)
			}
			return f
		}, "more than 65536 sections"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := good()
			at := len(f.b)
			f = c.add(f)
			times, err := readNg(t, f.b)
			if len(times) != 1 {
				t.Errorf("%d segments before the error, want 1", len(times))
			}
			var fe *FileError
			if !errors.As(err, &fe) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v, want a corrupt *FileError", err)
			}
			if !strings.Contains(err.Error(), ": corrupt block: ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
			if fe.Frame != 2 || fe.Offset < int64(at) {
				t.Errorf("frame %d at offset %d, want frame 2 at or after %d", fe.Frame, fe.Offset, at)
			}
		})
	}
}

// TestPcapngSectionsReset: a new section starts without interfaces and may
// change the byte order.
func TestPcapngSectionsReset(t *testing.T) {
	tcp := testFrames(t)[0].data
	a := newNgFile(false).idb(1, 0).idb(1, 0).epb(1, 1, tcp)
	b := newNgFile(true).idb(1, 0).epb(0, 1, tcp)
	times, err := readNg(t, append(a.b, b.b...))
	if err != io.EOF || len(times) != 2 {
		t.Fatalf("%d segments, %v; want 2 and EOF", len(times), err)
	}
	c := newNgFile(true).epb(1, 1, tcp) // interface 1 of the first section is gone
	_, err = readNg(t, append(a.b, c.b...))
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "the section has 0 interface(s)") {
		t.Errorf("error %v, want the packet's interface to be missing", err)
	}
}
