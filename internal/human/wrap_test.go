package human

import (
	"strings"
	"testing"
)

func TestWrap(t *testing.T) {
	for _, c := range []struct {
		line        string
		width, hang int
		want        string
	}{
		{"short line", 20, 2, "short line"},
		{"no width at all, however long the line is", 0, 2, "no width at all, however long the line is"},
		// Breaks at spaces, continuation lines hang.
		{"the quick brown fox jumps over the lazy dog", 16, 2, "the quick brown\n  fox jumps over\n  the lazy dog"},
		// Its own indentation and inner spacing are kept; spaces at a
		// break are dropped.
		{"  #1  a → b  frames 1,2 · lasted 5ms", 20, 4, "  #1  a → b  frames\n    1,2 · lasted 5ms"},
		// A word longer than a line is broken, and only then.
		{"file: /a/very/long/path/name.pcap here", 12, 2, "file:\n  /a/very/lo\n  ng/path/na\n  me.pcap\n  here"},
		{"x /a/very/long/path/name.pcap", 12, 2, "x\n  /a/very/lo\n  ng/path/na\n  me.pcap"},
		// Colour escapes take no column and are never split.
		{"\x1b[1;31m1 error\x1b[0m in 2 of 3", 10, 2, "\x1b[1;31m1 error\x1b[0m in\n  2 of 3"},
		{"\x1b[1mabcdefghij\x1b[0m", 4, 0, "\x1b[1mabcd\nefgh\nij\x1b[0m"},
	} {
		got := Wrap(c.line, c.width, c.hang)
		if got != c.want {
			t.Errorf("Wrap(%q, %d, %d) =\n%s\nwant\n%s", c.line, c.width, c.hang, got, c.want)
		}
		for _, l := range strings.Split(got, "\n") {
			if c.width > 0 && Columns(l) > c.width {
				t.Errorf("Wrap(%q, %d, %d): line %q is %d columns", c.line, c.width, c.hang, l, Columns(l))
			}
		}
	}
}

func TestWrapList(t *testing.T) {
	items := []string{"fail_on: syn_unanswered (1 input)", "max: reset ≤ 2 (1 input)", "fail_on_severity: error (1 input)"}
	got := WrapList("passed: ", items, " · ", 45, 8)
	want := "passed: fail_on: syn_unanswered (1 input) ·\n        max: reset ≤ 2 (1 input) ·\n        fail_on_severity: error (1 input)"
	if got != want {
		t.Errorf("WrapList =\n%s\nwant\n%s", got, want)
	}
	if one := WrapList("passed: ", items, " · ", 0, 8); one != "passed: "+strings.Join(items, " · ") {
		t.Errorf("WrapList without a width = %q", one)
	}
	// An item longer than a line is wrapped within itself.
	got = WrapList("x: ", []string{"a", "one two three four five"}, "; ", 12, 3)
	want = "x: a;\n   one two\n   three\n   four five"
	if got != want {
		t.Errorf("WrapList, long item =\n%s\nwant\n%s", got, want)
	}
}

func TestColumns(t *testing.T) {
	if n := Columns("\x1b[33m→ · ×\x1b[0m"); n != 5 {
		t.Errorf("Columns = %d, want 5", n)
	}
}
