package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The CI jobs of docs/check.md, run as documented: the check line is taken
// from the GitHub Actions job (and must be the GitLab job's too), so that
// the doc and this test cannot drift. It runs in a network namespace of
// its own, where port 8080 on lo is free and nft rules touch nothing else,
// with the starter policy of "policy init" as .tcpflow-check.yaml and
// leak.py standing for "make integration-test".

// docCheckLine returns the words of the "tcpflow-check ... check ..." line
// of the yaml block under heading in docs/check.md, from "check" on.
func docCheckLine(t *testing.T, doc, heading string) []string {
	t.Helper()
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("docs/check.md has no %q section", heading)
	}
	sec := doc[i+len(heading)+2:]
	if j := strings.Index(sec, "\n## "); j >= 0 {
		sec = sec[:j]
	}
	for _, l := range strings.Split(sec, "\n") {
		if k := strings.Index(l, `tcpflow-check" check `); k >= 0 {
			return shellWords(t, l[k+len(`tcpflow-check" `):])
		}
		if k := strings.Index(l, "tcpflow-check check "); k >= 0 {
			return shellWords(t, l[k+len("tcpflow-check "):])
		}
	}
	t.Fatalf("no tcpflow-check check line in %s", heading)
	return nil
}

// shellWords splits s as sh would for plain words and single or double
// quotes (all the doc's lines use).
func shellWords(t *testing.T, s string) []string {
	var words []string
	var w strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			w.WriteByte(c)
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteByte(c)
			in = true
		}
	}
	if quote != 0 {
		t.Fatalf("unbalanced quote in %q", s)
	}
	if in {
		words = append(words, w.String())
	}
	return words
}

func TestCIDocRecipe(t *testing.T) {
	needLive(t)
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip (iproute2) for a network namespace")
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("needs python3")
	}
	b, err := os.ReadFile("../../docs/check.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	gh := docCheckLine(t, doc, "## GitHub Actions")
	gl := docCheckLine(t, doc, "## GitLab CI")
	withoutFormat := func(w []string) string {
		var out []string
		for i := 0; i < len(w); i++ {
			if w[i] == "--format" {
				i++
				continue
			}
			out = append(out, w[i])
		}
		return strings.Join(out, " ")
	}
	if withoutFormat(gh) != withoutFormat(gl) {
		t.Errorf("the GitHub and GitLab jobs run different checks:\n%s\n%s", strings.Join(gh, " "), strings.Join(gl, " "))
	}
	dash := -1
	for i, w := range gh {
		if w == "--" {
			dash = i
		}
	}
	if dash < 0 || strings.Join(gh[dash+1:], " ") != "make integration-test" {
		t.Fatalf("the documented check line does not run make integration-test after --: %v", gh)
	}

	ns := fmt.Sprintf("tfc-around%d", os.Getpid()%100000)
	ipc := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	ipc("-n", ns, "link", "set", "lo", "up")
	inNS := func(args ...string) *exec.Cmd {
		cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
		cmd.Env = append(os.Environ(), liveChildEnv+"=main")
		return cmd
	}

	// The job's working directory: the starter policy, as the docs make it.
	dir := t.TempDir()
	code, starter, _ := runCmd(t, nil, "policy", "init")
	if code != 0 {
		t.Fatal("policy init failed")
	}
	if err := os.WriteFile(filepath.Join(dir, ".tcpflow-check.yaml"), []byte(starter), 0o644); err != nil {
		t.Fatal(err)
	}
	leakPy, _ := filepath.Abs("testdata/leak.py")
	server := func(leak bool) func() {
		src := `import socket,sys
s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(("127.0.0.1",8080));s.listen(8)
print("ready",flush=True);held=[]
while True:
    c,_=s.accept();c.recv(100);c.sendall(b"pong")
    while c.recv(100): pass
    held.append(c) if sys.argv[1]=="leak" else c.close()
`
		mode := map[bool]string{true: "leak", false: "clean"}[leak]
		cmd := inNS(python, "-c", src, mode)
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 6)
		out.Read(buf) // "ready"
		return func() { cmd.Process.Kill(); cmd.Wait() }
	}
	nft := func(t *testing.T) {
		if _, err := exec.LookPath("nft"); err != nil {
			t.Skip("needs nft (nftables)")
		}
		for _, rule := range [][]string{
			{"add", "table", "inet", "tfcaround"},
			{"add", "chain", "inet", "tfcaround", "in", "{ type filter hook input priority 0; }"},
			{"add", "rule", "inet", "tfcaround", "in", "tcp", "dport", "8080", "drop"},
		} {
			if out, err := inNS(append([]string{"nft"}, rule...)...).CombinedOutput(); err != nil {
				t.Fatalf("nft %s: %v: %s", strings.Join(rule, " "), err, out)
			}
		}
		t.Cleanup(func() { inNS("nft", "delete table inet tfcaround").Run() })
	}

	// The tcpdump recipe, verbatim but for its test command and the path
	// of tcpflow-check: a leak stopped right after the test still fails.
	t.Run("tcpdump recipe, CLOSE_WAIT leak", func(t *testing.T) {
		if _, err := exec.LookPath("tcpdump"); err != nil {
			t.Skip("needs tcpdump")
		}
		i := strings.Index(doc, "### With tcpdump instead")
		if i < 0 {
			t.Fatal(`docs/check.md has no "With tcpdump instead" section`)
		}
		block := doc[i:]
		a := strings.Index(block, "```sh\n")
		z := strings.Index(block[a+6:], "```")
		if a < 0 || z < 0 {
			t.Fatal("no sh block in the tcpdump recipe")
		}
		script := block[a+6 : a+6+z]
		if !strings.Contains(script, "-U --immediate-mode") || !strings.Contains(script, "-i lo") {
			t.Errorf("the tcpdump recipe lacks -i lo -U --immediate-mode:\n%s", script)
		}
		script = strings.ReplaceAll(script, "make integration-test", python+" "+leakPy+" 8080")
		script = strings.ReplaceAll(script, "tcpflow-check check", os.Args[0]+" check")
		os.MkdirAll(filepath.Join(dir, "traces"), 0o755)
		defer server(true)()
		cmd := inNS("sh", "-c", "set -e\n"+script)
		cmd.Dir = dir
		out, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != exitViolations || !strings.Contains(string(out), "half_close_stuck") {
			t.Errorf("the tcpdump recipe over a leak: exit %d, want 1 naming half_close_stuck:\n%s", code, out)
		}
	})

	for _, c := range []struct {
		name  string
		setup func(t *testing.T) func()
		exits []int
		want  string
	}{
		{"refused connection", func(*testing.T) func() { return func() {} }, []int{exitViolations, exitBothFailed}, "connection_refused"},
		{"CLOSE_WAIT leak", func(*testing.T) func() { return server(true) }, []int{exitViolations}, "half_close_stuck"},
		{"SYN into nft DROP, 1 s client timeout", func(t *testing.T) func() { nft(t); return func() {} }, []int{exitViolations, exitBothFailed}, "syn_unanswered"},
		{"clean run", func(*testing.T) func() { return server(false) }, []int{exitOK}, "verdict: PASS"},
	} {
		t.Run(c.name, func(t *testing.T) {
			stop := c.setup(t)
			defer stop()
			args := append(append([]string{os.Args[0]}, gh[:dash+1]...), python, leakPy, "8080")
			cmd := inNS(args...)
			cmd.Dir = dir
			start := time.Now()
			out, _ := cmd.CombinedOutput()
			code := cmd.ProcessState.ExitCode()
			ok := false
			for _, e := range c.exits {
				ok = ok || code == e
			}
			if !ok || !strings.Contains(string(out), c.want) {
				t.Errorf("exit %d (want one of %v), output should name %q (ran %s):\n%s", code, c.exits, c.want, time.Since(start).Round(time.Millisecond), out)
			}
			for _, f := range []string{"trace.pcapng", "tcp-report.xml"} {
				if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
					t.Errorf("the job's artifact %s was not written: %v", f, err)
				}
			}
		})
	}
}
