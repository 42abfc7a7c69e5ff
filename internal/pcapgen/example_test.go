package pcapgen_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"time"

	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/internal/pcapgen"
)

// A SYN answered by RST+ACK, written as a Linux SLL2 capture.
func ExampleWrite() {
	c := pcapgen.NewConv(netip.MustParseAddrPort("192.0.2.1:40000"), netip.MustParseAddrPort("192.0.2.2:80"),
		1000, 0, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c.C(capture.SYN, 0, 0, 0)
	c.S(capture.RST|capture.ACK, 0, 1, 0) // ack = ISN_c+1: refused
	var buf bytes.Buffer
	if err := pcapgen.Write(&buf, pcapgen.Format{}, pcapgen.SLL2, c.Segs); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(c.Segs), "segments,", buf.Len(), "bytes, ack", c.Segs[1].Ack)
	// Output: 2 segments, 188 bytes, ack 1001
}
