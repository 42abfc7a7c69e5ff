package capture

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// The differential test holds the Decoder against gopacket's
// DecodingLayerParser on the encapsulations both decode: Ethernet, 802.1Q
// and 802.1ad tags, Linux SLL and SLL2, BSD null/loopback, raw IPv4 and
// IPv6 (with extension headers), IP-in-IP, GRE, VXLAN, Geneve, GTP-U,
// ERSPAN type II, LLC/SNAP and TCP. On a frame both turn into a TCP segment
// they must agree on addresses, ports, flags, sequence and acknowledgment
// numbers, window and payload length; otherwise both must reject it, or
// the frame goes through a layer only one of them has (see outsideCommon)
// or hits one of the documented differences (see knownDifference).

// gpDecoder is gopacket's side: a DecodingLayerParser over the common layers.
type gpDecoder struct {
	eth    layers.Ethernet
	dot1q  layers.Dot1Q
	sll    layers.LinuxSLL
	sll2   layers.LinuxSLL2
	loop   layers.Loopback
	ip4    ipv4Watch
	ip6    ipv6Watch
	ext    layers.IPv6ExtensionSkipper
	frag   layers.IPv6Fragment
	udp    layers.UDP
	gre    layers.GRE
	vxlan  layers.VXLAN
	geneve layers.Geneve
	gtp    layers.GTPv1U
	erspan layers.ERSPANII
	llc    layers.LLC
	snap   layers.SNAP
	tcp    layers.TCP

	parsers map[gopacket.LayerType]*gopacket.DecodingLayerParser
	decoded []gopacket.LayerType
}

func newGPDecoder() *gpDecoder {
	g := &gpDecoder{parsers: map[gopacket.LayerType]*gopacket.DecodingLayerParser{}}
	for _, first := range []gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeLinuxSLL, layers.LayerTypeLinuxSLL2,
		layers.LayerTypeLoopback, layers.LayerTypeIPv4, layers.LayerTypeIPv6} {
		p := gopacket.NewDecodingLayerParser(first, &g.eth, &g.dot1q, &g.sll, &g.sll2, &g.loop, &g.ip4, &g.ip6, &g.ext,
			&g.frag, &g.udp, &g.gre, &g.vxlan, &g.geneve, &g.gtp, &g.erspan, &g.llc, &g.snap, &g.tcp)
		p.IgnoreUnsupported = true // stop at the first layer without a decoder; decoded says how far it got
		g.parsers[first] = p
	}
	return g
}

// ipv4Watch and ipv6Watch are gopacket's IP layers, remembering whether any
// IP header of the frame had the wrong version: gopacket does not check it,
// and the one layer value per type is overwritten by an inner header.
type ipv4Watch struct {
	layers.IPv4
	badVersion bool
}

func (w *ipv4Watch) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	err := w.IPv4.DecodeFromBytes(data, df)
	w.badVersion = w.badVersion || err == nil && w.Version != ipVersion4
	return err
}

type ipv6Watch struct {
	layers.IPv6
	badVersion bool
}

func (w *ipv6Watch) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	err := w.IPv6.DecodeFromBytes(data, df)
	w.badVersion = w.badVersion || err == nil && w.Version != ipVersion6
	return err
}

var errNotIP = errors.New("raw IP link type, but neither IPv4 nor IPv6")

// gpResult is what gopacket made of a frame.
type gpResult struct {
	ok        bool               // it decoded a TCP header
	lastIP    gopacket.LayerType // the innermost IP layer
	seg       Segment
	truncated bool   // it cut a layer to the captured bytes
	path      string // the layers decoded, "Ethernet/IPv4/TCP"
	err       error
}

// firstLayer is gopacket's first layer for a link type; false when the
// link type is outside the common set.
func firstLayer(link layers.LinkType, data []byte) (gopacket.LayerType, bool) {
	switch link {
	case layers.LinkTypeEthernet:
		return layers.LayerTypeEthernet, true
	case layers.LinkTypeLinuxSLL:
		return layers.LayerTypeLinuxSLL, true
	case layers.LinkTypeLinuxSLL2:
		return layers.LayerTypeLinuxSLL2, true
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		return layers.LayerTypeLoopback, true
	case layers.LinkTypeRaw, linkTypeRawBSD, linkTypeRawOpenBSD, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		// as gopacket's own decoder for raw IP picks the layer
		switch {
		case len(data) > 0 && data[0]>>4 == ipVersion4:
			return layers.LayerTypeIPv4, true
		case len(data) > 0 && data[0]>>4 == ipVersion6:
			return layers.LayerTypeIPv6, true
		}
		return gopacket.LayerTypeZero, true // neither: rejected
	}
	return gopacket.LayerTypeZero, false
}

func (g *gpDecoder) decode(data []byte, link layers.LinkType) (gpResult, bool) {
	first, ok := firstLayer(link, data)
	if !ok {
		return gpResult{}, false
	}
	g.decoded = g.decoded[:0]
	g.ip4.badVersion, g.ip6.badVersion = false, false
	if first == gopacket.LayerTypeZero {
		return gpResult{err: errNotIP}, true
	}
	p := g.parsers[first]
	var r gpResult
	r.err = p.DecodeLayers(data, &g.decoded)
	r.truncated = p.Truncated
	names := make([]string, len(g.decoded))
	var lastIP gopacket.LayerType
	for i, lt := range g.decoded {
		names[i] = lt.String()
		switch lt {
		case layers.LayerTypeIPv4, layers.LayerTypeIPv6:
			lastIP = lt
		case layers.LayerTypeTCP:
			r.ok = r.err == nil
		}
	}
	r.path = strings.Join(names, "/")
	r.lastIP = lastIP
	if !r.ok {
		return r, true
	}
	s := &r.seg
	switch lastIP {
	case layers.LayerTypeIPv4:
		src, _ := netip.AddrFromSlice(g.ip4.SrcIP)
		dst, _ := netip.AddrFromSlice(g.ip4.DstIP)
		s.Src, s.Dst = netip.AddrPortFrom(src.Unmap(), uint16(g.tcp.SrcPort)), netip.AddrPortFrom(dst.Unmap(), uint16(g.tcp.DstPort))
	case layers.LayerTypeIPv6:
		src, _ := netip.AddrFromSlice(g.ip6.SrcIP)
		dst, _ := netip.AddrFromSlice(g.ip6.DstIP)
		s.Src, s.Dst = netip.AddrPortFrom(src, uint16(g.tcp.SrcPort)), netip.AddrPortFrom(dst, uint16(g.tcp.DstPort))
	}
	t := &g.tcp
	s.Seq, s.Ack, s.Window = t.Seq, t.Ack, t.Window
	for _, f := range []struct {
		on bool
		f  Flags
	}{{t.FIN, FIN}, {t.SYN, SYN}, {t.RST, RST}, {t.PSH, PSH}, {t.ACK, ACK}, {t.URG, URG}, {t.ECE, ECE}, {t.CWR, CWR}} {
		if f.on {
			s.Flags |= f.f
		}
	}
	s.Len = uint32(len(t.Payload))
	return r, true
}

// diffFrame decodes one frame, wireLen bytes long on the wire, both ways.
// It returns "" when they agree (or the frame is outside what both
// decode), the name of a knownDifference, or else what differs; compared
// says whether the frame was within what both decode.
func diffFrame(d *Decoder, g *gpDecoder, data []byte, wireLen int, link layers.LinkType) (diff string, compared bool) {
	if d.verify {
		panic("diffFrame wants a Decoder without checksum verification; it makes its own")
	}
	var seg Segment
	reason := d.DecodeWire(data, wireLen, link, &seg)
	gp, inScope := g.decode(data, link)
	if !inScope {
		return "", false
	}
	ours := !reason.Skipped()
	switch {
	case ours && gp.ok:
		// gopacket's payload is what was captured; ours is what the IP
		// header says was sent, of which Missing bytes the snap length cut
		want, got := fieldsOf(&gp.seg), fieldsOf(&seg)
		switch {
		case seg.Missing > 0:
			got.Len -= seg.Missing
		case gp.truncated && wireLen > len(data):
			want.Len = got.Len // cut by the snap length, and Missing not told
		}
		if got != want {
			return fmt.Sprintf("segments differ: ours %+v, gopacket %+v (%s)", got, want, gp.path), true
		}
		return g.diffChecksum(data, wireLen, link, &gp), true
	case !ours && !gp.ok:
		return "", true
	case ours:
		if outsideCommon(d.Encaps()) {
			return "", false
		}
		if k := g.knownDifference(&gp); k != "" {
			return k, true
		}
		return fmt.Sprintf("only ours decodes it (%s %v); gopacket stops after %q: %v", segString(&seg), d.Encaps(), gp.path, gp.err), true
	default:
		if k := g.knownGopacketOnly(reason); k != "" {
			return k, true
		}
		return fmt.Sprintf("only gopacket decodes it (%s, %s); ours: %s", segString(&gp.seg), gp.path, reason), true
	}
}

// Differences between the two decoders that are gopacket's choice or
// limit, not our bug. Each is a frame ours turns into a segment and
// gopacket does not.
const (
	// gopacket never decodes past an IPv4 header with more fragments to
	// come, or an IPv6 fragment header with its M flag (NextLayerType is
	// LayerTypeFragment); a first fragment that holds the TCP header yields
	// a segment here, as in tshark without reassembly and in Zeek.
	diffFirstFragment = "first fragment"
	// gopacket rejects a TCP header whose options the frame does not hold
	// ("TCP data offset greater than packet length"); the fixed 20 bytes
	// carry everything a segment needs, so ours keeps it without the
	// options, as tcpdump prints it.
	diffOptionsCut = "tcp options cut"
	// gopacket rejects a Linux cooked header (SLL or SLL2) whose address length exceeds
	// 8 ("invalid address length"); the header always has 8 address bytes
	// whatever that field says, and tshark decodes such frames (TestCorpus
	// matches its counts on layers__testdata__linux_sll_oversized_addr).
	diffSLLAddrLen = "sll address length"
	// gopacket's GRE has no layer for WCCP (0x883e), ERSPAN type III
	// (0x22eb), PPP (0x880b, PPTP) or Aruba's 802.11 (0x8200-0x8370,
	// 0x9000) and stops there without an error.
	diffGREProtocol = "gre protocol"
	// gopacket knows no pre-802.1ad QinQ tag (ether types 0x9100, 0x9200)
	// and stops at it without an error.
	diffOldQinQ = "old qinq ether type"
	// gopacket decodes no VXLAN-GPE (UDP port 4790) and stops at the UDP
	// header.
	diffVXLANGPE = "vxlan-gpe"
	// gopacket decodes neither AYIYA (UDP 5072) nor GRE in UDP (4754,
	// RFC 8086) and stops at the UDP header.
	diffUDPTunnel = "udp tunnel"
	// An IPv6 payload length of 0 without a jumbo option: gopacket rejects
	// it ("IPv6 length 0, but next header is ..."); ours takes the
	// captured bytes, as for an IPv4 total length of 0, because that is
	// how segmentation offload and Linux BIG TCP packets are captured on
	// the sending host.
	diffIPv6LengthZero = "ipv6 length 0"
	// A UDP length field below the 8 bytes of its own header: gopacket
	// rejects the datagram ("UDP packet too small"); ours ignores the field
	// and bounds the tunnel by the IP payload, so that a tunnelled segment
	// is still read (0 is also what some offloaded tunnel packets carry).
	diffUDPLength = "udp length below 8"
	// gopacket parses every Geneve option and rejects the packet for a
	// malformed one ("geneve option too small"), or lets an option's own
	// length run past the header's option length and starts the payload
	// there; ours skips the options by the header's option length, as a
	// transit device may (RFC 8926).
	diffGeneveOption = "geneve option"
	// gopacket rejects a GTP-U header whose length field exceeds the
	// captured bytes ("GTP packet too small"), so also every GTP packet the
	// snap length cut; ours bounds the tunnel by the UDP length.
	diffGTPLength = "gtp length"
	// gopacket parses IPv4 options and the TLV options of an IPv6
	// hop-by-hop header and rejects the packet for a malformed one ("IP
	// option length exceeds remaining IP header size", "IPv6 header TLV
	// option exceeds extension header", "IPv6 header option too small");
	// ours skips the options by the header's length and reads the TCP
	// segment behind them.
	diffIPOption = "ip option"
	// gopacket's ERSPAN layer behind GRE protocol 0x88BE fails with
	// "unsupported ERSPAN version" on a version field it does not know;
	// ours decodes the mirrored frame behind the header anyway (found by
	// FuzzDifferential in a CI run; seed erspan-version-3-behind-type-ii).
	diffERSPANVersion = "erspan version"
)

// Differences where gopacket turns into a segment what ours rejects.
const (
	// gopacket's IPv4 layer does not look at the version nibble (nor IPv6's
	// at its own): a header of version 2 behind ether type 0x0800 decodes
	// as IPv4. Ours rejects it as a bad IP header, as the Linux stack
	// drops it and Wireshark calls it bogus.
	diffIPVersion = "ip version"
	// gopacket decodes a VXLAN header without its I flag; ours takes it
	// for something else on port 4789, since RFC 7348 requires the flag
	// for a valid VNI.
	diffVXLANFlag = "vxlan i flag"
	// gopacket decodes ether type 0xffff, which IEEE reserves, as raw IP
	// (its EthernetTypeRaw); ours counts it as an ether type without IP.
	diffEtherTypeFFFF = "ether type 0xffff"
	// gopacket's GTPv1U layer does not look at the version bits: a GTPv2
	// header (GTP-C, which carries no user packets) on port 2152 decodes
	// as a G-PDU. Ours takes only version 1, the only GTP-U there is
	// (3GPP TS 29.281), as plain UDP otherwise (found by FuzzDifferential;
	// seed gtp-version-2-on-the-gtp-u-port).
	diffGTPVersion = "gtp version"
	// gopacket reads an 8-byte ERSPAN type II header behind GRE protocol
	// 0x88BE whatever the GRE flags say. Without the sequence bit the
	// payload is ERSPAN type I, which has no header (as Wireshark's ERSPAN
	// dissector reads it), so ours decodes the mirrored frame right behind
	// GRE, 8 bytes before gopacket's (found by FuzzDifferential; seed
	// erspan-type-i-without-sequence-bit).
	diffERSPANTypeI = "erspan type i"
)

// knownGopacketOnly names the documented difference that explains why
// ours rejected, for reason, a frame gopacket decoded, or "".
func (g *gpDecoder) knownGopacketOnly(reason Reason) string {
	if reason.Kind == SkipBadIP && (g.ip4.badVersion || g.ip6.badVersion) {
		return diffIPVersion
	}
	if reason.Kind == SkipEtherType && reason.Detail() == "0xffff" {
		return diffEtherTypeFFFF
	}
	if reason.Kind == SkipNonTCP && slices.Contains(g.decoded, layers.LayerTypeVXLAN) && !g.vxlan.ValidIDFlag {
		return diffVXLANFlag
	}
	if reason.Kind == SkipNonTCP && slices.Contains(g.decoded, layers.LayerTypeGTPv1U) && g.gtp.Version != 1 {
		return diffGTPVersion
	}
	if slices.Contains(g.decoded, layers.LayerTypeERSPANII) && !g.gre.SeqPresent {
		return diffERSPANTypeI
	}
	return ""
}

// knownDifference names the documented difference that explains why
// gopacket did not decode a frame ours did, or "".
func (g *gpDecoder) knownDifference(r *gpResult) string {
	last := gopacket.LayerTypeZero
	if n := len(g.decoded); n > 0 {
		last = g.decoded[n-1]
	}
	switch {
	case r.err == nil && last == layers.LayerTypeIPv4 && g.ip4.Flags&layers.IPv4MoreFragments != 0 && g.ip4.FragOffset == 0:
		return diffFirstFragment
	case r.err == nil && last == layers.LayerTypeIPv6Fragment && g.frag.MoreFragments && g.frag.FragmentOffset == 0:
		return diffFirstFragment
	case r.err != nil && strings.Contains(r.err.Error(), "TCP data offset greater than packet length"):
		return diffOptionsCut
	case r.err != nil && ipOptionError(r.err.Error()):
		return diffIPOption
	case r.err != nil && strings.Contains(r.err.Error(), "GTP packet too small"):
		return diffGTPLength
	case r.err != nil && strings.Contains(r.err.Error(), "geneve option"),
		slices.Contains(g.decoded, layers.LayerTypeGeneve) && len(g.geneve.Contents) != 8+int(g.geneve.OptionsLength):
		return diffGeneveOption
	case r.err != nil && strings.Contains(r.err.Error(), "UDP packet too small"):
		return diffUDPLength
	case r.err != nil && strings.Contains(r.err.Error(), "IPv6 length 0, but"):
		return diffIPv6LengthZero
	case r.err != nil && strings.Contains(r.err.Error(), "invalid address length"):
		return diffSLLAddrLen
	case r.err != nil && strings.Contains(r.err.Error(), "unsupported ERSPAN version"):
		return diffERSPANVersion
	case r.err == nil && last == layers.LayerTypeGRE:
		switch p := g.gre.Protocol; {
		case p == etherTypeWCCP, p == etherTypeERSPAN3, p == layers.EthernetTypePPP,
			p >= greArubaFirst && p <= greArubaLast, p == greAruba9000:
			return diffGREProtocol
		}
	case r.err == nil && last == layers.LayerTypeEthernet:
		if t := g.eth.EthernetType; t == etherTypeQinQ9100 || t == etherTypeQinQ9200 {
			return diffOldQinQ
		}
	case r.err == nil && last == layers.LayerTypeDot1Q:
		if t := g.dot1q.Type; t == etherTypeQinQ9100 || t == etherTypeQinQ9200 {
			return diffOldQinQ
		}
	case r.err == nil && last == layers.LayerTypeLinuxSLL:
		// the same behind a Linux cooked header (found by FuzzDifferential;
		// seed old-qinq-behind-linux-sll)
		if t := g.sll.EthernetType; t == etherTypeQinQ9100 || t == etherTypeQinQ9200 {
			return diffOldQinQ
		}
	case r.err == nil && last == layers.LayerTypeLinuxSLL2:
		if t := g.sll2.ProtocolType; t == etherTypeQinQ9100 || t == etherTypeQinQ9200 {
			return diffOldQinQ
		}
	case r.err == nil && last == layers.LayerTypeUDP && g.udp.DstPort == portVXLANGPE:
		return diffVXLANGPE
	case r.err == nil && last == layers.LayerTypeUDP && (g.udp.DstPort == portAYIYA || g.udp.SrcPort == portAYIYA || g.udp.DstPort == portGREinUDP):
		return diffUDPTunnel
	}
	return ""
}

// ipOptionError reports whether msg is one of the errors gopacket's IPv4
// and IPv6 layers return for a malformed option (ip4.go, ip6.go of v1.7.7).
func ipOptionError(msg string) bool {
	for _, m := range []string{
		"Invalid ip4 option length", "IP option length exceeds", "Invalid IP option type", // IPv4 options
		"IPv6 header option too small", "IPv6 header TLV option exceeds", // IPv6 hop-by-hop TLVs
	} {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

// isKnown reports whether diff names a documented difference.
func isKnown(diff string) bool {
	switch diff {
	case diffFirstFragment, diffOptionsCut, diffSLLAddrLen, diffGREProtocol, diffOldQinQ, diffVXLANGPE, diffUDPTunnel, diffIPVersion,
		diffIPv6LengthZero, diffUDPLength, diffGeneveOption,
		diffGTPLength, diffVXLANFlag, diffEtherTypeFFFF, diffIPOption, diffERSPANVersion, diffGTPVersion,
		diffERSPANTypeI:
		return true
	}
	return false
}

// outsideCommon reports whether a segment was found inside an
// encapsulation gopacket has no DecodingLayer for.
func outsideCommon(encaps []string) bool {
	for _, e := range encaps {
		switch e {
		case "Teredo", "MPLS", "PPPoE", "VN-Tag":
			return true
		}
	}
	return false
}

// verifier is the Decoder diffChecksum verifies checksums with.
var verifier = NewDecoder(&Config{VerifyChecksums: true})

// diffChecksum compares the TCP checksum verdicts of a frame both decoded
// whole: ours with VerifyChecksums, gopacket's TCP.VerifyChecksum against
// the innermost IP header. "" when they agree or one cannot tell.
func (g *gpDecoder) diffChecksum(data []byte, wireLen int, link layers.LinkType, gp *gpResult) string {
	if gp.truncated || wireLen > len(data) {
		return "" // neither checks what was not captured
	}
	var seg Segment
	if verifier.DecodeWire(data, wireLen, link, &seg).Skipped() {
		return "" // a wrong IPv4 header checksum: no TCP verdict
	}
	var err error
	switch gp.lastIP {
	case layers.LayerTypeIPv4:
		err = g.tcp.SetNetworkLayerForChecksum(&g.ip4.IPv4)
	case layers.LayerTypeIPv6:
		err = g.tcp.SetNetworkLayerForChecksum(&g.ip6.IPv6)
	}
	if err != nil {
		return ""
	}
	err, res := g.tcp.VerifyChecksum()
	if err != nil {
		return ""
	}
	if seg.BadChecksum == res.Valid {
		return fmt.Sprintf("checksum verdicts differ: ours bad=%v, gopacket valid=%v (%s)", seg.BadChecksum, res.Valid, gp.path)
	}
	return ""
}

// fields are what the two decoders are compared on.
type fields struct {
	Src, Dst netip.AddrPort
	Seq, Ack uint32
	Flags    Flags
	Window   uint16
	Len      uint32
}

func fieldsOf(s *Segment) fields {
	return fields{s.Src, s.Dst, s.Seq, s.Ack, s.Flags, s.Window, s.Len}
}

func segString(s *Segment) string {
	return fmt.Sprintf("%v>%v %v seq %d ack %d win %d len %d", s.Src, s.Dst, s.Flags, s.Seq, s.Ack, s.Window, s.Len)
}

// rawFrames calls fn with every frame of the capture at path, as read.
func rawFrames(t testing.TB, path string, fn func(frame uint64, rec *record)) {
	r, err := Open(path, nil)
	if err != nil {
		t.Logf("%s: %v", path, err)
		return
	}
	defer r.Close()
	var n uint64
	for {
		if err := r.src.next(&r.rec); err != nil {
			if err != io.EOF {
				t.Logf("%s: frame %d: %v", path, n+1, err)
			}
			return
		}
		n++
		fn(n, &r.rec)
	}
}

// TestDifferentialCorpus runs every frame of the shared corpus through both
// decoders: any difference that is not a documented one fails.
func TestDifferentialCorpus(t *testing.T) {
	root := filepath.Join(corpusDir, "pcaps")
	if _, err := os.Stat(root); err != nil {
		t.Skipf("SKIP differential corpus run: no corpus at %s", root)
	}
	files, _ := filepath.Glob(filepath.Join(root, "*", "*"))
	sort.Strings(files)
	d, g := NewDecoder(nil), newGPDecoder()
	var frames, compared, agreed int
	known := map[string]int{}
	for _, path := range files {
		key := filepath.Base(filepath.Dir(path)) + "/" + filepath.Base(path)
		bad := 0
		rawFrames(t, path, func(frame uint64, rec *record) {
			frames++
			diff, ok := diffFrame(d, g, rec.data, rec.length, rec.link)
			switch {
			case !ok:
			case diff == "":
				compared++
				agreed++
			case isKnown(diff):
				compared++
				known[diff]++
			default:
				compared++
				if bad++; bad <= 3 {
					t.Errorf("%s frame %d: %s", key, frame, diff)
				}
			}
		})
	}
	t.Logf("%d frames, %d within what both decode: %d agree, documented differences %v", frames, compared, agreed, known)
	if compared == 0 {
		t.Error("no frame compared")
	}
}

// diffLinks are the link types both decoders handle, indexed by the fuzz
// target's link byte.
var diffLinks = []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
	layers.LinkTypeNull, layers.LinkTypeLoop, layers.LinkTypeRaw}

// FuzzDifferential feeds frames to both decoders: they must agree, or
// differ in a documented way. Seeds: the crafted frames of decodeCases and
// every frame of the bundled captures.
func FuzzDifferential(f *testing.F) {
	index := map[layers.LinkType]uint8{}
	for i, l := range diffLinks {
		index[l] = uint8(i)
	}
	for _, c := range decodeCases(f) {
		if i, ok := index[c.link]; ok {
			f.Add(c.frame, i)
		}
	}
	seeds, _ := filepath.Glob("../testdata/pcaps/*/*.pcap*")
	more, _ := filepath.Glob("testdata/*.pcap*")
	for _, path := range append(seeds, more...) {
		rawFrames(f, path, func(_ uint64, rec *record) {
			if i, ok := index[rec.link]; ok {
				f.Add(append([]byte(nil), rec.data...), i)
			}
		})
	}
	d, g := NewDecoder(nil), newGPDecoder()
	f.Fuzz(func(t *testing.T, data []byte, link uint8) {
		lt := diffLinks[int(link)%len(diffLinks)]
		if diff, _ := diffFrame(d, g, data, len(data), lt); diff != "" && !isKnown(diff) {
			t.Errorf("%v frame %x: %s", lt, data, diff)
		}
	})
}
