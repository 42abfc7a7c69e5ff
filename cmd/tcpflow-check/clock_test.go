package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tcpflow-check/tcpflow-check/internal/pcapgen"
)

// Captures whose clock goes backwards: classic pcap holds 32 unsigned bits
// of seconds, 1970 to 2106, and a clock stepped back (or files joined out
// of order) lands anywhere in it. The summary must say so in every format,
// and no connection's duration or RTT may be negative.

// the largest and the smallest pcap times used
var (
	t2106 = time.Unix(math.MaxUint32-1, 0).UTC() // 2106-02-07T06:28:14Z
	t1970 = time.Unix(1, 0).UTC()
)

// writeBackwardsPcap writes one normal connection (10 segments, 1 ms
// apart, from 2106-02-07T06:28:14Z) whose third segment, the client's
// ACK completing the handshake, and tenth, the last ACK, are stamped
// 1970-01-01T00:00:01Z. Times as the file has them then: frame 3 steps
// back 136 years, frame 4 forward again, frame 10 back.
func writeBackwardsPcap(t *testing.T, f pcapgen.Format) string {
	t.Helper()
	c := pcapgen.NewConv(pcapgen.CraftedClient, pcapgen.CraftedServer, 1000, 5000, t2106)
	c.Normal(100, 1000)
	if len(c.Segs) != 10 {
		t.Fatalf("%d segments, want 10", len(c.Segs))
	}
	c.Segs[2].Time, c.Segs[9].Time = t1970, t1970
	name := "backwards.pcap"
	if f.NG {
		name += "ng"
	}
	p := filepath.Join(t.TempDir(), name)
	out, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if err := pcapgen.Write(out, f, pcapgen.Ethernet, c.Segs); err != nil {
		t.Fatal(err)
	}
	return p
}

type backwardsDoc struct {
	Inputs []struct {
		Name          string     `json:"name" yaml:"name"`
		CaptureStart  string     `json:"capture_start" yaml:"capture_start"`
		CaptureEnd    string     `json:"capture_end" yaml:"capture_end"`
		TimeBackwards *backwards `json:"time_backwards" yaml:"time_backwards"`
	} `json:"inputs" yaml:"inputs"`
	Connections []struct {
		Start     string  `json:"start" yaml:"start"`
		DurationS float64 `json:"duration_s" yaml:"duration_s"`
		ConnState string  `json:"conn_state" yaml:"conn_state"`
		Handshake struct {
			RTTS *float64 `json:"rtt_s" yaml:"rtt_s"`
		} `json:"handshake" yaml:"handshake"`
		Findings []struct {
			Kind      string   `json:"kind" yaml:"kind"`
			DurationS *float64 `json:"duration_s" yaml:"duration_s"`
		} `json:"findings" yaml:"findings"`
		Timeline []struct {
			Time string `json:"time" yaml:"time"`
		} `json:"timeline" yaml:"timeline"`
	} `json:"connections" yaml:"connections"`
	Summary struct {
		CaptureStart  string     `json:"capture_start" yaml:"capture_start"`
		CaptureEnd    string     `json:"capture_end" yaml:"capture_end"`
		TimeBackwards *backwards `json:"time_backwards" yaml:"time_backwards"`
		HandshakeRTT  struct {
			MinS float64 `json:"min_s" yaml:"min_s"`
			MaxS float64 `json:"max_s" yaml:"max_s"`
		} `json:"handshake_rtt" yaml:"handshake_rtt"`
	} `json:"summary" yaml:"summary"`
}

type backwards struct {
	Count      uint64  `json:"count" yaml:"count"`
	MaxJumpS   float64 `json:"max_jump_s" yaml:"max_jump_s"`
	FirstFrame uint64  `json:"first_frame" yaml:"first_frame"`
	FirstInput string  `json:"first_input" yaml:"first_input"`
}

// TestTimeBackwards runs the capture through analyze in every format.
func TestTimeBackwards(t *testing.T) {
	for _, f := range []pcapgen.Format{{}, {NG: true, Nanos: true}} {
		t.Run(f.String(), func(t *testing.T) { testTimeBackwards(t, writeBackwardsPcap(t, f)) })
	}
}

func testTimeBackwards(t *testing.T, file string) {
	jump := t2106.Add(8 * time.Millisecond).Sub(t1970).Seconds() // frame 9 to frame 10
	for _, format := range []string{"json", "yaml"} {
		code, out, errOut := runCmd(t, nil, "analyze", "--format", format, file)
		if code != 0 {
			t.Fatalf("%s: exit %d, want 0: %s", format, code, errOut)
		}
		var doc backwardsDoc
		var err error
		if format == "json" {
			err = json.Unmarshal([]byte(out), &doc)
		} else {
			err = yaml.Unmarshal([]byte(out), &doc)
		}
		if err != nil || len(doc.Connections) != 1 || len(doc.Inputs) != 1 {
			t.Fatalf("%s: %v, %d connections, %d inputs:\n%s", format, err, len(doc.Connections), len(doc.Inputs), out)
		}
		// The connection's clock holds at its latest time: frame 3 counts
		// at frame 2's time, frame 10 at frame 9's. It lasted 8 ms, and the
		// handshake took 1 ms, SYN to the ACK held at the SYN-ACK's time.
		c := doc.Connections[0]
		if c.Start != "2106-02-07T06:28:14.000000Z" || c.DurationS != 0.008 || c.ConnState != "SF" {
			t.Errorf("%s: start %s, duration %v s, %s; want 2106-02-07T06:28:14.000000Z, 0.008 s, SF", format, c.Start, c.DurationS, c.ConnState)
		}
		if c.Handshake.RTTS == nil || *c.Handshake.RTTS != 0.001 {
			t.Errorf("%s: handshake RTT %v, want 0.001 s", format, c.Handshake.RTTS)
		}
		for _, fi := range c.Findings {
			if fi.DurationS != nil && *fi.DurationS < 0 {
				t.Errorf("%s: finding %s lasted %v s", format, fi.Kind, *fi.DurationS)
			}
		}
		if r := doc.Summary.HandshakeRTT; r.MinS != 0.001 || r.MaxS != 0.001 {
			t.Errorf("%s: summary RTT min %v max %v, want 0.001", format, r.MinS, r.MaxS)
		}
		// The capture spans 1970 to 2106: its start is the earliest frame,
		// its end the latest, never before it.
		s := doc.Summary
		if s.CaptureStart != "1970-01-01T00:00:01.000000Z" || s.CaptureEnd != "2106-02-07T06:28:14.008000Z" {
			t.Errorf("%s: capture %s to %s", format, s.CaptureStart, s.CaptureEnd)
		}
		want := backwards{Count: 2, MaxJumpS: jump, FirstFrame: 3, FirstInput: file}
		if s.TimeBackwards == nil || *s.TimeBackwards != want {
			t.Errorf("%s: summary time_backwards %+v, want %+v", format, s.TimeBackwards, want)
		}
		in := doc.Inputs[0]
		want.FirstInput = ""
		if in.TimeBackwards == nil || *in.TimeBackwards != want || in.CaptureStart != s.CaptureStart || in.CaptureEnd != s.CaptureEnd {
			t.Errorf("%s: input %+v, time_backwards %+v; want %+v", format, in, in.TimeBackwards, want)
		}
	}

	code, out, errOut := runCmd(t, nil, "analyze", "--format", "jsonl", file)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var sum struct {
		Type          string     `json:"type"`
		TimeBackwards *backwards `json:"time_backwards"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); code != 0 || err != nil || sum.Type != "summary" ||
		sum.TimeBackwards == nil || sum.TimeBackwards.Count != 2 || sum.TimeBackwards.FirstFrame != 3 {
		t.Errorf("jsonl: exit %d, %v, summary %+v: %s", code, err, sum, errOut)
	}

	warning := "clock:      time went backwards: 2 frames are stamped earlier than the frame before (by up to 136y70d, first at frame 3 of " +
		file + "); each connection's clock was held at its latest time, so no duration or RTT is negative\n"
	code, out, _ = runCmd(t, nil, "analyze", "--color", "never", file)
	if code != 0 || !strings.Contains(flat(out), flat(warning)) || // wrapped at the width
		!strings.HasPrefix(out[strings.Index(out, "\nclock:")+1:], "clock:      time went backwards") ||
		!strings.Contains(out, "1970-01-01 00:00:01.000000 → 2106-02-07 06:28:14.008000 UTC (136y70d)") {
		t.Errorf("text: exit %d, want the span and the warning %q:\n%s", code, warning, out)
	}

	code, out, _ = runCmd(t, nil, "analyze", "--format", "html", file)
	if code != 0 || !strings.Contains(out, "time went backwards: 2 frames are stamped earlier than the frame before") {
		t.Errorf("html: exit %d, no warning about the clock", code)
	}

	// Zeek's conn.log: the connection's ts and a positive duration (8 ms).
	code, out, _ = runCmd(t, nil, "analyze", "--format", "zeek", file)
	var rows int
	for _, l := range strings.Split(out, "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		rows++
		f := strings.Split(l, "\t")
		if len(f) < 9 || f[0] != "4294967294.000000" || f[8] != "0.008000" {
			t.Errorf("zeek: ts %q duration %q, want 4294967294.000000 and 0.008000:\n%s", f[0], f[8], l)
		}
	}
	if code != 0 || rows != 1 || !strings.Contains(out, "#close\t2106-02-07-06-28-14\n") {
		t.Errorf("zeek: exit %d, %d rows, want 1 and #close at 2106:\n%s", code, rows, out)
	}

	// check holds the trace to the starter policy: a normal connection
	// passes, and the report still warns about the clock.
	code, out, _ = runCmd(t, nil, "check", "--policy", starterPolicy(t), "--color", "never", file)
	out = strings.Join(strings.Fields(out), " ") // the text output wraps
	if code != 0 || !strings.Contains(out, "CLOCK time went backwards: 2 frames are stamped earlier than the frame before (by up to 136y70d, first at frame 3 of "+file+")") {
		t.Errorf("check: exit %d, want a pass that warns about the clock:\n%s", code, out)
	}
	code, out, _ = runCmd(t, nil, "check", "--policy", starterPolicy(t), "--format", "github", file)
	if code != 0 || !strings.Contains(out, "::warning file="+file+",title=tcpflow-check clock::time went backwards: 2 frames are stamped earlier") {
		t.Errorf("check --format github: exit %d, want a warning annotation about the clock:\n%s", code, out)
	}
	code, out, _ = runCmd(t, nil, "check", "--policy", starterPolicy(t), "--format", "json", file)
	var verdict struct {
		Inputs []struct {
			TimeBackwards *backwards `json:"time_backwards"`
		} `json:"inputs"`
	}
	if err := json.Unmarshal([]byte(out), &verdict); code != 0 || err != nil || len(verdict.Inputs) != 1 ||
		verdict.Inputs[0].TimeBackwards == nil || verdict.Inputs[0].TimeBackwards.Count != 2 {
		t.Errorf("check --format json: exit %d, %v, want time_backwards in the input:\n%s", code, err, out)
	}
}

// TestTimePastRFC3339: a pcapng whose timestamps are near 2⁶³ µs, in the
// year 294247. RFC 3339 cannot write them: every format prints seconds
// since the epoch instead, and durations stay exact.
func TestTimePastRFC3339(t *testing.T) {
	start := time.UnixMicro(math.MaxInt64 - 1_000_000) // 9223372036853.775807 s
	c := pcapgen.NewConv(pcapgen.CraftedClient, pcapgen.CraftedServer, 1000, 5000, start)
	c.Normal(100, 1000)
	file := filepath.Join(t.TempDir(), "far.pcapng")
	out, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := pcapgen.Write(out, pcapgen.Format{NG: true}, pcapgen.Ethernet, c.Segs); err != nil {
		t.Fatal(err)
	}
	out.Close()
	const first, last = "9223372036853.775807", "9223372036853.784807"

	for _, format := range []string{"json", "yaml"} {
		code, out, errOut := runCmd(t, nil, "analyze", "--format", format, "--timeline", file)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", format, code, errOut)
		}
		var doc backwardsDoc
		if format == "json" {
			err = json.Unmarshal([]byte(out), &doc)
		} else {
			err = yaml.Unmarshal([]byte(out), &doc)
		}
		if err != nil || len(doc.Connections) != 1 {
			t.Fatalf("%s: %v:\n%s", format, err, out)
		}
		cn := doc.Connections[0]
		if cn.Start != first || cn.DurationS != 0.009 || cn.Handshake.RTTS == nil || *cn.Handshake.RTTS != 0.002 ||
			len(cn.Timeline) != 10 || cn.Timeline[9].Time != last {
			t.Errorf("%s: connection %+v, want start %s, 9 ms, RTT 2 ms, last step at %s", format, cn, first, last)
		}
		if s := doc.Summary; s.CaptureStart != first || s.CaptureEnd != last {
			t.Errorf("%s: capture %s to %s, want %s to %s", format, s.CaptureStart, s.CaptureEnd, first, last)
		}
	}

	code, text, _ := runCmd(t, nil, "analyze", "--color", "never", file)
	if code != 0 || !strings.Contains(text, "@"+first+" → @"+last+" UTC (9ms)") || strings.Contains(text, "294247") {
		t.Errorf("text: exit %d, want the span @%s → @%s:\n%s", code, first, last, text)
	}
	code, ladder, _ := runCmd(t, nil, "ladder", "--color", "never", file)
	if code != 0 || !strings.Contains(ladder, "start "+first+" · duration 9ms") || !strings.Contains(ladder, "10  0.009000") {
		t.Errorf("ladder: exit %d, want the start in seconds and exact offsets:\n%s", code, ladder)
	}
	code, html, _ := runCmd(t, nil, "analyze", "--format", "html", file)
	if code != 0 || !strings.Contains(html, "@"+first+" → @"+last+" UTC") || strings.Contains(html, "294247") {
		t.Errorf("html: exit %d, want the span in seconds", code)
	}
	code, zeek, _ := runCmd(t, nil, "analyze", "--format", "zeek", file)
	if code != 0 || !strings.Contains(zeek, "\n"+first+"\t") || !strings.Contains(zeek, "\t0.008000\t") ||
		!strings.Contains(zeek, "#open\t"+first+"\n") || !strings.Contains(zeek, "#close\t"+last+"\n") {
		t.Errorf("zeek: exit %d, want ts %s, duration 0.008000 (Zeek stops the clock at the second FIN), #open and #close in seconds:\n%s", code, first, zeek)
	}
}
