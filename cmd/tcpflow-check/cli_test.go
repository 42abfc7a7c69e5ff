package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// TestCLIConventions checks what people expect of a command line: version,
// help for a command, usage once, suggestions for typos, completion.
func TestCLIConventions(t *testing.T) {
	const file = "../../testdata/pcaps/real/refused.pcap"
	for _, c := range []struct {
		name   string
		args   []string
		code   int
		stdout []string // each must appear in stdout
		stderr []string // each must appear in stderr
	}{
		{"--version", []string{"--version"}, 0, []string{"tcpflow-check ", "linux/"}, nil},
		{"version", []string{"version"}, 0, []string{"tcpflow-check ", "\nlibpcap: "}, nil},
		{"help CMD", []string{"help", "ladder"}, 0, []string{"ladder diagrams", "--conn uint"}, nil},
		{"CMD --help", []string{"check", "--help"}, 0, []string{"--policy string", "--junit"}, nil},
		{"help", []string{"--help"}, 0, []string{"Exit codes:", "analyze", "completion"}, nil},
		{"flag typo", []string{"analyze", "--fromat", "json", file}, 2, nil, []string{"unknown flag: --fromat (did you mean --format?)", "Run 'tcpflow-check analyze --help'"}},
		{"flag typo, default command", []string{"--timelin", file}, 2, nil, []string{"did you mean --timeline?"}},
		{"command typo", []string{"anlyze", file}, 2, nil, []string{`unknown command "anlyze" (did you mean "analyze"?)`}},
		{"FILE means analyze", []string{file}, 0, []string{"connection_refused"}, nil},
		{"flags then FILE mean analyze", []string{"--format", "jsonl", file}, 0, []string{`"type":"summary"`}, nil},
		{"policy typo", []string{"policy", "chek"}, 2, nil, []string{"policy init"}},
		{"completion bash", []string{"completion", "bash"}, 0, []string{"__start_tcpflow-check"}, nil},
		{"completion zsh", []string{"completion", "zsh"}, 0, []string{"#compdef tcpflow-check"}, nil},
		{"completion fish", []string{"completion", "fish"}, 0, []string{"complete -c tcpflow-check"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, nil, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, out, errOut)
			}
			for _, w := range c.stdout {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range c.stderr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
		})
	}
}

// TestUsageOnce: help and errors print the usage at most once.
func TestUsageOnce(t *testing.T) {
	for _, args := range [][]string{{"analyze", "--help"}, {"live", "--help"}, {"analyze", "--bogus", "x.pcap"}, {}, {"ladder"}} {
		_, out, errOut := runCmd(t, nil, args...)
		if n := strings.Count(out+errOut, "Usage:"); n > 1 {
			t.Errorf("%v: usage printed %d times:\n%s%s", args, n, out, errOut)
		}
	}
}

func TestFormatVersion(t *testing.T) {
	bi := &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "78007d0abc1234567890"}, {Key: "vcs.time", Value: "2026-12-01T22:00:06Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	if got, want := formatVersion(bi), "tcpflow-check v1.2.3 (revision 78007d0abc12, 2026-12-01T22:00:06Z, modified) "; !strings.HasPrefix(got, want) {
		t.Errorf("formatVersion = %q, want prefix %q", got, want)
	}
	if got := formatVersion(nil); !strings.HasPrefix(got, "tcpflow-check (devel) go") {
		t.Errorf("formatVersion(nil) = %q", got)
	}
}

// TestManPages generates the man pages as make man does: one per command,
// in roff.
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runCmd(t, nil, "gen-man", dir); code != 0 {
		t.Fatalf("gen-man: exit %d %s", code, errOut)
	}
	for _, page := range []string{"tcpflow-check.1", "tcpflow-check-analyze.1", "tcpflow-check-ladder.1", "tcpflow-check-check.1", "tcpflow-check-live.1", "tcpflow-check-policy-init.1"} {
		b, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil {
			t.Error(err)
			continue
		}
		if !strings.Contains(string(b), ".TH \"TCPFLOW-CHECK\"") || !strings.Contains(string(b), ".SH NAME") {
			t.Errorf("%s is not a man page:\n%.300s", page, b)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "tcpflow-check-analyze.1")); !strings.Contains(string(b), "handshake-timeout") {
		t.Error("the analyze page does not list its flags")
	}
}

// TestMakeInstall runs the README's make install into a staging directory:
// the binary, a man page per command and the three shells' completions.
func TestMakeInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary: skipped with -short")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("needs make")
	}
	dest := t.TempDir()
	cmd := exec.Command("make", "-C", "../..", "install", "DESTDIR="+dest, "PREFIX=/usr", "BIN="+filepath.Join(dest, "build", "tcpflow-check"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	for _, f := range []string{"usr/bin/tcpflow-check", "usr/share/man/man1/tcpflow-check.1", "usr/share/man/man1/tcpflow-check-analyze.1",
		"usr/share/bash-completion/completions/tcpflow-check", "usr/share/zsh/site-functions/_tcpflow-check",
		"usr/share/fish/vendor_completions.d/tcpflow-check.fish"} {
		if st, err := os.Stat(filepath.Join(dest, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s not installed (%v)", f, err)
		}
	}
	out, err := exec.Command(filepath.Join(dest, "usr/bin/tcpflow-check"), "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "tcpflow-check ") {
		t.Errorf("installed binary --version: %q %v", out, err)
	}
}
