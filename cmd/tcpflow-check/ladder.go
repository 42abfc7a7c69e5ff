package main

import (
	"fmt"
	"io"
	"sort"

	"github.com/spf13/cobra"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/internal/human"
	"github.com/tcpflow-check/tcpflow-check/report"
)

// ladderDrawAll is how many connections a capture without findings may
// have for ladder to draw them all; beyond it they are listed.
const ladderDrawAll = 5

// collector keeps the records a ladder will draw.
type collector struct {
	want   uint64          // a connection id, or 0 for those with findings
	conns  []*analyze.Conn // to draw
	first  []*analyze.Conn // without --conn: the first ladderDrawAll connections, findings or not
	listed []connLine      // without --conn: every connection, for the list
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
		c.conns = append(c.conns, r)
	}
	if len(c.first) < ladderDrawAll {
		c.first = append(c.first, r)
	}
	c.listed = append(c.listed, connLine{r.ID, human.AddrPort(r.Client), human.AddrPort(r.Server),
		r.ClientState.String() + " / " + r.ServerState.String(), r.ClientPackets + r.ServerPackets})
}

func newLadderCmd(e *env) *cobra.Command {
	cmd := newCommand("ladder [flags] FILE [FILTER...]", "draw connections as ladder diagrams")
	cmd.Long = "Draw connections as ladder diagrams: each segment between the two peers, with both\n" +
		"peers' states after it. Without --conn, the connections with findings, worst first; a\n" +
		"capture without findings has its connections drawn when there are at most " + fmt.Sprint(ladderDrawAll) + ",\n" +
		"listed with their ids otherwise.\n\n" + operandRule
	fs := cmd.Flags()
	var af analysisFlags
	var in inputFlags
	in.register(fs)
	af.register(fs)
	af.registerFilter(fs)
	id := fs.Uint64("conn", 0, "the connection to draw (its id in analyze's output); default: those with findings, worst first")
	max := fs.Int("max", 10, "draw at most this many connections when --conn is not given")
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
		if len(ops.files) != 1 {
			return usagef("ladder: give exactly one capture file (got %d)", len(ops.files))
		}
		opts := &report.Options{Width: textWidth(e.stdout)}
		if opts.Color, err = color.enabled(e.stdout); err != nil {
			return err
		}
		capCfg, err := af.captureConfig(ops, 1) // one analyzer
		if err != nil {
			return err
		}
		col := &collector{want: *id}
		cfg := af.cfg
		cfg.Timeline = true
		an := analyze.New(&cfg, col)
		inputs, readErr := readInputs(e, ops.files, capCfg, an)
		if nothingRead(inputs) {
			return readErr // nothing was read: the error alone, nothing on stdout
		}
		if *id != 0 && len(col.conns) == 0 {
			if readErr != nil {
				return readErr
			}
			return fmt.Errorf("ladder: no connection %d in %s", *id, ops.files[0])
		}
		conns := col.conns
		sort.SliceStable(conns, func(i, j int) bool {
			wi, _ := conns[i].Worst()
			wj, _ := conns[j].Worst()
			if wi != wj {
				return wi > wj
			}
			return conns[i].ID < conns[j].ID
		})
		if *id == 0 && len(conns) == 0 {
			if len(col.listed) > ladderDrawAll {
				return writeConnList(e.stdout, col.listed, readErr)
			}
			conns = col.first
			if len(conns) == 0 {
				fmt.Fprintln(e.stdout, "No TCP connection in the capture.")
				return readErr
			}
		}
		if len(conns) > *max && *id == 0 {
			conns = conns[:*max]
		}
		for i, c := range conns {
			if i > 0 {
				fmt.Fprintln(e.stdout)
			}
			if err := report.Ladder(e.stdout, c, opts); err != nil {
				return fmt.Errorf("writing output: %w", err)
			}
		}
		return readErr
	}
	return cmd
}

// writeConnList lists the connections of a capture without findings, for
// the user to pick one with --conn.
func writeConnList(w io.Writer, conns []connLine, readErr error) error {
	fmt.Fprintf(w, "No connection has findings. %d connections; draw one with --conn ID:\n\n", len(conns))
	cw, sw := len("client"), len("server")
	for _, c := range conns {
		cw, sw = max(cw, len(c.client)), max(sw, len(c.server))
	}
	fmt.Fprintf(w, "%6s  %-*s  %-*s  %7s  %s\n", "id", cw, "client", sw, "server", "packets", "final states (client / server)")
	for _, c := range conns {
		fmt.Fprintf(w, "%6d  %-*s  %-*s  %7d  %s\n", c.id, cw, c.client, sw, c.server, c.packets, c.state)
	}
	return readErr
}
