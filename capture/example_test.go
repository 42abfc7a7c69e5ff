package capture_test

import (
	"errors"
	"fmt"
	"io"

	"github.com/tcpflow-check/tcpflow-check/capture"
)

// A Reader hands out TCP segments until io.EOF; frames without one are
// counted in Stats, and a damaged file ends with a *FileError.
func ExampleReader() {
	r, err := capture.Open("testdata/handshake.pcap", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	var seg capture.Segment
	for {
		err := r.Next(&seg)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println(err) // e.g. capture: x.pcap: frame 7 at byte offset 812: truncated record
			return
		}
		fmt.Println(seg.Frame, seg.Src, "->", seg.Dst, seg.Flags, "len", seg.Len)
	}
	st := r.Stats()
	fmt.Println(st.Packets, "frames,", st.Segments, "segments, skipped", st.Skipped)
	// Output:
	// 1 10.0.0.1:41234 -> 10.0.0.2:80 S len 0
	// 2 10.0.0.2:80 -> 10.0.0.1:41234 S. len 0
	// 3 10.0.0.1:41234 -> 10.0.0.2:80 . len 0
	// 5 10.0.0.1:41234 -> 10.0.0.2:80 P. len 5
	// 6 10.0.0.2:80 -> 10.0.0.1:41234 F. len 0
	// 7 10.0.0.1:41234 -> 10.0.0.2:80 F. len 0
	// 8 10.0.0.2:80 -> 10.0.0.1:41234 . len 0
	// 8 frames, 7 segments, skipped map[ether type ARP:1]
}
