package zeek

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcpflow-check/tcpflow-check/capture"
)

// The corpus test replays every capture that has Zeek ground truth
// (/work/shared/corpus, see its README.md) through Tracker and compares
// conn_state and history with the conn.log rows Zeek wrote for it.

// zeekCorpusDir is where the shared corpus lives; TCPFLOW_CORPUS overrides it.
func zeekCorpusDir() string {
	if d := os.Getenv("TCPFLOW_CORPUS"); d != "" {
		return d
	}
	return "/work/shared/corpus"
}

// Agreement floors: the test fails when agreement drops below them. One
// capture (llc, a scan of 1333 lone RSTs) holds most rows, so agreement is
// also measured, and held to a floor, without the largest capture.
const (
	zeekFloorConnState     = 0.995
	zeekFloorHistory       = 0.99
	zeekFloorConnStateRest = 0.97
	zeekFloorHistoryRest   = 0.935
)

// zeekTruthRow is one primary row of a <name>.zeek.tsv file.
type zeekTruthRow struct {
	file          string
	cmd           string
	validated     bool
	orig, resp    netip.AddrPort
	connState     string // "" when the baseline has no such column
	history       string // "" when the baseline has no such column
	service       string
	tupleGuessed  bool // tshark-single-stream: orientation is a guess
	used          bool
	line          int
	baselineShort string
}

func readZeekTruth(path string) ([]*zeekTruthRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var cols map[string]int
	var rows []*zeekTruthRow
	line := 0
	for sc.Scan() {
		line++
		fields := strings.Split(sc.Text(), "\t")
		if cols == nil {
			cols = make(map[string]int)
			for i, c := range fields {
				cols[c] = i
			}
			continue
		}
		get := func(name string) string {
			if i, ok := cols[name]; ok && i < len(fields) {
				return fields[i]
			}
			return ""
		}
		if get("primary") != "1" || get("proto") != "tcp" {
			continue
		}
		if v := get("conn_state"); (v == "" || v == "-") && (get("history") == "" || get("history") == "-") {
			continue // nothing to compare
		}
		op, err1 := strconv.ParseUint(get("id.orig_p"), 10, 16)
		rp, err2 := strconv.ParseUint(get("id.resp_p"), 10, 16)
		oh, err3 := netip.ParseAddr(get("id.orig_h"))
		rh, err4 := netip.ParseAddr(get("id.resp_h"))
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			continue // no usable tuple
		}
		cs := get("conn_state")
		if cs == "-" {
			cs = ""
		}
		h := get("history")
		if h == "-" {
			h = ""
		}
		rows = append(rows, &zeekTruthRow{
			cmd:          get("zeek_cmd"),
			validated:    get("checksums") == "validated",
			orig:         netip.AddrPortFrom(oh.Unmap(), uint16(op)),
			resp:         netip.AddrPortFrom(rh.Unmap(), uint16(rp)),
			connState:    cs,
			history:      h,
			service:      get("service"),
			tupleGuessed: strings.HasPrefix(get("tuple_source"), "tshark-single-stream"),
			line:         line,
		})
	}
	return rows, sc.Err()
}

// zeekReplayConn is one connection as the replay split them.
type zeekReplayConn struct {
	client, server netip.AddrPort
	z              Tracker
	used           bool
}

func (c *zeekReplayConn) orig() (netip.AddrPort, netip.AddrPort) {
	if c.z.OrigIsClient() {
		return c.client, c.server
	}
	return c.server, c.client
}

type zeekTupleKey struct{ a, b netip.AddrPort }

func zeekKey(x, y netip.AddrPort) zeekTupleKey {
	if x.Addr().Less(y.Addr()) || (x.Addr() == y.Addr() && x.Port() < y.Port()) {
		return zeekTupleKey{x, y}
	}
	return zeekTupleKey{y, x}
}

// zeekReplay reads a capture and splits its TCP segments into connections
// the way Zeek's session table does (IsReuse, and the timers that remove a
// connection), feeding each connection's segments to its Tracker.
func zeekReplay(path string, verify bool, ports *PortSet) ([]*zeekReplayConn, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, err
	}
	type source interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var src source
	var link layers.LinkType
	var ng *pcapgo.NgReader
	if string(magic) == "\x0a\x0d\x0d\x0a" {
		ng, err = pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return nil, err
		}
		src = ng
	} else {
		r, err := pcapgo.NewReader(br)
		if err != nil {
			return nil, err
		}
		src = r
		link = r.LinkType()
	}
	dec := capture.NewDecoder(&capture.Config{VerifyChecksums: verify})
	frags := make(zeekFragments)
	table := make(map[zeekTupleKey]*zeekReplayConn)
	var all []*zeekReplayConn
	var seg, held capture.Segment
	for frame := uint64(1); ; frame++ {
		data, ci, err := src.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			break // a damaged tail: keep what was read, as Zeek does
		}
		l := link
		if ng != nil && len(ci.AncillaryData) > 0 {
			if lt, ok := ci.AncillaryData[0].(layers.LinkType); ok {
				l = lt
			}
		}
		data = frags.add(data, l)
		if data == nil {
			continue // a fragment still waiting for the rest, as in Zeek
		}
		// Zeek believes the IP header's length even when the frame holds
		// less (the payload then never reaches its reassembler); the
		// decoder, like Wireshark, cuts it to the frame unless told the
		// frame was longer on the wire. Decode both ways.
		if dec.DecodeWire(data, len(data), l, &held).Skipped() {
			held.Len = 0
		}
		reason := dec.DecodeWire(data, 1<<30, l, &seg)
		if reason.Skipped() && reason.Kind != capture.SkipBadChecksum {
			continue
		}
		captured := ci.CaptureLength >= ci.Length && held.Len >= seg.Len
		if reason.Kind == capture.SkipBadChecksum && badIPv4Header(data, l) {
			// Zeek drops a packet whose IPv4 header checksum is wrong
			// before it looks for a connection: no 'c', nothing.
			continue
		}
		seg.Frame = frame
		seg.Time = ci.Timestamp
		k := zeekKey(seg.Src, seg.Dst)
		c := table[k]
		if c != nil {
			fromClient := seg.Src == c.client
			if c.z.Expired(seg.Time) || c.z.IsReuse(fromClient, &seg) {
				c = nil
			}
		}
		if c == nil {
			c = &zeekReplayConn{client: seg.Src, server: seg.Dst}
			c.z.Begin(true, &seg, ports)
			table[k] = c
			all = append(all, c)
		}
		c.z.UpdateCaptured(seg.Src == c.client, &seg, captured)
	}
	return all, nil
}

// zeekFragments reassembles IPv4 fragments (at any depth of tunnelling) the
// way Zeek's IP layer does before it looks at TCP: a packet is seen once,
// when its last missing fragment arrives, and never if one is lost.
type zeekFragments map[zeekFragKey]*zeekFragBuf

type zeekFragKey struct {
	src, dst [4]byte
	id       uint16
	proto    uint8
}

type zeekFragBuf struct {
	prefix  []byte // the frame up to and including the IPv4 header
	hdrLen  int
	payload []byte
	have    []bool
	total   int // payload length, once the last fragment is seen
}

// add returns the frame to decode: data itself when it is no fragment, nil
// while a fragmented packet is incomplete, and the reassembled frame when
// data completes one.
func (fs zeekFragments) add(data []byte, link layers.LinkType) []byte {
	p := gopacket.NewPacket(data, link, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
	var ip *layers.IPv4
	for _, l := range p.Layers() {
		if v, ok := l.(*layers.IPv4); ok && (v.Flags&layers.IPv4MoreFragments != 0 || v.FragOffset != 0) {
			ip = v
			break
		}
	}
	if ip == nil {
		return data
	}
	hdr := ip.Contents
	off := len(data) - len(ip.Contents) - len(ip.Payload)
	// ip.Payload may include link padding: trust the IP length.
	plen := int(ip.Length) - len(hdr)
	if off < 0 || plen < 0 || plen > len(ip.Payload) {
		return nil
	}
	k := zeekFragKey{id: ip.Id, proto: uint8(ip.Protocol)}
	copy(k.src[:], ip.SrcIP.To4())
	copy(k.dst[:], ip.DstIP.To4())
	b := fs[k]
	if b == nil {
		b = &zeekFragBuf{total: -1}
		fs[k] = b
	}
	start := int(ip.FragOffset) * 8
	end := start + plen
	if end > len(b.payload) {
		b.payload = append(b.payload, make([]byte, end-len(b.payload))...)
		b.have = append(b.have, make([]bool, end-len(b.have))...)
	}
	copy(b.payload[start:end], ip.Payload[:plen])
	for i := start; i < end; i++ {
		b.have[i] = true
	}
	if ip.FragOffset == 0 {
		b.prefix = append([]byte(nil), data[:off+len(hdr)]...)
		b.hdrLen = len(hdr)
	}
	if ip.Flags&layers.IPv4MoreFragments == 0 {
		b.total = end
	}
	if b.total < 0 || b.prefix == nil {
		return nil
	}
	for i := 0; i < b.total; i++ {
		if !b.have[i] {
			return nil
		}
	}
	delete(fs, k)
	out := append(append([]byte(nil), b.prefix...), b.payload[:b.total]...)
	h := out[len(b.prefix)-b.hdrLen : len(b.prefix)]
	total := b.hdrLen + b.total
	h[2], h[3] = byte(total>>8), byte(total)
	h[6], h[7] = 0, 0 // no more fragments, offset 0
	h[10], h[11] = 0, 0
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	h[10], h[11] = byte(^sum>>8), byte(^sum)
	return out
}

// badIPv4Header reports whether any IPv4 header in the frame has a wrong
// header checksum (slow path: gopacket's full decode).
func badIPv4Header(data []byte, link layers.LinkType) bool {
	p := gopacket.NewPacket(data, link, gopacket.Default)
	for _, l := range p.Layers() {
		ip, ok := l.(*layers.IPv4)
		if !ok {
			continue
		}
		h := ip.Contents
		var sum uint32
		for i := 0; i+1 < len(h); i += 2 {
			sum += uint32(h[i])<<8 | uint32(h[i+1])
		}
		for sum>>16 != 0 {
			sum = sum&0xffff + sum>>16
		}
		if sum != 0xffff {
			return true
		}
	}
	return false
}

// zeekServicePorts are the TCP ports each protocol script adds to
// likely_server_ports when loaded.
var zeekServicePorts = map[string][]uint16{
	"http": {80, 81, 631, 1080, 3128, 8000, 8080, 8888},
	"ftp":  {21, 2811}, "ssh": {22}, "smtp": {25, 587}, "dns": {53},
	"krb": {88}, "krb_tcp": {88}, "pop3": {110}, "imap": {143}, "ldap": {389, 3268}, "ldap_tcp": {389, 3268},
	"ssl": {443, 563, 585, 614, 636, 989, 990, 992, 993, 995, 5223},
	"irc": {6666, 6667, 6668, 6669}, "mysql": {1434, 3306}, "postgresql": {5432},
	"redis": {6379}, "rdp": {3389}, "smb": {139, 445}, "socks": {1080}, "modbus": {502},
	"dnp3_tcp": {20000}, "xmpp": {5222, 5269}, "rfb": {5900, 5901, 5902, 5903, 5904, 5905, 5906, 5907},
	"mqtt": {1883}, "dce_rpc": {135},
}

// zeekServerPortsFor picks likely_server_ports for a Zeek run: the default
// set, except in bare mode (-b), where only the protocol scripts the test
// loaded add ports; those are guessed from the services its conn.log names.
func zeekServerPortsFor(rows []*zeekTruthRow) *PortSet {
	bare := false
	for _, w := range strings.Fields(rows[0].cmd) {
		if w == "-b" || (len(w) > 1 && w[0] == '-' && w[1] != '-' && strings.ContainsRune(w, 'b')) {
			bare = true
		}
	}
	if !bare {
		return nil
	}
	var p PortSet
	for _, r := range rows {
		for _, s := range strings.Split(r.service, ",") {
			for _, port := range zeekServicePorts[strings.ToLower(s)] {
				p.Add(port)
			}
		}
	}
	return &p
}

type zeekAgreement struct {
	stateOK, stateN, histOK, histN int
	histNoX                        int // history agreements once Zeek's 'X' (an application analyzer hit a limit) is set aside
	diffs                          []string
}

func TestCorpus(t *testing.T) {
	root := zeekCorpusDir()
	truthFiles, _ := filepath.Glob(filepath.Join(root, "truth", "*", "*.zeek.tsv"))
	if len(truthFiles) == 0 {
		t.Skipf("no Zeek truth under %s (corpus absent): corpus comparison skipped", root)
	}
	if testing.Short() {
		t.Skip("corpus comparison skipped in -short mode")
	}
	per := make(map[string]*zeekAgreement)
	var total, largest zeekAgreement
	largestN := 0
	for _, tf := range truthFiles {
		source := filepath.Base(filepath.Dir(tf))
		name := strings.TrimSuffix(filepath.Base(tf), ".zeek.tsv")
		rows, err := readZeekTruth(tf)
		if err != nil {
			t.Errorf("%s: %v", tf, err)
			continue
		}
		if len(rows) == 0 {
			continue
		}
		var pcap string
		for _, ext := range []string{".pcap", ".pcapng"} {
			p := filepath.Join(root, "pcaps", source, name+ext)
			if _, err := os.Stat(p); err == nil {
				pcap = p
			}
		}
		if pcap == "" {
			t.Logf("%s/%s: capture not found", source, name)
			continue
		}
		conns, err := zeekReplay(pcap, rows[0].validated, zeekServerPortsFor(rows))
		if err != nil {
			t.Errorf("%s: %v", pcap, err)
			continue
		}
		byKey := make(map[zeekTupleKey][]*zeekReplayConn)
		for _, c := range conns {
			k := zeekKey(c.client, c.server)
			byKey[k] = append(byKey[k], c)
		}
		a := per[source]
		if a == nil {
			a = &zeekAgreement{}
			per[source] = a
		}
		before := *a
		for _, r := range rows {
			cands := byKey[zeekKey(r.orig, r.resp)]
			// Prefer an unused connection that agrees, then any unused one.
			var got *zeekReplayConn
			for _, c := range cands {
				if !c.used && (r.history == "" || c.z.History() == r.history) && (r.connState == "" || string(c.z.ConnState()) == r.connState) {
					got = c
					break
				}
			}
			if got == nil {
				for _, c := range cands {
					if !c.used {
						got = c
						break
					}
				}
			}
			gs, gh, orient := "(none)", "(none)", ""
			if got != nil {
				got.used = true
				gs, gh = string(got.z.ConnState()), got.z.History()
				if o, _ := got.orig(); o != r.orig && !r.tupleGuessed {
					orient = " (orig differs)"
				}
			}
			okState := r.connState == "" || gs == r.connState
			okHist := r.history == "" || (gh == r.history && orient == "")
			if r.connState != "" {
				a.stateN++
				if okState {
					a.stateOK++
				}
			}
			if r.history != "" {
				a.histN++
				if okHist {
					a.histOK++
				}
				if strings.NewReplacer("X", "", "x", "").Replace(r.history) == gh && orient == "" {
					a.histNoX++
				}
			}
			if !okState || !okHist {
				a.diffs = append(a.diffs, fmt.Sprintf("%s %s > %s: want %s %q, got %s %q%s",
					name, r.orig, r.resp, orDash(r.connState), r.history, gs, gh, orient))
			}
		}
		if n := a.stateN - before.stateN + a.histN - before.histN; n > largestN {
			largestN = n
			largest = zeekAgreement{stateOK: a.stateOK - before.stateOK, stateN: a.stateN - before.stateN,
				histOK: a.histOK - before.histOK, histN: a.histN - before.histN, diffs: []string{source + "/" + name}}
		}
	}
	sources := make([]string, 0, len(per))
	for s := range per {
		sources = append(sources, s)
	}
	sort.Strings(sources)
	for _, s := range sources {
		a := per[s]
		t.Logf("%s: conn_state %d/%d (%.1f%%), history %d/%d (%.1f%%; %d/%d setting Zeek's application-layer 'X' aside)", s,
			a.stateOK, a.stateN, pct(a.stateOK, a.stateN), a.histOK, a.histN, pct(a.histOK, a.histN), a.histNoX, a.histN)
		for _, d := range a.diffs {
			t.Logf("  %s", d)
		}
		total.stateOK += a.stateOK
		total.stateN += a.stateN
		total.histOK += a.histOK
		total.histN += a.histN
	}
	rest := zeekAgreement{stateOK: total.stateOK - largest.stateOK, stateN: total.stateN - largest.stateN,
		histOK: total.histOK - largest.histOK, histN: total.histN - largest.histN}
	if largestN > 0 {
		t.Logf("without the largest capture (%s): conn_state %d/%d (%.1f%%), history %d/%d (%.1f%%)", largest.diffs[0],
			rest.stateOK, rest.stateN, pct(rest.stateOK, rest.stateN), rest.histOK, rest.histN, pct(rest.histOK, rest.histN))
	}
	if rest.stateN > 0 && float64(rest.stateOK) < zeekFloorConnStateRest*float64(rest.stateN) {
		t.Errorf("conn_state agreement without the largest capture %d/%d is below the floor %.1f%%", rest.stateOK, rest.stateN, 100*zeekFloorConnStateRest)
	}
	if rest.histN > 0 && float64(rest.histOK) < zeekFloorHistoryRest*float64(rest.histN) {
		t.Errorf("history agreement without the largest capture %d/%d is below the floor %.1f%%", rest.histOK, rest.histN, 100*zeekFloorHistoryRest)
	}
	if total.stateN > 0 && float64(total.stateOK) < zeekFloorConnState*float64(total.stateN) {
		t.Errorf("conn_state agreement %d/%d is below the floor %.1f%%", total.stateOK, total.stateN, 100*zeekFloorConnState)
	}
	if total.histN > 0 && float64(total.histOK) < zeekFloorHistory*float64(total.histN) {
		t.Errorf("history agreement %d/%d is below the floor %.1f%%", total.histOK, total.histN, 100*zeekFloorHistory)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func pct(a, n int) float64 {
	if n == 0 {
		return 100
	}
	return 100 * float64(a) / float64(n)
}
