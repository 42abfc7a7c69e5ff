package main

import (
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/report"
)

// collector keeps the records a ladder will draw.
type collector struct {
	want  uint64 // a connection id, or 0 for those with findings
	conns []*analyze.Conn
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
}

func newLadderCmd(e *env) *cobra.Command {
	cmd := newCommand("ladder [flags] FILE", "draw connections as ladder diagrams")
	fs := cmd.Flags()
	var af analysisFlags
	af.register(fs)
	id := fs.Uint64("conn", 0, "the connection to draw (its id in analyze's output); default: those with findings, worst first")
	max := fs.Int("max", 10, "draw at most this many connections when --conn is not given")
	color := addColorFlag(fs)
	cmd.RunE = func(_ *cobra.Command, args []string) error {
		if err := af.validate(); err != nil {
			return err
		}
		if len(args) != 1 {
			return usagef("ladder: give exactly one capture file")
		}
		opts := &report.Options{}
		var err error
		if opts.Color, err = color.enabled(e.stdout); err != nil {
			return err
		}
		col := &collector{want: *id}
		cfg := af.cfg
		cfg.Timeline = true
		an := analyze.New(&cfg, col)
		_, readErr := readInputs(e, args, &capture.Config{VerifyChecksums: af.verifyChecksums}, an)
		if *id != 0 && len(col.conns) == 0 {
			if readErr != nil {
				return readErr
			}
			return fmt.Errorf("ladder: no connection %d in %s", *id, args[0])
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
			fmt.Fprintln(e.stdout, "No connection has findings; use --conn ID to draw one.")
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
