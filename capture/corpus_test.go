package capture

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const corpusDir = "/work/shared/corpus"

// tsharkTruth is the part of truth/<source>/<name>.tshark.json we compare.
type tsharkTruth struct {
	TCPFrames int `json:"tcp_frames"`
	Capinfos  struct {
		Encapsulation string `json:"encapsulation"`
	} `json:"capinfos"`
	Streams []struct {
		Frames int `json:"frames"`
	} `json:"streams"`
}

// corpusExceptions are captures where our TCP segment count may differ from
// tshark's, and why. Keys are <source>/<file>.
var corpusExceptions = map[string]string{
	"gopacket/layers__testdata__linux_sll_oversized_addr.pcapng":                         "one TCP header with an impossible data offset: tshark shows it as malformed TCP, we skip it as " + ReasonBadTCP,
	"suricata-verify/defrag__bug-6887-defrag-ipv4-tcp-syn__frag-ip-tcp-syn.pcap":         "tshark reassembles IP fragments; the first fragment holds less than a TCP header, so we see no segment",
	"suricata-verify/defrag__bug-6887-defrag-ppp-ipv4-tcp-syn__frag-ppp-ip-tcp-syn.pcap": "tshark reassembles IP fragments; the first fragment holds less than a TCP header, so we see no segment",
	"tcpdump/sflow_expanded.pcap":                               "the TCP header is a sampled packet inside an sFlow record, not traffic",
	"zeek/tunnels__gre-aruba-amsdu.pcap":                        "TCP inside 802.11 A-MSDU frames in Aruba's GRE protocol 0x8240, not decoded",
	"zeek/tunnels__gtp__gtp1_gn_normal_incl_fragmentation.pcap": "4 GTP packets fragmented at the outer IP layer lack their last fragment: tshark cannot reassemble them, we read the TCP header in the first fragment",
}

// TestCorpus runs the Reader over every capture of the shared corpus and
// compares the number of TCP segments with tshark's count of TCP frames.
func TestCorpus(t *testing.T) {
	root := filepath.Join(corpusDir, "pcaps")
	if _, err := os.Stat(root); err != nil {
		t.Skipf("corpus not present: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(root, "*", "*"))
	sort.Strings(files)
	type total struct{ files, agree, ours, theirs, exceptions int }
	perSource := map[string]*total{}
	skipped := map[string]uint64{}
	encaps := map[string]uint64{}
	links := map[string]uint64{}
	for _, path := range files {
		source := filepath.Base(filepath.Dir(path))
		name := filepath.Base(path)
		key := source + "/" + name
		truthPath := filepath.Join(corpusDir, "truth", source, strings.TrimSuffix(name, filepath.Ext(name))+".tshark.json")
		tot := perSource[source]
		if tot == nil {
			tot = &total{}
			perSource[source] = tot
		}
		var truth tsharkTruth
		haveTruth := false
		if b, err := os.ReadFile(truthPath); err == nil && json.Unmarshal(b, &truth) == nil {
			haveTruth = true
		}
		r, err := Open(path, nil)
		if err != nil {
			t.Errorf("%s: %v", key, err)
			continue
		}
		var seg Segment
		n := 0
		for {
			err = r.Next(&seg)
			if err != nil {
				break
			}
			n++
		}
		r.Close()
		st := r.Stats()
		if err != io.EOF {
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Errorf("%s: error is not a *FileError: %v", key, err)
			}
			t.Logf("%s: %v", key, err)
		}
		for k, v := range st.Skipped {
			skipped[k] += v
		}
		for k, v := range st.Encaps {
			encaps[k] += v
		}
		for k, v := range st.LinkTypes {
			links[k] += v
		}
		if !haveTruth {
			continue
		}
		want := 0
		for _, s := range truth.Streams {
			want += s.Frames
		}
		tot.files++
		tot.ours += n
		tot.theirs += want
		if n == want {
			tot.agree++
			continue
		}
		if why, ok := corpusExceptions[key]; ok {
			tot.exceptions++
			t.Logf("%s: %d segments, tshark %d (known: %s)", key, n, want, why)
			continue
		}
		t.Errorf("%s (%s): %d segments, tshark counts %d TCP frames; skipped %v", key, truth.Capinfos.Encapsulation, n, want, st.Skipped)
	}
	var srcs []string
	for s := range perSource {
		srcs = append(srcs, s)
	}
	sort.Strings(srcs)
	t.Logf("%-16s %6s %6s %10s %10s %10s", "source", "files", "agree", "exceptions", "segments", "tshark")
	for _, s := range srcs {
		p := perSource[s]
		t.Logf("%-16s %6d %6d %10d %10d %10d", s, p.files, p.agree, p.exceptions, p.ours, p.theirs)
	}
	logCounts(t, "frames skipped, by reason", skipped)
	logCounts(t, "segments inside encapsulations", encaps)
	logCounts(t, "frames by link type", links)
}

func logCounts(t *testing.T, title string, m map[string]uint64) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	t.Logf("%s:", title)
	for _, k := range keys {
		t.Logf("  %-40s %8d", k, m[k])
	}
}
