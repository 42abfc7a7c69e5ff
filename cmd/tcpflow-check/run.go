package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
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

// usageError is a bad command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

const usageText = `tcpflow-check follows every TCP connection in a capture, infers the state of
both peers after every segment, and reports what went wrong.

Usage:
  tcpflow-check [analyze] [flags] FILE...       analyze captures (pcap, pcapng, gzip; "-" = stdin)
  tcpflow-check ladder [flags] FILE [--conn ID] draw connections as ladder diagrams
  tcpflow-check check --policy P.yaml [--junit F] [--format github] [--baseline F] FILE|DIR...
                                                pass/fail verdict for CI
  tcpflow-check policy init                     print a commented starter policy
  tcpflow-check policy check FILE               validate a policy
  tcpflow-check live -i IFACE [flags] [BPF filter] watch an interface

Run "tcpflow-check COMMAND --help" for a command's flags.

Exit codes: 0 success (check: policy passed), 1 policy violated,
2 usage or input error, 130 interrupted.
`

// commands maps subcommand names to their implementations. Each returns an
// error whose kind exitCode turns into the exit code.
var commands = map[string]func(e *env, args []string) error{
	"analyze": cmdAnalyze,
	"ladder":  cmdLadder,
}

// run is main without the process: it parses args, runs the command and
// returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitError
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usageText)
		return exitOK
	}
	cmd, ok := commands[name]
	if !ok {
		// "tcpflow-check FILE..." is "tcpflow-check analyze FILE...".
		if looksLikeCommand(name) {
			fmt.Fprintf(stderr, "tcpflow-check: unknown command %q\n\n%s", name, usageText)
			return exitError
		}
		cmd, rest = cmdAnalyze, args
	}
	err := cmd(e, rest)
	return exitCode(err, stderr)
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

// exitCode prints err (unless the command already reported it) and maps it
// to the exit code.
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, pflag.ErrHelp):
		return exitOK
	case errors.Is(err, errViolations):
		return exitViolations
	case errors.Is(err, errInterrupted):
		return exitInterrupted
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "tcpflow-check: %v\nRun 'tcpflow-check --help' for usage.\n", err)
		return exitError
	}
	fmt.Fprintf(stderr, "tcpflow-check: %v\n", err)
	return exitError
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(e *env, name, usage string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(e.stdout, "Usage: %s\n\nFlags:\n%s", usage, fs.FlagUsages())
	}
	return fs
}

// parse parses args, turning flag errors into usage errors.
func parse(fs *pflag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fs.Usage()
			return err
		}
		return usagef("%s: %v", fs.Name(), err)
	}
	return nil
}
