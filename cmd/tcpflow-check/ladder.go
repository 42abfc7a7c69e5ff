package main

import (
	"container/heap"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/internal/human"
	"github.com/tcpflow-check/tcpflow-check/report"
)

// ladderDrawAll is how many connections a capture without findings may
// have for ladder to draw them all; beyond it they are listed.
const ladderDrawAll = 5

// ladderListMax is how many connections that list shows; analyze has
// them all. Beyond it ladder only counts them, so that its memory does not
// grow with the capture.
const ladderListMax = 1000

// collector keeps the records a ladder will draw: with want, that
// connection; otherwise the max it draws first of those with findings
// (drawnBefore), counting the others, and for a capture without findings
// its first connections and the list of them.
type collector struct {
	want   uint64          // a connection id, or 0 for those with findings
	max    int             // without want: how many of those to draw
	conns  drawSet         // to draw; without want a heap whose root is drawn last
	found  int             // connections with findings
	first  []*analyze.Conn // the first ladderDrawAll connections, findings or not
	listed []connLine      // the first ladderListMax connections
	total  int             // connections
}

// connLine is one connection in ladder's list.
type connLine struct {
	id             uint64
	client, server string
	state          string
	packets        uint64
}

func (c *collector) Finding(*analyze.Conn, *analyze.Finding) {}

func (c *collector) End(r *analyze.Conn) {
	if c.want != 0 {
		if r.ID == c.want {
			c.conns = append(c.conns, r)
		}
		return
	}
	if _, ok := r.Worst(); ok {
		c.found++
		switch {
		case len(c.conns) < c.max:
			heap.Push(&c.conns, r)
		case drawnBefore(r, c.conns[0]):
			c.conns[0] = r
			heap.Fix(&c.conns, 0)
		}
	}
	if len(c.first) < ladderDrawAll {
		c.first = append(c.first, r)
	}
	if c.total++; len(c.listed) < ladderListMax {
		c.listed = append(c.listed, connLine{r.ID, human.AddrPort(r.Client), human.AddrPort(r.Server),
			r.ClientState.String() + " / " + r.ServerState.String(), r.ClientPackets + r.ServerPackets})
	}
}

// drawnBefore reports whether ladder draws x before y: the one with the
// worse finding first, then the lower id.
func drawnBefore(x, y *analyze.Conn) bool {
	wx, _ := x.Worst()
	wy, _ := y.Worst()
	if wx != wy {
		return wx > wy
	}
	return x.ID < y.ID
}

// drawSet is a heap (container/heap) of records whose root is the one
// drawn last.
type drawSet []*analyze.Conn

func (s drawSet) Len() int           { return len(s) }
func (s drawSet) Less(i, j int) bool { return drawnBefore(s[j], s[i]) }
func (s drawSet) Swap(i, j int)      { s[i], s[j] = s[j], s[i] }
func (s *drawSet) Push(x any)        { *s = append(*s, x.(*analyze.Conn)) }
func (s *drawSet) Pop() any {
	x := (*s)[len(*s)-1]
	*s = (*s)[:len(*s)-1]
	return x
}

func newLadderCmd(e *env) *cobra.Command {
	cmd := newCommand("ladder [flags] FILE... [FILTER...]", "draw connections as ladder diagrams")
	cmd.Long = "Draw connections as ladder diagrams: each segment between the two peers, with both\n" +
		"peers' states after it. Without --conn, the connections with findings, worst first\n" +
		"(--max of them, and how many more there are); a capture without findings has its\n" +
		"connections drawn when there are at most " + fmt.Sprint(ladderDrawAll) + ", listed with their ids otherwise (the\n" +
		"first " + fmt.Sprint(ladderListMax) + ").\n\n" +
		"The files are read as analyze reads them: given the files analyze was given (and its\n" +
		"--continuous and filter, if it had them), --conn takes the id analyze printed.\n\n" + operandRule
	fs := cmd.Flags()
	var af analysisFlags
	var in inputFlags
	in.register(fs)
	af.register(fs)
	af.registerFilter(fs)
	af.registerContinuous(fs)
	id := fs.Uint64("conn", 0, "the connection to draw (its id in analyze's output); default: those with findings, worst first")
	max := fs.Int("max", 10, "draw at most this many connections when --conn is not given, and count the rest")
	color := addColorFlag(fs)
	cmd.RunE = func(_ *cobra.Command, args []string) error {
		if err := af.validate(); err != nil {
			return err
		}
		defer limitRuntime(af.cfg.MaxMemory)()
		if *max <= 0 {
			return usagef("--max must be positive, not %d", *max)
		}
		ops, err := in.resolve(e, args, af.filter)
		if err != nil {
			return err
		}
		opts := &report.Options{Width: textWidth(e.stdout)}
		if opts.Color, err = color.enabled(e.stdout); err != nil {
			return err
		}
		capCfg, err := af.captureConfig(ops, 1) // one analyzer
		if err != nil {
			return err
		}
		col := &collector{want: *id, max: *max}
		cfg := af.cfg
		cfg.Timeline = true
		an := analyze.New(&cfg, col)
		inputs, readErr := readSet(e, ops.files, capCfg, an, af.continuous)
		if nothingRead(inputs) {
			return readErr // nothing was read: the error alone, nothing on stdout
		}
		if *id != 0 && len(col.conns) == 0 {
			if readErr != nil {
				return readErr
			}
			return fmt.Errorf("ladder: no connection %d in %s", *id, strings.Join(ops.files, ", "))
		}
		conns := []*analyze.Conn(col.conns)
		sort.Slice(conns, func(i, j int) bool { return drawnBefore(conns[i], conns[j]) })
		if *id == 0 && len(conns) == 0 {
			if col.total > ladderDrawAll {
				return writeConnList(e.stdout, col.listed, col.total, readErr)
			}
			conns = col.first
			if len(conns) == 0 {
				fmt.Fprintln(e.stdout, "No TCP connection in the capture.")
				return readErr
			}
		}
		for i, c := range conns {
			if i > 0 {
				fmt.Fprintln(e.stdout)
			}
			if err := report.Ladder(e.stdout, c, opts); err != nil {
				return fmt.Errorf("writing output: %w", err)
			}
		}
		if more := col.found - len(conns); *id == 0 && more > 0 {
			fmt.Fprintf(e.stdout, "\n… and %s with findings, not drawn (--max %d); analyze lists them, --conn ID draws one\n",
				human.Plural(uint64(more), "more connection"), *max)
		}
		return readErr
	}
	return cmd
}

// writeConnList lists the connections of a capture without findings, for
// the user to pick one with --conn: conns, the first of total.
func writeConnList(w io.Writer, conns []connLine, total int, readErr error) error {
	fmt.Fprintf(w, "No connection has findings. %d connections; draw one with --conn ID:\n\n", total)
	cw, sw := len("client"), len("server")
	for _, c := range conns {
		cw, sw = max(cw, len(c.client)), max(sw, len(c.server))
	}
	fmt.Fprintf(w, "%6s  %-*s  %-*s  %7s  %s\n", "id", cw, "client", sw, "server", "packets", "final states (client / server)")
	for _, c := range conns {
		fmt.Fprintf(w, "%6d  %-*s  %-*s  %7d  %s\n", c.id, cw, c.client, sw, c.server, c.packets, c.state)
	}
	if more := total - len(conns); more > 0 {
		fmt.Fprintf(w, "  … and %d more; analyze --format jsonl lists every connection\n", more)
	}
	return readErr
}
