package zeek

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/segtest"
)

// zseg is one step of a segment script: who sends it, its flags in
// tcpdump's letters ("S", "S.", ".", "P.", "F.", "R.", "R", "SF", ...), seq,
// ack, payload length, window (0 means 1000 unless zeroWin), and whether its
// checksum is bad.
type zseg struct {
	from     byte // 'c' client, 's' server
	flags    string
	seq, ack uint32
	len      uint32
	zeroWin  bool
	bad      bool
	repeat   int // send this many times (0 = once)
	after    time.Duration
	notCaptd bool // payload cut by the snap length
}

var (
	zClientAddr = netip.MustParseAddrPort("10.0.0.1:40000")
	zServerAddr = netip.MustParseAddrPort("10.0.0.2:5555") // not a likely server port
	zHTTPAddr   = netip.MustParseAddrPort("10.0.0.2:80")
)

// zsegments builds the segments of a script between the client and server
// (segtest numbers the frames and keeps the clock; the window is 1000).
func zsegments(server netip.AddrPort, script []zseg) ([]capture.Segment, []bool) {
	sc := segtest.New()
	sc.Client, sc.Server, sc.Window = zClientAddr, server, 1000
	sc.Now = segtest.T0.Add(sc.Step)
	var from []bool
	for _, s := range script {
		for range max(s.repeat, 1) {
			sc.Wait(s.after).Raw(s.from == 'c', segtest.Flags(s.flags), s.seq, s.ack, int(s.len))
			if s.zeroWin {
				sc.Win(0)
			}
			from = append(from, s.from == 'c')
		}
	}
	segs := sc.Segments()
	k := 0
	for _, s := range script {
		for range max(s.repeat, 1) {
			segs[k].BadChecksum = s.bad
			k++
		}
	}
	return segs, from
}

func zrun(server netip.AddrPort, script []zseg) *Tracker {
	segs, from := zsegments(server, script)
	var z Tracker
	k := 0
	for _, s := range script {
		n := max(s.repeat, 1)
		for j := 0; j < n; j++ {
			z.UpdateCaptured(from[k], &segs[k], !s.notCaptd)
			k++
		}
	}
	return &z
}

// Client ISN 1000, server ISN 5000.
var (
	zSYN    = zseg{from: 'c', flags: "S", seq: 1000}
	zSYNACK = zseg{from: 's', flags: "S.", seq: 5000, ack: 1001}
	zACK3   = zseg{from: 'c', flags: ".", seq: 1001, ack: 5001}
)

func zhandshake(rest ...zseg) []zseg {
	return append([]zseg{zSYN, zSYNACK, zACK3}, rest...)
}

func TestTracker(t *testing.T) {
	cases := []struct {
		name      string
		server    netip.AddrPort
		script    []zseg
		state     ConnState
		history   string
		origIsCli bool
	}{
		{name: "S0 lone SYN", script: []zseg{zSYN}, state: "S0", history: "S", origIsCli: true},
		{name: "retransmitted SYN adds no letter", script: []zseg{zSYN, zSYN, zSYN}, state: "S0", history: "S", origIsCli: true},
		{name: "SF normal", script: zhandshake(
			zseg{from: 'c', flags: "P.", seq: 1001, ack: 5001, len: 10},
			zseg{from: 's', flags: ".", seq: 5001, ack: 1011},
			zseg{from: 's', flags: "P.", seq: 5001, ack: 1011, len: 20},
			zseg{from: 'c', flags: ".", seq: 1011, ack: 5021},
			zseg{from: 'c', flags: "F.", seq: 1011, ack: 5021},
			zseg{from: 's', flags: "F.", seq: 5021, ack: 1012},
			zseg{from: 'c', flags: ".", seq: 1012, ack: 5022},
		), state: "SF", history: "ShADadFf", origIsCli: true},
		{name: "REJ", script: []zseg{zSYN, {from: 's', flags: "R.", seq: 0, ack: 1001}}, state: "REJ", history: "Sr", origIsCli: true},
		{name: "S1", script: zhandshake(zseg{from: 'c', flags: "P.", seq: 1001, ack: 5001, len: 5}), state: "S1", history: "ShAD", origIsCli: true},
		{name: "S2 orig closes", script: zhandshake(zseg{from: 'c', flags: "F.", seq: 1001, ack: 5001}), state: "S2", history: "ShAF", origIsCli: true},
		{name: "S3 resp closes", script: zhandshake(zseg{from: 's', flags: "F.", seq: 5001, ack: 1001}), state: "S3", history: "ShAf", origIsCli: true},
		{name: "RSTO", script: zhandshake(zseg{from: 'c', flags: "R", seq: 1001}), state: "RSTO", history: "ShAR", origIsCli: true},
		{name: "RSTR", script: zhandshake(zseg{from: 's', flags: "R.", seq: 5001, ack: 1001}), state: "RSTR", history: "ShAr", origIsCli: true},
		{name: "RSTOS0", script: []zseg{zSYN, {from: 'c', flags: "R", seq: 1001}}, state: "RSTOS0", history: "SR", origIsCli: true},
		{name: "lone RST is OTH", script: []zseg{{from: 'c', flags: "R", seq: 1001}}, state: "OTH", history: "R", origIsCli: true},
		{name: "RSTRH SYN-ACK from a server port then RST", server: zHTTPAddr, script: []zseg{
			zSYNACK, {from: 's', flags: "R", seq: 5001},
		}, state: "RSTRH", history: "^hr", origIsCli: true},
		{name: "SH", script: []zseg{zSYN, {from: 'c', flags: "F", seq: 1001}}, state: "SH", history: "SF", origIsCli: true},
		{name: "SHR", server: zHTTPAddr, script: []zseg{zSYNACK, {from: 's', flags: "F.", seq: 5001, ack: 1001}}, state: "SHR", history: "^hf", origIsCli: true},
		{name: "OTH midstream", script: []zseg{
			{from: 'c', flags: "P.", seq: 1001, ack: 5001, len: 10},
			{from: 's', flags: ".", seq: 5001, ack: 1011},
		}, state: "OTH", history: "Da", origIsCli: true},
		{name: "midstream data from a server port flips at once", server: zHTTPAddr, script: []zseg{
			{from: 's', flags: "P.", seq: 5001, ack: 1001, len: 10},
		}, state: "OTH", history: "^d", origIsCli: true},
		{name: "SYN-ACK first then ACK flips ^h", script: []zseg{zSYNACK, zACK3}, state: "S1", history: "^hA", origIsCli: true},
		{name: "SYN-ACK first then more from the server flips too", script: []zseg{
			zSYNACK, {from: 's', flags: ".", seq: 5001, ack: 1001}, {from: 's', flags: "F.", seq: 5001, ack: 1001},
		}, state: "SHR", history: "^haf", origIsCli: true},
		{name: "SYN-ACK first, bad checksum, ACK: no flip", script: []zseg{
			zSYNACK, {from: 'c', flags: ".", seq: 1001, ack: 5001, bad: true}, {from: 's', flags: ".", seq: 5001, ack: 1001},
		}, state: "OTH", history: "HcA", origIsCli: false},
		{name: "SYN-ACK alone keeps its sender as originator", script: []zseg{zSYNACK}, state: "OTH", history: "H", origIsCli: false},
		{name: "SYN/SYN-ACK reversal", script: []zseg{zSYNACK, zSYN, zACK3}, state: "S1", history: "Hs^A", origIsCli: true},
		{name: "data with FIN is F not D", script: zhandshake(zseg{from: 'c', flags: "FP.", seq: 1001, ack: 5001, len: 5}), state: "S2", history: "ShAF", origIsCli: true},
		{name: "FIN retransmitted adds no letter", script: zhandshake(
			zseg{from: 'c', flags: "F.", seq: 1001, ack: 5001, repeat: 3},
		), state: "S2", history: "ShAF", origIsCli: true},
		{name: "FIN with a new seq adds F again", script: zhandshake(
			zseg{from: 'c', flags: "F.", seq: 1001, ack: 5001},
			zseg{from: 'c', flags: "F.", seq: 1011, ack: 5001},
		), state: "S2", history: "ShAFF", origIsCli: true},
		{name: "RST after both FINs keeps SF", script: zhandshake(
			zseg{from: 'c', flags: "F.", seq: 1001, ack: 5001},
			zseg{from: 's', flags: "F.", seq: 5001, ack: 1002},
			zseg{from: 'c', flags: "R", seq: 1002},
		), state: "SF", history: "ShAFfR", origIsCli: true},
		{name: "RST after own FIN is RSTO", script: zhandshake(
			zseg{from: 'c', flags: "F.", seq: 1001, ack: 5001},
			zseg{from: 'c', flags: "R", seq: 1002},
		), state: "RSTO", history: "ShAFR", origIsCli: true},
		{name: "peer FIN after FIN+RST is a normal close", script: zhandshake(
			zseg{from: 'c', flags: "F.", seq: 1001, ack: 5001},
			zseg{from: 'c', flags: "R", seq: 1002},
			zseg{from: 's', flags: "F.", seq: 5001, ack: 1002},
		), state: "SF", history: "ShAFRf", origIsCli: true},
		{name: "RSTs with different seqs repeat R", script: zhandshake(
			zseg{from: 'c', flags: "R", seq: 1001},
			zseg{from: 'c', flags: "R", seq: 1501},
			zseg{from: 'c', flags: "R", seq: 1501},
		), state: "RSTO", history: "ShARR", origIsCli: true},
		{name: "SYN with a new seq after closing adds S again", script: []zseg{
			zSYN, {from: 'c', flags: "F", seq: 1001}, {from: 'c', flags: "S", seq: 9000},
		}, state: "SH", history: "SFS", origIsCli: true},
		{name: "SYN+FIN is Q", script: []zseg{{from: 'c', flags: "SF", seq: 1000}}, state: "SH", history: "Q", origIsCli: true},
		{name: "FIN+RST is I", script: zhandshake(zseg{from: 'c', flags: "FR.", seq: 1001, ack: 5001}), state: "RSTO", history: "ShAI", origIsCli: true},
		{name: "content gap acked is G", script: zhandshake(
			zseg{from: 'c', flags: "P.", seq: 1001, ack: 5001, len: 10},
			zseg{from: 'c', flags: "P.", seq: 1021, ack: 5001, len: 10},
			zseg{from: 's', flags: ".", seq: 5001, ack: 1031},
		), state: "S1", history: "ShADaG", origIsCli: true},
		{name: "out-of-order data filling the hole is no gap", script: zhandshake(
			zseg{from: 'c', flags: "P.", seq: 1011, ack: 5001, len: 10},
			zseg{from: 'c', flags: "P.", seq: 1001, ack: 5001, len: 10},
			zseg{from: 's', flags: ".", seq: 5001, ack: 1021},
		), state: "S1", history: "ShADTa", origIsCli: true},
		{name: "payload not captured is a gap once acked", script: zhandshake(
			zseg{from: 'c', flags: "P.", seq: 1001, ack: 5001, len: 10, notCaptd: true},
			zseg{from: 's', flags: ".", seq: 5001, ack: 1011},
		), state: "S1", history: "ShADaG", origIsCli: true},
		{name: "simultaneous open", script: []zseg{zSYN, {from: 's', flags: "S", seq: 5000}}, state: "S1", history: "Ss", origIsCli: true},
		{name: "ACK before the SYN-ACK is ignored", script: []zseg{zSYN, {from: 's', flags: ".", seq: 5001, ack: 1001}}, state: "S0", history: "Sa", origIsCli: true},
		{name: "SYN after partial", script: []zseg{
			{from: 'c', flags: "P.", seq: 1001, ack: 5001, len: 10}, {from: 'c', flags: "S", seq: 3000},
		}, state: "S0", history: "DS", origIsCli: true},
		{name: "both reset with nothing sent is REJ", script: []zseg{
			zSYN, {from: 's', flags: "R.", ack: 1001}, {from: 'c', flags: "R", seq: 1001},
		}, state: "REJ", history: "SrR", origIsCli: true},
		{name: "both reset after data is RSTR", script: zhandshake(
			zseg{from: 'c', flags: "P.", seq: 1001, ack: 5001, len: 10},
			zseg{from: 's', flags: "R.", seq: 5001, ack: 1011},
			zseg{from: 'c', flags: "R", seq: 1011},
		), state: "RSTR", history: "ShADrR", origIsCli: true},
		{name: "ack beyond data in a RST is no gap", script: zhandshake(
			zseg{from: 's', flags: "R.", seq: 5001, ack: 1500},
		), state: "RSTR", history: "ShAr", origIsCli: true},
	}
	// Logarithmic letters: 1, 10 and 100 occurrences.
	for _, n := range []int{1, 9, 10, 99, 100} {
		letters := strings.Repeat("T", zlog10(n))
		cases = append(cases, struct {
			name      string
			server    netip.AddrPort
			script    []zseg
			state     ConnState
			history   string
			origIsCli bool
		}{
			name: fmt.Sprintf("%d retransmissions", n),
			script: zhandshake(
				zseg{from: 'c', flags: "P.", seq: 1001, ack: 5001, len: 10},
				zseg{from: 'c', flags: "P.", seq: 1001, ack: 5001, len: 10, repeat: n},
			),
			state: "S1", history: "ShAD" + letters, origIsCli: true,
		}, struct {
			name      string
			server    netip.AddrPort
			script    []zseg
			state     ConnState
			history   string
			origIsCli bool
		}{
			name:   fmt.Sprintf("%d zero windows", n),
			script: zhandshake(zseg{from: 's', flags: ".", seq: 5001, ack: 1001, zeroWin: true, repeat: n}),
			state:  "S1", history: "ShAa" + strings.Repeat("w", zlog10(n)), origIsCli: true,
		}, struct {
			name      string
			server    netip.AddrPort
			script    []zseg
			state     ConnState
			history   string
			origIsCli bool
		}{
			name:   fmt.Sprintf("%d bad checksums", n),
			script: zhandshake(zseg{from: 'c', flags: "P.", seq: 1001, ack: 5001, len: 10, bad: true, repeat: n}),
			state:  "S1", history: "ShA" + strings.Repeat("C", zlog10(n)), origIsCli: true,
		})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			server := tc.server
			if !server.IsValid() {
				server = zServerAddr
			}
			z := zrun(server, tc.script)
			if got := z.ConnState(); got != tc.state {
				t.Errorf("conn_state = %s, want %s", got, tc.state)
			}
			if got := z.History(); got != tc.history {
				t.Errorf("history = %q, want %q", got, tc.history)
			}
			if got := z.OrigIsClient(); got != tc.origIsCli {
				t.Errorf("origIsClient = %v, want %v", got, tc.origIsCli)
			}
		})
	}
}

// zlog10 is how many letters a logarithmic history entry shows for n events.
func zlog10(n int) int {
	k := 0
	for t := 1; t <= n; t *= 10 {
		k++
	}
	return k
}

func TestIsReuse(t *testing.T) {
	cases := []struct {
		name   string
		script []zseg
		next   zseg
		want   bool
	}{
		{"retransmitted SYN", []zseg{zSYN}, zSYN, false},
		{"SYN with a new seq while attempting", []zseg{zSYN}, zseg{from: 'c', flags: "S", seq: 7000}, true},
		{"same SYN after a reject", []zseg{zSYN, {from: 's', flags: "R.", ack: 1001}}, zSYN, true},
		{"new SYN after a clean close", zhandshake(
			zseg{from: 'c', flags: "F.", seq: 1001, ack: 5001},
			zseg{from: 's', flags: "F.", seq: 5001, ack: 1002},
		), zseg{from: 'c', flags: "S", seq: 9000}, true},
		{"data is never reuse", zhandshake(), zseg{from: 'c', flags: "P.", seq: 1001, ack: 5001, len: 3}, false},
		{"SYN-ACK retransmitted", []zseg{zSYN, zSYNACK}, zSYNACK, false},
		{"SYN after SYN-ACK-first is the reversal", []zseg{zSYNACK}, zSYN, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			z := zrun(zServerAddr, tc.script)
			segs, from := zsegments(zServerAddr, []zseg{tc.next})
			if got := z.IsReuse(from[0], &segs[0]); got != tc.want {
				t.Errorf("isReuse = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestExpired(t *testing.T) {
	z := zrun(zServerAddr, []zseg{zSYN})
	t0 := time.Unix(0, z.start)
	if z.Expired(t0.Add(4 * time.Second)) {
		t.Error("unanswered SYN expired before tcp_attempt_delay")
	}
	if !z.Expired(t0.Add(6 * time.Second)) {
		t.Error("unanswered SYN not expired after tcp_attempt_delay")
	}
	z = zrun(zServerAddr, zhandshake(zseg{from: 'c', flags: "P.", seq: 1001, ack: 5001, len: 5}))
	if z.Expired(time.Unix(0, z.last).Add(4 * time.Minute)) {
		t.Error("established connection expired before tcp_inactivity_timeout")
	}
	if !z.Expired(time.Unix(0, z.last).Add(5 * time.Minute)) {
		t.Error("established connection not expired at tcp_inactivity_timeout")
	}
	z = zrun(zServerAddr, []zseg{zSYN, {from: 's', flags: "R.", ack: 1001}})
	if !z.Expired(time.Unix(0, z.last).Add(6 * time.Second)) {
		t.Error("rejected connection not removed after tcp_close_delay")
	}
}

func TestUpdateNoAllocs(t *testing.T) {
	segs, from := zsegments(zServerAddr, zhandshake(
		zseg{from: 'c', flags: "P.", seq: 1001, ack: 5001, len: 10},
		zseg{from: 'c', flags: "P.", seq: 1021, ack: 5001, len: 10},
		zseg{from: 's', flags: ".", seq: 5001, ack: 1031, zeroWin: true},
		zseg{from: 'c', flags: "P.", seq: 1001, ack: 5001, len: 10, bad: true},
		zseg{from: 'c', flags: "F.", seq: 1031, ack: 5001},
		zseg{from: 's', flags: "R.", seq: 5001, ack: 1032},
	))
	var z Tracker
	buf := make([]byte, 0, maxHistory)
	allocs := testing.AllocsPerRun(100, func() {
		z = Tracker{}
		for i := range segs {
			z.Update(from[i], &segs[i])
		}
		_ = z.ConnState()
		buf = z.AppendHistory(buf[:0])
		_ = z.IsReuse(true, &segs[0])
		_ = z.Expired(segs[len(segs)-1].Time)
	})
	if allocs != 0 {
		t.Errorf("update allocates %v times per connection, want 0", allocs)
	}
}

func TestTrackerIsSmall(t *testing.T) {
	// Embedded by value in every connection: keep it flat and bounded.
	if n := unsafeSizeofZeek(); n > 432 {
		t.Errorf("Tracker is %d bytes, want at most 432", n)
	}
}

// TestScaleSteps: the thresholds of the scaled letters are those of Zeek's
// uint32 arithmetic (threshold *= 10 until it would wrap below itself), and
// past the last one the count starts over at that threshold.
func TestScaleSteps(t *testing.T) {
	var want []uint32
	for th := uint32(1); ; {
		want = append(want, th)
		next := th * 10
		if next <= th {
			break
		}
		th = next
	}
	if !slices.Equal(scaleSteps[:], want) {
		t.Fatalf("scaleSteps %v, want %v", scaleSteps, want)
	}
	var z Tracker
	z.origClient = true
	for range 100 {
		z.scaled(0, 'C', scChecksum)
	}
	if h := z.History(); h != "CCC" {
		t.Errorf("100 checksum errors give %q, want CCC (at 1, 10, 100)", h)
	}
	last := uint8(len(scaleSteps) - 1)
	e := &z.ep[1]
	e.scaleStep[scGap], e.scaleCnt[scGap] = last, scaleSteps[last]-1
	z.scaled(1, 'G', scGap)
	if h := z.History(); h != "CCCg" || e.scaleCnt[scGap] != 0 || e.scaleStep[scGap] != last {
		t.Errorf("at the last threshold: history %q, count %d, step %d; want CCCg, 0, %d", h, e.scaleCnt[scGap], e.scaleStep[scGap], last)
	}
}

func unsafeSizeofZeek() uintptr { return unsafe.Sizeof(Tracker{}) }

// FuzzTracker feeds arbitrary segment scripts: the tracker must not
// panic, its history stays bounded and its conn_state is one of Zeek's.
func FuzzTracker(f *testing.F) {
	f.Add([]byte{0x02, 0, 0, 0x12, 1, 0, 0x10, 0, 5, 0x11, 1, 0})
	f.Add([]byte{0x12, 0, 0, 0x04, 1, 3, 0x01, 0, 0, 0x14, 1, 200})
	valid := map[ConnState]bool{}
	for _, c := range ConnStates() {
		valid[c] = true
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var z Tracker
		t0 := time.Unix(1e9, 0)
		seq := [2]uint32{1000, 5000}
		for i := 0; i+2 < len(data); i += 3 {
			fromClient := data[i]&0x80 == 0
			side := 1
			if fromClient {
				side = 0
			}
			g := capture.Segment{
				Time:        t0.Add(time.Duration(i) * time.Second),
				Flags:       capture.Flags(data[i] & 0x3f),
				Seq:         seq[side] + uint32(int8(data[i+1]))*100,
				Ack:         seq[1-side] + uint32(data[i+2]),
				Len:         uint32(data[i+2] & 0x0f),
				Window:      uint16(data[i+1] & 1),
				BadChecksum: data[i+1]&0x40 != 0,
			}
			if fromClient {
				g.Src, g.Dst = zClientAddr, zHTTPAddr
			} else {
				g.Src, g.Dst = zHTTPAddr, zClientAddr
			}
			_ = z.IsReuse(fromClient, &g)
			_ = z.Expired(g.Time)
			z.Update(fromClient, &g)
		}
		if !valid[z.ConnState()] && z.started {
			t.Fatalf("conn_state %q", z.ConnState())
		}
		if len(z.History()) > maxHistory {
			t.Fatalf("history %d letters", len(z.History()))
		}
	})
}
