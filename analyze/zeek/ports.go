package zeek

// PortSet is a set of TCP ports (a bitmap).
type PortSet [65536 / 64]uint64

func (p *PortSet) Has(port uint16) bool { return p[port/64]&(1<<(port%64)) != 0 }
func (p *PortSet) Add(port uint16)      { p[port/64] |= 1 << (port % 64) }

// defaultServerPorts is likely_server_ports as a default Zeek (all base
// scripts loaded) builds it: each base/protocols script adds its analyzer's
// well-known TCP ports (`redef likely_server_ports += { ports }`).
var defaultServerPorts = func() *PortSet {
	var p PortSet
	for _, port := range []uint16{
		21, 2811, // ftp
		22,      // ssh
		25, 587, // smtp
		53,                                        // dns
		80, 81, 631, 1080, 3128, 8000, 8080, 8888, // http (1080 also socks)
		88,       // krb
		110,      // pop3
		135,      // dce-rpc
		139, 445, // smb
		143,       // imap
		389, 3268, // ldap
		443, 563, 585, 614, 636, 989, 990, 992, 993, 995, 5223, // ssl
		502,        // modbus
		1434, 3306, // mysql
		1883,       // mqtt
		3389,       // rdp
		5222, 5269, // xmpp
		5432,                                           // postgresql
		5900, 5901, 5902, 5903, 5904, 5905, 5906, 5907, // rfb
		6379,                   // redis
		6666, 6667, 6668, 6669, // irc
		20000, // dnp3
	} {
		p.Add(port)
	}
	return &p
}()

// likelyServer reports whether port is in ports (nil: the default set).
func likelyServer(ports *PortSet, port uint16) bool {
	if ports != nil {
		return ports.Has(port)
	}
	return defaultServerPorts.Has(port)
}
