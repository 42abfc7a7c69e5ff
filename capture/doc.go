// Package capture reads TCP segments out of packet captures.
//
// It opens classic pcap (microsecond and nanosecond, either byte order) and
// pcapng files (interfaces of different link types mixed), plain or
// gzip-compressed, from a file or the caller's standard input ("-", given as
// Config.Stdin: the library never touches os.Stdin); the format is told by
// its magic number, never by the file name. Each frame is decoded once, by a
// hand-written, bounds-checked [Decoder], into a small [Segment] value:
// addresses and ports as [net/netip] values, flags, sequence and
// acknowledgment numbers, window, payload length and the SYN options. The
// decoder understands Ethernet, 802.1Q/802.1ad tags, Linux cooked captures
// (SLL and SLL2), raw IP, BSD null/loopback, PPP, Cisco HDLC, FDDI, NFLOG,
// Linux ARCnet, IP over InfiniBand and Juniper Ethernet link layers; IPv4 and
// IPv6 with extension headers; and the tunnels real captures carry (GRE with
// ERSPAN, WCCP and PPTP, VXLAN, Geneve, MPLS, PPPoE, VN-Tag, IP-in-IP,
// Teredo, GTP-U), reporting the innermost TCP connection. A Reader or Live
// reassembles IPv4 and IPv6 fragments, at any layer of a tunnel, before
// TCP, as Zeek, tshark and Suricata do: the segment of a reassembled
// datagram comes in the frame of its last fragment. Reassembly is bounded
// ([FragmentConfig]: a timeout on the capture's clock, datagrams and bytes
// held, 65,535 bytes a datagram), keeps the bytes that came first where
// fragments overlap, and counts what it did in [FragmentStats];
// defrag.go states its rules and how the others differ. Fragments the
// snap length cut short are not reassembled: a first fragment holding the
// TCP header yields a segment, later fragments are skipped.
//
// Frames without a TCP segment are not errors: they are counted in [Stats]
// by reason ("non-tcp", "fragment", "ether type ARP", "unsupported link type
// FDDI", ...) and skipped. Errors are reserved for the file itself: it cannot
// be opened, its format is unknown, or it is damaged. A damaged file yields
// every good frame first and then a [*FileError] naming the file, the frame
// number and the byte offset, wrapping [ErrTruncated] or [ErrCorrupt].
//
// Every length in a file is checked before anything is read or sized from
// it: a record or packet block may hold at most 262,144 captured bytes
// (libpcap's maximum snap length), a pcapng block at most 16 MiB (tcpdump's
// bound), a section at most 65,536 interfaces and a file 65,536 sections.
// Beyond them the file is corrupt. A Reader so holds one packet buffer,
// 512 KiB of read buffer (and for gzip, which klauspost/compress
// decompresses, 256 KiB more, the decompressor's window and, with
// Config.ReadAhead, three chunks of 512 KiB) and 24 bytes per pcapng
// interface, whatever the input claims.
//
// Decoding a frame and reading the next one from a pcap file allocate
// nothing in the steady state, reassembling fragments included (finished
// datagrams hand their buffers on); the tests prove it with
// testing.AllocsPerRun.
// Segments never point into the packet buffer.
//
// # Why the decoder is hand-written
//
// gopacket's DecodingLayerParser (layers of gopacket v1.7.7, read against
// its source) is the obvious alternative, and the tests hold the two
// together where both decode: TestDifferentialCorpus over every frame of
// the shared corpus, FuzzDifferential (make fuzz-differential) over
// mutated frames, each documented difference named in differential_test.go.
// It is not used because, for this package's job:
//
//   - It has no layer for several encapsulations real captures carry:
//     ERSPAN type III (GRE protocol 0x22eb; gopacket decodes type II only),
//     Teredo (UDP port 3544, or recognised by content as Zeek does),
//     VXLAN-GPE, WCCP, VN-Tag, the pre-802.1ad QinQ ether types 0x9100 and
//     0x9200, and the NFLOG, Linux ARCnet, IP over InfiniBand, Juniper
//     Ethernet and Cisco HDLC link layers.
//   - Nothing in it relates the IP length to the frame's length on the
//     wire. gopacket cuts an IP payload to the captured bytes and marks the
//     packet truncated, so TCP's Payload is what the snap length kept, and
//     IPv4.Length is left as the header claims, however far beyond the
//     frame. The decoder takes the payload length from the IP header and
//     believes it only as far as the frame went on the wire (DecodeWire,
//     given the record's original length), as Wireshark does.
//   - It verifies no checksum: the caller would call TCP.VerifyChecksum
//     per segment after SetNetworkLayerForChecksum. (Both put the final
//     destination of an IPv6 routing header with segments left, SRH
//     included, and of an IPv4 source route with hops left in the TCP
//     pseudo-header; that is not a difference.)
//   - It says why a frame has no TCP only as an error: a formatted one for
//     each malformed header, which allocates (one or two allocations per
//     truncated Ethernet, IPv4 or TCP header, measured), UnsupportedLayerType
//     for a layer it has no decoder for, and nil for an ether type it does
//     not know, where a frame of ether type 0x9100 simply stops. The
//     decoder returns a Reason, allocation-free, that Stats counts by kind.
//     On well-formed frames both allocate nothing.
//
// The package is not for: reassembling payload, keeping per-connection state
// (package reassembly does that), or judging what the traffic did (package
// analyze). Live capture from an interface lives beside the file readers and
// reuses the same [Decoder].
package capture
