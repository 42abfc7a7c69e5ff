package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/capture"
)

// keepConns passes records on to a writer and keeps a copy of each.
type keepConns struct {
	w     Writer
	conns []*analyze.Conn
}

func (k *keepConns) Finding(c *analyze.Conn, f *analyze.Finding) { k.w.Finding(c, f) }

func (k *keepConns) End(c *analyze.Conn) {
	cc := *c
	cc.Findings = slices.Clone(c.Findings)
	cc.Timeline = slices.Clone(c.Timeline)
	k.conns = append(k.conns, &cc)
	k.w.End(c)
}

// analyzeHTML reads the captures as `tcpflow-check analyze --format html`
// does (timelines on) and returns the page and the connections it holds.
func analyzeHTML(t testing.TB, paths ...string) ([]byte, []*analyze.Conn) {
	t.Helper()
	return renderHTML(t, true, paths...)
}

// renderHTML is analyzeHTML, keeping the connections only with keep.
func renderHTML(t testing.TB, keep bool, paths ...string) ([]byte, []*analyze.Conn) {
	t.Helper()
	var out bytes.Buffer
	w, err := NewWriter("html", &out, &Options{NoElapsed: true})
	if err != nil {
		t.Fatal(err)
	}
	k := &keepConns{w: w}
	var sink analyze.Sink = k
	if !keep {
		sink = w
	}
	an := analyze.New(&analyze.Config{Timeline: true}, sink)
	s := &Summary{Schema: Schema}
	for i, p := range paths {
		r, err := capture.Open(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		r.SetInput(i)
		an.SetInput(filepath.Base(p))
		var seg capture.Segment
		for {
			err := r.Next(&seg)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			an.Add(&seg)
		}
		an.Flush()
		s.Inputs = append(s.Inputs, Input{Name: filepath.Base(p), Stats: *r.Stats()})
		s.Capture.Add(r.Stats())
		r.Close()
	}
	s.Analysis = *an.Stats()
	if err := w.Close(s); err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), k.conns
}

// realCaptures are the bundled captures the Linux stack made.
func realCaptures(t testing.TB) []string {
	t.Helper()
	paths, err := filepath.Glob("../testdata/pcaps/real/*.pcap")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no captures in ../testdata/pcaps/real: %v", err)
	}
	return paths
}

// htmlData extracts the page's embedded data.
func htmlDataOf(t *testing.T, page []byte) map[string]any {
	t.Helper()
	const open = `<script type="application/json" id="tfc-data">`
	i := bytes.Index(page, []byte(open))
	if i < 0 {
		t.Fatal("no data element")
	}
	rest := page[i+len(open):]
	j := bytes.Index(rest, []byte("</script>"))
	if j < 0 {
		t.Fatal("data element not closed")
	}
	var m map[string]any
	if err := json.Unmarshal(rest[:j], &m); err != nil {
		t.Fatalf("embedded data is not JSON: %v", err)
	}
	return m
}

// TestHTMLSelfContained: one file that fetches nothing: no links, no
// sources, no imports, no URLs but the SVG namespace.
func TestHTMLSelfContained(t *testing.T) {
	page, _ := analyzeHTML(t, realCaptures(t)...)
	s := string(page)
	if !strings.HasPrefix(s, "<!DOCTYPE html>") {
		t.Errorf("page starts %.40q", s)
	}
	for _, bad := range []string{"<link", " src=", "@import", "url(", "<iframe", "<img", "fetch(", "XMLHttpRequest"} {
		if strings.Contains(s, bad) {
			t.Errorf("page holds %q", bad)
		}
	}
	for _, m := range regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s"'<]*`).FindAllString(s, -1) {
		if m != "http://www.w3.org/2000/svg" {
			t.Errorf("page names a URL: %q", m)
		}
	}
	if n := strings.Count(s, "</script>"); n != 2 {
		t.Errorf("%d </script> in the page, want 2 (the data and the script)", n)
	}
	if n := len(htmlDataOf(t, page)["rows"].([]any)); n == 0 {
		t.Error("no rows in the data")
	}
}

// TestHTMLEscaping: text from a capture (file names, evidence) cannot end
// the data element or add markup; it arrives in the data unchanged.
func TestHTMLEscaping(t *testing.T) {
	const evil = `</script><img src=x onerror=alert(1)><!-- & "quoted" 'single'`
	conns := allConns()
	conns[1].Input = evil
	conns[1].Findings[0].Evidence = evil
	s := testSummary()
	s.Inputs[0].Name = evil
	page := render(t, "html", &Options{NoElapsed: true}, conns, s)
	if n := bytes.Count(page, []byte("</script>")); n != 2 {
		t.Errorf("%d </script> in the page, want 2", n)
	}
	if bytes.Contains(page, []byte("<img")) {
		t.Error("markup from the capture reached the page")
	}
	d := htmlDataOf(t, page)
	row := d["rows"].([]any)[1].([]any)
	if got := row[18].([]any)[0].([]any)[5]; got != evil {
		t.Errorf("evidence in the data %q, want %q", got, evil)
	}
	if got := d["inputs"].([]any)[1]; got != evil {
		t.Errorf("input in the data %q", got)
	}
}

// TestHTMLPageLimits: past its bounds the page keeps what fits and says
// what it left out.
func TestHTMLPageLimits(t *testing.T) {
	var out bytes.Buffer
	w := newHTMLWriter(base{w: &out, opts: (&Options{NoElapsed: true}).withDefaults()})
	w.data.lim = htmlLimits{rows: 4, steps: 3, stepBudget: 40}
	for _, c := range allConns() {
		w.End(c)
	}
	if err := w.Close(testSummary()); err != nil {
		t.Fatal(err)
	}
	page := out.String()
	for _, want := range []string{
		"page limit: the table lists the first 4 connections; 1 more are in the counts only",
		"page limit: the segments of ",
		"page limit: the ladders of ",
		"show 3 of their segments",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page does not say %q", want)
		}
	}
	d := htmlDataOf(t, []byte(page))
	rows := d["rows"].([]any)
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4", len(rows))
	}
	if got := rows[0].([]any)[19]; got != float64(len(allConns()[0].Timeline)) {
		t.Errorf("row 0 counts %v segments", got)
	}
	// The summary still counts all five.
	if !strings.Contains(page, `<dd class="value">5</dd>`) {
		t.Error("the summary does not count every connection")
	}
}

// TestHTMLInFormats: html is a format like the others.
func TestHTMLInFormats(t *testing.T) {
	if !slices.Contains(Formats(), "html") {
		t.Errorf("Formats() = %v", Formats())
	}
	page := render(t, "html", nil, nil, nil)
	if !bytes.Contains(page, []byte("no TCP connections in the capture")) {
		t.Errorf("an empty report does not say so")
	}
}

// longConn is a connection of n segments (frames 1..n, alternating
// directions) with a reset found on frames 30 and n.
func longConn(n int) *analyze.Conn {
	c := cleanConn()
	c.Timeline = nil
	for i := 1; i <= n; i++ {
		d := c2s
		if i%2 == 0 {
			d = s2c
		}
		c.Timeline = append(c.Timeline, step(uint64(i), ms(float64(i)), d, A, uint32(i), uint32(i), 10,
			analyze.Established, analyze.Established))
	}
	c.LastFrame = uint64(n)
	c.Findings = []analyze.Finding{{Kind: analyze.Reset, Severity: analyze.Warning, Frames: []uint64{30, uint64(n)},
		Time: at(ms(30)), Evidence: "a reset at the end of a long transfer"}}
	return c
}

// TestHTMLPickSteps: a long connection keeps its opening, its end and the
// segments its findings rest on, and says where it left segments out.
func TestHTMLPickSteps(t *testing.T) {
	c := longConn(50)
	steps, gaps := pickSteps(c, 10)
	var frames []uint64
	for _, s := range steps {
		frames = append(frames, s.Frame)
	}
	if want := []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 30, 50}; !slices.Equal(frames, want) {
		t.Errorf("frames %v, want %v", frames, want)
	}
	if want := [][2]int{{9, 20}, {10, 19}}; !slices.Equal(gaps, want) {
		t.Errorf("gaps %v, want %v", gaps, want)
	}
	if steps, gaps := pickSteps(c, 50); len(steps) != 50 || gaps != nil {
		t.Errorf("under the limit: %d steps, gaps %v", len(steps), gaps)
	}
}
