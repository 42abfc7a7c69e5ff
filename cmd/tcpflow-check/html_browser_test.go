package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tcpflow-check/tcpflow-check/internal/browsertest"
)

// TestMain stops the browser the HTML tests share.
func TestMain(m *testing.M) { browsertest.Main(m) }

// TestAnalyzeHTMLInChromium is the done-when, as a user runs it:
// `tcpflow-check analyze --format html half-close-stuck.pcap > r.html`
// opens in Chromium and shows the stuck half-close on the ladder, with
// CLOSE_WAIT beside the client's FIN that put the server there and
// FIN_WAIT_2 beside the server's ACK of it.
func TestAnalyzeHTMLInChromium(t *testing.T) {
	browsertest.Require(t)
	code, out, errOut := runCmd(t, nil, "analyze", "--format", "html", realPcaps+"half-close-stuck.pcap")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	tb := browsertest.Open(t, []byte(out), browsertest.Options{})
	tb.WaitFor(`document.querySelector('#conn-1 svg.ladder g.seg') !== null`)
	type arrow struct {
		Frame, Label, Mark string
		Changed            []string
	}
	arrows := browsertest.Eval[[]arrow](tb, `[...document.querySelectorAll('#conn-1 svg.ladder g.seg')].map(g => ({
	  Frame: g.dataset.frame,
	  Label: g.querySelector('text:not(.state):not(.margin):not(.mark)').textContent,
	  Mark: (g.querySelector('text.mark') || {}).textContent || '',
	  Changed: [...g.querySelectorAll('text.state:not(.same)')].map(e => e.textContent),
	}))`)
	i := slices.IndexFunc(arrows, func(a arrow) bool { return strings.HasPrefix(a.Label, "FIN,ACK") })
	if i < 0 || i+1 >= len(arrows) {
		t.Fatalf("no FIN followed by an ACK on the ladder: %+v", arrows)
	}
	fin, ack := arrows[i], arrows[i+1]
	if !slices.Contains(fin.Changed, "CLOSE_WAIT") || !strings.Contains(fin.Mark, "half_close_stuck") {
		t.Errorf("the client's FIN (frame %s): states %v, mark %q; want CLOSE_WAIT and half_close_stuck", fin.Frame, fin.Changed, fin.Mark)
	}
	if !slices.Contains(ack.Changed, "FIN_WAIT_2") || !strings.HasPrefix(ack.Label, "ACK") {
		t.Errorf("the server's ACK (frame %s, %q): states %v; want FIN_WAIT_2", ack.Frame, ack.Label, ack.Changed)
	}
}

// TestCheckHTMLInChromium: check --html's page opens with the verdict on
// top and the failed rule in it.
func TestCheckHTMLInChromium(t *testing.T) {
	browsertest.Require(t)
	page := filepath.Join(t.TempDir(), "r.html")
	code, _, errOut := runCmd(t, nil, "check", "--policy", writePolicy(t, minimalPolicy), "--html", page, realPcaps+"refused.pcap")
	if code != 1 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	data, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	tb := browsertest.Open(t, data, browsertest.Options{})
	gate := browsertest.Eval[string](tb, `document.getElementById('gate').innerText`)
	for _, want := range []string{"FAIL", "max: connection_refused ≤ 0"} {
		if !strings.Contains(gate, want) {
			t.Errorf("verdict box %q lacks %q", gate, want)
		}
	}
	tb.WaitFor(`document.querySelector('#conns svg.ladder g.seg') !== null`)
	if n := browsertest.Eval[int](tb, `document.querySelectorAll('#conns svg.ladder g.seg.rst').length`); n != 1 {
		t.Errorf("%d RST arrows on the refused connection's ladder, want 1", n)
	}
}
