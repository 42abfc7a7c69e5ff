package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/pcapgen"
)

// The captures here are small files that claim to be enormous: each is
// generated in the test as a short gzip stream, analyzed through run, and
// must end in exit 2 with an error naming the file, frame and offset, the
// frames before the damage still reported, and the heap bounded by a
// constant. Before the readers checked lengths first, the first of them
// took 8 GB.

// hostileHeapBound is what any of these inputs may cost: the readers hold
// one packet buffer (256 KB), bufio and gzip buffers and, for pcapng, 24
// bytes per interface; the analysis of one connection is small.
const hostileHeapBound = 32 << 20

// gzMember is one gzip member of n zero bytes; members concatenated are one
// valid gzip stream (RFC 1952 §2.2), so gigabytes cost kilobytes.
func gzMember(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// repeatGz writes unit n times, as gzip members of about 1 MiB each.
func repeatGz(t *testing.T, b *bytes.Buffer, unit []byte, n int) {
	t.Helper()
	per := max(1, (1<<20)/len(unit))
	member := gzMember(t, bytes.Repeat(unit, per))
	for ; n >= per; n -= per {
		b.Write(member)
	}
	if n > 0 {
		b.Write(gzMember(t, bytes.Repeat(unit, n)))
	}
}

// synFrame is an Ethernet frame holding a client's SYN.
func synFrame(t *testing.T) []byte {
	t.Helper()
	c := pcapgen.NewConv(pcapgen.CraftedClient, pcapgen.CraftedServer, 1000, 5000, pcapgen.CraftedStart)
	f, err := pcapgen.Frame(pcapgen.Ethernet, c.C(capture.SYN, 0, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func le32(b []byte, vs ...uint32) []byte {
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

// ngSHB, ngIDB and ngEPB are little-endian pcapng blocks.
func ngSHB() []byte {
	b := le32(nil, 0x0a0d0d0a, 28, 0x1a2b3c4d)
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint64(b, ^uint64(0))
	return le32(b, 28)
}

func ngIDB(snaplen uint32) []byte {
	return le32(nil, 1, 20, 1, snaplen, 20) // link type 1 (Ethernet), reserved 0
}

func ngEPB(data []byte) []byte {
	pad := (4 - len(data)%4) % 4
	n := uint32(32 + len(data) + pad)
	us := uint64(pcapgen.CraftedStart.UnixMicro())
	b := le32(nil, 6, n, 0, uint32(us>>32), uint32(us), uint32(len(data)), uint32(len(data)))
	b = append(b, data...)
	b = append(b, make([]byte, pad)...)
	return le32(b, n)
}

// hostileRun analyzes file through run, measuring the heap, and checks the
// exit code, the error message and that the frames before the damage were
// reported.
func hostileRun(t *testing.T, file string, stdin []byte, wantErr string, wantPackets uint64) {
	t.Helper()
	var code int
	var out, errb bytes.Buffer
	use := measureHeap(func() {
		code = run([]string{"analyze", "--format", "json", file}, bytes.NewReader(stdin), &out, &errb)
	})
	t.Logf("peak heap %.1f MiB, allocated %.1f MiB", float64(use.peak)/(1<<20), float64(use.allocated)/(1<<20))
	if code != exitError {
		t.Errorf("exit %d, want %d; stderr: %s", code, exitError, errb.String())
	}
	if want := "tcpflow-check: capture: " + file + ": " + wantErr + "\n"; errb.String() != want {
		t.Errorf("stderr = %q\nwant     %q", errb.String(), want)
	}
	var doc struct {
		Inputs []struct {
			Packets uint64 `json:"packets"`
			Error   string `json:"error"`
		} `json:"inputs"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("output is not one JSON document: %v\n%s", err, out.String())
	}
	if in := doc.Inputs; len(in) != 1 || in[0].Packets != wantPackets || !strings.Contains(in[0].Error, wantErr) {
		t.Errorf("inputs = %+v, want %d packet(s) read and the error", in, wantPackets)
	}
	if use.peak > hostileHeapBound || use.allocated > hostileHeapBound {
		t.Errorf("peak heap %d B, allocated %d B; want both under %d", use.peak, use.allocated, hostileHeapBound)
	}
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestHostileHugePcapRecord: a pcap whose snap length is 0xFFFFFFFF and
// whose second record claims 4 GiB, followed by 4 GiB of zeros, in 4 MB of
// gzip.
func TestHostileHugePcapRecord(t *testing.T) {
	syn := synFrame(t)
	var head []byte
	head = le32(head, 0xa1b2c3d4)
	head = binary.LittleEndian.AppendUint16(head, 2)
	head = binary.LittleEndian.AppendUint16(head, 4)
	head = le32(head, 0, 0, 0xffffffff, 1) // thiszone, sigfigs, snaplen, Ethernet
	us := pcapgen.CraftedStart.UnixMicro()
	head = le32(head, uint32(us/1e6), uint32(us%1e6), uint32(len(syn)), uint32(len(syn)))
	head = append(head, syn...)
	bad := len(head)
	head = le32(head, uint32(us/1e6), uint32(us%1e6), 0xffffffff, 0xffffffff)
	var b bytes.Buffer
	b.Write(gzMember(t, head))
	repeatGz(t, &b, make([]byte, 1<<20), 4096)
	t.Logf("%d bytes of gzip", b.Len())
	file := writeTemp(t, "huge-record.pcap.gz", b.Bytes())
	hostileRun(t, file, nil, fmt.Sprintf("frame 2 at byte offset %d: corrupt record: capture length 4294967295 exceeds the maximum 262144", bad), 1)
}

// TestHostileHugePcapngPacket: a pcapng.gz whose interface has a snap length
// of 2^31 and whose second packet claims 1 GiB, followed by 1 GiB of zeros.
func TestHostileHugePcapngPacket(t *testing.T) {
	head := append(ngSHB(), ngIDB(1<<31)...)
	head = append(head, ngEPB(synFrame(t))...)
	bad := len(head)
	const n = 1 << 30
	us := uint64(pcapgen.CraftedStart.UnixMicro())
	head = le32(head, 6, n+32, 0, uint32(us>>32), uint32(us), n, n)
	var b bytes.Buffer
	b.Write(gzMember(t, head))
	repeatGz(t, &b, make([]byte, 1<<20), n>>20)
	t.Logf("%d bytes of gzip", b.Len())
	file := writeTemp(t, "huge-packet.pcapng.gz", b.Bytes())
	hostileRun(t, file, nil, fmt.Sprintf("frame 2 at byte offset %d: corrupt block: block size %d > maximum 16777216", bad, n+32), 1)
}

// TestHostileManyInterfaces: five million Interface Description Blocks
// after a packet, in a few hundred KB of gzip.
func TestHostileManyInterfaces(t *testing.T) {
	head := append(ngSHB(), ngIDB(262144)...)
	head = append(head, ngEPB(synFrame(t))...)
	var b bytes.Buffer
	b.Write(gzMember(t, head))
	repeatGz(t, &b, ngIDB(262144), 5_000_000)
	t.Logf("%d bytes of gzip", b.Len())
	// The first interface and 65,535 more fit; the next is refused.
	bad := len(head) + 65535*20
	file := writeTemp(t, "many-interfaces.pcapng.gz", b.Bytes())
	want := fmt.Sprintf("frame 2 at byte offset %d: corrupt block: more than 65536 interfaces in one section", bad)
	hostileRun(t, file, nil, want, 1)
	t.Run("stdin", func(t *testing.T) { hostileRun(t, "-", b.Bytes(), want, 1) })
}

// TestMeasureHeap: the measurement sees what a function holds, so the
// bounds above can fail.
func TestMeasureHeap(t *testing.T) {
	var keep []byte
	use := measureHeap(func() {
		keep = make([]byte, 64<<20)
		for i := range keep {
			keep[i] = 1
		}
	})
	if use.peak < 64<<20 || use.allocated < 64<<20 {
		t.Errorf("a 64 MiB allocation measured as peak %d, allocated %d", use.peak, use.allocated)
	}
	runtime.KeepAlive(keep)
}
