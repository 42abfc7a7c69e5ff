package reassembly

import "net/netip"

// Key identifies a connection by its two endpoints, whichever way a segment
// travels: KeyOf(a, b) == KeyOf(b, a). It is comparable and allocation-free.
type Key struct {
	lo, hi netip.AddrPort
}

// KeyOf returns the key of the connection between a and b.
func KeyOf(a, b netip.AddrPort) Key {
	if lessAddrPort(b, a) {
		a, b = b, a
	}
	return Key{lo: a, hi: b}
}

func lessAddrPort(a, b netip.AddrPort) bool {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c < 0
	}
	return a.Port() < b.Port()
}

// Endpoints returns the key's two endpoints in canonical order.
func (k Key) Endpoints() (netip.AddrPort, netip.AddrPort) { return k.lo, k.hi }

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
