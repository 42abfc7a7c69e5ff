package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 123456000, time.UTC)

type frame struct {
	link layers.LinkType
	data []byte
}

// testFrames are: Ethernet TCP, ARP, Ethernet TCP (IPv6), Ethernet TCP in VLAN.
func testFrames(t testing.TB) []frame {
	byName := map[string][]byte{}
	for _, c := range decodeCases(t) {
		byName[c.name] = c.frame
	}
	return []frame{
		{layers.LinkTypeEthernet, byName["eth-ipv4-tcp"]},
		{layers.LinkTypeEthernet, byName["arp"]},
		{layers.LinkTypeEthernet, byName["eth-ipv6-tcp"]},
		{layers.LinkTypeEthernet, byName["vlan"]},
	}
}

func sll2Frame(t testing.TB) []byte {
	for _, c := range decodeCases(t) {
		if c.name == "sll2-ipv6-tcp" {
			return c.frame
		}
	}
	t.Fatal("no sll2 case")
	return nil
}

func writePcap(t testing.TB, link layers.LinkType, frames [][]byte, nanos bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if nanos {
		w = pcapgo.NewWriterNanos(&buf)
	}
	if err := w.WriteFileHeader(65535, link); err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(f), Length: len(f)}
		if err := w.WritePacket(ci, f); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// bigEndian rewrites a little-endian pcap file in big-endian byte order.
func bigEndian(le []byte) []byte {
	b := append([]byte(nil), le...)
	swap := func(p []byte) {
		for i, j := 0, len(p)-1; i < j; i, j = i+1, j-1 {
			p[i], p[j] = p[j], p[i]
		}
	}
	swap(b[0:4])
	swap(b[4:6])
	swap(b[6:8])
	for o := 8; o < 24; o += 4 {
		swap(b[o : o+4])
	}
	for off := 24; off+16 <= len(b); {
		incl := int(binary.LittleEndian.Uint32(b[off+8:]))
		for o := off; o < off+16; o += 4 {
			swap(b[o : o+4])
		}
		off += 16 + incl
	}
	return b
}

// writePcapng writes frames to a pcapng file with one interface per
// distinct link type, in order of first use.
func writePcapng(t testing.TB, frames []frame) []byte {
	t.Helper()
	var buf bytes.Buffer
	ifaces := map[layers.LinkType]int{}
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "eth0", LinkType: frames[0].link, SnapLength: 65535}, pcapgo.NgWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ifaces[frames[0].link] = 0
	for i, f := range frames {
		id, ok := ifaces[f.link]
		if !ok {
			if id, err = w.AddInterface(pcapgo.NgInterface{Name: "any", LinkType: f.link, SnapLength: 65535}); err != nil {
				t.Fatal(err)
			}
			ifaces[f.link] = id
		}
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(f.data), Length: len(f.data), InterfaceIndex: id}
		if err := w.WritePacket(ci, f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gz(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func datas(fs []frame) [][]byte {
	var out [][]byte
	for _, f := range fs {
		out = append(out, f.data)
	}
	return out
}

// readAll reads every segment and the final error.
func readAll(t testing.TB, r *Reader) ([]Segment, error) {
	var segs []Segment
	for {
		var s Segment
		err := r.Next(&s)
		if err != nil {
			return segs, err
		}
		segs = append(segs, s)
		if len(segs) > 1e6 {
			t.Fatal("runaway reader")
		}
	}
}

func TestReaderFormats(t *testing.T) {
	fs := testFrames(t)
	mixed := append(append([]frame(nil), fs...), frame{layers.LinkTypeLinuxSLL2, sll2Frame(t)}, fs[0])
	ethOnly := writePcap(t, layers.LinkTypeEthernet, datas(fs), false)
	cases := []struct {
		name      string
		data      []byte
		wantSegs  int
		wantLinks map[string]uint64
		frames    []uint64
	}{
		{"pcap-us-le", ethOnly, 3, map[string]uint64{"Ethernet": 4}, []uint64{1, 3, 4}},
		{"pcap-us-be", bigEndian(ethOnly), 3, map[string]uint64{"Ethernet": 4}, []uint64{1, 3, 4}},
		{"pcap-ns-le", writePcap(t, layers.LinkTypeEthernet, datas(fs), true), 3, map[string]uint64{"Ethernet": 4}, []uint64{1, 3, 4}},
		{"pcap-ns-be", bigEndian(writePcap(t, layers.LinkTypeEthernet, datas(fs), true)), 3, map[string]uint64{"Ethernet": 4}, []uint64{1, 3, 4}},
		{"pcapng-two-link-types", writePcapng(t, mixed), 5, map[string]uint64{"Ethernet": 5, "Linux SLL2": 1}, []uint64{1, 3, 4, 5, 6}},
		{"gzip-pcap", gz(t, ethOnly), 3, map[string]uint64{"Ethernet": 4}, []uint64{1, 3, 4}},
		{"gzip-pcapng", gz(t, writePcapng(t, mixed)), 5, map[string]uint64{"Ethernet": 5, "Linux SLL2": 1}, []uint64{1, 3, 4, 5, 6}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(c.data), c.name, nil)
			if err != nil {
				t.Fatal(err)
			}
			r.SetInput(3)
			segs, err := readAll(t, r)
			if err != io.EOF {
				t.Fatalf("final error = %v, want io.EOF", err)
			}
			if c.wantSegs >= 0 && len(segs) != c.wantSegs {
				t.Fatalf("got %d segments, want %d", len(segs), c.wantSegs)
			}
			for i, s := range segs {
				if s.Frame != c.frames[i] {
					t.Errorf("segment %d: Frame = %d, want %d", i, s.Frame, c.frames[i])
				}
				if want := t0.Add(time.Duration(s.Frame-1) * time.Millisecond); !s.Time.Equal(want) {
					t.Errorf("segment %d: Time = %v, want %v", i, s.Time, want)
				}
				if s.Input != 3 {
					t.Errorf("segment %d: Input = %d, want 3", i, s.Input)
				}
			}
			if want := wantSyn("10.0.0.1", "10.0.0.2"); segs[0].Src != want.Src || segs[0].Opts != want.Opts {
				t.Errorf("first segment = %+v, want %+v", segs[0], want)
			}
			st := r.Stats()
			if st.Segments != uint64(c.wantSegs) || st.Skipped["ether type ARP"] != 1 || st.Encaps["VLAN"] != 1 {
				t.Errorf("stats = %+v", st)
			}
			var total uint64
			for _, n := range st.Skipped {
				total += n
			}
			if st.Packets != st.Segments-st.Extra+total {
				t.Errorf("Packets %d != Segments %d + skipped %d", st.Packets, st.Segments, total)
			}
			if len(st.LinkTypes) != len(c.wantLinks) {
				t.Errorf("LinkTypes = %v, want %v", st.LinkTypes, c.wantLinks)
			}
			for k, v := range c.wantLinks {
				if st.LinkTypes[k] != v {
					t.Errorf("LinkTypes = %v, want %v", st.LinkTypes, c.wantLinks)
				}
			}
			if !st.First.Equal(t0) || !st.Last.Equal(t0.Add(time.Duration(st.Packets-1)*time.Millisecond)) {
				t.Errorf("First/Last = %v/%v", st.First, st.Last)
			}
			if err := r.Next(&Segment{}); err != io.EOF {
				t.Errorf("Next after EOF = %v, want io.EOF again", err)
			}
		})
	}
}

// TestPcapngTrailingStatistics is a regression test: a pcapng file ending in
// an interface statistics block (dumpcap writes one) was reported truncated.
func TestPcapngTrailingStatistics(t *testing.T) {
	fs := testFrames(t)
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet}, pcapgo.NgWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range fs {
		w.WritePacket(gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i)), CaptureLength: len(f.data), Length: len(f.data)}, f.data)
	}
	if err := w.WriteInterfaceStats(0, pcapgo.NgInterfaceStatistics{LastUpdate: t0, Comment: "Counters provided by dumpcap", PacketsReceived: 4}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	r, err := NewReader(&buf, "stats.pcapng", nil)
	if err != nil {
		t.Fatal(err)
	}
	segs, err := readAll(t, r)
	if err != io.EOF || len(segs) != 3 {
		t.Errorf("got %d segments and %v, want 3 and io.EOF", len(segs), err)
	}
}

func TestReaderVerifyChecksums(t *testing.T) {
	var good, bad, badIP []byte
	for _, c := range decodeCases(t) {
		switch c.name {
		case "eth-ipv4-tcp-verify":
			good = c.frame
		case "bad-tcp-checksum-verified":
			bad = c.frame
		case "bad-ipv4-checksum-verified":
			badIP = c.frame
		}
	}
	// A bad TCP checksum is delivered flagged (Zeek finds the connection
	// first); a bad IPv4 header checksum drops the frame.
	data := writePcap(t, layers.LinkTypeEthernet, [][]byte{good, bad, badIP, good}, false)
	for _, verify := range []bool{false, true} {
		r, err := NewReader(bytes.NewReader(data), "x.pcap", &Config{VerifyChecksums: verify})
		if err != nil {
			t.Fatal(err)
		}
		segs, _ := readAll(t, r)
		want, wantBad, wantFlagged := 4, uint64(0), 0
		if verify {
			want, wantBad, wantFlagged = 3, 2, 1
		}
		flagged := 0
		for _, s := range segs {
			if s.BadChecksum {
				flagged++
			}
		}
		st := r.Stats()
		if len(segs) != want || st.BadChecksum != wantBad || flagged != wantFlagged {
			t.Errorf("verify=%v: %d segments (%d flagged), BadChecksum %d; want %d (%d), %d", verify, len(segs), flagged, st.BadChecksum, want, wantFlagged, wantBad)
		}
		if verify && st.SkippedKind(SkipBadChecksum) != 1 {
			t.Errorf("Skipped[bad checksum] = %d, want 1 (the bad IPv4 header)", st.SkippedKind(SkipBadChecksum))
		}
	}
}

func TestReaderBadInput(t *testing.T) {
	fs := testFrames(t)
	good := writePcap(t, layers.LinkTypeEthernet, datas(fs), false)
	rec := func(i int) int { // byte offset of record i (0-based)
		off := 24
		for _, f := range fs[:i] {
			off += 16 + len(f.data)
		}
		return off
	}
	absurd := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(absurd[rec(2)+8:], 0x7fffff00)
	binary.LittleEndian.PutUint32(absurd[rec(2)+12:], 0x7fffff00)
	caplenOverLen := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(caplenOverLen[rec(1)+12:], 10)
	ng := writePcapng(t, fs)
	unknownLink := writePcap(t, 147, [][]byte{{1, 2, 3}, {4, 5, 6}}, false)

	cases := []struct {
		name       string
		data       []byte
		wantSegs   int   // -1: any number
		wantErr    error // nil: io.EOF at the end
		openErr    bool  // the error comes from NewReader
		wantFrame  uint64
		wantOffset int64
		skipped    map[string]uint64
	}{
		{name: "empty", data: nil, openErr: true, wantErr: ErrEmpty},
		{name: "garbage", data: []byte("this is not a capture file at all\n"), openErr: true, wantErr: ErrUnknownFormat},
		{name: "two-bytes-of-magic", data: good[:2], openErr: true, wantErr: ErrTruncated},
		{name: "cut-file-header", data: good[:20], openErr: true, wantErr: ErrTruncated},
		{name: "header-only", data: good[:24], wantSegs: 0},
		{name: "cut-mid-packet", data: good[:rec(2)+16+30], wantSegs: 1, wantErr: ErrTruncated, wantFrame: 3, wantOffset: int64(rec(2))},
		{name: "cut-mid-record-header", data: good[:rec(3)+7], wantSegs: 2, wantErr: ErrTruncated, wantFrame: 4, wantOffset: int64(rec(3))},
		{name: "cut-after-record-header", data: good[:rec(3)+16], wantSegs: 2, wantErr: ErrTruncated, wantFrame: 4, wantOffset: int64(rec(3))},
		{name: "absurd-caplen", data: absurd, wantSegs: 1, wantErr: ErrCorrupt, wantFrame: 3, wantOffset: int64(rec(2))},
		{name: "caplen-over-len", data: caplenOverLen, wantSegs: 1, wantErr: ErrCorrupt, wantFrame: 2, wantOffset: int64(rec(1))},
		{name: "gzip-cut", data: gz(t, good)[:len(gz(t, good))-30], wantSegs: -1, wantErr: ErrTruncated},
		{name: "gzip-bad-crc", data: func() []byte { b := gz(t, good); b[len(b)-6] ^= 0xff; return b }(), wantSegs: 3, wantErr: ErrCorrupt},
		{name: "pcapng-cut", data: ng[:len(ng)-20], wantSegs: 2, wantErr: ErrTruncated, wantFrame: 4},
		{name: "pcapng-absurd-block", data: func() []byte {
			b := append([]byte(nil), ng...)
			// the last block is the VLAN frame's EPB; blow up its capture length
			off := len(b) - (32 + (len(fs[3].data)+3)&^3)
			binary.LittleEndian.PutUint32(b[off+20:], 0xfffffff0)
			return b
		}(), wantSegs: 2, wantErr: ErrCorrupt, wantFrame: 4},
		{name: "unknown-link-type", data: unknownLink, wantSegs: 0, skipped: map[string]uint64{"unsupported link type 147": 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(c.data), c.name+".pcap", nil)
			if err != nil {
				t.Logf("NewReader: %v", err)
			}
			if c.openErr {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("NewReader error = %v, want %v", err, c.wantErr)
				}
				var fe *FileError
				if !errors.As(err, &fe) || fe.File != c.name+".pcap" || !strings.HasPrefix(err.Error(), "capture: "+c.name+".pcap: ") {
					t.Errorf("error %q does not name the file", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			segs, err := readAll(t, r)
			t.Logf("after %d segments: %v", len(segs), err)
			if c.wantSegs >= 0 && len(segs) != c.wantSegs {
				t.Errorf("got %d segments, want %d", len(segs), c.wantSegs)
			}
			if c.wantErr == nil {
				if err != io.EOF {
					t.Fatalf("final error = %v, want io.EOF", err)
				}
			} else {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("final error = %v, want %v", err, c.wantErr)
				}
				var fe *FileError
				if !errors.As(err, &fe) {
					t.Fatalf("error %T is not a *FileError", err)
				}
				if c.wantFrame != 0 && fe.Frame != c.wantFrame {
					t.Errorf("Frame = %d, want %d (%v)", fe.Frame, c.wantFrame, err)
				}
				if c.wantOffset != 0 && fe.Offset != c.wantOffset {
					t.Errorf("Offset = %d, want %d (%v)", fe.Offset, c.wantOffset, err)
				}
				if !strings.HasPrefix(err.Error(), "capture: "+c.name+".pcap: frame ") {
					t.Errorf("error %q does not name file and frame", err)
				}
				if err2 := r.Next(&Segment{}); err2 != err {
					t.Errorf("Next after error = %v, want the same error", err2)
				}
			}
			for k, v := range c.skipped {
				if r.Stats().Skipped[k] != v {
					t.Errorf("Skipped = %v, want %v", r.Stats().Skipped, c.skipped)
				}
			}
		})
	}
}

func TestFileErrorMessage(t *testing.T) {
	e := &FileError{File: "trace.pcap", Frame: 1234, Offset: 56789, Err: errors.New("truncated record")}
	if got, want := e.Error(), "capture: trace.pcap: frame 1234 at byte offset 56789: truncated record"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(&FileError{File: "x", Err: ErrCorrupt}, ErrCorrupt) {
		t.Error("FileError does not unwrap")
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.cap") // extension means nothing
	os.WriteFile(good, gz(t, writePcapng(t, testFrames(t))), 0o644)
	empty := filepath.Join(dir, "empty.pcap")
	os.WriteFile(empty, nil, 0o644)

	r, err := Open(good, nil)
	if err != nil {
		t.Fatal(err)
	}
	segs, err := readAll(t, r)
	if err != io.EOF || len(segs) != 3 || r.Name() != good {
		t.Errorf("Open(good): %d segments, %v, name %q", len(segs), err, r.Name())
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}

	for _, c := range []struct {
		name string
		path string
		is   error
	}{
		{"directory", dir, nil},
		{"missing", filepath.Join(dir, "nope.pcap"), fs.ErrNotExist},
		{"empty", empty, ErrEmpty},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Open(c.path, nil)
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %v is not %v", err, c.is)
			}
			if !strings.HasPrefix(err.Error(), "capture: "+c.path+": ") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestOpenStdin(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stdin")
	if err != nil {
		t.Fatal(err)
	}
	f.Write(writePcap(t, layers.LinkTypeEthernet, datas(testFrames(t)), true))
	f.Seek(0, io.SeekStart)
	r, err := Open("-", &Config{Stdin: f})
	if err != nil {
		t.Fatal(err)
	}
	segs, err := readAll(t, r)
	if err != io.EOF || len(segs) != 3 || r.Name() != "-" {
		t.Errorf("stdin: %d segments, %v, name %q", len(segs), err, r.Name())
	}
	r.Close()
	if _, err := f.Stat(); err != nil {
		t.Errorf("Close closed stdin: %v", err)
	}
}

// TestOpenStdinNotGiven checks "-" without Config.Stdin is an error naming
// it, and that Open did not fall back to the process's standard input.
func TestOpenStdinNotGiven(t *testing.T) {
	old := os.Stdin
	os.Stdin = nil // reading it would panic
	defer func() { os.Stdin = old }()
	for _, cfg := range []*Config{nil, {}} {
		r, err := Open("-", cfg)
		var fe *FileError
		if r != nil || !errors.Is(err, ErrNoStdin) || !errors.As(err, &fe) || fe.File != "-" {
			t.Errorf("Open(\"-\", %+v) = %v, %v; want a *FileError for \"-\" wrapping ErrNoStdin", cfg, r, err)
		}
	}
}

// loopingReader replays a capture's records forever after its first start bytes.
type loopingReader struct {
	data  []byte
	pos   int
	start int
}

func (l *loopingReader) Read(p []byte) (int, error) {
	if l.pos == len(l.data) {
		l.pos = l.start
	}
	n := copy(p, l.data[l.pos:])
	l.pos += n
	return n, nil
}

func TestReaderNoAllocs(t *testing.T) {
	fs := testFrames(t)
	data := writePcap(t, layers.LinkTypeEthernet, [][]byte{fs[0].data, fs[2].data, fs[3].data, fs[1].data}, false)
	r, err := NewReader(&loopingReader{data: data, start: 24}, "loop.pcap", nil)
	if err != nil {
		t.Fatal(err)
	}
	var seg Segment
	for range 100 { // warm up: buffers, maps, skip reasons
		if err := r.Next(&seg); err != nil {
			t.Fatal(err)
		}
	}
	n := testing.AllocsPerRun(1000, func() {
		if err := r.Next(&seg); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("Reader.Next allocates %v times per segment, want 0", n)
	}
}

// TestPcapngReaderAllocs measures Next on pcapng. Ethernet allocates
// nothing; a link type above 255 (SLL2) costs one 2-byte allocation inside
// pcapgo, which boxes the link type into CaptureInfo.AncillaryData.
func TestPcapngReaderAllocs(t *testing.T) {
	for _, c := range []struct {
		name string
		f    frame
		max  float64
	}{
		{"ethernet", testFrames(t)[0], 0},
		{"sll2", frame{layers.LinkTypeLinuxSLL2, sll2Frame(t)}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := writePcapng(t, []frame{c.f, c.f})
			shb := int(binary.LittleEndian.Uint32(data[4:]))
			idb := int(binary.LittleEndian.Uint32(data[shb+4:]))
			r, err := NewReader(&loopingReader{data: data, start: shb + idb}, "loop.pcapng", nil)
			if err != nil {
				t.Fatal(err)
			}
			var seg Segment
			for range 100 {
				if err := r.Next(&seg); err != nil {
					t.Fatal(err)
				}
			}
			n := testing.AllocsPerRun(1000, func() {
				if err := r.Next(&seg); err != nil {
					t.Fatal(err)
				}
			})
			t.Logf("%s: %v allocations per segment", c.name, n)
			if n > c.max {
				t.Errorf("Next allocates %v times per segment, want at most %v", n, c.max)
			}
		})
	}
}

// The end a pcapng capture states is the latest isb_endtime over its
// interfaces (or the block's timestamp where it has none); a pcap states none.
func TestPcapngStatedEnd(t *testing.T) {
	fs := testFrames(t)
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet}, pcapgo.NgWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddInterface(pcapgo.NgInterface{Name: "eth1", LinkType: layers.LinkTypeEthernet}); err != nil {
		t.Fatal(err)
	}
	for i, f := range fs {
		w.WritePacket(gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i)), CaptureLength: len(f.data), Length: len(f.data), InterfaceIndex: i % 2}, f.data)
	}
	stats := []pcapgo.NgInterfaceStatistics{
		{LastUpdate: t0.Add(3 * time.Second), EndTime: t0.Add(3 * time.Second), PacketsReceived: pcapgo.NgNoValue64, PacketsDropped: pcapgo.NgNoValue64},
		{LastUpdate: t0.Add(5 * time.Second), PacketsReceived: pcapgo.NgNoValue64, PacketsDropped: pcapgo.NgNoValue64}, // no isb_endtime
	}
	for i, st := range stats {
		if err := w.WriteInterfaceStats(i, st); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	r, err := NewReader(&buf, "ends.pcapng", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readAll(t, r); err != io.EOF {
		t.Fatal(err)
	}
	if got, want := r.Stats().End, t0.Add(5*time.Second); !got.Equal(want) {
		t.Errorf("End = %v, want %v (the latest over both interfaces)", got, want)
	}
	if !r.Stats().Last.Before(r.Stats().End) {
		t.Errorf("Last %v should be before the stated end", r.Stats().Last)
	}

	p, err := Open("../testdata/pcaps/real/refused.pcap", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	readAll(t, p)
	if !p.Stats().End.IsZero() {
		t.Errorf("a pcap states an end: %v", p.Stats().End)
	}
}
