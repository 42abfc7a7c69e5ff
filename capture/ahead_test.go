package capture

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

var aheadConfig = &Config{ReadAhead: true}

// TestGzipFileAhead reads gzip files through Open, which decompresses them
// ahead on a goroutine, and the same bytes through NewReader, which does
// not: the segments, the error that ends them (frame, byte offset,
// message), the statistics and the bytes read must be the same, for whole
// files and for gzip streams cut short or damaged past the first chunks.
func TestGzipFileAhead(t *testing.T) {
	sf := newSeqFrames(t)
	sz := sizes(300, 8)
	pcap, _ := boundaryPcap(t, sf, sz)
	bundled, err := os.ReadFile(filepath.Join("..", "testdata", "pcaps", "crafted", "normal-pcap.pcap.gz"))
	if err != nil {
		t.Fatal(err)
	}
	whole := gz(t, pcap)
	if len(pcap) < 4*aheadChunk {
		t.Fatalf("the capture is %d bytes, too short to be read in several chunks", len(pcap))
	}
	flipped := bytes.Clone(whole)
	flipped[len(flipped)*3/4] ^= 0x55
	files := []struct {
		name string
		data []byte
	}{
		{"pcap", whole},
		{"pcapng", gz(t, boundaryPcapng(t, sf, sz))},
		{"bundled", bundled},
		{"cut-early", whole[:len(whole)/5]},
		{"cut-late", whole[:len(whole)-100]},
		{"cut-trailer", whole[:len(whole)-4]},
		{"flipped", flipped},
	}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "t.pcap.gz")
			if err := os.WriteFile(p, f.data, 0o644); err != nil {
				t.Fatal(err)
			}
			ahead, err := Open(p, aheadConfig)
			if err != nil {
				t.Fatal(err)
			}
			defer ahead.Close()
			if ahead.ah == nil {
				t.Fatal("Open does not read the gzip file ahead")
			}
			if r, err := Open(p, nil); err != nil || r.ah != nil {
				t.Fatalf("Open without ReadAhead: %v, reads ahead %v", err, r.ah != nil)
			} else {
				r.Close()
			}
			inline, err := NewReader(bytes.NewReader(f.data), p, nil)
			if err != nil {
				t.Fatal(err)
			}
			want, wantErr := readAll(t, inline)
			got, gotErr := readAll(t, ahead)
			if len(got) != len(want) || !reflect.DeepEqual(got, want) {
				t.Errorf("%d segments read ahead, %d inline, or they differ", len(got), len(want))
			}
			if gotErr.Error() != wantErr.Error() {
				t.Errorf("read ahead: %v\ninline:     %v", gotErr, wantErr)
			}
			if !reflect.DeepEqual(ahead.Stats(), inline.Stats()) {
				t.Errorf("stats read ahead %+v\ninline %+v", ahead.Stats(), inline.Stats())
			}
			if ahead.BytesRead() != inline.BytesRead() {
				t.Errorf("BytesRead %d read ahead, %d inline", ahead.BytesRead(), inline.BytesRead())
			}
		})
	}
}

// TestGzipFileAheadClose closes a gzip file read ahead in the middle: the
// goroutine is gone when Close returns (it no longer reads the file Close
// closes), and reading on is an error.
func TestGzipFileAheadClose(t *testing.T) {
	sf := newSeqFrames(t)
	pcap, _ := boundaryPcap(t, sf, sizes(300, 9))
	r, err := Open(writeFile(t, gz(t, pcap)), aheadConfig)
	if err != nil {
		t.Fatal(err)
	}
	var seg Segment
	for r.src.bytes().off < 2*aheadChunk {
		if err := r.Next(&seg); err != nil {
			t.Fatal(err)
		}
	}
	a := r.ah
	if a.full == nil {
		t.Fatal("the goroutine reading ahead did not start")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.done:
	default:
		t.Fatal("the goroutine reading ahead still runs after Close")
	}
	if err := r.Next(&seg); err == nil {
		t.Fatal("Next after Close succeeds")
	}
}

// TestGzipFileAheadLazy: a caller that reads no further than the stream's
// first fill (the first segment of each file, to put a continuous set in
// time order) never starts the goroutine, and Close returns at once.
func TestGzipFileAheadLazy(t *testing.T) {
	sf := newSeqFrames(t)
	sz := make([]int, 30000) // 4.5 MB of small frames, the first within the first read
	for i := range sz {
		sz[i] = 100
	}
	pcap, _ := boundaryPcap(t, sf, sz)
	r, err := Open(writeFile(t, gz(t, pcap)), aheadConfig)
	if err != nil {
		t.Fatal(err)
	}
	var seg Segment
	if err := r.Next(&seg); err != nil {
		t.Fatal(err)
	}
	if r.ah.full != nil {
		t.Error("the first segment started the goroutine reading ahead")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}
