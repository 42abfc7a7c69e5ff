package reassembly

import (
	"encoding/binary"
	"net/netip"
)

// Key identifies a connection by its two endpoints, whichever way a segment
// travels: KeyOf(a, b) == KeyOf(b, a). It is comparable, allocation-free and
// holds no pointer (netip.Addr holds one, for its zone): each address is its
// 16-byte form as two words with a family code, 40 bytes in all, hashed as
// plain memory. An address's IPv6 zone is not kept (captured addresses
// have none).
type Key struct {
	loHi, loLo, hiHi, hiLo uint64 // the endpoints' addresses (As16, big-endian words)
	loPort, hiPort         uint16
	fam                    uint32 // family codes: lo's in bits 0-1, hi's in bits 2-3 (famNone, fam4, fam6)
}

// Family codes, ordered as netip.Addr.Compare orders by BitLen.
const (
	famNone = 0 // the zero Addr
	fam4    = 1
	fam6    = 2
)

// KeyOf returns the key of the connection between a and b.
func KeyOf(a, b netip.AddrPort) Key {
	k, _ := KeyFrom(a, b)
	return k
}

// KeyFrom returns the key of the connection between src and dst, and
// whether src is the key's second (higher) endpoint.
func KeyFrom(src, dst netip.AddrPort) (Key, bool) {
	sh, sl, sf := words(src.Addr())
	dh, dl, df := words(dst.Addr())
	hi := df < sf || df == sf && (dh < sh || dh == sh && (dl < sl || dl == sl && dst.Port() < src.Port()))
	if hi {
		return Key{loHi: dh, loLo: dl, hiHi: sh, hiLo: sl, loPort: dst.Port(), hiPort: src.Port(), fam: df | sf<<2}, true
	}
	return Key{loHi: sh, loLo: sl, hiHi: dh, hiLo: dl, loPort: src.Port(), hiPort: dst.Port(), fam: sf | df<<2}, false
}

// words returns a's 16-byte form as two big-endian words and its family code.
func words(a netip.Addr) (hi, lo uint64, fam uint32) {
	if a.Is4() {
		// As16's form of an IPv4 address: ::ffff:a.b.c.d.
		b := a.As4()
		return 0, 0xffff<<32 | uint64(binary.BigEndian.Uint32(b[:])), fam4
	}
	if a.IsValid() {
		fam = fam6
	}
	b := a.As16()
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]), fam
}

// addrOf is the address of words hi, lo in family fam.
func addrOf(hi, lo uint64, fam uint32) netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], hi)
	binary.BigEndian.PutUint64(b[8:], lo)
	switch fam {
	case fam4:
		return netip.AddrFrom4([4]byte(b[12:]))
	case fam6:
		return netip.AddrFrom16(b)
	}
	return netip.Addr{}
}

// Endpoints returns the key's two endpoints in canonical order (by
// netip.Addr.Compare, then port).
func (k Key) Endpoints() (netip.AddrPort, netip.AddrPort) { return k.endpoint(false), k.endpoint(true) }

// endpoint returns the key's lower endpoint, or with hi its higher one.
func (k Key) endpoint(hi bool) netip.AddrPort {
	if hi {
		return netip.AddrPortFrom(addrOf(k.hiHi, k.hiLo, k.fam>>2), k.hiPort)
	}
	return netip.AddrPortFrom(addrOf(k.loHi, k.loLo, k.fam&3), k.loPort)
}

// Dir is the direction of a segment within its connection.
type Dir uint8

// The directions.
const (
	ClientToServer Dir = iota
	ServerToClient
)

// Reverse returns the other direction.
func (d Dir) Reverse() Dir { return d ^ 1 }

// String returns "c>s" or "s>c".
func (d Dir) String() string {
	if d == ServerToClient {
		return "s>c"
	}
	return "c>s"
}

// MarshalText implements encoding.TextMarshaler.
func (d Dir) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// serverPorts are ports whose owner is almost surely the server when no SYN
// tells (a short list in the spirit of Zeek's likely_server_ports).
var serverPorts = map[uint16]bool{
	21: true, 22: true, 23: true, 25: true, 53: true, 80: true, 88: true, 110: true, 111: true,
	135: true, 139: true, 143: true, 179: true, 389: true, 443: true, 445: true, 465: true,
	502: true, 587: true, 636: true, 993: true, 995: true, 1080: true, 1433: true, 1521: true,
	1883: true, 2049: true, 2181: true, 2379: true, 3128: true, 3306: true, 3389: true,
	5060: true, 5222: true, 5432: true, 5672: true, 5900: true, 6379: true, 6443: true,
	6667: true, 8000: true, 8080: true, 8443: true, 8888: true, 9000: true, 9092: true,
	9200: true, 11211: true, 27017: true,
}

// likelyServer reports whether port p looks like the server's side of a
// connection whose other port is q.
func likelyServer(p, q uint16) bool {
	ps, qs := serverPorts[p], serverPorts[q]
	if ps != qs {
		return ps
	}
	if (p < 1024) != (q < 1024) {
		return p < 1024
	}
	return false
}
