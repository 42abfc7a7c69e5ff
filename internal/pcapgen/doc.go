// Package pcapgen writes TCP captures from lists of capture.Segment values:
// each segment becomes a real frame (Ethernet, 802.1Q, QinQ, Linux SLL/SLL2,
// raw IP, BSD null, or GRE/VXLAN tunnels), with correct IP and TCP checksums
// and a zero-filled payload of the segment's length, written as classic pcap
// (µs or ns, little or big endian), pcapng (one or several interfaces) or
// either gzip-compressed.
//
// It exists to produce the crafted captures in testdata/pcaps/crafted (cases
// a kernel will not produce on demand) and the large synthetic capture the
// benchmarks read. Conv builds the segments of one connection with
// sequence numbers relative to the ISNs; Crafted lists the checked-in
// captures; WriteSynthetic streams an arbitrarily large capture.
//
// It is test tooling: it does not capture, decode or analyze anything.
package pcapgen
