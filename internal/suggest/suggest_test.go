package suggest

import "testing"

func TestClosest(t *testing.T) {
	for _, c := range []struct {
		s, want string
		ok      bool
	}{
		{"fromat", "format", true},
		{"FORMAT", "format", true},
		{"timelin", "timeline", true},
		{"xyz", "", false},
		{"handshake-timout", "handshake-timeout", true},
	} {
		got, ok := Closest(c.s, []string{"format", "timeline", "handshake-timeout", "half-close-timeout"})
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("Closest(%q) = %q, %v; want %q, %v", c.s, got, ok, c.want, c.ok)
		}
	}
	if d := Distance("kitten", "sitting"); d != 3 {
		t.Errorf("Distance(kitten, sitting) = %d, want 3", d)
	}
}
