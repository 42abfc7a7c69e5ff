package main

import (
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func init() {
	// Flag usages in help fit the width as the text output does.
	cobra.AddTemplateFunc("localFlagUsages", func(c *cobra.Command) string {
		return c.LocalFlags().FlagUsagesWrapped(textWidth(c.OutOrStdout()))
	})
	cobra.AddTemplateFunc("inheritedFlagUsages", func(c *cobra.Command) string {
		return c.InheritedFlags().FlagUsagesWrapped(textWidth(c.OutOrStdout()))
	})
}

// fitUsage makes c's usage template (and its subcommands') list the flags
// wrapped to the output's width.
func fitUsage(c *cobra.Command) {
	t := strings.NewReplacer(".LocalFlags.FlagUsages", "localFlagUsages .",
		".InheritedFlags.FlagUsages", "inheritedFlagUsages .").Replace(c.UsageTemplate())
	c.SetUsageTemplate(t)
}

// pipeWidth is the width text output is wrapped to when standard output
// is not a terminal: a file, a pipe, a CI log.
const pipeWidth = 100

// minWidth is the narrowest terminal text output is fitted to; below it,
// lines are left for the terminal to fold.
const minWidth = 40

// textWidth is the width the text formats are wrapped to on w: the
// terminal's columns when w is a terminal, pipeWidth otherwise.
func textWidth(w io.Writer) int {
	if !isTTY(w) {
		return pipeWidth
	}
	f := w.(*os.File)
	cols, _, err := term.GetSize(int(f.Fd()))
	if err != nil || cols <= 0 {
		return pipeWidth
	}
	return max(cols, minWidth)
}

// isTTY reports whether w is a terminal.
func isTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
