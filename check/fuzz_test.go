package check

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParsePolicy feeds arbitrary YAML to the policy parser: it must not
// panic, and must either return a policy with something that can fail or
// errors that name the file (joined *PolicyError values).
func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(StarterPolicy))
	files, _ := filepath.Glob("../testdata/policies/*.yaml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("fail_on: [syn_unanswerd]\n"))
	f.Add([]byte("ignore:\n  - kind: reset\n    cidr: 10.0.0.0/8\n    reason: x\nmax: {reset: -1}\n"))
	f.Add([]byte("expect:\n  handshake_rtt_p99: 5\n  connections_to: [{port: 99999}]\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePolicy("fuzz.yaml", data)
		if err != nil {
			var pe *PolicyError
			if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error %T %q is not a *PolicyError naming the file", err, err)
			}
			if p != nil {
				t.Fatalf("a policy and an error")
			}
			return
		}
		if p == nil || p.Rules() == 0 {
			t.Fatalf("no error, but policy %+v has no rules", p)
		}
	})
}
