package capture

import (
	"encoding/binary"
	"math/bits"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Bounds on a pcapng file (draft-ietf-opsawg-pcapng). Every one is checked
// before the bytes it concerns are read, so a file, however it lies, costs
// at most one packet buffer (maxSnapLen) and maxInterfaces small structs.
const (
	// maxBlockLen is the longest block: libpcap's INITIAL_MAX_BLOCKSIZE,
	// which tcpdump enforces ("block size 4294967280 > maximum 16777216").
	// Every file tcpdump reads is read here. Blocks other than packets are
	// skipped without being buffered; a packet block's captured bytes are
	// further bounded by maxSnapLen, like a pcap record's.
	maxBlockLen = 16 << 20
	// maxInterfaces is the most Interface Description Blocks one section
	// may hold. Capture tools write one per interface captured on (mergecap
	// one per input interface); 65,536 of them cost 2 MB here.
	maxInterfaces = 1 << 16
	// maxSections is the most Section Header Blocks a file may hold: one
	// per capture concatenated into it.
	maxSections = 1 << 16
)

// pcapng block types read here; other blocks (name resolution, decryption
// secrets, custom, …) are skipped.
const (
	blockSHB = 0x0a0d0d0a
	blockIDB = 1
	blockPB  = 2 // obsolete Packet Block
	blockSPB = 3
	blockISB = 5
	blockEPB = 6
)

// Option codes read from Interface Description and Statistics Blocks.
const (
	optEnd      = 0
	optTSResol  = 9
	optTSOffset = 14
	optISBEnd   = 3 // isb_endtime
)

// ngIface is what a packet needs of its interface.
type ngIface struct {
	link   layers.LinkType
	snap   uint32
	units  uint64 // timestamp units per second (if_tsresol)
	offset int64  // seconds added to every timestamp (if_tsoffset)
}

// ngSource reads pcapng: sections, each a Section Header Block followed by
// interfaces and packets. Each block is consumed exactly to its stated
// length, so one lying block cannot shift where the next is read.
type ngSource struct {
	s        stream
	order    binary.ByteOrder
	big      bool // order is big endian
	ifaces   []ngIface
	sections int
	at       int64 // where the current block starts
	hdr      [20]byte
	// long holds the packet of a block too long for the stream's buffer
	// to hold whole (one with long options).
	long []byte
	// stated receives what each Interface Statistics Block says: its
	// isb_endtime (zero without one) and its own timestamp.
	stated func(end, stamp time.Time)
}

func newNgSource(s stream, stated func(end, stamp time.Time)) (*ngSource, error) {
	g := &ngSource{s: s, order: binary.LittleEndian, stated: stated}
	typ, length, err := g.blockHeader(false)
	if err != nil {
		return nil, err
	}
	if typ != blockSHB {
		return nil, corruptf("block", "the first block is of type %#x, not a section header", typ)
	}
	if err := g.section(length); err != nil {
		return nil, err
	}
	return g, nil
}

func (g *ngSource) start() int64   { return g.at }
func (g *ngSource) bytes() *stream { return &g.s }

// blockHeader reads a block's type and total length and checks the length.
// A Section Header Block's byte-order magic, read here, sets the byte order
// of its own length and of the section it starts.
func (g *ngSource) blockHeader(atStart bool) (typ, length uint32, err error) {
	g.at = g.s.off
	h := g.hdr[:8]
	if err := g.s.fixed(h, atStart); err != nil {
		return 0, 0, err
	}
	typ = g.order.Uint32(h[0:4])
	if typ == blockSHB { // the same in both byte orders
		var bom [4]byte
		if err := g.s.fixed(bom[:], false); err != nil {
			return 0, 0, err
		}
		switch binary.LittleEndian.Uint32(bom[:]) {
		case 0x1a2b3c4d:
			g.order, g.big = binary.LittleEndian, false
		case 0x4d3c2b1a:
			g.order, g.big = binary.BigEndian, true
		default:
			return 0, 0, corruptf("block", "section header byte-order magic % x", bom)
		}
	}
	length = g.order.Uint32(h[4:8])
	switch {
	case length > maxBlockLen:
		return 0, 0, corruptf("block", "block size %d > maximum %d", length, maxBlockLen)
	case length < 12:
		return 0, 0, corruptf("block", "block length %d is less than 12", length)
	case length%4 != 0:
		return 0, 0, corruptf("block", "block length %d is not a multiple of 4", length)
	}
	return typ, length, nil
}

// trailer reads a block's closing length, which must repeat its opening one.
func (g *ngSource) trailer(length uint32) error {
	t := g.hdr[:4]
	if err := g.s.fixed(t, false); err != nil {
		return err
	}
	if end := g.order.Uint32(t); end != length {
		return corruptf("block", "block length %d at the start, %d at the end", length, end)
	}
	return nil
}

// slow reads blocks through the stream until a packet, checking each
// length before it reads what the length announces.
func (g *ngSource) slow(rec *record) error {
	for {
		typ, length, err := g.blockHeader(true)
		if err != nil {
			return err
		}
		body := int64(length) - 12 // between the length and the trailer
		packet := false
		switch typ {
		case blockSHB:
			if err := g.section(length); err != nil {
				return err
			}
			continue // section reads its trailer
		case blockIDB:
			err = g.iface(body)
		case blockEPB, blockPB, blockSPB:
			err = g.packet(typ, body, rec)
			packet = err == nil
		case blockISB:
			err = g.statistics(body)
		default:
			err = g.s.skip(body)
		}
		if err != nil {
			return err
		}
		if err := g.trailer(length); err != nil {
			return err
		}
		if packet {
			return nil
		}
	}
}

// next reads the next packet. A block that is what nearly every block of
// a capture is, an Enhanced Packet Block, whole in the stream's buffer and
// right in every field slow checks, is read in one step, with no call. Any
// other block, or one that is wrong, is left to slow, which reads it, or
// fails on it, as it always has.
func (g *ngSource) next(rec *record) error {
	s := &g.s
	b := s.buf[s.r:s.w]
	if len(b) < 32 {
		return g.slow(rec)
	}
	// The header's fields in the section's byte order, chosen once.
	h := (*[28]byte)(b)
	var typ, length, id, hi, lo, caplen, wire uint32
	if g.big {
		be := binary.BigEndian
		typ, length, id, hi = be.Uint32(h[0:]), be.Uint32(h[4:]), be.Uint32(h[8:]), be.Uint32(h[12:])
		lo, caplen, wire = be.Uint32(h[16:]), be.Uint32(h[20:]), be.Uint32(h[24:])
	} else {
		le := binary.LittleEndian
		typ, length, id, hi = le.Uint32(h[0:]), le.Uint32(h[4:]), le.Uint32(h[8:]), le.Uint32(h[12:])
		lo, caplen, wire = le.Uint32(h[16:]), le.Uint32(h[20:]), le.Uint32(h[24:])
	}
	if typ != blockEPB || length < 32 || length > maxBlockLen || length%4 != 0 || int64(length) > int64(len(b)) {
		return g.slow(rec)
	}
	if int64(id) >= int64(len(g.ifaces)) || caplen > maxSnapLen || caplen > length-32 || g.u32(b[length-4:]) != length {
		return g.slow(rec)
	}
	ifc := &g.ifaces[id]
	rec.data, rec.length, rec.link = b[28:28+caplen:28+caplen], int(wire), ifc.link
	if ts := uint64(hi)<<32 | uint64(lo); ifc.units == 1e6 { // g.ts
		rec.time = time.Unix(int64(ts/1e6)+ifc.offset, int64(ts%1e6)*1e3).UTC() // ifc.time's first case
	} else {
		rec.time = ifc.time(ts)
	}
	g.at = s.off
	s.r += int(length)
	s.off += int64(length)
	return nil
}

// u32 reads a number in the section's byte order, without a call through
// g.order.
func (g *ngSource) u32(b []byte) uint32 {
	if g.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// section reads the rest of a Section Header Block (its type, length and
// byte-order magic read): the version, then options, skipped.
func (g *ngSource) section(length uint32) error {
	g.sections++
	if g.sections > maxSections {
		return corruptf("block", "more than %d sections", maxSections)
	}
	if length < 28 {
		return corruptf("block", "section header of %d bytes (at least 28)", length)
	}
	v := g.hdr[:12] // major, minor, section length
	if err := g.s.fixed(v, false); err != nil {
		return err
	}
	// pcapng 1.0; libpcap and Wireshark also read 1.2, which a few writers
	// put in the header for files that are otherwise 1.0.
	if major, minor := g.order.Uint16(v[0:2]), g.order.Uint16(v[2:4]); major != 1 || minor != 0 && minor != 2 {
		return corruptf("block", "pcapng version %d.%d is not supported (1.0)", major, minor)
	}
	g.ifaces = g.ifaces[:0]
	if err := g.s.skip(int64(length) - 28); err != nil {
		return err
	}
	return g.trailer(length)
}

// iface reads an Interface Description Block's body.
func (g *ngSource) iface(body int64) error {
	if len(g.ifaces) >= maxInterfaces {
		return corruptf("block", "more than %d interfaces in one section", maxInterfaces)
	}
	if body < 8 {
		return corruptf("block", "interface description of %d bytes (at least 20)", body+12)
	}
	h := g.hdr[:8]
	if err := g.s.fixed(h, false); err != nil {
		return err
	}
	ifc := ngIface{link: layers.LinkType(g.order.Uint16(h[0:2])), snap: g.order.Uint32(h[4:8]), units: 1_000_000}
	err := g.options(body-8, func(code uint16, v []byte) error {
		switch {
		case code == optTSResol && len(v) >= 1:
			u, ok := tsUnits(v[0])
			if !ok {
				return corruptf("block", "interface timestamp resolution %#x is beyond a 64-bit timestamp", v[0])
			}
			ifc.units = u
		case code == optTSOffset && len(v) >= 8:
			ifc.offset = int64(g.order.Uint64(v))
		}
		return nil
	})
	if err != nil {
		return err
	}
	g.ifaces = append(g.ifaces, ifc)
	return nil
}

// statistics reads an Interface Statistics Block's body: the interface,
// the timestamp and, of the options, isb_endtime.
func (g *ngSource) statistics(body int64) error {
	if body < 12 {
		return corruptf("block", "interface statistics of %d bytes (at least 24)", body+12)
	}
	h := g.hdr[:12]
	if err := g.s.fixed(h, false); err != nil {
		return err
	}
	id := g.order.Uint32(h[0:4])
	if int64(id) >= int64(len(g.ifaces)) {
		return corruptf("block", "statistics of interface %d, but the section has %d interface(s)", id, len(g.ifaces))
	}
	ifc := &g.ifaces[id]
	stamp := ifc.time(g.ts(h[4:12]))
	var end time.Time
	err := g.options(body-12, func(code uint16, v []byte) error {
		if code == optISBEnd && len(v) == 8 {
			end = ifc.time(g.ts(v))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if g.stated != nil {
		g.stated(end, stamp)
	}
	return nil
}

// ts reads a pcapng timestamp: the high 32 bits, then the low.
func (g *ngSource) ts(b []byte) uint64 {
	return uint64(g.u32(b[0:4]))<<32 | uint64(g.u32(b[4:8]))
}

// tsUnits turns if_tsresol into units per second: 10^-n, or 2^-n with the
// top bit set. Resolutions whose unit count does not fit 64 bits are refused.
func tsUnits(res byte) (uint64, bool) {
	n := res & 0x7f
	if res&0x80 != 0 {
		if n > 63 {
			return 0, false
		}
		return 1 << n, true
	}
	if n > 19 {
		return 0, false
	}
	u := uint64(1)
	for range n {
		u *= 10
	}
	return u, true
}

// options walks the options in the n bytes left of a block, calling fn with
// each option's code and value; values longer than 8 bytes (names,
// comments) are skipped unread. It consumes exactly n bytes.
func (g *ngSource) options(n int64, fn func(code uint16, v []byte) error) error {
	var v [8]byte
	for n >= 4 {
		h := g.hdr[:4]
		if err := g.s.fixed(h, false); err != nil {
			return err
		}
		n -= 4
		code, l := g.order.Uint16(h[0:2]), int64(g.order.Uint16(h[2:4]))
		if code == optEnd {
			break
		}
		padded := (l + 3) &^ 3
		if padded > n {
			return corruptf("block", "option %d of %d bytes runs past the end of its block", code, l)
		}
		n -= padded
		if l > int64(len(v)) {
			if err := g.s.skip(padded); err != nil {
				return err
			}
			continue
		}
		if err := g.s.fixed(v[:l], false); err != nil {
			return err
		}
		if err := fn(code, v[:l]); err != nil {
			return err
		}
		if err := g.s.skip(padded - l); err != nil {
			return err
		}
	}
	return g.s.skip(n)
}

// packet reads the body of an Enhanced, Simple or (obsolete) Packet Block.
// The captured length is checked against the block and against
// maxSnapLen before the packet is read.
func (g *ngSource) packet(typ uint32, body int64, rec *record) error {
	fixed := int64(20)
	if typ == blockSPB {
		fixed = 4
	}
	if body < fixed {
		return corruptf("block", "packet block of %d bytes (at least %d)", body+12, fixed+12)
	}
	h := g.hdr[:fixed]
	if err := g.s.fixed(h, false); err != nil {
		return err
	}
	var id int
	var ts uint64
	var caplen, length uint32
	switch typ {
	case blockSPB: // no timestamp; the snap length of interface 0 applies
		length = g.order.Uint32(h[0:4])
		caplen = uint32(min(int64(length), body-fixed))
		if len(g.ifaces) > 0 && g.ifaces[0].snap != 0 {
			caplen = min(caplen, g.ifaces[0].snap)
		}
	case blockPB:
		id = int(g.order.Uint16(h[0:2]))
	default:
		id = int(g.order.Uint32(h[0:4]))
	}
	if typ != blockSPB {
		ts = g.ts(h[4:12])
		caplen, length = g.order.Uint32(h[12:16]), g.order.Uint32(h[16:20])
	}
	if id < 0 || id >= len(g.ifaces) {
		return corruptf("block", "packet of interface %d, but the section has %d interface(s)", id, len(g.ifaces))
	}
	switch {
	case caplen > maxSnapLen:
		return corruptf("block", "capture length %d exceeds the maximum %d", caplen, maxSnapLen)
	case int64(caplen) > body-fixed:
		return corruptf("block", "capture length %d exceeds the %d bytes of its block", caplen, body-fixed)
	}
	// The packet is sliced from the stream's buffer when the rest of the
	// block, trailer included, is in it: skipping the options and reading
	// the trailer then leave the slice valid. Else it is copied out.
	var data []byte
	var err error
	if g.s.hold(body - fixed + 4) {
		data, err = g.s.read(int(caplen), false)
	} else {
		data, err = g.s.own(&g.long, int(caplen))
	}
	if err != nil {
		return err
	}
	if err := g.s.skip(body - fixed - int64(caplen)); err != nil {
		return err
	}
	ifc := &g.ifaces[id]
	rec.data, rec.length, rec.link = data, int(length), ifc.link
	if typ == blockSPB {
		rec.time = time.Time{}
	} else {
		rec.time = ifc.time(ts)
	}
	return nil
}

// time converts a timestamp in the interface's units to a time.
func (ifc *ngIface) time(ts uint64) time.Time {
	switch ifc.units { // the usual resolutions, by constants, which need no division
	case 1e6:
		return time.Unix(int64(ts/1e6)+ifc.offset, int64(ts%1e6)*1e3).UTC()
	case 1e9:
		return time.Unix(int64(ts/1e9)+ifc.offset, int64(ts%1e9)).UTC()
	}
	sec, frac := ts/ifc.units, ts%ifc.units
	hi, lo := bits.Mul64(frac, 1e9)
	nsec, _ := bits.Div64(hi, lo, ifc.units)
	return time.Unix(int64(sec)+ifc.offset, int64(nsec)).UTC()
}
