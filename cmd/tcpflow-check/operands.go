package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/tcpflow-check/tcpflow-check/capture"
)

// operandRule is how a command's arguments are told apart; it is in every
// reading command's help and in the README.
const operandRule = `Arguments are capture files, then filter words, as with tcpdump -r FILE EXPRESSION:
an argument is a file while it is "-", names a file or directory that exists, or ends
in .pcap, .pcapng, .cap or .gz; the first that is none of these starts a BPF filter,
and it and every argument after it are the filter ("tcpflow-check -r x.pcap tcp port 80").
A directory stands for the captures under it (.pcap, .pcapng, .pcap.gz, .pcapng.gz,
.cap), in the order of their names. With no file named, standard input is read when it
is not a terminal.`

// captureExts are the file names a directory input is searched for; they,
// and any name ending in .gz, make a missing argument a file.
var captureExts = []string{".pcap", ".pcapng", ".pcap.gz", ".pcapng.gz", ".cap"}

// inputFlags is -r, tcpdump's way of naming a capture file.
type inputFlags struct {
	read []string
}

func (f *inputFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVarP(&f.read, "read", "r", nil, "read this capture file, as tcpdump -r (repeatable; the same as naming it as an argument)")
}

// isFileOperand tells a capture file from a filter word (see operandRule).
func isFileOperand(s string) bool {
	if s == "-" || fileExists(s) {
		return true
	}
	return isCaptureName(s) || strings.HasSuffix(strings.ToLower(s), ".gz")
}

func isCaptureName(p string) bool {
	lower := strings.ToLower(p)
	for _, ext := range captureExts {
		if strings.HasSuffix(lower, ext) {
			return true
		}
	}
	return false
}

// splitOperands splits args into the files and the filter words after them.
func splitOperands(args []string) (files, filter []string) {
	for i, a := range args {
		if !isFileOperand(a) {
			return args[:i], args[i:]
		}
	}
	return args, nil
}

// operands are what a reading command was asked to read.
type operands struct {
	files  []string // -r files, then argument files; "-" when standard input is read
	filter string   // the trailing filter words, or --filter
	stdin  bool     // no file was named: standard input is read
}

// resolve applies the rule to args: -r files first, then the argument
// files, then the filter (from trailing words or --filter, not both). With
// no file at all, standard input is read when it is not a terminal.
func (f *inputFlags) resolve(e *env, args []string, filterFlag string) (operands, error) {
	files, words := splitOperands(args)
	o := operands{files: append(append([]string(nil), f.read...), files...), filter: filterFlag}
	if len(words) > 0 {
		if filterFlag != "" {
			return o, usagef("the filter is given twice: --filter %q and the words %q (use one)", filterFlag, strings.Join(words, " "))
		}
		o.filter = strings.Join(words, " ")
	}
	if len(o.files) == 0 && !e.stdinIsTerminal() {
		o.files, o.stdin = []string{"-"}, true
	}
	var err error
	o.files, err = expandInputs(o.files)
	return o, err
}

// expandInputs replaces each directory in names by the captures under it
// (by extension, sorted), for every reading command alike: the ids of a
// check or analyze of a directory are the ids ladder of it draws. A
// directory without captures is an error: a gate that checked nothing
// must not pass.
func expandInputs(names []string) ([]string, error) {
	var out []string
	for _, name := range names {
		st, err := os.Stat(name)
		if name == "-" || err != nil || !st.IsDir() {
			out = append(out, name) // readInputs reports what cannot be opened
			continue
		}
		var found []string
		err = filepath.WalkDir(name, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && isCaptureName(p) {
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("no captures (%s) under %s", strings.Join(captureExts, ", "), name)
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}

// filterError explains a filter that did not compile; when its first word
// looks like a path, it may have been meant as a file that does not exist.
func filterError(o operands, err error) error {
	first, _, _ := strings.Cut(o.filter, " ")
	if strings.ContainsAny(first, "/") || strings.Contains(first, ".") && !strings.ContainsAny(first, "0123456789") {
		return usagef("%v\n  (%q was read as the start of a filter: no file of that name exists)", err, first)
	}
	return &usageError{msg: err.Error()}
}

// stdinIsTerminal reports whether the command's standard input is a
// terminal (a person typing), where it must not wait for a capture.
func (e *env) stdinIsTerminal() bool {
	f, ok := e.stdin.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// listInterfaces prints the interfaces libpcap can capture on, numbered,
// as tcpdump -D does.
func listInterfaces(w io.Writer) error {
	ifs, err := capture.Interfaces()
	if err != nil {
		return err
	}
	for i, it := range ifs {
		fmt.Fprintf(w, "%d.%s", i+1, it.Name)
		if it.Description != "" {
			fmt.Fprintf(w, " (%s)", it.Description)
		}
		var tags []string
		for _, t := range []struct {
			on   bool
			name string
		}{{it.Up, "Up"}, {it.Running, "Running"}, {it.Loopback, "Loopback"}, {it.Disconnected, "Disconnected"}} {
			if t.on {
				tags = append(tags, t.name)
			}
		}
		if len(tags) > 0 {
			fmt.Fprintf(w, " [%s]", strings.Join(tags, ", "))
		}
		fmt.Fprintln(w)
	}
	return nil
}
