package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tcpflow-check/tcpflow-check/internal/suggest"
)

// Exit codes, decided in exitCode only.
const (
	exitOK          = 0
	exitViolations  = 1
	exitError       = 2
	exitInterrupted = 130
)

// errViolations means the policy failed; the report already said why.
var errViolations = errors.New("policy violated")

// errInterrupted means a signal stopped the command; output was flushed.
var errInterrupted = errors.New("interrupted")

// errUsageShown means the usage was printed already and the exit code is 2.
var errUsageShown = errors.New("usage shown")

// usageError is a bad command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

const rootLong = `tcpflow-check follows every TCP connection in a capture, infers the state of
both peers after every segment, and reports what went wrong.

  tcpflow-check [analyze] [flags] FILE...        analyze captures (pcap, pcapng, gzip; "-" = stdin)
  tcpflow-check ladder FILE... [--conn ID]       draw connections as ladder diagrams
  tcpflow-check check --policy P.yaml FILE|DIR... pass/fail verdict for CI
  tcpflow-check policy init | policy check FILE  write or validate a policy
  tcpflow-check live -i IFACE [flags] [filter]   watch an interface
  tcpflow-check -D                               list the interfaces live can capture on

Exit codes: 0 success (check: policy passed), 1 policy violated,
2 usage or input error, 130 interrupted.`

// newRoot builds the command tree. Commands reach the outside world only
// through e.
func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:           "tcpflow-check",
		Short:         "follow TCP connections in captures and report what went wrong",
		Long:          rootLong,
		Version:       buildVersion(),
		Args:          cobra.ArbitraryArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		// Reached with -D, or with no command: "tcpflow-check FILE" is sent
		// to analyze before cobra sees it (see withDefaultCommand).
		RunE: func(cmd *cobra.Command, args []string) error {
			if list, _ := cmd.Flags().GetBool("list-interfaces"); list {
				return listInterfaces(e.stdout)
			}
			if len(args) == 0 {
				cmd.SetOut(e.stderr)
				cmd.Help()
				return errUsageShown
			}
			msg := fmt.Sprintf("unknown command %q", args[0])
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf(" (did you mean %q?)", s[0])
			}
			return &usageError{msg: msg}
		},
	}
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetVersionTemplate("{{.Version}}\n")
	root.Flags().Bool("version", false, "print the version and exit") // no -v: tcpdump's -v is verbose
	root.Flags().BoolP("list-interfaces", "D", false, "list the interfaces live can capture on, as tcpdump -D")
	root.SuggestionsMinimumDistance = 2
	root.SetFlagErrorFunc(flagError)
	fitUsage(root)
	root.AddCommand(newAnalyzeCmd(e), newLadderCmd(e), newCheckCmd(e), newPolicyCmd(e), newLiveCmd(e),
		newVersionCmd(e), newManCmd(e))
	return root
}

// newCommand returns a subcommand whose flags are listed in the order they
// are defined.
func newCommand(use, short string) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short}
	c.Flags().SortFlags = false
	return c
}

// usageArgs makes a positional-argument check's complaint a usage error.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usagef("%s: %v", cmd.Name(), err)
		}
		return nil
	}
}

// run is main without the process: it parses args, runs the command and
// returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRoot(e)
	if len(args) == 0 && !e.stdinIsTerminal() {
		args = []string{"analyze"} // a capture piped in: analyze reads standard input
	}
	root.SetArgs(withDefaultCommand(root, args))
	cmd, err := root.ExecuteC()
	return exitCode(cmd, err, stderr)
}

// withDefaultCommand puts "analyze" in front of args that do not start
// with a command: "tcpflow-check FILE..." and "tcpflow-check --format json
// FILE" mean analyze. A word that looks like a mistyped command is left for
// cobra to reject with a suggestion.
func withDefaultCommand(root *cobra.Command, args []string) []string {
	if len(args) == 0 {
		return args
	}
	first := args[0]
	switch first {
	case "-h", "--help", "--version", "-D", "--list-interfaces", "help", "completion", cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd:
		return args
	}
	for _, c := range root.Commands() {
		if c.Name() == first || slices.Contains(c.Aliases, first) {
			return args
		}
	}
	if !strings.HasPrefix(first, "-") && looksLikeCommand(first) {
		return args
	}
	return append([]string{"analyze"}, args...)
}

// looksLikeCommand tells a mistyped subcommand from a file name.
func looksLikeCommand(s string) bool {
	if s == "-" || strings.HasPrefix(s, "-") || strings.ContainsAny(s, "./") {
		return false
	}
	if fileExists(s) {
		return false
	}
	return true
}

// flagError turns pflag's complaint into a usage error, with the flag the
// user probably meant.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		var names []string
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if !f.Hidden {
				names = append(names, f.Name)
			}
		})
		if best, ok := suggest.Closest(name, names); ok {
			msg += fmt.Sprintf(" (did you mean --%s?)", best)
		}
	}
	return usagef("%s: %s", cmd.Name(), msg)
}

// exitCode prints err (unless the command already reported it) and maps it
// to the exit code. cmd is the command that ran.
func exitCode(cmd *cobra.Command, err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, pflag.ErrHelp):
		return exitOK
	case errors.Is(err, errViolations):
		return exitViolations
	case errors.Is(err, errInterrupted):
		return exitInterrupted
	case errors.Is(err, errCommandFailed):
		return exitCommandFailed
	case errors.Is(err, errBothFailed):
		return exitBothFailed
	case errors.Is(err, errUsageShown):
		return exitError
	}
	var ue *usageError
	if errors.As(err, &ue) {
		path := "tcpflow-check"
		if cmd != nil {
			path = cmd.CommandPath()
		}
		fmt.Fprintf(stderr, "tcpflow-check: %v\nRun '%s --help' for usage.\n", err, path)
		return exitError
	}
	fmt.Fprintf(stderr, "tcpflow-check: %v\n", err)
	return exitError
}
