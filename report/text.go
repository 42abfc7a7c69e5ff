package report

import (
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/human"
	"github.com/tcpflow-check/tcpflow-check/internal/timefmt"
)

// screenLines is the screen the text output aims to fit when
// Options.MaxExamples is left at its default.
const screenLines = 40

// maxCompactIDs is how many connection ids a compact (info) group names.
const maxCompactIDs = 3

// maxInputErrors caps the damaged inputs named in the text output.
const maxInputErrors = 3

// maxHalfOpen caps the half-open connections the text output names per
// pair of states.
const maxHalfOpen = 3

// halfOpenGroup counts the connections left half-open in one pair of
// states and keeps the first ids.
type halfOpenGroup struct {
	states [2]analyze.State // client, server
	n      uint64
	ids    []uint64
}

// textWriter is the default format, for people: one screen that explains an
// incident. It prints nothing until Close, because the summary must come
// first and is known only then; meanwhile it keeps per-kind counts and the
// first Options.MaxExamples findings of each kind, so memory is bounded
// however long the capture.
type textWriter struct {
	base
	groups     map[analyze.Kind]*group
	bySev      [analyze.Error + 1]uint64 // findings by severity
	connsBad   uint64                    // connections with a finding
	firstInput string
	// autoExamples: Options.MaxExamples was left at its default, so the
	// examples shown are fitted to one screen.
	autoExamples bool
	manyInputs   bool // records came from more than one input
	// connections left half-open at the end, by both peers' states
	nHalfOpen uint64
	halfOpen  map[[2]analyze.State]*halfOpenGroup
	live      bool // findings were printed as they came (Options.Live)
	// the groups the latest record went into: a flood's records all go
	// into the same, and the maps hash a key per record
	lastHalfOpen *halfOpenGroup
	lastGroup    *group
}

// group is what the text output keeps of one finding kind.
type group struct {
	kind     analyze.Kind
	worst    analyze.Severity
	n        uint64
	examples []example
}

// example is one finding shown under its kind, with what the reader needs
// to find the connection.
type example struct {
	id             uint64
	input          string
	client, server netip.AddrPort
	frames         []uint64 // the first human.MaxFrames
	nFrames        int      // how many the finding rests on
	evidence       string
	by             string
	dur            time.Duration
	hasDur         bool
	cs, ss         analyze.State
}

func newTextWriter(b base, autoExamples bool) *textWriter {
	return &textWriter{base: b, groups: make(map[analyze.Kind]*group), autoExamples: autoExamples}
}

// Finding prints f at once on one line with Options.Live; otherwise the
// text output is written at Close, from the findings each connection
// carries at End.
func (t *textWriter) Finding(c *analyze.Conn, f *analyze.Finding) {
	if !t.opts.Live {
		return
	}
	t.liveLine(t.stream(c.ID, f), human.Painter{On: t.opts.Color}.Severity(f.Severity), c, f, "")
	t.flush()
}

// liveLine writes one streamed line: the capture time, what (a severity,
// or "update"), the finding and its connection; more follows the duration.
func (t *textWriter) liveLine(at time.Time, what string, c *analyze.Conn, f *analyze.Finding, more string) {
	p := human.Painter{On: t.opts.Color}
	var b strings.Builder
	hang := 2
	if !at.IsZero() {
		b.WriteString(timefmt.Layout(at, "15:04:05.000000") + " ")
		hang = b.Len() // under the severity
	}
	fmt.Fprintf(&b, "%s %s  #%d  %s → %s", what, p.Bold(string(f.Kind)), c.ID,
		human.AddrPort(c.Client), human.AddrPort(c.Server))
	if len(f.Frames) > 0 {
		b.WriteString("  " + human.Frames(f.Frames, len(f.Frames)))
	}
	if f.By != "" {
		b.WriteString(" · by " + f.By)
	}
	if f.HasDuration {
		b.WriteString(" · lasted " + human.Duration(f.Duration) + more)
	}
	if f.Evidence != "" {
		b.WriteString(": " + f.Evidence)
	}
	t.buf.WriteString(human.Wrap(b.String(), t.opts.StreamWidth, hang) + "\n")
	t.live = true
}

func (t *textWriter) End(c *analyze.Conn) {
	if t.opts.Live {
		// A streamed finding whose condition went on: its final value,
		// which the summary reports.
		for _, u := range t.changed(c) {
			t.liveLine(t.tick(c.End), "update ", c, u.f, " (final; "+human.Duration(u.was)+" when first reported)")
		}
		t.flush()
	}
	t.t.add(c)
	if t.t.conns == 1 {
		t.firstInput = c.Input
	} else if c.Input != t.firstInput {
		t.manyInputs = true
	}
	if len(c.Findings) > 0 {
		t.connsBad++
	}
	if c.HalfOpen() {
		t.nHalfOpen++
		k := [2]analyze.State{c.ClientState, c.ServerState}
		g := t.lastHalfOpen
		if g == nil || g.states != k {
			if t.halfOpen == nil {
				t.halfOpen = make(map[[2]analyze.State]*halfOpenGroup)
			}
			g = t.halfOpen[k]
			if g == nil {
				g = &halfOpenGroup{states: k}
				t.halfOpen[k] = g
			}
			t.lastHalfOpen = g
		}
		if g.n++; len(g.ids) < maxHalfOpen {
			g.ids = append(g.ids, c.ID)
		}
	}
	for i := range c.Findings {
		f := &c.Findings[i]
		if f.Severity <= analyze.Error {
			t.bySev[f.Severity]++
		}
		g := t.lastGroup
		if g == nil || g.kind != f.Kind {
			g = t.groups[f.Kind]
			if g == nil {
				g = &group{kind: f.Kind, worst: f.Severity}
				t.groups[f.Kind] = g
			}
			t.lastGroup = g
		}
		g.n++
		if f.Severity > g.worst {
			g.worst = f.Severity
		}
		if len(g.examples) < t.opts.MaxExamples {
			g.examples = append(g.examples, example{
				id: c.ID, input: c.Input, client: c.Client, server: c.Server,
				frames: append([]uint64(nil), f.Frames[:min(len(f.Frames), human.MaxFrames)]...), nFrames: len(f.Frames),
				evidence: f.Evidence, by: f.By,
				dur: f.Duration, hasDur: f.HasDuration, cs: c.ClientState, ss: c.ServerState,
			})
		}
	}
}

func (t *textWriter) Close(s *Summary) error {
	s = orEmpty(s)
	a := t.t.analysis(s)
	b := &t.buf
	p := human.Painter{On: t.opts.Color}

	if t.live {
		b.WriteString("\n") // set the summary apart from the live lines
	}
	// Header: what was read.
	head := []human.Part{{Text: human.Plural(s.Capture.Packets, "packet")},
		{Sep: ", ", Text: human.Plural(a.Connections, "TCP connection")}}
	if span := captureSpan(s.Capture.First, s.Capture.Last); span != "" {
		head = append(head, human.Part{Sep: ", ", Text: span})
		if end := s.Capture.End; end.After(s.Capture.Last) {
			head = append(head, human.Part{Sep: ", ", Text: "stopped " + human.Duration(end.Sub(s.Capture.Last)) + " after its last packet"})
		}
	}
	switch {
	case t.opts.NoElapsed || s.Elapsed <= 0:
	case t.opts.Live: // the span above is capture time; this is the clock on the wall
		head = append(head, human.Part{Sep: "; ", Text: "captured for " + human.Duration(s.Elapsed) + " of wall-clock time"})
	default:
		head = append(head, human.Part{Sep: "; ", Text: "analyzed in " + human.Duration(s.Elapsed)})
	}
	b.WriteString(human.WrapParts(p.Bold("tcpflow-check")+"  "+inputNames(s)+": ", head, t.opts.Width, 2) + "\n")

	// Verdict.
	errs, warns, infos := t.bySev[analyze.Error], t.bySev[analyze.Warning], t.bySev[analyze.Info]
	switch {
	case a.Connections == 0:
		t.put("verdict:    "+p.Yellow("no TCP connections")+" in the capture", labelWidth)
	case errs+warns+infos == 0:
		t.put("verdict:    "+p.Green("no findings")+fmt.Sprintf(" — nothing wrong in %s", human.Plural(a.Connections, "connection")), labelWidth)
	case errs+warns == 0 && t.nHalfOpen > 0:
		// Never "no errors or warnings" over a server left in CLOSE_WAIT.
		t.put(fmt.Sprintf("verdict:    %s; %d info in %d of %s", p.Yellow("no errors or warnings, but "+t.halfOpenCount()),
			infos, t.connsBad, human.Plural(a.Connections, "connection")), labelWidth)
	case errs+warns == 0:
		t.put(fmt.Sprintf("verdict:    %s; %d info in %d of %s", p.Green("no errors or warnings"), infos,
			t.connsBad, human.Plural(a.Connections, "connection")), labelWidth)
	default:
		v := fmt.Sprintf("%s, %s, %d info", human.Plural(errs, "error"), human.Plural(warns, "warning"), infos)
		switch {
		case errs > 0:
			v = p.Red(v)
		case warns > 0:
			v = p.Yellow(v)
		}
		verdict := fmt.Sprintf("verdict:    %s in %d of %s", v, t.connsBad, human.Plural(a.Connections, "connection"))
		if t.nHalfOpen > 0 {
			verdict += "; " + t.halfOpenCount()
		}
		t.put(verdict, labelWidth)
	}
	if t.nHalfOpen > 0 {
		t.putList("half-open:  ", t.halfOpenParts())
	}

	// The shape of the traffic.
	if len(a.ByConnState) > 0 {
		t.putList("conn_state: ", countParts(a.ByConnState))
	}
	if h := &a.HandshakeRTT; h.Count > 0 {
		t.put(fmt.Sprintf("handshake:  RTT p50 %s · p99 %s · max %s (%s)",
			human.Duration(h.Quantile(0.5)), human.Duration(h.Quantile(0.99)), human.Duration(h.Max),
			human.Plural(h.Count, "complete handshake")), labelWidth)
	}
	if skipped := skippedCounts(s); len(skipped) > 0 {
		t.putList("skipped:    ", countParts(skipped))
	}
	if line := badTCPChecksumLine(s); line != "" {
		t.put("checksums:  "+line, labelWidth)
	}
	if line, limit := fragmentLine(s); line != "" {
		if limit {
			line = p.Yellow(line)
		}
		t.put("fragments:  "+line, labelWidth)
	}
	if line := backwardsLine(s); line != "" {
		t.put("clock:      "+p.Yellow(line), labelWidth)
	}
	if s.Capture.Dropped+s.Capture.IfDropped > 0 {
		t.put(p.Yellow(fmt.Sprintf("dropped:    %d by the kernel, %d by the interface: the capture misses packets",
			s.Capture.Dropped, s.Capture.IfDropped)), labelWidth)
	}
	if a.Evicted > 0 {
		line := fmt.Sprintf("ended early: %d idle, %d at the connection cap (--max-conns), %d at the memory budget (--max-memory); at most %d open at once",
			a.IdleEvicted, a.CapHit, a.MemoryHit, a.MaxOpen)
		if a.CapHit+a.MemoryHit > 0 {
			line = p.Yellow(line + ": the analysis of those connections is incomplete")
		}
		t.put(line, labelWidth)
	}
	damaged := 0
	for i := range s.Inputs {
		in := &s.Inputs[i]
		if in.Err == nil {
			continue
		}
		if damaged++; damaged <= maxInputErrors {
			t.put(p.Red("input error")+": "+in.Err.Error()+" (reading of "+in.Name+" stopped there)", labelWidth)
		}
	}
	if damaged > maxInputErrors {
		fmt.Fprintf(b, "  … and %d more damaged inputs\n", damaged-maxInputErrors)
	}
	for i := range s.Inputs {
		if in := &s.Inputs[i]; in.Interrupted != "" {
			t.put(p.Yellow("interrupted")+fmt.Sprintf(": %s while reading %s, after %s: the report covers what was read",
				in.Interrupted, in.Name, human.Plural(in.Stats.Packets, "packet")), labelWidth)
		}
	}

	// Findings, worst kind first.
	groups := make([]*group, 0, len(t.groups))
	for _, g := range t.groups {
		groups = append(groups, g)
	}
	sort.Slice(groups, func(i, j int) bool {
		gi, gj := groups[i], groups[j]
		if gi.worst != gj.worst {
			return gi.worst > gj.worst
		}
		if gi.n != gj.n {
			return gi.n > gj.n
		}
		return gi.kind < gj.kind
	})
	header := strings.Count(b.String(), "\n")
	show := t.layout(groups, header)
	for i, g := range groups {
		if show[i] < 0 { // compact: one line, no blank line between compact groups
			if i == 0 || show[i-1] >= 0 {
				b.WriteString("\n")
			}
			t.put(t.groupTitle(g, p)+" · e.g. "+exampleIDs(g.examples, maxCompactIDs), titleHang)
			continue
		}
		b.WriteString("\n")
		t.put(t.groupTitle(g, p), titleHang)
		for j := range g.examples[:show[i]] {
			b.WriteString(t.exampleText(&g.examples[j]))
		}
		if more := g.n - uint64(show[i]); more > 0 {
			fmt.Fprintf(b, "  … and %d more\n", more)
		}
	}
	t.flush()
	return t.err
}

// Hanging indents of the text output's wrapped lines: the summary's lines
// continue under their value, after a label of labelWidth columns
// ("verdict:    "); a finding kind's title, its examples and their
// evidence each hang two columns in from where they start.
const (
	labelWidth   = 12
	titleHang    = 4
	exampleHang  = 4
	evidenceHang = 8
)

// put writes line, wrapped to Options.Width with continuation lines
// indented by hang, and a newline.
func (t *textWriter) put(line string, hang int) {
	t.buf.WriteString(human.Wrap(line, t.opts.Width, hang) + "\n")
}

// putList writes label and parts joined by " · ", breaking between parts,
// continuation lines under the first part.
func (t *textWriter) putList(label string, parts []string) {
	t.buf.WriteString(human.WrapList(label, parts, " · ", t.opts.Width, labelWidth) + "\n")
}

func (t *textWriter) groupTitle(g *group, p human.Painter) string {
	title := fmt.Sprintf("%s %s × %d", p.Severity(g.worst), p.Bold(string(g.kind)), g.n)
	if doc := kindDoc(g.kind); doc != "" {
		title += " — " + doc
	}
	return title
}

// layout decides how many examples each group shows (groups are sorted worst
// first); -1 means one compact line naming a few connection ids. Info kinds
// are compact when errors or warnings are present: they explain, they are not
// the incident. With Options.MaxExamples set, every other group shows up to
// that many. Left at its default, groups take turns, worst first, to show up
// to 10 examples each while the whole output fits screenLines (each group
// shows at least one).
func (t *textWriter) layout(groups []*group, header int) []int {
	show := make([]int, len(groups))
	serious := len(groups) > 0 && groups[0].worst > analyze.Info
	for i, g := range groups {
		if serious && g.worst == analyze.Info {
			show[i] = -1
			continue
		}
		show[i] = min(len(g.examples), t.opts.MaxExamples)
		if !t.autoExamples {
			continue
		}
		show[i] = min(len(g.examples), 1)
	}
	if !t.autoExamples {
		return show
	}
	lines := func() int {
		n := header
		for i, g := range groups {
			switch {
			case show[i] < 0:
				n++
				if i == 0 || show[i-1] >= 0 {
					n++
				}
			default:
				n += 2 // blank line and title
				for j := range g.examples[:show[i]] {
					n += strings.Count(t.exampleText(&g.examples[j]), "\n")
				}
				if g.n > uint64(show[i]) {
					n++
				}
			}
		}
		return n
	}
	for grown := true; grown; {
		grown = false
		for i, g := range groups {
			if show[i] < 0 || show[i] >= len(g.examples) {
				continue
			}
			show[i]++
			if lines() > screenLines {
				show[i]--
				return show
			}
			grown = true
		}
	}
	return show
}

// exampleIDs writes "#31, #32, #33 …".
func exampleIDs(ex []example, n int) string {
	var b strings.Builder
	for i := range ex[:min(n, len(ex))] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("#" + strconv.FormatUint(ex[i].id, 10))
	}
	if len(ex) > n {
		b.WriteString(" …")
	}
	return b.String()
}

// exampleText is one finding in two lines, each wrapped to Options.Width:
// where, then the evidence.
func (t *textWriter) exampleText(e *example) string {
	parts := []human.Part{{Text: "#" + strconv.FormatUint(e.id, 10)}}
	if t.manyInputs {
		parts = append(parts, human.Part{Sep: " ", Text: e.input})
	}
	parts = append(parts, human.Part{Sep: "  ", Text: human.AddrPort(e.client) + " → " + human.AddrPort(e.server)})
	sep := "  "
	if len(e.frames) > 0 {
		parts = append(parts, human.Part{Sep: sep, Text: human.Frames(e.frames, e.nFrames)})
		sep = " · "
	}
	if e.by != "" {
		parts = append(parts, human.Part{Sep: sep, Text: "by " + e.by})
		sep = " · "
	}
	if e.hasDur {
		parts = append(parts, human.Part{Sep: sep, Text: "lasted " + human.Duration(e.dur)})
		sep = " · "
	}
	parts = append(parts, human.Part{Sep: sep, Text: "final client " + e.cs.String() + " / server " + e.ss.String()})
	text := human.WrapParts("  ", parts, t.opts.Width, exampleHang) + "\n"
	if e.evidence != "" {
		text += human.Wrap("      "+e.evidence, t.opts.Width, evidenceHang) + "\n"
	}
	return text
}

// skippedCounts are the packets not analyzed, by reason. A frame dropped for
// a bad IPv4 header checksum is among them already (and in BadChecksum too);
// a segment with a bad TCP checksum is not: it was read, see badTCPChecksums.
func skippedCounts(s *Summary) map[string]uint64 { return s.Capture.Skipped }

// badTCPChecksums is the number of segments read with a bad TCP checksum:
// they reach Zeek's history (C/c) and change no peer state. Stats.BadChecksum
// counts them together with the frames dropped for a bad IPv4 header checksum.
func badTCPChecksums(s *Summary) uint64 {
	dropped := s.Capture.Skipped[capture.Reason{Kind: capture.SkipBadChecksum}.String()]
	if s.Capture.BadChecksum <= dropped {
		return 0
	}
	return s.Capture.BadChecksum - dropped
}

// badTCPChecksumLine says what became of the segments with a bad TCP
// checksum, or "" when there were none.
func badTCPChecksumLine(s *Summary) string {
	n := badTCPChecksums(s)
	if n == 0 {
		return ""
	}
	return human.Plural(n, "segment") + " with a bad TCP checksum: in Zeek's history (C/c), no peer state changed"
}

// fragmentLine says what IP fragment reassembly did, or "" when there were
// no fragments; limit is set when datagrams were given up at a limit
// (timeout or memory), so that the analysis misses their segments. Frame
// numbers are named when there is one input.
func fragmentLine(s *Summary) (line string, limit bool) {
	f := &s.Capture.Fragments
	if f.Fragments == 0 {
		return "", false
	}
	frame := func(n uint64) string {
		if n == 0 || len(s.Inputs) > 1 {
			return ""
		}
		return fmt.Sprintf(" (the first at frame %d)", n)
	}
	line = human.Plural(f.Fragments, "IP fragment") + ", " + human.Plural(f.Reassembled, "datagram") + " reassembled"
	if f.Overlapping > 0 {
		line += fmt.Sprintf("; %d overlapping, the bytes first seen kept (%d with other bytes)", f.Overlapping, f.Inconsistent)
	}
	var up []string
	for _, g := range []struct {
		n, frame uint64
		what     string
	}{
		{f.Timeout, f.TimeoutFrame, "timed out"},
		{f.Limit, f.LimitFrame, "at the reassembly limit"},
		{f.Invalid, f.InvalidFrame, "impossible"},
		{f.Unfinished, f.UnfinishedFrame, "unfinished at the end"},
	} {
		if g.n > 0 {
			up = append(up, fmt.Sprintf("%d %s%s", g.n, g.what, frame(g.frame)))
		}
	}
	if len(up) > 0 {
		line += "; given up: " + strings.Join(up, ", ")
	}
	if f.Uncaptured > 0 {
		line += fmt.Sprintf("; %d cut by the snap length, not reassembled", f.Uncaptured)
	}
	return line, f.Timeout+f.Limit > 0
}

// kindDoc returns the catalogue's one-line meaning of k.
func kindDoc(k analyze.Kind) string {
	for _, c := range analyze.Catalogue() {
		if c.Kind == k {
			return c.Doc
		}
	}
	return ""
}

// inputNames names the inputs: all of them when there are up to three.
func inputNames(s *Summary) string {
	switch n := len(s.Inputs); {
	case n == 0:
		return "(no input)"
	case n <= 3:
		names := make([]string, n)
		for i := range s.Inputs {
			names[i] = s.Inputs[i].Name
		}
		return strings.Join(names, ", ")
	default:
		return fmt.Sprintf("%d inputs", n)
	}
}

// captureSpan writes "2026-11-21 10:00:00.000123 → 10:00:04.512345 UTC
// (4.51s)"; a time past the year 9999 as "@" and its seconds since the
// epoch (timefmt.Layout).
func captureSpan(first, last time.Time) string {
	if first.IsZero() {
		return ""
	}
	const day, clock = "2006-01-02 ", "15:04:05.000000"
	end := timefmt.Layout(last, clock)
	if timefmt.Layout(last, day) != timefmt.Layout(first, day) {
		end = timefmt.Layout(last, day+clock)
	}
	return timefmt.Layout(first, day+clock) + " → " + end + " UTC (" + human.Duration(last.Sub(first)) + ")"
}

// backwardsLine says that the capture's clock went back (BackwardsNote);
// "" when it never did.
func backwardsLine(s *Summary) string {
	if in := firstBackwards(s); in != nil {
		return BackwardsNote(&s.Capture, in.Stats.BackFrame, in.Name)
	}
	return BackwardsNote(&s.Capture, s.Capture.BackFrame, "")
}

// BackwardsNote says, for people, that the clock of st went back: how
// often, how far, and first where (frame, of input when it is named); ""
// when it never did. The text and html summaries and check's output say
// it so.
func BackwardsNote(st *capture.Stats, frame uint64, input string) string {
	if st.Backwards == 0 {
		return ""
	}
	jump := human.Duration(st.BackMax)
	if st.BackMax == math.MaxInt64 {
		jump += " or more"
	}
	where := fmt.Sprintf(", first at frame %d", frame)
	if input != "" {
		where += " of " + input
	}
	n := human.Plural(st.Backwards, "frame") + " is"
	if st.Backwards > 1 {
		n = human.Plural(st.Backwards, "frame") + " are"
	}
	return fmt.Sprintf("time went backwards: %s stamped earlier than the frame before (by up to %s%s); "+
		"each connection's clock was held at its latest time, so no duration or RTT is negative", n, jump, where)
}

// joinCounts writes "SF 50 · S0 3 · REJ 2", largest first.
func joinCounts(m map[string]uint64) string { return strings.Join(countParts(m), " · ") }

// countParts writes "SF 50", "S0 3", "REJ 2", largest first.
func countParts(m map[string]uint64) []string {
	keys := sortedKeys(m)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " " + strconv.FormatUint(m[k], 10)
	}
	return parts
}

// halfOpenCount says how many connections the capture's end left half-open.
func (t *textWriter) halfOpenCount() string {
	return human.Plural(t.nHalfOpen, "connection") + " left half-open when the capture ended"
}

// halfOpenParts name the half-open connections by both peers' states,
// most common first: "client FIN_WAIT_2 / server CLOSE_WAIT × 14 (#31, #32, #33 …)".
func (t *textWriter) halfOpenParts() []string {
	gs := make([]*halfOpenGroup, 0, len(t.halfOpen))
	for _, g := range t.halfOpen {
		gs = append(gs, g)
	}
	sort.Slice(gs, func(i, j int) bool {
		if gs[i].n != gs[j].n {
			return gs[i].n > gs[j].n
		}
		return gs[i].ids[0] < gs[j].ids[0]
	})
	parts := make([]string, len(gs))
	for i, g := range gs {
		ids := make([]string, len(g.ids))
		for j, id := range g.ids {
			ids[j] = "#" + strconv.FormatUint(id, 10)
		}
		more := ""
		if g.n > uint64(len(g.ids)) {
			more = " …"
		}
		parts[i] = fmt.Sprintf("client %s / server %s × %d (%s%s)", g.states[0], g.states[1], g.n, strings.Join(ids, ", "), more)
	}
	return parts
}
