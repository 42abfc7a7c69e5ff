package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/tcpflow-check/tcpflow-check/capture"
)

// buildVersion is the module version and the VCS revision the binary was
// built from, as the Go toolchain recorded them:
// "tcpflow-check v1.2.0 (revision 78007d0abc12, 2026-12-01T22:00:06Z) go1.26 linux/amd64".
func buildVersion() string {
	bi, _ := debug.ReadBuildInfo()
	return formatVersion(bi)
}

// formatVersion formats what bi (nil: nothing known) records.
func formatVersion(bi *debug.BuildInfo) string {
	version, rev, when, dirty := "(devel)", "", "", false
	if bi != nil {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "tcpflow-check %s", version)
	if rev != "" {
		fmt.Fprintf(&b, " (revision %.12s", rev)
		if when != "" {
			b.WriteString(", " + when)
		}
		if dirty {
			b.WriteString(", modified")
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, " %s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return b.String()
}

func newVersionCmd(e *env) *cobra.Command {
	cmd := newCommand("version", "print the version, the revision built from, and the libpcap found")
	cmd.Args = usageArgs(cobra.NoArgs)
	cmd.RunE = func(_ *cobra.Command, _ []string) error {
		pcap, err := capture.LibpcapVersion()
		if err != nil {
			pcap = "not installed (live capture and --filter need it: apt-get install libpcap0.8)"
		}
		_, err = fmt.Fprintf(e.stdout, "%s\nlibpcap: %s\n", buildVersion(), pcap)
		return err
	}
	return cmd
}

// newManCmd writes the man pages (make man): hidden, it is for packagers.
func newManCmd(e *env) *cobra.Command {
	cmd := newCommand("gen-man DIR", "write the man pages into DIR")
	cmd.Hidden = true
	cmd.Args = usageArgs(cobra.ExactArgs(1))
	cmd.RunE = func(c *cobra.Command, args []string) error {
		dir := args[0]
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("gen-man: %w", err)
		}
		hdr := &doc.GenManHeader{Title: "TCPFLOW-CHECK", Section: "1", Source: "tcpflow-check", Manual: "tcpflow-check manual"}
		root := c.Root()
		root.DisableAutoGenTag = true
		if err := doc.GenManTree(root, hdr, dir); err != nil {
			return fmt.Errorf("gen-man: %w", err)
		}
		pages, _ := filepath.Glob(filepath.Join(dir, "*.1"))
		_, err := fmt.Fprintf(e.stderr, "tcpflow-check: %d man pages in %s\n", len(pages), dir)
		return err
	}
	return cmd
}
