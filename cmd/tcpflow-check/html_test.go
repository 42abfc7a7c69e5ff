package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// embeddedRows returns the connection rows the HTML page embeds for its
// script (report/html_data.go).
func embeddedRows(t *testing.T, page string) [][]any {
	t.Helper()
	_, data, ok := strings.Cut(page, `<script type="application/json" id="tfc-data">`)
	data, _, ok2 := strings.Cut(data, "</script>")
	if !ok || !ok2 {
		t.Fatal("the page embeds no data")
	}
	var d struct {
		Rows [][]any `json:"rows"`
	}
	if err := json.Unmarshal([]byte(data), &d); err != nil {
		t.Fatalf("embedded data: %v", err)
	}
	return d.Rows
}

// TestAnalyzeHTML is the recipe: analyze --format html writes one
// page to standard output, with the finding written out and the
// connection's segments embedded for its ladder (the analysis records the
// timeline for it without --timeline).
func TestAnalyzeHTML(t *testing.T) {
	code, out, errOut := runCmd(t, nil, "analyze", "--format", "html", realPcaps+"half-close-stuck.pcap")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(out, "<!DOCTYPE html>") || !strings.HasSuffix(out, "</html>\n") {
		t.Fatalf("not one HTML page: %.60q … %.20q", out, out[max(0, len(out)-20):])
	}
	for _, want := range []string{"half_close_stuck", "the server then sat in CLOSE_WAIT", "final client FIN_WAIT_2 / server CLOSE_WAIT",
		`<details class="ladder" data-row="0" open>`} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	rows := embeddedRows(t, out)
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1", len(rows))
	}
	if steps, timeline := rows[0][19], rows[0][20]; steps != float64(13) || timeline == float64(0) || timeline == "" {
		t.Errorf("row holds %v segments, timeline %v", steps, timeline)
	}
}

// TestCheckHTMLFile: check --html writes the report beside --junit, with
// the verdict on top.
func TestCheckHTMLFile(t *testing.T) {
	dir := t.TempDir()
	page, junit := filepath.Join(dir, "report.html"), filepath.Join(dir, "report.xml")
	code, out, errOut := runCmd(t, nil, "check", "--policy", writePolicy(t, minimalPolicy), "--junit", junit, "--html", page,
		realPcaps+"half-close-stuck.pcap", realPcaps+"normal-close.pcap")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errOut)
	}
	data, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for _, want := range []string{`<div class="gate error" id="gate">`, `<span class="sev error">fail</span>`,
		"<code>fail_on: half_close_stuck</code>", "1 half_close_stuck finding(s)", "the server then sat in CLOSE_WAIT"} {
		if !strings.Contains(s, want) {
			t.Errorf("--html page lacks %q", want)
		}
	}
	if rows := embeddedRows(t, s); len(rows) != 2 || rows[0][20] == float64(0) {
		t.Errorf("rows %v", rows)
	}
	if _, err := os.Stat(junit); err != nil {
		t.Errorf("--junit beside --html: %v", err)
	}

	// A passing run says so.
	code, _, errOut = runCmd(t, nil, "check", "--policy", writePolicy(t, minimalPolicy), "--html", page, realPcaps+"normal-close.pcap")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if data, _ = os.ReadFile(page); !strings.Contains(string(data), `<span class="sev ok">pass</span>`) {
		t.Error("a passing run's page does not say pass")
	}
	// An unwritable file is an error before any work.
	code, _, errOut = runCmd(t, nil, "check", "--policy", writePolicy(t, minimalPolicy), "--html", filepath.Join(dir, "no", "such", "r.html"),
		realPcaps+"normal-close.pcap")
	if code != 2 || !strings.Contains(errOut, "html:") {
		t.Errorf("unwritable --html: exit %d %q", code, errOut)
	}
}
