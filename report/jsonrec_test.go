package report

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/capture"
)

// TestAppendRecordMatchesEncodingJSON holds the hand-written record encoder
// to what encoding/json writes of NewRecord, byte for byte: over every
// connection of the bundled captures (with and without the timeline) and
// over records whose strings, numbers and addresses are chosen to hit every
// escape, float format and empty field.
func TestAppendRecordMatchesEncodingJSON(t *testing.T) {
	paths := realCaptures(t)
	_, conns := analyzeHTML(t, paths...)
	if len(conns) < 20 {
		t.Fatalf("only %d connections from %d captures", len(conns), len(paths))
	}
	conns = append(conns, allConns()...)
	conns = append(conns, oddConns()...)
	// and with a memo, which the records one after the other share
	// their input, evidence and seconds with, or not
	var memo [2]recMemo
	for _, c := range conns {
		for i, timeline := range []bool{false, true} {
			var want bytes.Buffer
			if err := encodeJSON(&want, NewRecord(c, timeline)); err != nil {
				t.Fatal(err)
			}
			got := appendRecord(nil, c, timeline)
			if !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("connection %d (timeline %v):\nencoding/json: %s\nappendRecord:  %s", c.ID, timeline, want.Bytes(), got)
			}
			for range 2 {
				if got := memo[i].appendRecord(nil, c, timeline); !bytes.Equal(got, want.Bytes()) {
					t.Fatalf("connection %d (timeline %v):\nencoding/json: %s\nremembering:   %s", c.ID, timeline, want.Bytes(), got)
				}
			}
		}
	}
}

// oddConns are records with what real captures rarely hold: strings with
// quotes, control characters, HTML, invalid UTF-8 and line separators;
// durations of nanoseconds and of centuries, negative ones; addresses
// invalid, zoned and IPv4-mapped; no handshake options at all.
func oddConns() []*analyze.Conn {
	odd := "quote \" backslash \\ nl \n cr \r tab \t bs \b ff \f nul \x00 esc \x1b del \x7f <a href='x'>&amp;</a> µs → \u2028\u2029 bad \xff\xfe end"
	t0 := time.Date(2024, 3, 1, 12, 0, 0, 123456789, time.UTC)
	var out []*analyze.Conn
	durs := []time.Duration{0, 1, 999, time.Microsecond, 1500 * time.Nanosecond, 123456789, -5 * time.Second,
		time.Duration(math.MaxInt64), time.Duration(math.MinInt64), 3 * time.Second}
	addrs := []netip.AddrPort{{}, netip.MustParseAddrPort("[fe80::1%eth0]:80"), netip.MustParseAddrPort("[::ffff:10.0.0.1]:443"),
		netip.MustParseAddrPort("10.0.0.1:0"), netip.MustParseAddrPort("[2001:db8::1]:65535")}
	for i, d := range durs {
		c := &analyze.Conn{
			ID: uint64(i) + 1<<60, Input: odd, Client: addrs[i%len(addrs)], Server: addrs[(i+1)%len(addrs)],
			FirstFrame: uint64(i), LastFrame: math.MaxUint64, Start: t0.Add(time.Duration(i) * time.Microsecond), End: t0.Add(d),
			ClientState: analyze.State(i), ServerState: analyze.State(200), ConnState: odd[:i], History: odd[i:],
			Midstream: i%2 == 0, RolesGuessed: i%3 == 0, ClientBytes: uint64(d), ServerBytes: math.MaxUint64,
			ClientPackets: uint64(i), ServerPackets: 0,
			Handshake: analyze.Handshake{Complete: i%2 == 1, RTT: d, HasRTT: i%2 == 0, SYNCount: -i, SYNACKCount: i,
				MSS: [2]uint16{uint16(i), 0}, WScale: [2]int8{int8(i - 1), -1}, SACK: i%4 == 0},
		}
		if i%2 == 0 {
			c.EndedEarly = odd[i*3:]
		}
		for j := range i % 4 {
			c.Findings = append(c.Findings, analyze.Finding{Kind: analyze.Kind(odd[j:]), Severity: analyze.Severity(j),
				Frames: make([]uint64, j), Time: t0.Add(-d), Duration: d * time.Duration(j), HasDuration: j%2 == 1,
				Evidence: odd[j*5:], By: odd[:j]})
		}
		for j := range i % 3 {
			c.Timeline = append(c.Timeline, analyze.Step{Frame: uint64(j), Time: t0.Add(d), Dir: analyze.Dir(j % 2),
				Flags: capture.Flags(j * 37), Seq: math.MaxUint32, Ack: uint32(j), Len: uint32(i), Window: math.MaxUint16,
				ClientState: analyze.State(j), ServerState: analyze.State(j + 3), Note: odd[:j*7]})
		}
		out = append(out, c)
	}
	return out
}

// TestAppendQuotedMatchesEncodingJSON: the string encoder, with and
// without HTML escaping, against encoding/json on every byte and on the
// runes it treats apart.
func TestAppendQuotedMatchesEncodingJSON(t *testing.T) {
	var strs []string
	for b := range 256 {
		strs = append(strs, string([]byte{byte(b)}), "a"+string([]byte{byte(b)})+"z")
	}
	strs = append(strs, "", "µs", "→", "\u2028", "\u2029", "\U0001F600", "\xe2\x80", "\xed\xa0\x80", "<script>&</script>")
	for _, s := range strs {
		for _, html := range []bool{false, true} {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(html)
			if err := enc.Encode(s); err != nil {
				t.Fatal(err)
			}
			got := appendQuoted(nil, s, html)
			if w := bytes.TrimSuffix(want.Bytes(), []byte("\n")); !bytes.Equal(got, w) {
				t.Errorf("%q (html %v): encoding/json %s, appendQuoted %s", s, html, w, got)
			}
		}
	}
}

// BenchmarkRecordJSON is one connection's jsonl record: encoding/json of
// NewRecord against appendRecord.
func BenchmarkRecordJSON(b *testing.B) {
	c := leakConn()
	b.Run("encoding-json", func(b *testing.B) {
		var buf bytes.Buffer
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			if err := encodeJSON(&buf, NewRecord(c, false)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("append", func(b *testing.B) {
		var buf []byte
		b.ReportAllocs()
		for b.Loop() {
			buf = appendRecord(buf[:0], c, false)
		}
	})
}

// TestAppendTimeMatchesFormat: the fast path of appendTime against
// formatTime (timefmt.RFC3339, time.Format's layouts), over years from 0 to beyond 9999, every
// precision, and zones other than UTC.
func TestAppendTimeMatchesFormat(t *testing.T) {
	zone := time.FixedZone("x", -(3*3600 + 1800))
	var times []time.Time
	for _, y := range []int{-1, 0, 1, 9, 99, 999, 1000, 1969, 1970, 2024, 2038, 9999, 10000, 292277026596} {
		for _, ns := range []int{0, 1, 999, 1000, 123456000, 123456789, 999999999} {
			times = append(times, time.Date(y, 12, 31, 23, 59, 59, ns, time.UTC), time.Date(y, 1, 1, 0, 0, 0, ns, zone))
		}
	}
	times = append(times, time.Time{}, time.Unix(0, 0), time.Unix(1<<62, 5), time.Unix(-1<<62, 1000),
		time.Unix(minFastTime, 0), time.Unix(minFastTime-1, 999999999), time.Unix(maxFastTime, 0), time.Unix(maxFastTime-1, 1))
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		ns := rng.IntN(1e9)
		if rng.IntN(2) == 0 {
			ns -= ns % 1000
		}
		times = append(times, time.Unix(minFastTime+rng.Int64N(maxFastTime-minFastTime), int64(ns)))
	}
	var memo recMemo // which has the time before, then this one
	for _, tm := range times {
		want := formatTime(tm)
		if got := string(appendTime(nil, tm)); got != want {
			t.Errorf("%v: appendTime %q, formatTime %q", tm, got, want)
		}
		for range 2 {
			if got := string(memo.appendTime(nil, tm)); got != want {
				t.Errorf("%v: appendTime remembering %q, formatTime %q", tm, got, want)
			}
		}
		// mostly the same second, another fraction
		if tm := tm.Add(time.Microsecond); string(memo.appendTime(nil, tm)) != formatTime(tm) {
			t.Errorf("%v: appendTime remembering %q, formatTime %q", tm, memo.appendTime(nil, tm), formatTime(tm))
		}
	}
}

// TestAppendAddrPort: IPv4 addresses written directly are what netip
// writes, every octet in every place; other addresses go through netip.
func TestAppendAddrPort(t *testing.T) {
	var aps []netip.AddrPort
	for o := range 256 {
		for i := range 4 {
			a := [4]byte{10, 200, 3, 99}
			a[i] = byte(o)
			for _, port := range []uint16{0, 7, 80, 443, 65535} {
				aps = append(aps, netip.AddrPortFrom(netip.AddrFrom4(a), port))
			}
		}
	}
	aps = append(aps, netip.AddrPort{}, netip.MustParseAddrPort("[::ffff:10.0.0.1]:443"), netip.MustParseAddrPort("[fe80::1%eth0]:80"))
	for _, ap := range aps {
		want := `"` + netip.AddrPortFrom(ap.Addr().WithZone(""), ap.Port()).String() + `"`
		if !ap.IsValid() {
			want = `""`
		}
		if got := string(appendAddrPort(nil, ap)); got != want {
			t.Errorf("%v: %s, want %s", ap, got, want)
		}
	}
}
