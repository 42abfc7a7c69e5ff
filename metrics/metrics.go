package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/capture"
)

// Exporter holds the metrics of one live analysis and serves them. Its
// Sink and Update must be called from the goroutine that owns the
// analyzer; Handler may be served from any other.
type Exporter struct {
	reg      *prometheus.Registry
	findings *prometheus.CounterVec
	conns    *prometheus.CounterVec
	ended    *prometheus.CounterVec
	packets  prometheus.Counter
	segments prometheus.Counter
	drops    prometheus.Counter
	ifDrops  prometheus.Counter
	frags    prometheus.Counter
	grams    *prometheus.CounterVec
	rtt      prometheus.Histogram
	open     *prometheus.GaugeVec
	timeWait prometheus.Gauge
	tracked  prometheus.Gauge

	last struct {
		packets, segments, drops, ifDrops, idle, capHit, memoryHit uint64
		frags                                                      uint64
		grams                                                      [len(datagramResults)]uint64
	}
}

// Analysis is what Update reads of the analysis: its counters and the
// connections it tracks (an *analyze.Analyzer, or a *shard.Analyzer).
type Analysis interface {
	Stats() *analyze.Stats
	Open() int
}

// OpenStater is what an analyzer offers to count its open connections per
// peer state: fn is called once per connection whose exchange is not over
// with both peers' current states, and TimeWait counts the connections
// over but for a peer in TIME_WAIT. Update uses it when the analyzer has it.
type OpenStater interface {
	OpenStates(fn func(client, server analyze.State))
	TimeWait() int
}

// New returns an Exporter with its metrics registered (with the Go runtime
// and process collectors).
func New() *Exporter {
	x := &Exporter{
		reg: prometheus.NewRegistry(),
		findings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tcpflow_findings_total", Help: "Findings reported, by kind.",
		}, []string{"kind"}),
		conns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tcpflow_connections_total", Help: "Connections over, by Zeek conn_state: counted when the connection is over (both FINs acknowledged or a reset, after the close linger; a timeout), not when the record is emitted after TIME_WAIT.",
		}, []string{"conn_state"}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tcpflow_connections_ended_early_total", Help: "Connections ended before they closed, to bound memory: idle past --idle-timeout, or the idlest one when --max-conns or --max-memory was reached.",
		}, []string{"reason"}),
		packets: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tcpflow_packets_total", Help: "Frames captured (after the BPF filter).",
		}),
		segments: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tcpflow_segments_total", Help: "TCP segments analyzed.",
		}),
		drops: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tcpflow_kernel_drops_total", Help: "Frames the kernel dropped because the capture did not keep up (libpcap ps_drop).",
		}),
		ifDrops: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tcpflow_interface_drops_total", Help: "Frames the interface or its driver dropped (libpcap ps_ifdrop).",
		}),
		frags: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tcpflow_ip_fragments_total", Help: "IP fragments read (reassembled before TCP).",
		}),
		grams: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tcpflow_ip_fragment_datagrams_total", Help: "Datagrams that came in IP fragments, by what became of them: reassembled, or given up (timeout, limit, invalid, unfinished at the end).",
		}, []string{"result"}),
		rtt: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tcpflow_handshake_rtt_seconds",
			Help:    "Handshake round-trip time of complete handshakes, SYN to the ACK completing it, as seen at the capture point.",
			Buckets: prometheus.ExponentialBuckets(10e-6, 4, 12), // 10µs .. 42s
		}),
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tcpflow_open_connections", Help: "Peers of the connections whose exchange is not over, by inferred RFC 9293 state (each connection counts twice: client and server). A connection leaves it when both FINs are acknowledged or a reset ends it.",
		}, []string{"state"}),
		timeWait: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tcpflow_time_wait_connections", Help: "Connections over but for a peer in TIME_WAIT, whose record waits for 2·MSL of capture time.",
		}),
		tracked: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tcpflow_tracked_connections", Help: "Connections being tracked now.",
		}),
	}
	x.reg.MustRegister(x.findings, x.conns, x.ended, x.packets, x.segments, x.drops, x.ifDrops, x.frags, x.grams, x.rtt, x.open, x.timeWait, x.tracked,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, r := range []string{"idle", "cap", "memory"} {
		x.ended.WithLabelValues(r)
	}
	for _, r := range datagramResults {
		x.grams.WithLabelValues(r)
	}
	return x
}

// datagramResults are the results tcpflow_ip_fragment_datagrams_total counts.
var datagramResults = [...]string{"reassembled", "timeout", "limit", "invalid", "unfinished"}

// Registry returns the registry the metrics are in.
func (x *Exporter) Registry() *prometheus.Registry { return x.reg }

// Handler serves the metrics in the Prometheus exposition format.
func (x *Exporter) Handler() http.Handler {
	return promhttp.HandlerFor(x.reg, promhttp.HandlerOpts{Registry: x.reg})
}

// Sink returns an analyze.Sink that counts what passes through it and
// hands everything on to next (which may be nil).
func (x *Exporter) Sink(next analyze.Sink) analyze.Sink { return &sink{x: x, next: next} }

type sink struct {
	x    *Exporter
	next analyze.Sink
}

func (s *sink) Finding(c *analyze.Conn, f *analyze.Finding) {
	s.x.findings.WithLabelValues(string(f.Kind)).Inc()
	if s.next != nil {
		s.next.Finding(c, f)
	}
}

func (s *sink) End(c *analyze.Conn) {
	if s.next != nil {
		s.next.End(c)
	}
}

// Handshake observes the handshake RTT the moment the handshake completes.
func (s *sink) Handshake(rtt time.Duration) {
	s.x.rtt.Observe(rtt.Seconds())
	if es, ok := s.next.(analyze.EventSink); ok {
		es.Handshake(rtt)
	}
}

// Over counts the connection by conn_state the moment it is over, not
// when its record comes out of TIME_WAIT.
func (s *sink) Over(c *analyze.Conn) {
	if c.ConnState != "" {
		s.x.conns.WithLabelValues(c.ConnState).Inc()
	}
	if es, ok := s.next.(analyze.EventSink); ok {
		es.Over(c)
	}
}

// Update brings the counters and gauges up to date with the capture's
// and the analyzer's counters; call it now and then (live mode does at
// every tick of its clock) and once at the end.
func (x *Exporter) Update(cs *capture.Stats, an Analysis) {
	add := func(c prometheus.Counter, last *uint64, now uint64) {
		if now > *last {
			c.Add(float64(now - *last))
		}
		*last = now
	}
	if cs != nil {
		add(x.packets, &x.last.packets, cs.Packets)
		add(x.drops, &x.last.drops, cs.Dropped)
		add(x.ifDrops, &x.last.ifDrops, cs.IfDropped)
		f := &cs.Fragments
		add(x.frags, &x.last.frags, f.Fragments)
		for i, n := range [len(datagramResults)]uint64{f.Reassembled, f.Timeout, f.Limit, f.Invalid, f.Unfinished} {
			add(x.grams.WithLabelValues(datagramResults[i]), &x.last.grams[i], n)
		}
	}
	if an == nil {
		return
	}
	st := an.Stats()
	add(x.segments, &x.last.segments, st.Segments)
	add(x.ended.WithLabelValues("idle"), &x.last.idle, st.IdleEvicted)
	add(x.ended.WithLabelValues("cap"), &x.last.capHit, st.CapHit)
	add(x.ended.WithLabelValues("memory"), &x.last.memoryHit, st.MemoryHit)
	x.tracked.Set(float64(an.Open()))
	if os, ok := any(an).(OpenStater); ok {
		var n [analyze.TimeWait + 1]int
		os.OpenStates(func(c, s analyze.State) {
			if int(c) < len(n) {
				n[c]++
			}
			if int(s) < len(n) {
				n[s]++
			}
		})
		for i, v := range n {
			x.open.WithLabelValues(analyze.State(i).String()).Set(float64(v))
		}
		x.timeWait.Set(float64(os.TimeWait()))
	}
}
