package report

import (
	"bytes"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/browsertest"
	"github.com/tcpflow-check/tcpflow-check/internal/human"
)

// pageStep is a segment as the page's script decodes it.
type pageStep struct {
	Frame uint64 `json:"frame"`
	T     int64  `json:"t"`
	Dir   int    `json:"dir"`
	Flags int    `json:"flags"`
	Seq   uint32 `json:"seq"`
	Ack   uint32 `json:"ack"`
	Len   uint32 `json:"len"`
	Win   int    `json:"win"`
	CS    int    `json:"cs"`
	SS    int    `json:"ss"`
	Note  string `json:"note"`
}

// pageArticle is what a drawn ladder of a connection with findings holds.
type pageArticle struct {
	ID      uint64     `json:"id"`
	Segs    int        `json:"segs"`
	RST     int        `json:"rst"`
	Retx    int        `json:"retx"`
	HL      int        `json:"hl"`
	States  [][]string `json:"states"` // per arrow: client's, server's
	Changed []string   `json:"changed"`
	Marks   []string   `json:"marks"`
}

type pageProbe struct {
	Verdict  string        `json:"verdict"`
	Kinds    []string      `json:"kinds"`
	Evidence []string      `json:"evidence"`
	Shown    string        `json:"shown"`
	IDs      []uint64      `json:"ids"`
	Steps    [][]pageStep  `json:"steps"`
	Articles []pageArticle `json:"articles"`
}

// openAllLadders opens every written-out ladder and waits until each is drawn.
const openAllLadders = `(() => {
  document.querySelectorAll('details.ladder').forEach(d => d.open = true);
  return true;
})()`

const laddersDrawn = `[...document.querySelectorAll('details.ladder')].every(d => d.querySelector('svg.ladder, .ladder-note'))`

const probePage = `(() => {
  const T = window.tcpflowCheck;
  const texts = (root, sel) => [...root.querySelectorAll(sel)].map(e => e.textContent);
  return {
    verdict: document.getElementById('verdict').textContent,
    kinds: texts(document, '#findings .kind-name'),
    evidence: texts(document, '#findings .evidence'),
    shown: document.querySelector('#table-app .shown').textContent,
    ids: T.data.rows.map(r => r[0]),
    steps: T.data.rows.map((r, i) => T.steps(i) || []),
    articles: [...document.querySelectorAll('#conns article.conn')].map(a => {
      const svg = a.querySelector('svg.ladder');
      if (!svg) return {id: +a.id.slice(5), segs: -1};
      return {
        id: +a.id.slice(5),
        segs: svg.querySelectorAll('g.seg').length,
        rst: svg.querySelectorAll('g.seg.rst').length,
        retx: svg.querySelectorAll('g.seg.retx').length,
        hl: svg.querySelectorAll('rect.hl').length,
        states: [...svg.querySelectorAll('g.seg')].map(g => texts(g, 'text.state')),
        changed: texts(svg, 'text.state:not(.same)'),
        marks: texts(svg, 'text.mark'),
      };
    }),
  };
})()`

// TestHTMLBrowserCaptures opens the report of each bundled capture in
// Chromium and checks what it shows against the analysis: the findings by
// kind with their evidence, every connection in the table, the timelines the
// script decodes (segment by segment), and the SVG ladder of each
// connection with findings: one arrow a segment, both peers' states beside
// each, the finding's frames highlighted and marked, RSTs and
// retransmissions drawn as such.
func TestHTMLBrowserCaptures(t *testing.T) {
	tb := browsertest.NewTab(t, browsertest.Options{})
	for _, path := range realCaptures(t) {
		name := strings.TrimSuffix(filepath.Base(path), ".pcap")
		t.Run(name, func(t *testing.T) {
			tb.Use(t)
			page, conns := analyzeHTML(t, path)
			tb.OpenFile(page)
			browsertest.Eval[bool](tb, openAllLadders)
			tb.Do(chromedp.Poll[chromedp.Void](laddersDrawn, chromedp.WithPollingTimeout(time.Minute)))
			p := browsertest.Eval[pageProbe](tb, probePage)
			checkPage(t, &p, conns)
		})
	}
}

func checkPage(t *testing.T, p *pageProbe, conns []*analyze.Conn) {
	t.Helper()
	// Findings by kind, with every written-out evidence sentence.
	kinds := map[string]bool{}
	var evidence []string
	bad := 0
	for _, c := range conns {
		if len(c.Findings) > 0 {
			bad++
		}
		for _, f := range c.Findings {
			kinds[string(f.Kind)] = true
			evidence = append(evidence, f.Evidence)
		}
	}
	if got := sorted(p.Kinds...); !slices.Equal(got, sortedSet(kinds)) {
		t.Errorf("findings section kinds %v, want %v", got, sortedSet(kinds))
	}
	for _, e := range p.Evidence {
		if !slices.Contains(evidence, e) {
			t.Errorf("evidence %q is not a finding's", e)
		}
	}
	if len(evidence) > 0 && len(p.Evidence) == 0 {
		t.Errorf("no evidence shown for %d findings", len(evidence))
	}
	if want := fmt.Sprintf("showing %d of %d", len(conns), len(conns)); p.Shown != want {
		t.Errorf("table says %q, want %q", p.Shown, want)
	}
	if bad == 0 && !strings.Contains(p.Verdict, "no findings") {
		t.Errorf("verdict %q for a capture without findings", p.Verdict)
	}

	// Every connection's timeline, decoded by the page, is the analyzer's.
	if len(p.IDs) != len(conns) {
		t.Fatalf("page holds %d connections, the analysis %d", len(p.IDs), len(conns))
	}
	byID := map[uint64]*analyze.Conn{}
	for i, c := range conns {
		byID[c.ID] = c
		if p.IDs[i] != c.ID {
			t.Errorf("row %d is connection #%d, want #%d", i, p.IDs[i], c.ID)
		}
		compareSteps(t, c, p.Steps[i])
	}

	// The ladders.
	if len(p.Articles) != min(bad, htmlMaxArticles) {
		t.Errorf("%d connections written out with their findings, want %d", len(p.Articles), min(bad, htmlMaxArticles))
	}
	for _, a := range p.Articles {
		c := byID[a.ID]
		if c == nil {
			t.Errorf("article of unknown connection #%d", a.ID)
			continue
		}
		checkLadder(t, c, &a)
	}
}

func compareSteps(t *testing.T, c *analyze.Conn, got []pageStep) {
	t.Helper()
	if len(got) != len(c.Timeline) {
		t.Errorf("#%d: page decodes %d segments, the timeline has %d", c.ID, len(got), len(c.Timeline))
		return
	}
	for j, s := range c.Timeline {
		dir := 0
		if s.Dir == analyze.ServerToClient {
			dir = 1
		}
		want := pageStep{Frame: s.Frame, T: s.Time.Sub(c.Start).Microseconds(), Dir: dir, Flags: int(s.Flags),
			Seq: s.Seq, Ack: s.Ack, Len: s.Len, Win: int(s.Window), CS: int(s.ClientState), SS: int(s.ServerState), Note: s.Note}
		if got[j] != want {
			t.Errorf("#%d segment %d: page decodes %+v, want %+v", c.ID, j, got[j], want)
			return
		}
	}
}

func checkLadder(t *testing.T, c *analyze.Conn, a *pageArticle) {
	t.Helper()
	if a.Segs != len(c.Timeline) {
		t.Errorf("#%d: ladder has %d arrows, timeline %d segments", c.ID, a.Segs, len(c.Timeline))
		return
	}
	var rst, retx int
	var changed []string
	prevC, prevS := analyze.State(255), analyze.State(255)
	for j, s := range c.Timeline {
		if want := []string{s.ClientState.String(), s.ServerState.String()}; !slices.Equal(a.States[j], want) {
			t.Errorf("#%d frame %d: states beside the arrow %v, want %v", c.ID, s.Frame, a.States[j], want)
		}
		if s.ClientState != prevC {
			changed = append(changed, s.ClientState.String())
		}
		if s.ServerState != prevS {
			changed = append(changed, s.ServerState.String())
		}
		prevC, prevS = s.ClientState, s.ServerState
		if s.Flags.Has(capture.RST) {
			rst++
		}
		if strings.Contains(s.Note, "retransmission") {
			retx++
		}
	}
	if !slices.Equal(sorted(a.Changed...), sorted(changed...)) {
		t.Errorf("#%d: states drawn as changes %v, want %v", c.ID, a.Changed, changed)
	}
	if a.RST != rst || a.Retx != retx {
		t.Errorf("#%d: %d RST and %d retransmitted arrows marked, want %d and %d", c.ID, a.RST, a.Retx, rst, retx)
	}
	// Highlights: one band per segment a finding rests on; a mark naming
	// each finding on its first frame.
	inTimeline := map[uint64]bool{}
	for _, s := range c.Timeline {
		inTimeline[s.Frame] = true
	}
	hl := map[uint64]bool{}
	marks := strings.Join(a.Marks, " ")
	for _, f := range c.Findings {
		for _, fr := range f.Frames {
			if inTimeline[fr] {
				hl[fr] = true
			}
		}
		if len(f.Frames) > 0 && inTimeline[f.Frames[0]] && !strings.Contains(marks, string(f.Kind)) {
			t.Errorf("#%d: no mark of %s on frame %d (marks %q)", c.ID, f.Kind, f.Frames[0], a.Marks)
		}
	}
	if a.HL != len(hl) {
		t.Errorf("#%d: %d frames highlighted, want %d", c.ID, a.HL, len(hl))
	}
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestHTMLBrowserHalfCloseStuck is the done-when: the report of
// half-close-stuck.pcap shows the stuck half-close on the ladder, with the
// server's CLOSE_WAIT and the client's FIN_WAIT_2 beside the arrows that
// put them there, both highlighted and the first marked half_close_stuck.
func TestHTMLBrowserHalfCloseStuck(t *testing.T) {
	page, _ := analyzeHTML(t, "../testdata/pcaps/real/half-close-stuck.pcap")
	tb := browsertest.Open(t, page, browsertest.Options{})
	// An open ladder is drawn by an IntersectionObserver callback, which
	// comes after the script marks the page ready.
	tb.Do(chromedp.Poll[chromedp.Void](laddersDrawn, chromedp.WithPollingTimeout(time.Minute)))
	type arrow struct {
		Frame   string   `json:"frame"`
		Label   string   `json:"label"`
		Changed []string `json:"changed"`
		Mark    string   `json:"mark"`
		Lit     bool     `json:"lit"`
	}
	arrows := browsertest.Eval[[]arrow](tb, `[...document.querySelectorAll('#conn-1 svg.ladder g.seg')].map(g => ({
	  frame: g.dataset.frame,
	  label: g.querySelector('text:not(.state):not(.margin):not(.mark)').textContent,
	  changed: [...g.querySelectorAll('text.state:not(.same)')].map(e => e.textContent),
	  mark: (g.querySelector('text.mark') || {}).textContent || '',
	  lit: !!document.querySelector('#conn-1 svg.ladder rect.hl title') &&
	    [...document.querySelectorAll('#conn-1 svg.ladder rect.hl title')].some(x => x.textContent.startsWith('frame ' + g.dataset.frame + ':')),
	}))`)
	if len(arrows) != 13 {
		t.Fatalf("%d arrows, want 13: %+v", len(arrows), arrows)
	}
	fin, ack := arrows[5], arrows[6]
	if fin.Frame != "6" || !strings.HasPrefix(fin.Label, "FIN,ACK seq=19 ack=1") || !slices.Contains(fin.Changed, "CLOSE_WAIT") ||
		!slices.Contains(fin.Changed, "FIN_WAIT_1") || !strings.Contains(fin.Mark, "half_close_stuck") || !fin.Lit {
		t.Errorf("the client's FIN: %+v", fin)
	}
	if ack.Frame != "7" || !strings.HasPrefix(ack.Label, "ACK seq=1 ack=20") || !slices.Equal(ack.Changed, []string{"FIN_WAIT_2"}) || !ack.Lit {
		t.Errorf("the server's ACK of it: %+v", ack)
	}
	for _, a := range arrows[7:] {
		if a.Lit || len(a.Changed) > 0 {
			t.Errorf("frame %s after the half-close: %+v", a.Frame, a)
		}
	}
	if got := browsertest.Eval[string](tb, `document.querySelector('#conn-1 .ladder-legend').textContent`); !strings.Contains(got, "final: client FIN_WAIT_2 / server CLOSE_WAIT") {
		t.Errorf("legend %q", got)
	}
}

// TestHTMLBrowserTable sorts and filters the table of every bundled
// capture's connections by clicking and typing, as a person would, and
// opens a connection's ladder by clicking its row.
func TestHTMLBrowserTable(t *testing.T) {
	page, conns := analyzeHTML(t, realCaptures(t)...)
	tb := browsertest.Open(t, page, browsertest.Options{Height: 1400})
	shownIDs := func() []uint64 {
		return browsertest.Eval[[]uint64](tb, `[...document.querySelectorAll('#table-app tbody tr[data-i]')].map(tr => +tr.cells[0].textContent)`)
	}
	byID := map[uint64]*analyze.Conn{}
	for _, c := range conns {
		byID[c.ID] = c
	}

	// Sort by duration: ascending, then descending on the second click.
	tb.Do(chromedp.Click(chromedp.CSS(`#table-app th[data-col="8"]`)))
	ids := shownIDs()
	if len(ids) != len(conns) {
		t.Fatalf("%d rows shown, want %d", len(ids), len(conns))
	}
	for i := 1; i < len(ids); i++ {
		if byID[ids[i-1]].Duration().Microseconds() > byID[ids[i]].Duration().Microseconds() {
			t.Fatalf("after one click on duration, #%d comes before #%d", ids[i-1], ids[i])
		}
	}
	tb.Do(chromedp.Click(chromedp.CSS(`#table-app th[data-col="8"]`)))
	ids = shownIDs()
	for i := 1; i < len(ids); i++ {
		if byID[ids[i-1]].Duration().Microseconds() < byID[ids[i]].Duration().Microseconds() {
			t.Fatalf("after two clicks on duration, #%d comes before #%d", ids[i-1], ids[i])
		}
	}
	if got := browsertest.Eval[string](tb, `document.querySelector('#table-app th[data-col="8"]').getAttribute('aria-sort')`); got != "descending" {
		t.Errorf("aria-sort %q", got)
	}
	// Sort by client address: IPv4 before IPv6, numerically, then port
	// (netip's order).
	tb.Do(chromedp.Click(chromedp.CSS(`#table-app th[data-col="1"]`)))
	ids = shownIDs()
	for i := 1; i < len(ids); i++ {
		if a, b := byID[ids[i-1]].Client, byID[ids[i]].Client; a.Compare(b) > 0 {
			t.Fatalf("sorted by client: %s before %s", a, b)
		}
	}
	// Sort by id, from the keyboard.
	tb.Do(chromedp.SendKeys(chromedp.CSS(`#table-app th[data-col="0"]`), "\r"))
	if ids = shownIDs(); !slices.IsSorted(ids) {
		t.Errorf("sorted by id: %v", ids)
	}
	if got := browsertest.Eval[string](tb, `document.querySelector('#table-app th[data-col="0"]').getAttribute('aria-sort')`); got != "ascending" {
		t.Errorf("Enter on the # head: aria-sort %q", got)
	}

	want := func(keep func(*analyze.Conn) bool) []uint64 {
		var out []uint64
		for _, c := range conns {
			if keep(c) {
				out = append(out, c.ID)
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
		return out
	}
	check := func(what string, keep func(*analyze.Conn) bool) {
		t.Helper()
		got, w := shownIDs(), want(keep)
		if !slices.Equal(got, w) {
			t.Errorf("%s: rows %v, want %v", what, got, w)
		}
		if len(w) == 0 || len(w) == len(conns) {
			t.Errorf("%s: a filter that keeps %d of %d proves nothing", what, len(w), len(conns))
		}
	}
	clear := func() { tb.Do(chromedp.Click(chromedp.CSS(`#table-app button[name=clear]`))) }
	// choose picks the option labelled label of the select sel from the
	// keyboard: focused, one arrow key at a time (each moves the choice and
	// fires change) until it is chosen. Typing the label instead depends
	// on timing: Chromium's type-ahead starts a new search after a pause of
	// 1 s between keys, which a loaded machine makes, and then picks
	// another option.
	choose := func(sel, label string) {
		t.Helper()
		chosen := fmt.Sprintf("(s => s.options[s.selectedIndex].text)(document.querySelector(%q))", sel)
		tb.Do(chromedp.Focus(chromedp.CSS(sel)))
		for n := browsertest.Eval[int](tb, fmt.Sprintf("document.querySelector(%q).options.length", sel)); n > 0; n-- {
			if browsertest.Eval[string](tb, chosen) == label {
				return
			}
			tb.Do(chromedp.KeyEvent(kb.ArrowDown))
		}
		t.Fatalf("%s: no option %q reached with the arrow keys (at %q)", sel, label, browsertest.Eval[string](tb, chosen))
	}

	// By finding kind, choosing it in the select with the keyboard.
	choose(`#table-app select[name=kind]`, "connection_refused")
	check("kind connection_refused", func(c *analyze.Conn) bool {
		return slices.ContainsFunc(c.Findings, func(f analyze.Finding) bool { return f.Kind == analyze.ConnectionRefused })
	})
	clear()
	// By a peer's final state.
	choose(`#table-app select[name=state]`, "CLOSE_WAIT")
	check("state CLOSE_WAIT", func(c *analyze.Conn) bool {
		return c.ClientState == analyze.CloseWait || c.ServerState == analyze.CloseWait
	})
	clear()
	// By conn_state, clicking its bar in the chart.
	tb.Do(chromedp.Click(chromedp.CSS(`#chart-states .bar[data-state="REJ"] rect`)))
	check("conn_state REJ (chart)", func(c *analyze.Conn) bool { return c.ConnState == "REJ" })
	clear()
	// By address and by port, typing.
	tb.Do(chromedp.SendKeys(chromedp.CSS(`#table-app input[name=addr]`), "2001:db8"))
	check("address 2001:db8", func(c *analyze.Conn) bool {
		return strings.Contains(human.AddrPort(c.Client), "2001:db8") || strings.Contains(human.AddrPort(c.Server), "2001:db8")
	})
	clear()
	port := byID[ids[0]].Client.Port()
	tb.Do(chromedp.SendKeys(chromedp.CSS(`#table-app input[name=port]`), fmt.Sprint(port)))
	check(fmt.Sprintf("port %d", port), func(c *analyze.Conn) bool { return c.Client.Port() == port || c.Server.Port() == port })
	clear()

	// A click on a row draws that connection's ladder below the table, with
	// or without findings.
	quiet := slices.IndexFunc(conns, func(c *analyze.Conn) bool { return len(c.Findings) == 0 && len(c.Timeline) > 2 })
	if quiet < 0 {
		t.Fatal("no connection without findings")
	}
	c := conns[quiet]
	tb.Do(chromedp.SendKeys(chromedp.CSS(`#table-app input[name=addr]`), human.AddrPort(c.Client)))
	tb.Do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#table-app tbody tr[data-i="%d"] td`, quiet))))
	got := browsertest.Eval[[]int](tb, `[document.querySelectorAll('#detail svg.ladder g.seg').length, +document.querySelector('#detail article').dataset.row]`)
	if got[0] != len(c.Timeline) || got[1] != quiet {
		t.Errorf("clicked #%d: detail shows row %d with %d arrows, want row %d with %d", c.ID, got[1], got[0], quiet, len(c.Timeline))
	}
	if hash := browsertest.Eval[string](tb, `location.hash`); hash != fmt.Sprintf("#conn-%d", c.ID) {
		t.Errorf("location.hash %q after the click", hash)
	}

	// The durations the ladders and the table print.
	for us, want := range map[int64]string{0: "0µs", 39: "39µs", 1240: "1.24ms", 41000: "41ms", 100200: "100ms",
		999700: "1s", 1000118: "1s", 3036000: "3.04s", 10500000: "10.5s", 125000000: "125s"} {
		if got := browsertest.Eval[string](tb, fmt.Sprintf("window.tcpflowCheck.human(%d)", us)); got != want {
			t.Errorf("human(%dµs) = %q, want %q", us, got, want)
		}
	}
}

// TestHTMLBrowserScreenshot compares the half-close-stuck connection as
// Chromium draws it (light scheme, 1200 px wide) with a golden image,
// within the tolerance of compareImages.
func TestHTMLBrowserScreenshot(t *testing.T) {
	page, _ := analyzeHTML(t, "../testdata/pcaps/real/half-close-stuck.pcap")
	tb := browsertest.Open(t, page, browsertest.Options{})
	tb.Do(chromedp.Poll[chromedp.Void](laddersDrawn, chromedp.WithPollingTimeout(time.Minute)))
	shot, err := chromedp.Run(tb.Context(), chromedp.Screenshot(chromedp.CSS("#conn-1")))
	if err != nil {
		t.Fatal(err)
	}
	browsertest.GoldenImage(t, "testdata/html/half-close-stuck.png", shot, *update)
}

// TestHTMLBrowserColorSchemes checks that text stays readable in both
// colour schemes: the contrast of text against what it sits on, as
// computed by the browser, meets WCAG's ratios (7 for body text, 4.5 for
// the rest, 3 for the coloured state labels of the ladder).
func TestHTMLBrowserColorSchemes(t *testing.T) {
	page, _ := analyzeHTML(t, "../testdata/pcaps/real/half-close-stuck.pcap")
	pairs := []struct {
		what, fg, bg string
		min          float64
	}{
		{"body text", `document.documentElement`, `document.documentElement`, 7},
		{"evidence on a card", `document.querySelector('#findings .evidence')`, `document.querySelector('#findings section.kind')`, 7},
		{"muted note on a card", `document.querySelector('.fact .note')`, `document.querySelector('.fact')`, 4.5},
		{"link", `document.querySelector('a.conn-link')`, `document.querySelector('#findings section.kind')`, 4.5},
		{"severity badge", `document.querySelector('.sev.error')`, `document.querySelector('.sev.error')`, 4.5},
		{"verdict", `document.getElementById('verdict')`, `document.getElementById('verdict')`, 7},
		{"arrow label", `document.querySelector('#conn-1 svg.ladder g.seg text:not(.state):not(.margin)')`, `document.querySelector('#conn-1')`, 7},
		{"state labels", `[...document.querySelectorAll('#conn-1 text.state')]`, `document.querySelector('#conn-1')`, 3},
		{"frame and time", `document.querySelector('#conn-1 text.margin')`, `document.querySelector('#conn-1')`, 4.5},
		{"finding mark", `document.querySelector('#conn-1 text.mark')`, `document.querySelector('#conn-1')`, 3},
	}
	var bgLum [2]float64
	for i, dark := range []bool{false, true} {
		scheme := map[bool]string{false: "light", true: "dark"}[dark]
		t.Run(scheme, func(t *testing.T) {
			tb := browsertest.Open(t, page, browsertest.Options{Dark: dark})
			tb.WaitFor(laddersDrawn) // the arrow labels below are in the open ladder
			for _, p := range pairs {
				// The foreground of text is color, of SVG text its fill; the
				// background is the nearest box's, the SVG's being transparent.
				cols := browsertest.Eval[[][]string](tb, `(() => {
				  const fg = [].concat(`+p.fg+`), bg = `+p.bg+`;
				  if (!fg.length || !fg[0] || !bg) return [];
				  return fg.map(e => {
				    const s = getComputedStyle(e);
				    let a = 1;
				    for (let n = e; n && n !== bg; n = n.parentElement) a *= +getComputedStyle(n).opacity;
				    return [e.textContent, e instanceof SVGElement ? s.fill : s.color, getComputedStyle(bg).backgroundColor, String(a)];
				  });
				})()`)
				if len(cols) == 0 {
					t.Errorf("%s: element missing", p.what)
				}
				for _, c := range cols {
					fg, err1 := parseCSSColor(c[1])
					bg, err2 := parseCSSColor(c[2])
					if err1 != nil || err2 != nil {
						t.Errorf("%s: colours %q on %q: %v %v", p.what, c[1], c[2], err1, err2)
						continue
					}
					var alpha float64
					fmt.Sscan(c[3], &alpha)
					for i := range fg { // what shows through a translucent text
						fg[i] = alpha*fg[i] + (1-alpha)*bg[i]
					}
					if r := contrast(fg, bg); r < p.min {
						t.Errorf("%s %.20q: %s on %s has contrast %.2f, want at least %.1f", p.what, c[0], c[1], c[2], r, p.min)
					}
				}
			}
			bg := browsertest.Eval[string](tb, `getComputedStyle(document.documentElement).backgroundColor`)
			c, err := parseCSSColor(bg)
			if err != nil {
				t.Fatal(err)
			}
			bgLum[i] = luminance(c)
		})
	}
	if bgLum[0] < 0.8 || bgLum[1] > 0.05 {
		t.Errorf("page background luminance %.3f (light) and %.3f (dark): the schemes are not light and dark", bgLum[0], bgLum[1])
	}
}

// parseCSSColor reads "rgb(r, g, b)" or "rgba(r, g, b, a)" (opaque only).
func parseCSSColor(s string) ([3]float64, error) {
	var c [3]float64
	var a float64 = 1
	n, _ := fmt.Sscanf(s, "rgb(%g, %g, %g)", &c[0], &c[1], &c[2])
	if n != 3 {
		if n, _ = fmt.Sscanf(s, "rgba(%g, %g, %g, %g)", &c[0], &c[1], &c[2], &a); n != 4 {
			return c, fmt.Errorf("not a colour: %q", s)
		}
	}
	if a < 1 {
		return c, fmt.Errorf("translucent colour %q", s)
	}
	return c, nil
}

// luminance and contrast are WCAG 2's.
func luminance(c [3]float64) float64 {
	var l [3]float64
	for i, v := range c {
		v /= 255
		if v <= 0.03928 {
			l[i] = v / 12.92
		} else {
			l[i] = math.Pow((v+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
}

func contrast(a, b [3]float64) float64 {
	la, lb := luminance(a), luminance(b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}

// TestHTMLBrowserNoScript opens the report with scripts off, as a mail
// client or a locked-down viewer would: the summary, the charts and the
// findings with their evidence are there; the table is hidden and a note
// says what the script would add.
func TestHTMLBrowserNoScript(t *testing.T) {
	page, conns := analyzeHTML(t, "../testdata/pcaps/real/half-close-stuck.pcap", "../testdata/pcaps/real/refused.pcap")
	tb := browsertest.Open(t, page, browsertest.Options{NoScript: true})
	type view struct {
		Ready     bool     `json:"ready"`
		Text      string   `json:"text"`
		Charts    int      `json:"charts"`
		TableShow string   `json:"tableShow"`
		Noscript  bool     `json:"noscript"`
		Kinds     []string `json:"kinds"`
	}
	v := browsertest.Eval[view](tb, `({
	  ready: document.documentElement.dataset.ready === '1',
	  text: document.body.innerText,
	  charts: document.querySelectorAll('svg.chart').length,
	  tableShow: getComputedStyle(document.getElementById('table')).display,
	  noscript: document.body.innerText.includes('drawn by the page\'s script'),
	  kinds: [...document.querySelectorAll('#findings .kind-name')].map(e => e.textContent),
	})`)
	if v.Ready {
		t.Fatal("the page's script ran with scripts off")
	}
	if v.Charts != 2 || v.TableShow != "none" || !v.Noscript {
		t.Errorf("without script: %d charts, table display %q, note shown %v", v.Charts, v.TableShow, v.Noscript)
	}
	for _, c := range conns {
		for _, f := range c.Findings {
			if !slices.Contains(v.Kinds, string(f.Kind)) || !strings.Contains(v.Text, f.Evidence) {
				t.Errorf("without script, finding %s of #%d (%q) is not shown", f.Kind, c.ID, f.Evidence)
			}
		}
	}
	for _, want := range []string{"1 error, 1 warning", "packets", "capture span", "Connections by conn_state", "Handshake RTT"} {
		if !strings.Contains(strings.ToLower(v.Text), strings.ToLower(want)) {
			t.Errorf("without script, %q is not on the page", want)
		}
	}
}

// TestHTMLBrowserLongLadder: past the page's segments a ladder, the
// ladder shows the opening, the end and the frames the findings rest on,
// with each gap labelled, and the findings still marked.
func TestHTMLBrowserLongLadder(t *testing.T) {
	var out bytes.Buffer
	w := newHTMLWriter(base{w: &out, opts: (&Options{NoElapsed: true}).withDefaults()})
	w.data.lim.steps = 10
	w.End(longConn(50))
	if err := w.Close(testSummary()); err != nil {
		t.Fatal(err)
	}
	tb := browsertest.Open(t, out.Bytes(), browsertest.Options{})
	tb.WaitFor(laddersDrawn)
	type view struct {
		Frames []string `json:"frames"`
		Cuts   []string `json:"cuts"`
		Marks  []string `json:"marks"`
		Note   string   `json:"note"`
	}
	v := browsertest.Eval[view](tb, `(() => {
	  const svg = document.querySelector('#conn-1 svg.ladder');
	  return {
	    frames: [...svg.querySelectorAll('g.seg')].map(g => g.dataset.frame),
	    cuts: [...svg.querySelectorAll('text.gap.cut')].map(e => e.textContent),
	    marks: [...svg.querySelectorAll('g.seg')].filter(g => g.querySelector('text.mark')).map(g => g.dataset.frame),
	    note: document.querySelector('#conn-1 .ladder-note').textContent,
	  };
	})()`)
	if want := []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "30", "50"}; !slices.Equal(v.Frames, want) {
		t.Errorf("arrows of frames %v, want %v", v.Frames, want)
	}
	if len(v.Cuts) != 2 || !strings.Contains(v.Cuts[0], "20 segments not on this page") || !strings.Contains(v.Cuts[1], "19 segments") {
		t.Errorf("gap labels %q", v.Cuts)
	}
	if !slices.Equal(v.Marks, []string{"30"}) {
		t.Errorf("finding marked on frames %v, want [30]", v.Marks)
	}
	if !strings.Contains(v.Note, "11 of the 50 segments") {
		t.Errorf("note %q", v.Note)
	}
}
