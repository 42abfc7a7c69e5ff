// Package ipfrag splits IP packets into fragments as a router or a sending
// host would, for tests of reassembly: IPv4 fragments with offset, MF and
// length in the header, IPv6 ones with a fragment header. It depends on no
// other package of the module, so that package capture's own tests can use
// it as well as pcapgen's users.
package ipfrag

import (
	"encoding/binary"
	"fmt"
)

// Split splits the IP packet that starts at ipOff in frame into
// fragments carrying at most size bytes of its payload each (size is
// rounded down to a multiple of 8, at least 8), as a router would: IPv4
// fragments get the offset, MF and length in their header (checksum
// recomputed, DF cleared); IPv6 fragments get a fragment header, with
// identification id, right after the 40-byte header. Every fragment is
// a fresh frame with frame[:ipOff] in front. The packet must have no IPv6
// extension headers.
func Split(frame []byte, ipOff, size int, id uint32) ([][]byte, error) {
	size = max(size&^7, 8)
	if ipOff < 0 || len(frame) < ipOff+20 {
		return nil, fmt.Errorf("ipfrag: frame of %d bytes has no IP header at %d", len(frame), ipOff)
	}
	link, ip := frame[:ipOff], frame[ipOff:]
	var out [][]byte
	switch ip[0] >> 4 {
	case 4:
		ihl := int(ip[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(ip[2:]))
		if ihl < 20 || total < ihl || total > len(ip) {
			return nil, fmt.Errorf("ipfrag: bad IPv4 header")
		}
		payload := ip[ihl:total]
		for off := 0; off < len(payload); off += size {
			end := min(off+size, len(payload))
			f := append(append(append([]byte(nil), link...), ip[:ihl]...), payload[off:end]...)
			h := f[ipOff:]
			binary.BigEndian.PutUint16(h[2:], uint16(ihl+end-off))
			binary.BigEndian.PutUint16(h[4:], uint16(id))
			fl := uint16(off / 8)
			if end < len(payload) {
				fl |= 0x2000 // MF
			}
			binary.BigEndian.PutUint16(h[6:], fl)
			binary.BigEndian.PutUint16(h[10:], 0)
			binary.BigEndian.PutUint16(h[10:], ipChecksum(h[:ihl]))
			out = append(out, f)
		}
	case 6:
		if len(ip) < 40 {
			return nil, fmt.Errorf("ipfrag: short IPv6 header")
		}
		plen := int(binary.BigEndian.Uint16(ip[4:]))
		if 40+plen > len(ip) {
			return nil, fmt.Errorf("ipfrag: bad IPv6 payload length")
		}
		next := ip[6]
		payload := ip[40 : 40+plen]
		for off := 0; off < len(payload); off += size {
			end := min(off+size, len(payload))
			f := append(append([]byte(nil), link...), ip[:40]...)
			h := f[ipOff:]
			h[6] = 44 // fragment header
			binary.BigEndian.PutUint16(h[4:], uint16(8+end-off))
			fh := [8]byte{next}
			fl := uint16(off)
			if end < len(payload) {
				fl |= 1 // M
			}
			binary.BigEndian.PutUint16(fh[2:], fl)
			binary.BigEndian.PutUint32(fh[4:], id)
			f = append(append(f, fh[:]...), payload[off:end]...)
			out = append(out, f)
		}
	default:
		return nil, fmt.Errorf("ipfrag: IP version %d", ip[0]>>4)
	}
	return out, nil
}

// ipChecksum is the Internet checksum of an IPv4 header whose checksum
// field is zero.
func ipChecksum(h []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(h); i += 2 {
		s += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
