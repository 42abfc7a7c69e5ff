package capture

import (
	"encoding/binary"
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// TCP option kinds gopacket's layers has no constant for.
const (
	tcpOptionFastOpen     layers.TCPOptionKind = 34  // RFC 7413
	tcpOptionExperimental layers.TCPOptionKind = 254 // RFC 6994; TFO used it before 34
)

// tfoExperimentMagic is the experiment id of TCP Fast Open in an
// experimental option (RFC 6994).
var tfoExperimentMagic = [2]byte{0xf9, 0x89}

// tsOnly starts the option list NOP, NOP, Timestamps (RFC 7323, Appendix A).
var tsOnly = [4]byte{byte(layers.TCPOptionKindNop), byte(layers.TCPOptionKindNop), byte(layers.TCPOptionKindTimestamps), 10}

// The option list of Linux's SYN and SYN-ACK, by its kind and length
// bytes: MSS (kind 2, 4 bytes) at 0, SACK permitted (4, 2) and Timestamps
// (8, 10) at 4, NOP (1) and Window scale (3, 3) at 16, its shift count
// the list's last byte.
const (
	synLinuxMSS       = 0x0204
	synLinuxSACKTS    = 0x0402080a
	synLinuxNOPWScale = 0x01030300
)

// tsOnlyWord is tsOnly as a big-endian number.
const tsOnlyWord = uint32(layers.TCPOptionKindNop)<<24 | uint32(layers.TCPOptionKindNop)<<16 | uint32(layers.TCPOptionKindTimestamps)<<8 | 10

// tcp decodes a TCP header. b is the captured part of the IP payload, wire its
// length on the wire according to the IP header. The 20 fixed bytes must have
// been captured; options need not be.
func (d *Decoder) tcp(b []byte, wire int, verifiable bool, seg *Segment, bad *bool) SkipKind {
	if len(b) < 20 {
		return SkipTruncated
	}
	off := int(b[12]>>4) * 4
	if off < 20 || off > wire && !d.clamped {
		return SkipBadTCP
	}
	seg.Src = netip.AddrPortFrom(seg.Src.Addr(), binary.BigEndian.Uint16(b))
	seg.Dst = netip.AddrPortFrom(seg.Dst.Addr(), binary.BigEndian.Uint16(b[2:]))
	seg.Seq = binary.BigEndian.Uint32(b[4:])
	seg.Ack = binary.BigEndian.Uint32(b[8:])
	seg.Flags = Flags(b[13])
	seg.Window = binary.BigEndian.Uint16(b[14:])
	seg.Len = uint32(max(wire-off, 0))
	seg.Missing = seg.Len - uint32(max(min(len(b), wire)-off, 0))
	seg.HeaderCut = off > len(b)
	if d.verify && verifiable && len(b) >= wire && !d.tcpChecksumOK(b[:wire]) {
		*bad = true
	}
	// Options cut off by the snap length are lost; the segment is not.
	if off == 32 && len(b) >= 32 && binary.BigEndian.Uint32(b[20:]) == tsOnlyWord {
		// parseOptions' first case, the options of nearly every segment
		// once timestamps are on, without the call
		seg.Opts.TSVal = binary.BigEndian.Uint32(b[24:])
		seg.Opts.TSEcr = binary.BigEndian.Uint32(b[28:])
		seg.Opts.HasTS = true
	} else if o := b[20:min(off, len(b))]; len(o) > 0 {
		parseOptions(o, seg.Flags&SYN != 0, &seg.Opts)
	}
	return NotSkipped
}

// parseOptions reads the TCP options of interest. A malformed option ends the
// list; what was read before it is kept, as a receiving host would.
func parseOptions(o []byte, syn bool, opts *Options) {
	if len(o) == 12 && [4]byte(o) == tsOnly {
		// What every segment but the SYN carries once timestamps are on
		// (Linux, the BSDs, Windows): read without walking the list.
		opts.TSVal = binary.BigEndian.Uint32(o[4:])
		opts.TSEcr = binary.BigEndian.Uint32(o[8:])
		opts.HasTS = true
		return
	}
	if len(o) == 20 && binary.BigEndian.Uint16(o) == synLinuxMSS && binary.BigEndian.Uint32(o[4:]) == synLinuxSACKTS &&
		binary.BigEndian.Uint32(o[16:])&^0xff == synLinuxNOPWScale {
		// MSS, SACK permitted, Timestamps, NOP, Window scale: the SYN and
		// SYN-ACK of Linux, and so of nearly every connection; read
		// without walking the list.
		if syn {
			opts.MSS, opts.HasMSS = binary.BigEndian.Uint16(o[2:]), true
			opts.SACKPerm = true
			opts.WScale, opts.HasWScale = o[19], true
		}
		opts.TSVal = binary.BigEndian.Uint32(o[8:])
		opts.TSEcr = binary.BigEndian.Uint32(o[12:])
		opts.HasTS = true
		return
	}
	for i := 0; i < len(o); {
		kind := layers.TCPOptionKind(o[i])
		if kind == layers.TCPOptionKindEndList {
			return
		}
		if kind == layers.TCPOptionKindNop {
			i++
			continue
		}
		if i+1 >= len(o) {
			return
		}
		l := int(o[i+1])
		if l < 2 || i+l > len(o) {
			return
		}
		v := o[i+2 : i+l]
		switch kind {
		case layers.TCPOptionKindMSS:
			if syn && len(v) == 2 {
				opts.MSS, opts.HasMSS = binary.BigEndian.Uint16(v), true
			}
		case layers.TCPOptionKindWindowScale:
			if syn && len(v) == 1 {
				opts.WScale, opts.HasWScale = v[0], true
			}
		case layers.TCPOptionKindSACKPermitted:
			if syn && len(v) == 0 {
				opts.SACKPerm = true
			}
		case layers.TCPOptionKindTimestamps:
			if len(v) == 8 {
				opts.TSVal = binary.BigEndian.Uint32(v)
				opts.TSEcr = binary.BigEndian.Uint32(v[4:])
				opts.HasTS = true
			}
		case tcpOptionFastOpen:
			if syn {
				opts.FastOpen = true
			}
		case tcpOptionExperimental:
			if syn && len(v) >= 2 && [2]byte(v) == tfoExperimentMagic {
				opts.FastOpen = true
			}
		}
		i += l
	}
}
