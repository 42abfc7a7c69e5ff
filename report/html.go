package report

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/internal/human"
)

// The HTML report: one self-contained file (inline CSS, script and SVG; no
// fetch) that opens from disk or a CI artifact store. The summary, the
// charts, the findings by kind and the connections with findings are HTML
// written here, so that they read without a script (mail clients, printing);
// the script (html/*.js) adds the sortable, filterable table of every
// connection and draws ladder diagrams on demand from the data embedded once
// (html_data.go).

//go:embed html
var htmlAssets embed.FS

var htmlTemplate = template.Must(template.New("report.html").ParseFS(htmlAssets, "html/report.html"))

// htmlScripts are the script files, in the order the page runs them.
var htmlScripts = []string{"html/ladder.js", "html/table.js", "html/report.js"}

const (
	// htmlMaxExamples is how many findings of each kind the page writes out.
	htmlMaxExamples = 10
	// htmlMaxArticles is how many connections with findings the page writes
	// out with their findings and ladders; the table reaches the others.
	htmlMaxArticles = 50
	// htmlOpenLadders is how many of those have their ladder drawn when the
	// page opens; the others draw theirs when opened.
	htmlOpenLadders = 3
)

// htmlWriter keeps the embedded data and what the page writes out, and
// writes the page at Close.
type htmlWriter struct {
	base
	data     htmlData
	groups   map[analyze.Kind]*htmlGroup
	bySev    [analyze.Error + 1]uint64
	connsBad uint64
	articles []htmlConn
}

func newHTMLWriter(b base) *htmlWriter {
	return &htmlWriter{base: b, data: htmlData{lim: defaultHTMLLimits}, groups: make(map[analyze.Kind]*htmlGroup)}
}

// htmlGroup is one finding kind on the page.
type htmlGroup struct {
	Kind     string
	Severity string
	Doc      string
	Count    uint64
	Examples []htmlExample
	More     uint64

	worst analyze.Severity
}

// htmlExample is one finding under its kind.
type htmlExample struct {
	ConnID   uint64
	Input    string
	Client   string
	Server   string
	Frames   string
	Detail   string // "by server · lasted 3.04s · final client FIN_WAIT_2 / server CLOSE_WAIT"
	Evidence string
}

// htmlConn is a connection with findings, written out with them.
type htmlConn struct {
	ID        uint64
	Row       int
	Input     string
	Client    string
	Server    string
	Facts     string // frames, start, duration, conn_state, history, RTT
	ConnState string
	StateDoc  string
	Final     string
	Notes     []string
	Findings  []htmlFinding
	Severity  string // the worst finding's
	Open      bool   // its ladder is drawn at load
}

// htmlFinding is one finding of an htmlConn.
type htmlFinding struct {
	Kind, Severity, Frames, Detail, Evidence string
	FrameIDs                                 string // every frame, "6,7", for the script
}

func (h *htmlWriter) Finding(*analyze.Conn, *analyze.Finding) {}

func (h *htmlWriter) End(c *analyze.Conn) {
	h.t.add(c)
	row := h.data.add(c)
	if len(c.Findings) == 0 {
		return
	}
	h.connsBad++
	for i := range c.Findings {
		f := &c.Findings[i]
		if f.Severity <= analyze.Error {
			h.bySev[f.Severity]++
		}
		g := h.groups[f.Kind]
		if g == nil {
			g = &htmlGroup{Kind: string(f.Kind), Doc: kindDoc(f.Kind), worst: f.Severity}
			h.groups[f.Kind] = g
		}
		g.Count++
		g.worst = max(g.worst, f.Severity)
		if len(g.Examples) >= htmlMaxExamples {
			g.More++
			continue
		}
		g.Examples = append(g.Examples, htmlExample{
			ConnID: c.ID, Input: c.Input, Client: human.AddrPort(c.Client), Server: human.AddrPort(c.Server),
			Frames:   human.Frames(f.Frames, len(f.Frames)),
			Detail:   findingDetail(f, " · final client "+c.ClientState.String()+" / server "+c.ServerState.String()),
			Evidence: f.Evidence,
		})
	}
	if row >= 0 && len(h.articles) < htmlMaxArticles {
		h.articles = append(h.articles, newHTMLConn(c, row, len(h.articles) < htmlOpenLadders))
	}
}

func newHTMLConn(c *analyze.Conn, row int, open bool) htmlConn {
	facts := []string{fmt.Sprintf("frames %d–%d", c.FirstFrame, c.LastFrame), "start " + formatTime(c.Start),
		"duration " + human.Duration(c.Duration()), "history " + orDash(c.History)}
	if c.Handshake.HasRTT {
		facts = append(facts, "handshake RTT "+human.Duration(c.Handshake.RTT))
	}
	hc := htmlConn{
		ID: c.ID, Row: row, Input: c.Input, Client: human.AddrPort(c.Client), Server: human.AddrPort(c.Server),
		Facts: strings.Join(facts, " · "), ConnState: orDash(c.ConnState), StateDoc: connStateDoc[c.ConnState],
		Final: "client " + c.ClientState.String() + " / server " + c.ServerState.String(), Open: open,
	}
	if c.Midstream {
		hc.Notes = append(hc.Notes, "seen mid-stream: states before the first segment are assumed")
	}
	if c.RolesGuessed {
		hc.Notes = append(hc.Notes, "no SYN seen: client and server guessed from the ports")
	}
	worst, _ := c.Worst()
	hc.Severity = worst.String()
	for i := range c.Findings {
		f := &c.Findings[i]
		var at string
		if !f.Time.IsZero() && !c.Start.IsZero() {
			at = fmt.Sprintf(" · at +%.6fs", f.Time.Sub(c.Start).Seconds())
		}
		hc.Findings = append(hc.Findings, htmlFinding{
			Kind: string(f.Kind), Severity: f.Severity.String(), Frames: human.Frames(f.Frames, len(f.Frames)),
			Detail: findingDetail(f, at), Evidence: f.Evidence, FrameIDs: joinFrames(f.Frames),
		})
	}
	return hc
}

func joinFrames(frames []uint64) string {
	b := make([]byte, 0, 8*len(frames))
	for i, f := range frames {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, f, 10)
	}
	return string(b)
}

// findingDetail writes " · by server · lasted 3.04s" and then extra.
func findingDetail(f *analyze.Finding, extra string) string {
	var b strings.Builder
	if f.By != "" {
		b.WriteString(" · by " + f.By)
	}
	if f.HasDuration {
		b.WriteString(" · lasted " + human.Duration(f.Duration))
	}
	b.WriteString(extra)
	return b.String()
}

// htmlView is what the template writes.
type htmlView struct {
	Title    string
	Inputs   []htmlInput
	Facts    []htmlFact
	Verdict  string
	Severity string // the verdict's class: error, warning, ok, none
	Gate     *Gate
	GateSev  string // the gate's class
	Notices  []htmlNotice
	States   htmlBarChart
	RTT      htmlHistogram
	Groups   []*htmlGroup
	Conns    []htmlConn
	MoreBad  uint64 // connections with findings not written out
	Rows     int
	CSS      template.CSS
	JS       template.JS
	Data     template.JS
}

type htmlInput struct{ Name, Detail, Error string }

type htmlFact struct{ Label, Value, Note string }

type htmlNotice struct{ Severity, Text string }

func (h *htmlWriter) Close(s *Summary) error {
	s = orEmpty(s)
	a := h.t.analysis(s)
	v := htmlView{
		Title:  "tcpflow-check: " + inputNames(s),
		States: stateChart(a.ByConnState),
		RTT:    rttChart(&a.HandshakeRTT),
		Rows:   h.data.n,
	}
	for i := range s.Inputs {
		in := &s.Inputs[i]
		hi := htmlInput{Name: in.Name, Detail: fmt.Sprintf("%s, %s", human.Plural(in.Stats.Packets, "packet"),
			human.Plural(in.Stats.Segments, "TCP segment"))}
		if in.Err != nil {
			hi.Error = in.Err.Error()
			v.Notices = append(v.Notices, htmlNotice{"error", "input error: " + in.Err.Error() + " (reading of " + in.Name + " stopped there)"})
		}
		v.Inputs = append(v.Inputs, hi)
	}
	v.Facts = h.facts(s, &a)
	v.Verdict, v.Severity = h.verdict(a.Connections)
	if v.Gate = s.Gate; v.Gate != nil {
		v.GateSev = map[string]string{"pass": "ok", "fail": "error"}[v.Gate.Status]
		if v.GateSev == "" {
			v.GateSev = "warning"
		}
	}
	v.Notices = append(v.Notices, h.notices(s, &a)...)

	for _, g := range h.groups {
		g.Severity = g.worst.String()
		v.Groups = append(v.Groups, g)
	}
	sort.Slice(v.Groups, func(i, j int) bool {
		gi, gj := v.Groups[i], v.Groups[j]
		if gi.worst != gj.worst {
			return gi.worst > gj.worst
		}
		if gi.Count != gj.Count {
			return gi.Count > gj.Count
		}
		return gi.Kind < gj.Kind
	})
	v.Conns = h.articles
	v.MoreBad = h.connsBad - uint64(len(h.articles))

	var css, js, data bytes.Buffer
	h.must(readAsset(&css, "html/report.css"))
	// The scripts share one scope, and none of it is global.
	js.WriteString("(function () {\n'use strict';\n")
	for _, name := range htmlScripts {
		h.must(readAsset(&js, name))
	}
	js.WriteString("})();")
	h.data.document(&data, s)
	v.CSS, v.JS, v.Data = template.CSS(css.String()), template.JS(js.String()), template.JS(data.String())
	h.must(htmlTemplate.Execute(&h.buf, &v))
	h.flush()
	return h.err
}

func readAsset(b *bytes.Buffer, name string) error {
	data, err := htmlAssets.ReadFile(name)
	if err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	b.Write(data)
	b.WriteByte('\n')
	return nil
}

// facts are the summary's figures.
func (h *htmlWriter) facts(s *Summary, a *analyze.Stats) []htmlFact {
	cs := &s.Capture
	f := []htmlFact{
		{"inputs", strconv.Itoa(len(s.Inputs)), inputNames(s)},
		{"packets", strconv.FormatUint(cs.Packets, 10), fmt.Sprintf("%s of TCP, %s", human.Plural(cs.Segments, "segment"), byteSize(cs.Bytes))},
		{"connections", strconv.FormatUint(a.Connections, 10), fmt.Sprintf("%d with findings · at most %d open at once", h.connsBad, a.MaxOpen)},
	}
	if !cs.First.IsZero() {
		f = append(f, htmlFact{"capture span", human.Duration(cs.Last.Sub(cs.First)), captureSpan(cs.First, cs.Last)})
	}
	if hist := &a.HandshakeRTT; hist.Count > 0 {
		f = append(f, htmlFact{"handshake RTT p50", human.Duration(hist.Quantile(0.5)),
			fmt.Sprintf("p99 %s · max %s · %s", human.Duration(hist.Quantile(0.99)), human.Duration(hist.Max),
				human.Plural(hist.Count, "complete handshake"))})
	}
	if !h.opts.NoElapsed && s.Elapsed > 0 {
		f = append(f, htmlFact{"analyzed in", human.Duration(s.Elapsed), "wall clock"})
	}
	return f
}

// verdict says what the findings add up to, as the text output does.
func (h *htmlWriter) verdict(conns uint64) (string, string) {
	errs, warns, infos := h.bySev[analyze.Error], h.bySev[analyze.Warning], h.bySev[analyze.Info]
	switch {
	case conns == 0:
		return "no TCP connections in the capture", "none"
	case errs+warns+infos == 0:
		return "no findings: nothing wrong in " + human.Plural(conns, "connection"), "ok"
	}
	v := fmt.Sprintf("%s, %s, %d info in %d of %s", human.Plural(errs, "error"), human.Plural(warns, "warning"), infos,
		h.connsBad, human.Plural(conns, "connection"))
	switch {
	case errs > 0:
		return v, "error"
	case warns > 0:
		return v, "warning"
	}
	return v, "ok"
}

// notices are the things that lower confidence: skipped and dropped
// packets, connections ended early, and the page's own limits.
func (h *htmlWriter) notices(s *Summary, a *analyze.Stats) []htmlNotice {
	var n []htmlNotice
	if skipped := skippedCounts(s); len(skipped) > 0 {
		n = append(n, htmlNotice{"info", "skipped packets: " + joinCounts(skipped)})
	}
	if line := badTCPChecksumLine(s); line != "" {
		n = append(n, htmlNotice{"info", line})
	}
	if line, limit := fragmentLine(s); line != "" {
		level := "info"
		if limit {
			level = "warning"
		}
		n = append(n, htmlNotice{level, "fragments: " + line})
	}
	if line := backwardsLine(s); line != "" {
		n = append(n, htmlNotice{"warning", line})
	}
	if s.Capture.Dropped+s.Capture.IfDropped > 0 {
		n = append(n, htmlNotice{"warning", fmt.Sprintf("dropped: %d by the kernel, %d by the interface: the capture misses packets",
			s.Capture.Dropped, s.Capture.IfDropped)})
	}
	if a.Evicted+a.CapHit > 0 {
		n = append(n, htmlNotice{"warning", fmt.Sprintf("ended early: %d idle, %d at the connection cap (at most %d open at once)",
			a.Evicted, a.CapHit, a.MaxOpen)})
	}
	d := &h.data
	if d.dropped > 0 {
		n = append(n, htmlNotice{"warning", fmt.Sprintf("page limit: the table lists the first %d connections; %d more are in the counts only",
			d.n, d.dropped)})
	}
	if d.noSteps > 0 {
		n = append(n, htmlNotice{"warning", fmt.Sprintf("page limit: the segments of %s were left out to bound the page's size (%s of timelines); `tcpflow-check ladder FILE... --conn ID` (the files of this report) draws any of them",
			human.Plural(d.noSteps, "connection"), byteSize(uint64(d.stepBytes)))})
	}
	if d.cutSteps > 0 {
		n = append(n, htmlNotice{"info", fmt.Sprintf("page limit: the ladders of %s show %d of their segments (the first, the last, and those the findings rest on)",
			human.Plural(d.cutSteps, "connection"), d.lim.steps)})
	}
	return n
}

// byteSize writes n bytes for people: "512 B", "1.5 MB".
func byteSize(n uint64) string {
	switch {
	case n < 1000:
		return strconv.FormatUint(n, 10) + " B"
	case n < 1000_000:
		return strconv.FormatFloat(float64(n)/1e3, 'f', 1, 64) + " kB"
	case n < 1000_000_000:
		return strconv.FormatFloat(float64(n)/1e6, 'f', 1, 64) + " MB"
	}
	return strconv.FormatFloat(float64(n)/1e9, 'f', 2, 64) + " GB"
}

// connStateDoc is Zeek's meaning of each conn_state (base/protocols/conn).
var connStateDoc = map[string]string{
	"S0":     "connection attempt seen, no reply",
	"S1":     "established, not terminated",
	"SF":     "normal establishment and termination",
	"REJ":    "connection attempt rejected",
	"S2":     "established, close attempt by the originator seen (no reply)",
	"S3":     "established, close attempt by the responder seen (no reply)",
	"RSTO":   "established, the originator aborted (RST)",
	"RSTR":   "the responder sent a RST",
	"RSTOS0": "the originator sent a SYN then a RST; no SYN-ACK seen",
	"RSTRH":  "the responder sent a SYN-ACK then a RST; no SYN seen",
	"SH":     "the originator sent a SYN then a FIN; no SYN-ACK seen",
	"SHR":    "the responder sent a SYN-ACK then a FIN; no SYN seen",
	"OTH":    "no SYN seen, just midstream traffic",
}

// htmlBarChart is the conn_state chart: one horizontal bar a state.
type htmlBarChart struct {
	Bars   []htmlBar
	Height int
}

type htmlBar struct {
	Label, Doc, Count string
	Y, TextY, Width   int
	CountX            int
	Class             string
}

// The bar chart's geometry (viewBox units; the SVG scales to its box).
const (
	barChartWidth = 480 // the template's viewBox
	barMaxWidth   = barChartWidth - barLabelWidth - 70
	barLabelWidth = 72
	barHeight     = 22
	barGap        = 6
)

func stateChart(m map[string]uint64) htmlBarChart {
	var c htmlBarChart
	keys := sortedKeys(m)
	var top uint64
	for _, k := range keys {
		top = max(top, m[k])
	}
	for i, k := range keys {
		w := int(barMaxWidth * float64(m[k]) / float64(max(top, 1)))
		c.Bars = append(c.Bars, htmlBar{Label: k, Doc: connStateDoc[k], Count: strconv.FormatUint(m[k], 10),
			Y: barGap + i*(barHeight+barGap), TextY: barGap + i*(barHeight+barGap) + 16, Width: max(w, 2),
			CountX: barLabelWidth + max(w, 2) + 8, Class: connStateClass(k)})
	}
	c.Height = len(keys)*(barHeight+barGap) + barGap
	return c
}

// connStateClass colours a conn_state by what it says: a clean close, an
// attempt nobody answered, a reset, something left open.
func connStateClass(s string) string {
	switch s {
	case "SF":
		return "ok"
	case "S0", "REJ", "RSTOS0", "SH":
		return "error"
	case "RSTO", "RSTR", "RSTRH", "SHR":
		return "warning"
	}
	return "info"
}

// htmlHistogram is the handshake RTT chart: the analyzer's logarithmic
// buckets as columns, with ticks at each decade and p50/p99 marked.
type htmlHistogram struct {
	Count   uint64
	Caption string
	Columns []htmlColumn
	Ticks   []htmlTick
	Marks   []htmlTick
}

type htmlColumn struct {
	X, Y, Width, Height int
	Title               string
}

type htmlTick struct {
	X     int
	Label string
}

// The histogram's geometry.
const (
	histWidth  = 480
	histHeight = 150
	histBase   = 160 // y of the axis
)

func rttChart(h *analyze.Histogram) htmlHistogram {
	out := htmlHistogram{Count: h.Count, Caption: human.Plural(h.Count, "complete handshake")}
	if h.Count == 0 {
		return out
	}
	type bucket struct {
		upper time.Duration
		n     uint64
	}
	var bs []bucket
	h.Buckets(func(upper time.Duration, n uint64) { bs = append(bs, bucket{upper, n}) })
	// The x axis spans whole decades around the buckets seen.
	lo := decadeFloor(bs[0].upper / 2)
	hi := decadeFloor(bs[len(bs)-1].upper) * 10
	if hi <= lo*10 {
		hi = lo * 100
	}
	x := func(d time.Duration) int {
		f := (log10(d) - log10(lo)) / (log10(hi) - log10(lo))
		return 20 + int(f*float64(histWidth-40))
	}
	var top uint64
	for _, b := range bs {
		top = max(top, b.n)
	}
	colW := max((histWidth-40)/int((log10(hi)-log10(lo))*10), 3)
	for _, b := range bs {
		hgt := max(int(float64(histHeight-10)*float64(b.n)/float64(top)), 1)
		right := x(b.upper)
		out.Columns = append(out.Columns, htmlColumn{X: right - colW + 1, Y: histBase - hgt, Width: colW - 2, Height: hgt,
			Title: fmt.Sprintf("%s ≤ %s", human.Plural(b.n, "handshake"), human.Duration(b.upper))})
	}
	for d := lo; d <= hi; d *= 10 {
		out.Ticks = append(out.Ticks, htmlTick{X: x(d), Label: tickLabel(d)})
	}
	p50, p99 := h.Quantile(0.5), h.Quantile(0.99)
	if p50 == p99 {
		out.Marks = []htmlTick{{X: x(max(p50, lo)), Label: "p50 = p99 " + human.Duration(p50)}}
	} else {
		out.Marks = []htmlTick{{X: x(max(p50, lo)), Label: "p50 " + human.Duration(p50)},
			{X: x(max(p99, lo)), Label: "p99 " + human.Duration(p99)}}
	}
	return out
}

func decadeFloor(d time.Duration) time.Duration {
	p := time.Microsecond
	for p*10 <= d {
		p *= 10
	}
	return p
}

// log10 is the decimal logarithm of d in microseconds (0 below 1µs).
func log10(d time.Duration) float64 {
	return math.Log10(max(float64(d)/float64(time.Microsecond), 1))
}

// tickLabel writes a decade: "1µs", "10ms", "1s", "1m40s".
func tickLabel(d time.Duration) string { return human.Duration(d) }
