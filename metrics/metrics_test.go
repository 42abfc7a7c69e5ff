package metrics_test

import (
	"io"
	"math"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/segtest"
	"github.com/tcpflow-check/tcpflow-check/metrics"
)

// recorder is the next sink: what the Exporter must have counted.
type recorder struct {
	kinds  map[string]int
	states []string
}

func (r *recorder) Finding(_ *analyze.Conn, f *analyze.Finding) { r.kinds[string(f.Kind)]++ }
func (r *recorder) End(c *analyze.Conn)                         { r.states = append(r.states, c.ConnState) }

// scripts: a connection that completes its handshake in 2ms, sends data
// and closes (SF), and one refused by a RST (REJ).
func scripts() (open, closing, refused []capture.Segment) {
	a := segtest.New()
	a.Handshake().C("PA", 1, 1, 100).S("A", 1, 101, 0)
	open = append(open, a.Segments()...)
	a.C("FA", 101, 1, 0).S("FA", 1, 102, 0).C("A", 102, 2, 0)
	closing = a.Segments()[len(open):]
	b := segtest.New()
	b.Client = netip.MustParseAddrPort("192.0.2.1:40001")
	b.Now = a.Now.Add(time.Second)
	b.C("S", 0, 0, 0).S("RA", 0, 1, 0)
	return open, closing, b.Segments()
}

func TestExporter(t *testing.T) {
	x := metrics.New()
	rec := &recorder{kinds: map[string]int{}}
	an := analyze.New(nil, x.Sink(rec))
	open, closing, refused := scripts()
	for i := range open {
		an.Add(&open[i])
	}
	x.Update(&capture.Stats{Packets: 7, Dropped: 1}, an)
	if got := gauge(t, x, "tcpflow_tracked_connections", ""); got != 1 {
		t.Errorf("tracked while open = %v, want 1", got)
	}
	if got := gauge(t, x, "tcpflow_open_connections", analyze.Established.String()); got != 2 {
		t.Errorf("open ESTABLISHED peers = %v, want 2 (client and server)", got)
	}
	for i := range closing {
		an.Add(&closing[i])
	}
	// The exchange is over: the connection is no longer open, though its
	// client is in TIME_WAIT and its record waits 2·MSL.
	x.Update(nil, an)
	if got := gauge(t, x, "tcpflow_open_connections", analyze.TimeWait.String()); got != 0 {
		t.Errorf("open TIME_WAIT peers once the exchange is over = %v, want 0", got)
	}
	if got := gauge(t, x, "tcpflow_time_wait_connections", ""); got != 1 {
		t.Errorf("time_wait connections = %v, want 1", got)
	}
	// Past the close linger, long before 2·MSL: counted by conn_state,
	// though no record has been emitted yet.
	an.Advance(closing[len(closing)-1].Time.Add(6 * time.Second))
	var sf float64
	for _, m := range family(t, x, "tcpflow_connections_total").GetMetric() {
		if label(m, "conn_state") == "SF" {
			sf = m.GetCounter().GetValue()
		}
	}
	if n := sf; n != 1 {
		t.Errorf(`connections_total{conn_state="SF"} = %v before the record is emitted, want 1`, n)
	}
	if len(rec.states) != 0 {
		t.Fatalf("records emitted before 2·MSL: %v", rec.states)
	}
	for i := range refused {
		an.Add(&refused[i])
	}
	an.Finish(refused[len(refused)-1].Time.Add(time.Minute))
	x.Update(&capture.Stats{Packets: 12, Dropped: 3, IfDropped: 2}, an)
	x.Update(&capture.Stats{Packets: 12, Dropped: 3, IfDropped: 2}, an) // again: counters add only what is new

	segs := len(open) + len(closing) + len(refused)
	want := `
# HELP tcpflow_connections_total Connections over, by Zeek conn_state: counted when the connection is over (both FINs acknowledged or a reset, after the close linger; a timeout), not when the record is emitted after TIME_WAIT.
# TYPE tcpflow_connections_total counter
tcpflow_connections_total{conn_state="REJ"} 1
tcpflow_connections_total{conn_state="SF"} 1
# HELP tcpflow_packets_total Frames captured (after the BPF filter).
# TYPE tcpflow_packets_total counter
tcpflow_packets_total 12
# HELP tcpflow_kernel_drops_total Frames the kernel dropped because the capture did not keep up (libpcap ps_drop).
# TYPE tcpflow_kernel_drops_total counter
tcpflow_kernel_drops_total 3
# HELP tcpflow_interface_drops_total Frames the interface or its driver dropped (libpcap ps_ifdrop).
# TYPE tcpflow_interface_drops_total counter
tcpflow_interface_drops_total 2
# HELP tcpflow_segments_total TCP segments analyzed.
# TYPE tcpflow_segments_total counter
tcpflow_segments_total ` + strconv.Itoa(segs) + `
# HELP tcpflow_tracked_connections Connections being tracked now.
# TYPE tcpflow_tracked_connections gauge
tcpflow_tracked_connections 0
`
	if err := testutil.GatherAndCompare(x.Registry(), strings.NewReader(want),
		"tcpflow_connections_total", "tcpflow_packets_total", "tcpflow_kernel_drops_total",
		"tcpflow_interface_drops_total", "tcpflow_segments_total", "tcpflow_tracked_connections"); err != nil {
		t.Error(err)
	}
	if got := gauge(t, x, "tcpflow_open_connections", analyze.Established.String()); got != 0 {
		t.Errorf("open ESTABLISHED peers after the end = %v, want 0", got)
	}

	// Findings: each kind the analyzer reported, as often as it did.
	got := map[string]float64{}
	for _, m := range family(t, x, "tcpflow_findings_total").GetMetric() {
		got[label(m, "kind")] = m.GetCounter().GetValue()
	}
	if len(rec.kinds) == 0 {
		t.Fatal("the scripts produced no finding: the test proves nothing about the findings counter")
	}
	for k, n := range rec.kinds {
		if got[k] != float64(n) {
			t.Errorf("findings{kind=%q} = %v, want %d", k, got[k], n)
		}
	}
	if len(got) != len(rec.kinds) {
		t.Errorf("findings by kind %v, the analyzer reported %v", got, rec.kinds)
	}

	// The one complete handshake took 2ms.
	h := family(t, x, "tcpflow_handshake_rtt_seconds").GetMetric()[0].GetHistogram()
	if h.GetSampleCount() != 1 || math.Abs(h.GetSampleSum()-0.002) > 1e-9 {
		t.Errorf("handshake RTT histogram: %d samples, sum %v; want 1 of 0.002s", h.GetSampleCount(), h.GetSampleSum())
	}
	for _, m := range family(t, x, "tcpflow_connections_ended_early_total").GetMetric() {
		if v := m.GetCounter().GetValue(); v != 0 {
			t.Errorf("ended early (%s) = %v, want 0", label(m, "reason"), v)
		}
	}
	if len(rec.states) != 2 {
		t.Errorf("the next sink saw %d ends, want 2: %v", len(rec.states), rec.states)
	}
}

// TestHandlerScrape serves the metrics over HTTP and reads them back as
// Prometheus would.
func TestHandlerScrape(t *testing.T) {
	x := metrics.New()
	an := analyze.New(nil, x.Sink(nil))
	open, closing, refused := scripts()
	for _, s := range [][]capture.Segment{open, closing, refused} {
		for i := range s {
			an.Add(&s[i])
		}
	}
	an.Finish(refused[len(refused)-1].Time.Add(time.Minute))
	x.Update(&capture.Stats{Packets: 5}, an)
	srv := httptest.NewServer(x.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, line := range []string{
		`tcpflow_connections_total{conn_state="SF"} 1`,
		`tcpflow_connections_total{conn_state="REJ"} 1`,
		`tcpflow_packets_total 5`,
		`tcpflow_handshake_rtt_seconds_count 1`,
		`tcpflow_connections_ended_early_total{reason="cap"} 0`,
		`go_goroutines `,
	} {
		if !strings.Contains(string(body), line) {
			t.Errorf("scrape lacks %q", line)
		}
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
}

// TestMetricNames lints the exporter's own metrics with Prometheus' rules.
func TestMetricNames(t *testing.T) {
	x := metrics.New()
	an := analyze.New(nil, x.Sink(nil))
	x.Update(&capture.Stats{}, an)
	problems, err := testutil.GatherAndLint(x.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "tcpflow_") {
			t.Errorf("%s: %s", p.Metric, p.Text)
		}
	}
	if n, err := testutil.GatherAndCount(x.Registry(), "tcpflow_open_connections"); err != nil || n != int(analyze.TimeWait)+1 {
		t.Errorf("open-connection gauges: %d (%v), want one per state, %d", n, err, analyze.TimeWait+1)
	}
}

func family(t *testing.T, x *metrics.Exporter, name string) *dto.MetricFamily {
	t.Helper()
	fams, err := x.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name {
			return f
		}
	}
	t.Fatalf("no metric %s", name)
	return nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// gauge returns the value of the gauge name (with the one label value lv, or none).
func gauge(t *testing.T, x *metrics.Exporter, name, lv string) float64 {
	t.Helper()
	for _, m := range family(t, x, name).GetMetric() {
		if lv == "" || len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == lv {
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no %s{%q}", name, lv)
	return 0
}

// TestFragmentCounters: IP fragment reassembly's counts reach their
// counters as they grow, each result under its label.
func TestFragmentCounters(t *testing.T) {
	x := metrics.New()
	cs := &capture.Stats{Fragments: capture.FragmentStats{Fragments: 5, Reassembled: 1, Timeout: 1}}
	x.Update(cs, nil)
	cs.Fragments.Fragments, cs.Fragments.Reassembled, cs.Fragments.Unfinished = 9, 2, 1
	x.Update(cs, nil)
	want := `# HELP tcpflow_ip_fragment_datagrams_total Datagrams that came in IP fragments, by what became of them: reassembled, or given up (timeout, limit, invalid, unfinished at the end).
# TYPE tcpflow_ip_fragment_datagrams_total counter
tcpflow_ip_fragment_datagrams_total{result="invalid"} 0
tcpflow_ip_fragment_datagrams_total{result="limit"} 0
tcpflow_ip_fragment_datagrams_total{result="reassembled"} 2
tcpflow_ip_fragment_datagrams_total{result="timeout"} 1
tcpflow_ip_fragment_datagrams_total{result="unfinished"} 1
# HELP tcpflow_ip_fragments_total IP fragments read (reassembled before TCP).
# TYPE tcpflow_ip_fragments_total counter
tcpflow_ip_fragments_total 9
`
	if err := testutil.GatherAndCompare(x.Registry(), strings.NewReader(want),
		"tcpflow_ip_fragments_total", "tcpflow_ip_fragment_datagrams_total"); err != nil {
		t.Error(err)
	}
}
