package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The user-facing docs: the README and docs/*.md.
func userDocs(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{}
	for _, f := range append(files, "../../README.md") {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs[strings.TrimPrefix(f, "../../")] = string(b)
	}
	return docs
}

// commandFlags walks the command tree: the visible commands by name
// ("" for the root), each with its visible flags by long name
// (shorthand as the value).
func commandFlags() map[string]map[string]string {
	out := map[string]map[string]string{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" {
			return
		}
		name := strings.TrimPrefix(c.CommandPath(), "tcpflow-check")
		name = strings.TrimSpace(name)
		flags := map[string]string{}
		c.NonInheritedFlags().VisitAll(func(f *pflag.Flag) {
			if !f.Hidden && f.Name != "help" {
				flags[f.Name] = f.Shorthand
			}
		})
		out[name] = flags
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot(&env{}))
	return out
}

var (
	flagToken = regexp.MustCompile(`(?:^|[\s(\[|,'"])(--?)([a-zA-Z][a-zA-Z0-9-]*)`)
	span      = regexp.MustCompile("`([^`]+)`")
)

// A flag documented in a table row: the commands its section (or the row)
// names, its long name and shorthand.
type docRow struct {
	file, line string
	commands   []string
	flags      [][2]string // {shorthand, long}: either may be ""
}

// commandsNamed returns the commands a heading (or a row's first cell)
// names: "Flags (analyze, ladder)", "`tcpflow-check check`: …", "Live
// capture".
func commandsNamed(s string, cmds map[string]map[string]string) []string {
	var out []string
	words := regexp.MustCompile(`[a-z]+(?: [a-z]+)?`).FindAllString(strings.ToLower(s), -1)
	if strings.Contains(strings.ToLower(s), "global flags") {
		return []string{""} // the root's
	}
	seen := map[string]bool{}
	for _, w := range words {
		for _, cand := range []string{w, strings.Fields(w)[0]} {
			if _, ok := cmds[cand]; ok && cand != "" && !seen[cand] {
				seen[cand] = true
				out = append(out, cand)
				break
			}
		}
	}
	return out
}

// flagRows reads the flag tables of a doc (a header cell "flag"): rows
// whose first cell holds `-x`/`--name` spans, for the commands the row
// names ("`--conn ID` (ladder)"), else those its caption names (the line
// before the table, ending with ":"), else those of the nearest heading
// naming any.
func flagRows(file, doc string, cmds map[string]map[string]string) []docRow {
	var rows []docRow
	var headings [7]string
	flagTable, prev := false, ""
	var caption string     // the line before a table, when it ends with ":"
	var tableCmds []string // the commands the caption names
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "|") && !strings.HasPrefix(prev, "|") { // a table's header
			flagTable = strings.HasPrefix(line, "| flag ")
			tableCmds = nil
			if strings.HasSuffix(caption, ":") {
				tableCmds = commandsNamed(caption, cmds)
			}
		}
		if strings.TrimSpace(line) != "" && !strings.HasPrefix(line, "|") {
			caption = strings.TrimSpace(line)
		}
		prev = line
		if h := strings.TrimLeft(line, "#"); h != line && strings.HasPrefix(h, " ") {
			level := len(line) - len(h)
			headings[level] = h
			for i := level + 1; i < len(headings); i++ {
				headings[i] = ""
			}
			continue
		}
		if !flagTable || !strings.HasPrefix(line, "| `-") {
			continue
		}
		first := strings.SplitN(strings.Trim(line, "|"), " | ", 2)[0]
		row := docRow{file: file, line: line}
		if named := regexp.MustCompile(`\(([a-z, ]+)\)\s*$`).FindStringSubmatch(first); named != nil {
			row.commands = commandsNamed(named[1], cmds)
		}
		if len(row.commands) == 0 {
			row.commands = tableCmds
		}
		for i := len(headings) - 1; i > 0 && len(row.commands) == 0; i-- {
			row.commands = commandsNamed(headings[i], cmds)
		}
		// "`-f, --format`", "`-i`, `--interface`", "`--msl`, `--idle-timeout`":
		// a shorthand pairs with the long name after it.
		var short string
		for _, sp := range span.FindAllStringSubmatch(first, -1) {
			for _, m := range flagToken.FindAllStringSubmatch(sp[1], -1) {
				switch {
				case m[1] == "-" && len(m[2]) == 1:
					if short != "" {
						row.flags = append(row.flags, [2]string{short, ""})
					}
					short = m[2]
				case m[1] == "--":
					row.flags = append(row.flags, [2]string{short, m[2]})
					short = ""
				}
			}
		}
		if short != "" {
			row.flags = append(row.flags, [2]string{short, ""})
		}
		rows = append(rows, row)
	}
	return rows
}

// TestEveryFlagDocumented: every flag of every command (walking the cobra
// tree) has a row in a flag table of the README or docs/ under a heading
// that names the command, with its shorthand; and every row's flags exist
// on the commands it is under, with that shorthand.
func TestEveryFlagDocumented(t *testing.T) {
	cmds := commandFlags()
	documented := map[string]map[string]bool{} // command → long name
	for file, doc := range userDocs(t) {
		for _, r := range flagRows(file, doc, cmds) {
			if len(r.commands) == 0 {
				t.Errorf("%s: a flag row under no heading naming a command: %s", r.file, r.line)
			}
			for _, c := range r.commands {
				if documented[c] == nil {
					documented[c] = map[string]bool{}
				}
				for _, f := range r.flags {
					short, ok := cmds[c][f[1]]
					switch {
					case f[1] == "" && f[0] != "":
						t.Errorf("%s: -%s without its long name: %s", r.file, f[0], r.line)
					case !ok:
						t.Errorf("%s documents --%s for %q, which has no such flag: %s", r.file, f[1], c, r.line)
					case f[0] != short && f[0] != "":
						t.Errorf("%s documents -%s, --%s for %q, whose shorthand is %q", r.file, f[0], f[1], c, short)
					case short != "" && f[0] == "":
						t.Errorf("%s documents --%s for %q without its shorthand -%s: %s", r.file, f[1], c, short, r.line)
					}
					documented[c][f[1]] = true
				}
			}
		}
	}
	var missing []string
	for c, flags := range cmds {
		for f := range flags {
			if !documented[c][f] {
				missing = append(missing, fmt.Sprintf("%q --%s", c, f))
			}
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("no flag table in README.md or docs/ documents %s", m)
	}
}

// otherTools are commands whose flags the docs quote; a `--flag` span or a
// line that starts with one of them is not tcpflow-check's.
var otherTools = []string{"tcpdump", "go", "zeek", "tshark", "make", "setcap", "ip", "nft", "curl", "jq", "hyperfine",
	"apt-get", "tcpreplay", "dnf", "apk", "docker", "git", "tc", "bash", "sh", "scripts/", "compare.py", "python3", "chromium"}

// TestDocumentedFlagsExist: every `-x` and `--name` the README and docs/
// quote in a tcpflow-check command line (code blocks and `…` spans)
// exists on the command the line names (analyze when it names none), and
// every bare `--name` span names a flag of some command.
func TestDocumentedFlagsExist(t *testing.T) {
	cmds := commandFlags()
	anyCommand := map[string]bool{}
	for _, flags := range cmds {
		for f := range flags {
			anyCommand[f] = true
		}
	}
	anyCommand["help"], anyCommand["version"] = true, true
	checked := 0
	for file, doc := range userDocs(t) {
		var lines []string
		inCode := false
		for _, l := range strings.Split(doc, "\n") {
			if strings.HasPrefix(l, "```") {
				inCode = !inCode
				continue
			}
			if inCode {
				lines = append(lines, l)
				continue
			}
			for _, sp := range span.FindAllStringSubmatch(l, -1) {
				lines = append(lines, sp[1])
			}
		}
		for _, l := range lines {
			for _, part := range strings.Split(l, "|") { // pipelines: each command on its own
				cmd, flags, ok := commandLine(part, cmds)
				if !ok {
					continue
				}
				for _, f := range flags {
					checked++
					if cmd == "*" {
						if len(f) > 1 && !anyCommand[f] {
							t.Errorf("%s quotes --%s, which no command has: %s", file, f, strings.TrimSpace(part))
						}
						continue
					}
					if !hasFlag(cmds[cmd], f) && !(cmd == "" && (f == "h" || f == "help")) {
						t.Errorf("%s quotes %s on %q, which has no such flag: %s", file, dashes(f), cmd, strings.TrimSpace(part))
					}
				}
			}
		}
	}
	if checked < 50 {
		t.Errorf("only %d flags quoted in the docs were checked: the parser lost them", checked)
	}
}

func dashes(f string) string {
	if len(f) == 1 {
		return "-" + f
	}
	return "--" + f
}

func hasFlag(flags map[string]string, f string) bool {
	if _, ok := flags[f]; ok {
		return true
	}
	for _, short := range flags {
		if short == f && short != "" {
			return true
		}
	}
	return false
}

// commandLine reads one command line (or `…` span): the command it runs
// ("*" for a bare span of flags, which must be some command's) and the
// flags it gives; ok is false for another tool's line or prose.
func commandLine(s string, cmds map[string]map[string]string) (cmd string, flags []string, ok bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "$ ")
	s = strings.TrimPrefix(s, "sudo ")
	if i := strings.Index(s, " #"); i >= 0 { // a comment
		s = s[:i]
	}
	words := strings.Fields(s)
	if len(words) == 0 {
		return "", nil, false
	}
	for _, tool := range otherTools {
		if words[0] == tool || strings.HasPrefix(words[0], tool) && strings.HasSuffix(tool, "/") {
			return "", nil, false
		}
	}
	rest := words
	switch {
	case strings.HasSuffix(words[0], "tcpflow-check") || strings.HasSuffix(words[0], `tcpflow-check"`):
		rest = words[1:]
		cmd = "analyze"
		if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
			if _, ok := cmds[rest[0]]; ok {
				cmd, rest = rest[0], rest[1:]
				if len(rest) > 0 {
					if _, ok := cmds[cmd+" "+rest[0]]; ok {
						cmd, rest = cmd+" "+rest[0], rest[1:]
					}
				}
			}
		} else if len(rest) > 0 && (rest[0] == "-D" || rest[0] == "--version" || rest[0] == "--help") {
			cmd = ""
		}
	case words[0] != "" && cmds[words[0]] != nil && len(words) > 1 && strings.HasPrefix(words[1], "-"):
		cmd, rest = words[0], words[1:] // "`check --html FILE`"
	case strings.HasPrefix(words[0], "--") && len(words[0]) > 3:
		cmd = "*"
	default:
		return "", nil, false
	}
	for _, w := range rest {
		if w == "--" {
			break // the command check runs
		}
		if m := regexp.MustCompile(`^(--?)([a-zA-Z][a-zA-Z0-9-]*)`).FindStringSubmatch(w); m != nil {
			if m[1] == "-" && len(m[2]) > 1 {
				continue // -1, or a value such as -w - … (not a flag)
			}
			flags = append(flags, m[2])
		}
	}
	return cmd, flags, true
}

// TestNoInternalNotes: the user-facing files carry no notes meant for the
// people who wrote them: no brief or issue quoted, no path of the machine
// they were written on, no design file that is not in the repository.
func TestNoInternalNotes(t *testing.T) {
	files := map[string]string{}
	for name, doc := range userDocs(t) {
		files[name] = doc
	}
	more, _ := filepath.Glob("../../testdata/*/MANIFEST*")
	pols, _ := filepath.Glob("../../testdata/policies/*")
	for _, f := range append(more, pols...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimPrefix(f, "../../")] = string(b)
	}
	if len(files) < 6 {
		t.Fatalf("only %d user-facing files found", len(files))
	}
	notes := regexp.MustCompile(`(?i:\bthe brief\b|\bthe issue\b|\bissue #?\d+\b)|/work/|/home/[a-z]|/root/|\bDESIGN §|\bDESIGN\.md`)
	for name, text := range files {
		for i, line := range strings.Split(text, "\n") {
			if m := notes.FindString(line); m != "" {
				t.Errorf("%s:%d: an internal note (%q): %s", name, i+1, m, line)
			}
		}
	}
}
