package capture

import (
	"encoding/binary"

	"github.com/gopacket/gopacket/layers"
)

// checksum adds b to the ones' complement sum initial and returns the
// folded 16-bit sum (not complemented). A header with a correct checksum
// sums to 0xffff.
func checksum(b []byte, initial uint32) uint16 {
	sum := uint64(initial)
	for len(b) >= 8 {
		sum += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	if len(b) >= 4 {
		sum += uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		sum += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint64(b[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}

// tcpChecksumOK verifies the checksum of the whole TCP segment seg against
// the pseudo-header of the innermost IP header (d.src, d.dst).
func (d *Decoder) tcpChecksumOK(seg []byte) bool {
	var pseudo uint32
	for i := 0; i+1 < len(d.src); i += 2 {
		pseudo += uint32(binary.BigEndian.Uint16(d.src[i:]))
	}
	for i := 0; i+1 < len(d.dst); i += 2 {
		pseudo += uint32(binary.BigEndian.Uint16(d.dst[i:]))
	}
	pseudo += uint32(layers.IPProtocolTCP) + uint32(len(seg))&0xffff + uint32(len(seg))>>16
	return checksum(seg, pseudo) == 0xffff
}
