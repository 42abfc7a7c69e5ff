package capture

import (
	"bytes"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// replaySource is a liveSource that replays frames stamped as writePcap
// stamps them, then reports the end of the capture.
type replaySource struct {
	frames [][]byte
	i      int
}

func (s *replaySource) ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	if s.i == len(s.frames) {
		return nil, gopacket.CaptureInfo{}, io.EOF
	}
	b := s.frames[s.i]
	ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(s.i) * time.Millisecond), CaptureLength: len(b), Length: len(b)}
	s.i++
	return b, ci, nil
}
func (s *replaySource) LinkType() layers.LinkType            { return layers.LinkTypeEthernet }
func (s *replaySource) KernelStats() (uint64, uint64, error) { return 0, 0, nil }
func (s *replaySource) Close()                               {}

// TestReaderAndLiveAgree runs the same frames through a Reader (as a pcap
// file) and a Live (as an interface) and wants the same segments and the
// same Stats, read through the pointer each returned before the first
// frame: the Stats are documented to keep changing while they read, and
// Live once counted frames per link type only when Stats was called again.
func TestReaderAndLiveAgree(t *testing.T) {
	byName := map[string][]byte{}
	for _, c := range decodeCases(t) {
		byName[c.name] = c.frame
	}
	frames := [][]byte{
		byName["eth-ipv4-tcp"], byName["arp"], {0xff, 0xff}, byName["vlan"],
		byName["bad-tcp-checksum-verified"], byName["eth-ipv6-tcp"], byName["udp"],
	}
	for _, verify := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "verify-checksums"}[verify], func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(writePcap(t, layers.LinkTypeEthernet, frames, false)), "t.pcap", &Config{VerifyChecksums: verify})
			if err != nil {
				t.Fatal(err)
			}
			rst := r.Stats()
			rsegs, err := readAll(t, r)
			if err != io.EOF {
				t.Fatalf("Reader: %v", err)
			}

			l := newLive("eth9", &replaySource{frames: frames}, &LiveConfig{VerifyChecksums: verify})
			lst := l.Stats()
			var lsegs []Segment
			for {
				var s Segment
				if err := l.Next(&s); err != nil {
					if err != io.EOF {
						t.Fatalf("Live: %v", err)
					}
					break
				}
				lsegs = append(lsegs, s)
			}

			if !reflect.DeepEqual(rsegs, lsegs) {
				t.Errorf("segments differ\nReader %+v\nLive   %+v", rsegs, lsegs)
			}
			if !reflect.DeepEqual(*rst, *lst) {
				t.Errorf("stats differ\nReader %+v\nLive   %+v", *rst, *lst)
			}
			if rst.Packets != uint64(len(frames)) || rst.LinkTypes["Ethernet"] != rst.Packets {
				t.Errorf("Reader stats %+v: want %d Ethernet packets", *rst, len(frames))
			}
		})
	}
}

// TestReaderClock steps a capture's clock back and forth and reads the
// Stats through the pointer taken before the first frame, after every
// frame: First, Last and the steps back are right at each point, and
// LinkTypes, brought up to date by calling Stats again (which returns the
// same pointer), counts every frame read so far.
func TestReaderClock(t *testing.T) {
	fr := testFrames(t)[0].data
	ms := []int{10, 20, 20, 15, 15, 30, 5, 40, 40}
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	for _, m := range ms {
		w.WritePacket(gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(m) * time.Millisecond), CaptureLength: len(fr), Length: len(fr)}, fr)
	}
	r, err := NewReader(&buf, "clock.pcap", nil)
	if err != nil {
		t.Fatal(err)
	}
	st := r.Stats()
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Millisecond) }
	first, last, back, backMax, backFrame := ms[0], ms[0], 0, 0, 0
	for i, m := range ms {
		var seg Segment
		if err := r.Next(&seg); err != nil {
			t.Fatal(err)
		}
		if i > 0 && m < ms[i-1] {
			back++
			backMax = max(backMax, ms[i-1]-m)
			if backFrame == 0 {
				backFrame = i + 1
			}
		}
		first, last = min(first, m), max(last, m)
		if !st.First.Equal(at(first)) || !st.Last.Equal(at(last)) || st.Backwards != uint64(back) ||
			st.BackMax != time.Duration(backMax)*time.Millisecond || st.BackFrame != uint64(backFrame) {
			t.Errorf("after frame %d: First %v Last %v Backwards %d BackMax %v BackFrame %d; want %d ms, %d ms, %d, %d ms, %d",
				i+1, st.First.Sub(t0), st.Last.Sub(t0), st.Backwards, st.BackMax, st.BackFrame, first, last, back, backMax, backFrame)
		}
		if r.Stats() != st || st.LinkTypes["Ethernet"] != uint64(i+1) {
			t.Errorf("after frame %d: LinkTypes %v", i+1, st.LinkTypes)
		}
	}
}
