package report

import (
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/analyze/zeek"
	"github.com/tcpflow-check/tcpflow-check/internal/timefmt"
)

// zeekFields and zeekTypes are the columns of Zeek's conn.log, as Zeek's
// ASCII writer prints them (without the optional ip_proto column).
const (
	zeekFields = "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents"
	zeekTypes  = "time\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]"
	zeekUnset  = "-"
	zeekEmpty  = "(empty)"
	// zeekTimeFormat is how Zeek writes #open and #close.
	zeekTimeFormat = "2006-01-02-15-04-05"
)

// zeekWriter writes a conn.log that zeek-cut reads: one line per Zeek
// record (zeek.Record), as Zeek would remove the connection, so the
// lines match Zeek's conn.log one to one; the analyzer's own records (End)
// are only counted, since they follow the TCP connection and Zeek's
// timers can split one into several lines (docs/zeek.md). What
// tcpflow-check does not know is unset ("-"): service, local_orig and
// local_resp. As in Zeek, duration and the byte counts are unset for a
// connection of zero duration. #open is the start of the first connection
// logged (the capture start when there is none), #close the end of the
// capture: capture time, never the wall clock, so the log is deterministic.
type zeekWriter struct {
	base
	header bool
	last   time.Time // latest connection end seen, for #close
}

func (z *zeekWriter) Finding(*analyze.Conn, *analyze.Finding) {}

func (z *zeekWriter) writeHeader(open time.Time) {
	z.header = true
	z.buf.WriteString("#separator \\x09\n")
	z.buf.WriteString("#set_separator\t,\n")
	z.buf.WriteString("#empty_field\t" + zeekEmpty + "\n")
	z.buf.WriteString("#unset_field\t" + zeekUnset + "\n")
	z.buf.WriteString("#path\tconn\n")
	if !open.IsZero() {
		z.buf.WriteString("#open\t" + zeekHeaderTime(open) + "\n")
	}
	z.buf.WriteString("#fields\t" + zeekFields + "\n")
	z.buf.WriteString("#types\t" + zeekTypes + "\n")
}

func (z *zeekWriter) End(c *analyze.Conn) { z.t.add(c) }

func (z *zeekWriter) ZeekEnd(r *zeek.Record) {
	if !z.header {
		z.writeHeader(r.Start)
	}
	if r.End.After(z.last) {
		z.last = r.End
	}
	b := z.buf.AvailableBuffer()
	b = zeekTime(b, r.Start)
	b = append(b, '\t')
	b = zeekString(b, r.UID)
	b = append(b, '\t')
	b = zeekAddr(b, r.Orig)
	b = append(b, '\t')
	b = strconv.AppendUint(b, uint64(r.Orig.Port()), 10)
	b = append(b, '\t')
	b = zeekAddr(b, r.Resp)
	b = append(b, '\t')
	b = strconv.AppendUint(b, uint64(r.Resp.Port()), 10)
	b = append(b, "\ttcp\t-\t"...)
	if d := r.Duration(); d > 0 {
		b = zeekInterval(b, d)
		b = append(b, '\t')
		b = strconv.AppendUint(b, r.OrigBytes, 10)
		b = append(b, '\t')
		b = strconv.AppendUint(b, r.RespBytes, 10)
	} else {
		b = append(b, "-\t-\t-"...)
	}
	b = append(b, '\t')
	b = zeekString(b, string(r.ConnState))
	b = append(b, "\t-\t-\t"...) // local_orig, local_resp
	b = strconv.AppendUint(b, r.MissedBytes, 10)
	b = append(b, '\t')
	b = zeekString(b, r.History)
	for _, n := range [...]uint64{r.OrigPkts, r.OrigIPBytes, r.RespPkts, r.RespIPBytes} {
		b = append(b, '\t')
		b = strconv.AppendUint(b, n, 10)
	}
	b = append(b, '\t')
	if len(r.TunnelParents) == 0 {
		b = append(b, zeekUnset...)
	}
	for i, p := range r.TunnelParents {
		if i > 0 {
			b = append(b, ',')
		}
		b = zeekString(b, p)
	}
	b = append(b, '\n')
	z.buf.Write(b)
	z.flush()
}

func (z *zeekWriter) Close(s *Summary) error {
	s = orEmpty(s)
	if !z.header {
		z.writeHeader(s.Capture.First)
	}
	end := s.Capture.Last
	if end.IsZero() {
		end = z.last
	}
	if !end.IsZero() {
		z.buf.WriteString("#close\t" + zeekHeaderTime(end) + "\n")
	}
	z.flush()
	return z.err
}

// zeekHeaderTime writes t as Zeek writes #open and #close, or, past the
// year 9999, as seconds since the epoch (Zeek's time type).
func zeekHeaderTime(t time.Time) string {
	if !timefmt.InRange(t) {
		return timefmt.EpochMicro(t)
	}
	return t.UTC().Format(zeekTimeFormat)
}

// zeekTime appends t as Zeek's time type: epoch seconds with 6 decimals,
// exact for any time (before 1970 too).
func zeekTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, zeekUnset...)
	}
	return append(b, timefmt.EpochMicro(t)...)
}

// zeekAddr appends ap's address as Zeek's addr type (IPv6 without brackets
// or zone); unset when invalid.
func zeekAddr(b []byte, ap netip.AddrPort) []byte {
	if !ap.Addr().IsValid() {
		return append(b, zeekUnset...)
	}
	return ap.Addr().WithZone("").AppendTo(b)
}

// zeekInterval appends d as Zeek's interval type: seconds with 6 decimals.
func zeekInterval(b []byte, d time.Duration) []byte {
	us := d.Microseconds()
	return fmt.Appendf(b, "%d.%06d", us/1e6, us%1e6)
}

// zeekString appends s escaped as Zeek's ASCII writer does: unset when
// empty, and \xNN for the separator, non-printable bytes and backslashes, so
// that a field never splits a line.
func zeekString(b []byte, s string) []byte {
	switch s {
	case "":
		return append(b, zeekUnset...)
	case zeekUnset, zeekEmpty:
		// A literal "-" would read as unset: escape its first byte, as Zeek does.
		return append(fmt.Appendf(b, "\\x%02x", s[0]), s[1:]...)
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch < 0x20 || ch >= 0x7f || ch == '\\' {
			b = fmt.Appendf(b, "\\x%02x", ch)
			continue
		}
		b = append(b, ch)
	}
	return b
}
