package analyze

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/pcapgen"
	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// jsonSink writes every finding and record it is given, in order.
type jsonSink struct{ b bytes.Buffer }

func (s *jsonSink) Finding(c *Conn, f *Finding) {
	s.b.WriteString("finding ")
	json.NewEncoder(&s.b).Encode(f)
}

func (s *jsonSink) End(c *Conn) {
	s.b.WriteString("end ")
	json.NewEncoder(&s.b).Encode(c)
}

// analyzeFile runs name through an Analyzer of cfg and returns what its
// sink was given, and how many connections were frozen along the way.
// With eachSegment the idle connections are frozen before every segment;
// with asked, only those Analyzer.soonDue lets be.
func analyzeFile(t *testing.T, name string, cfg Config, eachSegment, asked bool) (string, int) {
	t.Helper()
	r, err := capture.Open(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s := &jsonSink{}
	a := New(&cfg, s)
	frozen := 0
	var seg capture.Segment
	for {
		if err := r.Next(&seg); err != nil {
			break // at the end, or at damage: what could be read is compared
		}
		if eachSegment && a.now != 0 {
			var soon func(*reassembly.Conn[conn]) bool
			if asked {
				soon = a.dueSoon
			}
			frozen += a.tab.FreezeIdle(a.now-int64(cfg.CompactIdle), soon)
		}
		a.Add(&seg)
	}
	a.Flush()
	return s.b.String(), frozen
}

// compactCaptures are the bundled captures, the corpus's when it is there
// (TCPFLOW_CORPUS, or ../../shared/corpus beside the repository), and two
// made here: a thousand connections open at a time, and a SYN flood past
// the connection cap.
func compactCaptures(t *testing.T) []string {
	var files []string
	corpus := os.Getenv("TCPFLOW_CORPUS")
	if corpus == "" {
		corpus = "../../shared/corpus"
	}
	for _, dir := range []string{"../testdata/pcaps", filepath.Join(corpus, "pcaps")} {
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.Contains(p, ".pcap") || strings.HasSuffix(p, ".gz")) {
				files = append(files, p)
			}
			return nil
		})
	}
	dir := t.TempDir()
	for i, s := range []pcapgen.Synthetic{{Conns: 3000, Concurrent: 1000}, {Conns: 2000, Concurrent: 2000, Spacing: time.Millisecond}} {
		p := filepath.Join(dir, fmt.Sprintf("synthetic%d.pcap", i))
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pcapgen.WriteSynthetic(f, s); err != nil {
			t.Fatal(err)
		}
		f.Close()
		files = append(files, p)
	}
	return files
}

// TestCompactChangesNothing: keeping idle connections compact changes no
// finding and no record, whatever the capture, with every idle connection
// frozen before each segment (so that every path that reaches a
// connection — its next segment, a deadline, eviction at the cap, the
// end — thaws one), with and without the timeline, and at a cap of 50
// connections; and once more freezing only what Analyzer.soonDue lets be,
// which moves deadline keys on.
func TestCompactChangesNothing(t *testing.T) {
	files := compactCaptures(t)
	total := 0
	for _, f := range files {
		for i, cfg := range []Config{{}, {Timeline: true}, {MaxConns: 50}, {}} {
			want, _ := analyzeFile(t, f, Config{Timeline: cfg.Timeline, MaxConns: cfg.MaxConns, CompactAbove: -1}, false, false)
			cfg.CompactAbove, cfg.CompactIdle = 1, time.Nanosecond
			got, frozen := analyzeFile(t, f, cfg, true, i == 3)
			total += frozen
			if got != want {
				i := 0
				for i < len(got) && i < len(want) && got[i] == want[i] {
					i++
				}
				t.Fatalf("%s %+v: frozen %d, output differs at byte %d:\n%s\n--- without freezing:\n%s", f, cfg, frozen, i,
					got[max(0, i-200):min(len(got), i+200)], want[max(0, i-200):min(len(want), i+200)])
			}
		}
	}
	if total < 10000 {
		t.Errorf("only %d connections were frozen over %d captures", total, len(files))
	}
	t.Logf("%d captures, %d freezes", len(files), total)
}
