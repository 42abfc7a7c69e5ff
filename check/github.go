package check

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/tcpflow-check/tcpflow-check/internal/human"
	"github.com/tcpflow-check/tcpflow-check/report"
)

// maxAnnotations caps the workflow commands one run writes; GitHub shows
// only the first few per step anyway.
const maxAnnotations = 50

// WriteGitHub writes v as GitHub Actions workflow commands: an ::error
// annotation per finding behind a failed rule (::warning for warn_on and
// warn_on_severity rules), one per failed expectation and per unreadable
// input, each naming the input as its file; then the text report folded
// into a group, and the verdict line.
func WriteGitHub(w io.Writer, v *Verdict, opts *Options) error {
	o := opts.withDefaults()
	var b bytes.Buffer
	n := 0
	annotate := func(cmd, file, title, msg string) {
		if n == maxAnnotations {
			fmt.Fprintf(&b, "::warning title=%s::%s\n", escapeProperty("tcpflow-check"),
				escapeData("more annotations left out; see the report below"))
		}
		n++
		if n > maxAnnotations {
			return
		}
		b.WriteString("::" + cmd + " ")
		if file != "" {
			b.WriteString("file=" + escapeProperty(file) + ",")
		}
		b.WriteString("title=" + escapeProperty(title) + "::" + escapeData(msg) + "\n")
	}
	for i := range v.Inputs {
		if in := &v.Inputs[i]; in.Err != nil {
			annotate("error", in.Name, "unreadable trace", fmt.Sprintf("%v — the readable part was checked; a damaged trace never passes", in.Err))
		}
	}
	for i := range v.Inputs {
		in := &v.Inputs[i]
		if note := report.BackwardsNote(&in.Stats, in.Stats.BackFrame, ""); note != "" {
			annotate("warning", in.Name, "tcpflow-check clock", note)
		}
	}
	for _, level := range []Level{LevelFail, LevelWarn} {
		cmd := "error"
		if level == LevelWarn {
			cmd = "warning"
		}
		v.each(func(r *RuleResult) {
			if !r.Failed || r.Level != level {
				return
			}
			title := "tcpflow-check " + r.Rule
			if len(r.Found) == 0 {
				annotate(cmd, r.Input, title, r.Message)
				return
			}
			for i, f := range r.Found {
				if i == o.MaxFindings {
					annotate(cmd, r.Input, title, fmt.Sprintf("%s; %d more not annotated", r.Message, len(r.Found)-i))
					break
				}
				annotate(cmd, f.Input, title, githubMessage(f))
			}
		})
	}
	b.WriteString("::group::tcpflow-check report\n")
	var text bytes.Buffer
	if err := WriteText(&text, v, &Options{MaxFindings: o.MaxFindings, Width: o.Width}); err != nil {
		return err
	}
	// The verdict, the report's last paragraph (a line unless wrapped),
	// goes after the group, where it is seen.
	report := strings.TrimRight(text.String(), "\n")
	last := strings.LastIndex(report, "\n\n") + 1
	b.WriteString(report[:last+1])
	b.WriteString("::endgroup::\n")
	b.WriteString(report[last+1:] + "\n")
	_, err := w.Write(b.Bytes())
	return err
}

func githubMessage(f *Finding) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s) on connection #%d %s → %s", f.Kind, f.Severity, f.ConnID, human.AddrPort(f.Client), human.AddrPort(f.Server))
	if len(f.Frames) > 0 {
		b.WriteString(", " + human.Frames(f.Frames, len(f.Frames)))
	}
	fmt.Fprintf(&b, "; final client %s / server %s", f.ClientState, f.ServerState)
	if f.Evidence != "" {
		b.WriteString("\n" + f.Evidence)
	}
	return b.String()
}

// escapeData escapes a workflow command's message as the runner expects.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a workflow command's property value.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
