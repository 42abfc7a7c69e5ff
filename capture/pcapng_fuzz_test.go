package capture

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzPcapng feeds mutated pcapng files to the block parser: it must not
// panic and must end (every block consumes at least 12 bytes), with io.EOF
// or a *FileError whose offset lies inside the file; the counters add up;
// and a buffer is never sized beyond maxSnapLen.
func FuzzPcapng(f *testing.F) {
	tcp := testFrames(f)[0].data
	sec := uint64(t0.Unix())
	for _, big := range []bool{false, true} {
		f.Add(newNgFile(big).idb(1, 65535).epb(0, sec*1e6, tcp).b)
		f.Add(newNgFile(big).
			idb(1, 0, optTSResol, []byte{9}, optTSOffset, be64(big, 10)).
			idb(113, 0, optTSResol, []byte{0x80 | 10}).
			block(4, []byte("name resolution")).
			epb(0, sec*1e9, tcp).epb(1, sec<<10, tcp).spb(uint32(len(tcp)), tcp).
			block(blockISB, append(make([]byte, 12), 3, 0, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0)).
			shb(1, 0).idb(1, 96).epb(0, 1, tcp).b)
	}
	f.Add(writePcapng(f, testFrames(f)))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), "fuzz.pcapng", nil)
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("NewReader error is %T, not *FileError: %v", err, err)
			}
			return
		}
		var seg Segment
		for i := 0; ; i++ {
			if i > len(data)/12 {
				t.Fatalf("more than %d frames from %d bytes", i, len(data))
			}
			err := r.Next(&seg)
			if err == io.EOF {
				break
			}
			if err != nil {
				var fe *FileError
				if !errors.As(err, &fe) {
					t.Fatalf("Next error is %T, not *FileError: %v", err, err)
				}
				if fe.Offset < 0 || fe.Offset > int64(len(data)) {
					t.Fatalf("error at offset %d of a %d-byte file: %v", fe.Offset, len(data), err)
				}
				break
			}
		}
		if ng, ok := r.src.(*ngSource); ok && (cap(ng.s.buf) != streamSize || cap(ng.long) > maxSnapLen) {
			t.Fatalf("a %d-byte stream buffer, a %d-byte packet buffer", cap(ng.s.buf), cap(ng.long))
		}
		st := r.Stats()
		var skipped uint64
		for _, n := range st.Skipped {
			skipped += n
		}
		if st.Packets != st.Segments+skipped {
			t.Fatalf("Packets %d != Segments %d + skipped %d", st.Packets, st.Segments, skipped)
		}
	})
}
