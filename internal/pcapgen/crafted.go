package pcapgen

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/tcpflow-check/tcpflow-check/capture"
)

// Capture is one crafted capture file of testdata/pcaps/crafted.
type Capture struct {
	Name   string // file name
	Doc    string // what the capture holds
	Expect string // the expected analysis, by the rules of docs/design.md (for MANIFEST.md)
	Write  func(w io.Writer) error
}

// The endpoints and start time of every crafted capture: documentation
// addresses (RFC 5737, RFC 3849), a fixed clock so the files are
// byte-for-byte reproducible.
var (
	CraftedClient   = netip.MustParseAddrPort("192.0.2.1:40000")
	CraftedServer   = netip.MustParseAddrPort("192.0.2.2:80")
	CraftedClient6  = netip.MustParseAddrPort("[2001:db8::1]:40000")
	CraftedServer6  = netip.MustParseAddrPort("[2001:db8::2]:80")
	CraftedStart    = time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	craftedISNc     = uint32(1000)
	craftedISNs     = uint32(5000)
	craftedRequest  = uint32(100)
	craftedResponse = uint32(1000)
)

func newCrafted() *Conv {
	return NewConv(CraftedClient, CraftedServer, craftedISNc, craftedISNs, CraftedStart)
}

// normalConv is the reference connection: handshake, 100-byte request,
// 1000-byte response, client-first close. 10 segments.
func normalConv(client, server netip.AddrPort) *Conv {
	c := NewConv(client, server, craftedISNc, craftedISNs, CraftedStart)
	c.Normal(craftedRequest, craftedResponse)
	return c
}

func pcapOf(c *Conv) func(io.Writer) error {
	return func(w io.Writer) error { return Write(w, Format{}, Ethernet, c.Segs) }
}

const normalExpect = "1 connection, client TIME_WAIT, server CLOSED, conn_state SF, history ShADadFf, client_bytes 100, server_bytes 1000; no findings"

// Crafted returns every crafted capture, in file-name order of kind:
// protocol cases first, then one normal connection per link type and
// format, then damaged files.
func Crafted() []Capture {
	const (
		S, A, F, R, P = capture.SYN, capture.ACK, capture.FIN, capture.RST, capture.PSH
	)
	var out []Capture
	add := func(name, doc, expect string, c *Conv) {
		out = append(out, Capture{name, doc, expect, pcapOf(c)})
	}
	req, resp := craftedRequest, craftedResponse

	c := newCrafted()
	c.C(S, 0, 0, 0)
	c.S(S|A, 0, 1+1000, 0)            // ack ISNc+1001
	c.CAbs(R, craftedISNc+1001, 0, 0) // RST seq = the bad ack, as RFC 9293 §3.10.7.3 answers it
	add("synack-bad-ack.pcap",
		"SYN (ISN_c 1000), SYN-ACK whose ack is 2001 instead of 1001, the client's RST (seq 2001, as RFC 9293 answers an unacceptable ACK in SYN_SENT).",
		"finding synack_bad_ack (error, frame 2, evidence ack 2001 ≠ ISN_c+1 = 1001); client SYN_SENT (RFC 9293 and Linux answer an unacceptable SYN-ACK with a RST and stay in SYN_SENT: the RST is not the client giving up), server CLOSED (back to LISTEN); handshake incomplete. May also appear: handshake_reset for the RST (its evidence must say seq 2001), capture_incomplete (the ack covers bytes never seen). Must not: connection_refused, syn_unanswered, reset, missing_third_ack", c)

	c = newCrafted()
	c.Handshake()
	c.Exchange(1, 1, req, resp)
	c.S(R|A, 1+resp+0x40000000, 1+req, 0) // 1 GiB beyond the client's window
	c.Exchange(1+req, 1+resp, req, resp)
	c.CloseClientFirst(1+2*req, 1+2*resp)
	add("rst-invalid.pcap",
		"an established connection; after the first exchange the server's side carries a RST whose seq is 2^30 beyond rcv.nxt (far outside the client's window, as an injected RST looks); the connection goes on with a second exchange and a normal close.",
		"finding rst_invalid (error, frame 8); no reset; client TIME_WAIT, server CLOSED; the RST does not end the connection (the 7 later segments belong to it; no data_after_reset)", c)

	c = newCrafted()
	c.Handshake()
	c.Exchange(1, 1, req, resp)
	c.S(R|A, 1+resp+100, 1+req, 0) // in window, not exact
	c.C(A, 1+req, 1+resp, 0)       // the challenge ACK (RFC 5961)
	c.Exchange(1+req, 1+resp, req, resp)
	c.CloseClientFirst(1+2*req, 1+2*resp)
	add("rst-challengeable.pcap",
		"an established connection; a RST from the server's side with seq rcv.nxt+100 (inside the window, not exact), answered by the client's challenge ACK (RFC 5961); then a second exchange and a normal close.",
		"finding rst_challengeable (info, frame 8); no reset, no rst_invalid; client TIME_WAIT, server CLOSED", c)

	c = newCrafted()
	c.Handshake()
	c.Exchange(1, 1, req, resp)
	c.C(F|A, 1+req, 1+resp, 0)
	c.S(A, 1+resp, 2+req, 0)
	c.C(P|A, 2+req, 1+resp, 50) // new data beyond the client's own FIN
	c.S(F|A, 1+resp, 2+req, 0)
	c.C(A, 2+req+50, 2+resp, 0)
	add("data-after-fin.pcap",
		"handshake, exchange, the client's FIN (acked), then 50 bytes of new client data with seq FIN+1, then the server's FIN and the client's last ACK.",
		"finding data_after_fin (error, frame 10, by the client); final client TIME_WAIT, server CLOSED", c)

	c = newCrafted()
	c.C(S, 0, 0, 0)
	c.C(P, 1, 0, 50) // data while SYN_SENT, no ACK flag
	c.S(S|A, 0, 1, 0)
	c.C(A, 1, 1, 0)
	c.Exchange(1, 1, req, resp)
	c.CloseClientFirst(1+req, 1+resp)
	add("data-before-handshake.pcap",
		"the client sends SYN and then, before any SYN-ACK, a 50-byte segment without ACK (seq ISN_c+1); then the handshake completes and a normal exchange and close follow.",
		"finding data_before_handshake (warning, frame 2, client not yet ESTABLISHED); not syn_with_data; then a complete connection: client TIME_WAIT, server CLOSED, conn_state SF", c)

	c = newCrafted()
	syn := c.C(S, 0, 0, 100)
	syn.Opts.FastOpen = true
	c.S(S|A, 0, 1+100, 0)
	c.C(A, 101, 1, 0)
	c.S(P|A, 1, 101, resp)
	c.C(A, 101, 1+resp, 0)
	c.CloseClientFirst(101, 1+resp)
	add("syn-with-data.pcap",
		"TCP Fast Open: a SYN with the TFO option (kind 34) and 100 bytes of data, a SYN-ACK acking ISN_c+101, the third ACK, a 1000-byte response and a client-first close.",
		"finding syn_with_data (info, frame 1); not data_before_handshake; handshake complete, client TIME_WAIT, server CLOSED, conn_state SF, client_bytes 100", c)

	c = newCrafted()
	c.C(S, 0, 0, 0)
	c.S(S|A, 0, 1, 0)
	c.C(A, 1, 5, 0) // ack ISN_s+5
	c.SAbs(R, craftedISNs+5, 0, 0)
	add("handshake-bad-ack.pcap",
		"SYN, a valid SYN-ACK, the client's completing ACK with ack ISN_s+5 instead of ISN_s+1, and the server's RST (seq = that ack, RFC 9293 §3.10.7.4).",
		"finding handshake_bad_ack (error, frame 3, evidence ack 5005 ≠ ISN_s+1 = 5001); the server never reaches ESTABLISHED; both end CLOSED. May also appear: handshake_reset for the RST, capture_incomplete (the ack covers bytes never seen). Must not: missing_third_ack, reset, connection_refused", c)

	c = newCrafted()
	c.C(S, 0, 0, 0)
	c.S(S|A, 0, 1, 0)
	c.C(R, 1, 0, 0)
	add("handshake-reset.pcap",
		"SYN, SYN-ACK, and the client answers with a RST (seq ISN_c+1), as a half-open scan does.",
		"finding handshake_reset (warning, frame 3, by the client); client CLOSED, server CLOSED; must not: connection_refused, reset, missing_third_ack; Zeek conn_state RSTO, history ShR", c)

	c = NewConv(CraftedClient, CraftedServer, 0xFFFFFF00, 0xFFFFFFF0, CraftedStart)
	c.Handshake()
	c.Exchange(1, 1, 1000, 2000)
	c.Exchange(1001, 2001, 1000, 2000)
	c.CloseClientFirst(2001, 4001)
	add("seq-wrap.pcap",
		"a complete connection whose ISNs are 0xFFFFFF00 (client) and 0xFFFFFFF0 (server): both directions' sequence numbers cross 2^32 during two exchanges (1000-byte requests, 2000-byte responses).",
		"no findings at all (in particular no rst_*, data_after_fin, capture_incomplete or out-of-window complaints); client TIME_WAIT, server CLOSED, conn_state SF, client_bytes 2000, server_bytes 4000", c)

	c = newCrafted()
	c.C(P|A, 500, 800, req)
	c.S(A, 800, 500+req, 0)
	c.S(P|A, 800, 500+req, resp)
	c.C(A, 500+req, 800+resp, 0)
	c.CloseClientFirst(500+req, 800+resp)
	add("midstream.pcap",
		"no handshake: the capture starts with client data (port 40000→80), then the server's response and a client-first close.",
		"finding midstream (info); both peers start ESTABLISHED; client TIME_WAIT, server CLOSED; no syn_unanswered/missing_third_ack; client guessed from the ports; Zeek conn_state SF (both sides closed), history DadAFf (no S or h)", c)

	c = newCrafted()
	c.C(S, 0, 0, 0)
	c.S(S|A, 0, 1, 0)
	// the third ACK was not captured
	c.Exchange(1, 1, req, resp)
	c.CloseClientFirst(1+req, 1+resp)
	add("third-ack-not-captured.pcap",
		"SYN, SYN-ACK, then (no pure ACK) the client's request with seq ISN_c+1 ack ISN_s+1, the response and a normal close.",
		"finding third_ack_not_captured (info); must not: missing_third_ack, handshake_bad_ack, data_before_handshake; client TIME_WAIT, server CLOSED, conn_state SF", c)

	c = newCrafted()
	c.Handshake()
	c.Exchange(1, 1, req, resp)
	for _, d := range []time.Duration{0, 200, 400, 800} {
		c.Wait(d * time.Millisecond)
		c.C(F|A, 1+req, 1+resp, 0)
	}
	add("fin-unacked.pcap",
		"handshake and exchange, then the client's FIN sent four times (RTO backoff 0.2, 0.4, 0.8 s) with nothing ever coming back; the capture ends 1.4 s after the first FIN.",
		"finding fin_unacked (warning; FIN retransmitted 3 times); client FIN_WAIT_1, server ESTABLISHED (a FIN retransmitted with nothing back was not received); no half_close_stuck (the FIN was never acknowledged); Zeek conn_state S2", c)

	c = newCrafted()
	c.Handshake()
	c.Exchange(1, 1, req, resp)
	c.C(F|A, 1+req, 1+resp, 0)
	c.S(A, 1+resp, 2+req, 0)
	for _, d := range []time.Duration{10, 200, 400, 800} {
		c.Wait(d * time.Millisecond)
		c.S(F|A, 1+resp, 2+req, 0)
	}
	add("last-ack-missing.pcap",
		"the client closes first and its FIN is acked; the server's FIN follows 10 ms later and is retransmitted three times (0.2, 0.4, 0.8 s) without the client's last ACK ever appearing.",
		"finding last_ack_missing (warning); server LAST_ACK, client FIN_WAIT_2 (the retransmitted FIN counts as not received); no half_close_stuck (the server did send its FIN 10 ms after, under the 1 s timeout); Zeek conn_state SF", c)

	// One normal connection per link type and file format.
	norm := normalConv(CraftedClient, CraftedServer)
	for _, l := range []Link{Ethernet, VLAN, QinQ, SLL, SLL2, Raw, Null, GRE, VXLAN} {
		l := l
		out = append(out, Capture{"normal-" + l.String() + ".pcap",
			"the reference connection (handshake, 100-byte request, 1000-byte response, client-first close; 10 frames) on link " + l.String() + linkDoc[l] + ".",
			normalExpect + encapExpect[l],
			func(w io.Writer) error { return Write(w, Format{}, l, norm.Segs) }})
	}
	norm6 := normalConv(CraftedClient6, CraftedServer6)
	out = append(out,
		Capture{"normal-null-ipv6.pcap", "the reference connection over IPv6 (2001:db8::1 → 2001:db8::2) on BSD null with AF_INET6 = 24.",
			normalExpect + "; addresses [2001:db8::1]:40000 / [2001:db8::2]:80",
			func(w io.Writer) error { return Write(w, Format{}, Null, norm6.Segs) }},
		Capture{"normal-pcap-ns.pcap", "the reference connection in pcap with nanosecond timestamps (magic a1b23c4d).",
			normalExpect + "; timestamps keep their ns (start 2026-01-02T03:04:05.123456Z)",
			func(w io.Writer) error { return Write(w, Format{Nanos: true}, Ethernet, norm.Segs) }},
		Capture{"normal-pcap-bigendian.pcap", "the reference connection in big-endian classic pcap (µs).",
			normalExpect,
			func(w io.Writer) error { return Write(w, Format{BigEndian: true}, Ethernet, norm.Segs) }},
		Capture{"normal-pcap.pcap.gz", "the reference connection, pcap (µs, Ethernet) gzip-compressed; the reader must sniff the gzip magic, not the extension.",
			normalExpect,
			func(w io.Writer) error { return Write(w, Format{Gzip: true}, Ethernet, norm.Segs) }},
		Capture{"normal-snaplen-96.pcap", "the reference connection captured with a 96-byte snap length (tcpdump -s 96): the request and response frames are cut (caplen 96, original length 154 and 1054), headers complete.",
			strings.Replace(normalExpect, "history ShADadFf", "history ShADaGdgFf (Zeek delivers no payload it did not capture to its reassembler, so the acks of the cut request and response are content gaps)", 1) + "; payload lengths come from the IP total length, not the captured bytes; no frame skipped as truncated",
			func(w io.Writer) error { return Write(w, Format{Snaplen: 96}, Ethernet, norm.Segs) }},
		Capture{"normal-pcapng-bigendian.pcapng", "the reference connection in a big-endian pcapng section (byte-order magic 1a2b3c4d written big-endian), µs resolution.",
			normalExpect,
			func(w io.Writer) error { return Write(w, Format{NG: true, BigEndian: true}, Ethernet, norm.Segs) }},
		Capture{"normal-pcapng.pcapng", "the reference connection in pcapng (one Ethernet interface, µs resolution).",
			normalExpect,
			func(w io.Writer) error { return Write(w, Format{NG: true}, Ethernet, norm.Segs) }},
		Capture{"pcapng-multi-interface.pcapng", "pcapng with two interfaces of different link types, interleaved: if0 Ethernet carries the reference connection 192.0.2.1:40000→192.0.2.2:80, if1 raw IP (101) carries the same exchange from port 40001, 0.5 ms later; ns resolution.",
			"2 connections (client ports 40000 and 40001), each: client TIME_WAIT, server CLOSED, conn_state SF; no findings; link types Ethernet and Raw both counted",
			writeMultiInterface},
	)

	// Damaged files.
	out = append(out,
		Capture{"truncated-mid-packet.pcap", "the reference connection in pcap (Ethernet) cut in the middle of frame 7 (the client's ACK of the response): its record header is complete, half its 60 bytes are missing.",
			"frames 1–6 analyzed (one connection, handshake complete, left open: capture_incomplete at most); then an input error naming the file, frame 7 and its byte offset (exit 2) — or, if the reader treats a cut last record like tcpdump's \"truncated dump file\", a warning; never a panic",
			writeTruncated},
		Capture{"garbage.bin", "512 bytes of deterministic pseudo-random data: no pcap, pcapng or gzip magic.",
			"input error: unrecognized capture format, naming the file (exit 2); no connections",
			func(w io.Writer) error {
				r := rand.New(rand.NewPCG(1, 2))
				b := make([]byte, 512)
				for i := range b {
					b[i] = byte(r.Uint32())
				}
				b[0] = 'G' // make sure no magic matches by chance
				_, err := w.Write(b)
				return err
			}},
		Capture{"header-only.pcap", "a valid 24-byte pcap file header (Ethernet) and no packets.",
			"no error, no connections; 0 packets read; exit 0",
			func(w io.Writer) error { return Write(w, Format{}, Ethernet, nil) }},
		Capture{"absurd-caplen.pcap", "pcap (Ethernet) with the reference connection's first three frames (the handshake), then a record header claiming 0x7ffffff0 captured bytes (far over the 262144 snap length) followed by 64 bytes.",
			"frames 1–3 read (handshake complete); then an input error naming the file, frame 4 and its byte offset 264 (caplen exceeds the snap length / sane maximum); no attempt to allocate 2 GB; never a panic; exit 2",
			writeAbsurdCaplen},
		Capture{"unknown-linktype.pcap", "pcap whose header says link type 147 (LINKTYPE_USER0), holding the reference connection's Ethernet frames.",
			"no connections; either an input error wrapping capture.ErrUnsupportedLinkType naming link type 147 (exit 2), or all 10 frames skipped with a reason naming link type 147; never decoded as Ethernet",
			func(w io.Writer) error {
				wr, err := NewWriterLinkTypes(w, Format{}, []layers.LinkType{147}, []Link{Ethernet})
				if err != nil {
					return err
				}
				for i := range norm.Segs {
					if err := wr.WriteSegment(0, &norm.Segs[i]); err != nil {
						return err
					}
				}
				return wr.Close()
			}},
	)
	return out
}

var linkDoc = map[Link]string{
	Ethernet: " (link type 1)",
	VLAN:     " (Ethernet + 802.1Q tag, VLAN 100)",
	QinQ:     " (Ethernet + 802.1ad outer tag VLAN 200 + 802.1Q inner tag VLAN 100)",
	SLL:      " (Linux cooked v1, link type 113)",
	SLL2:     " (Linux cooked v2, link type 276, as tcpdump -i any writes)",
	Raw:      " (raw IP, link type 101)",
	Null:     " (BSD loopback, link type 0, AF_INET = 2 little-endian)",
	GRE:      " (Ethernet / IPv4 198.51.100.1→198.51.100.2 / GRE protocol 0x0800 / the TCP/IPv4 packet)",
	VXLAN:    " (Ethernet / IPv4 198.51.100.1→198.51.100.2 / UDP 49152→4789 / VXLAN VNI 42 / inner Ethernet / TCP/IPv4)",
}

var encapExpect = map[Link]string{
	VLAN:  "; Encaps counts VLAN",
	QinQ:  "; Encaps counts VLAN (two tags)",
	GRE:   "; the inner 192.0.2.x connection is analyzed, not the outer tunnel; Encaps counts GRE",
	VXLAN: "; the inner 192.0.2.x connection is analyzed; Encaps counts VXLAN",
}

func writeMultiInterface(w io.Writer) error {
	a := normalConv(CraftedClient, CraftedServer)
	b := normalConv(netip.AddrPortFrom(CraftedClient.Addr(), 40001), CraftedServer)
	for i := range b.Segs {
		b.Segs[i].Time = b.Segs[i].Time.Add(500 * time.Microsecond)
	}
	wr, err := NewWriter(w, Format{NG: true, Nanos: true}, Ethernet, Raw)
	if err != nil {
		return err
	}
	for i := range a.Segs {
		if err := wr.WriteSegment(0, &a.Segs[i]); err != nil {
			return err
		}
		if err := wr.WriteSegment(1, &b.Segs[i]); err != nil {
			return err
		}
	}
	return wr.Close()
}

func writeTruncated(w io.Writer) error {
	var buf bytes.Buffer
	if err := Write(&buf, Format{}, Ethernet, normalConv(CraftedClient, CraftedServer).Segs); err != nil {
		return err
	}
	// Walk to frame 7 and cut halfway through its data.
	b := buf.Bytes()
	off := 24
	for i := 1; i < 7; i++ {
		off += 16 + int(binary.LittleEndian.Uint32(b[off+8:]))
	}
	n := int(binary.LittleEndian.Uint32(b[off+8:]))
	_, err := w.Write(b[:off+16+n/2])
	return err
}

func writeAbsurdCaplen(w io.Writer) error {
	norm := normalConv(CraftedClient, CraftedServer)
	var buf bytes.Buffer
	wr, err := NewWriter(&buf, Format{}, Ethernet)
	if err != nil {
		return err
	}
	for i := 0; i < 3; i++ {
		if err := wr.WriteSegment(0, &norm.Segs[i]); err != nil {
			return err
		}
	}
	if err := wr.Close(); err != nil {
		return err
	}
	var h [16]byte
	t := norm.Segs[3].Time
	binary.LittleEndian.PutUint32(h[0:], uint32(t.Unix()))
	binary.LittleEndian.PutUint32(h[4:], uint32(t.Nanosecond()/1000))
	binary.LittleEndian.PutUint32(h[8:], 0x7ffffff0)
	binary.LittleEndian.PutUint32(h[12:], 0x7ffffff0)
	buf.Write(h[:])
	buf.Write(make([]byte, 64))
	_, err = w.Write(buf.Bytes())
	return err
}
