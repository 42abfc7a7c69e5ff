package scenario

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sort"
	"syscall"
	"time"
)

// Config says where the two halves of a scenario meet.
type Config struct {
	// Server is the server's address: where the server listens and the
	// client connects. Required.
	Server netip.AddrPort
	// Client is the client's local address. The zero value lets the kernel
	// choose; a fixed port is needed by port-reuse and simultaneous-open,
	// which use DefaultClientPort when the port is 0.
	Client netip.AddrPort
	// At is the instant both halves act together (simultaneous-open dials,
	// simultaneous-close shuts down). The zero value means "now + 1 s" for
	// the client, which sends it to the server in-band where the scenario
	// allows; simultaneous-open needs it set on both halves.
	At time.Time
	// Log receives one line per step; nil discards.
	Log io.Writer
	// Listening, if set, is called by the server half once it is ready for
	// the client (listening, or about to dial for simultaneous-open).
	Listening func()
}

// DefaultClientPort is the client port used by the scenarios that need a
// fixed one when Config.Client has port 0.
const DefaultClientPort = 40000

// Role is one half of a scenario. It returns when its part is done, or when
// ctx is cancelled.
type Role func(ctx context.Context, c Config) error

// Scenario is one recorded case.
type Scenario struct {
	Name string
	// Doc says what the scenario does and what it needs from its
	// surroundings (sysctls, nft rules, netem).
	Doc string
	// Client and Server are the two halves; Server is nil when no listener
	// may exist (refused).
	Client, Server Role
}

var scenarios = []Scenario{
	{"normal-close", "request/response, then the client closes first; the server closes on EOF.", normalCloseClient, echoServer},
	{"server-closes-first", "request/response, the server closes right after its response; the client closes on EOF.", readToEOFClient, respondAndCloseServer},
	{"refused", "the client connects to a port nobody listens on and gets a RST.", refusedClient, nil},
	{"syn-unanswered", "the client connects and gives up after 7.5 s; the caller drops SYNs at the server (nft).", unansweredClient, idleServer},
	{"missing-third-ack", "the client connects and writes; the caller drops the client's non-SYN segments on the way out so the server retransmits its SYN-ACK (small tcp_synack_retries).", missingAckClient, idleServer},
	{"half-close-stuck", "the client writes a request and shuts down its write side; the server reads to EOF and then keeps the socket open for 5 s without closing, sending keep-alive probes every second.", halfCloseClient, stuckServer},
	{"close-wait-leak", "the client writes a request, shuts down its write side, waits 200 ms for an answer and exits; the server reads to EOF and never closes (killed after the capture). Recorded with tcpdump stopped right after the client: the trace ends in CLOSE_WAIT.", leakClient, leakServer},
	{"syn-timeout", "the client connects with a 1 s timeout and gives up; the caller drops SYNs at the server (nft). Recorded with tcpdump stopped right after the client.", synTimeoutClient, idleServer},
	{"half-close-with-data", "the client writes a request and shuts down its write side; the server reads to EOF, sends a 4 KB response and closes.", halfCloseClient, halfCloseDataServer},
	{"rst-by-client", "request/response, then the client closes with SO_LINGER{1,0}: a RST mid-connection.", rstClient, echoServer},
	{"rst-by-server", "the server sends part of a response and closes with SO_LINGER{1,0}.", readToEOFClient, rstServer},
	{"simultaneous-close", "after one exchange both sides shutdown(SHUT_WR) at the same instant (At, sent in-band), so the FINs cross.", simCloseClient, simCloseServer},
	{"simultaneous-open", "both sides bind fixed ports and connect to each other, each at its own At; the SYNs cross when the caller delays or drops the first one.", simOpenClient, simOpenServer},
	{"syn-retransmitted", "a normal exchange; the caller drops the first SYN so the client retransmits it.", normalCloseClient, echoServer},
	{"port-reuse", "two connections from the same client port: the first closed by the server first (server in TIME_WAIT), the second reopened 0.5 s later and closed by the client.", portReuseClient, portReuseServer},
	{"zero-window", "the server has a small SO_RCVBUF and does not read for 7 s while the client sends 64 KB, then reads it all.", zeroWindowClient, zeroWindowServer},
	{"keep-alive", "the client enables keep-alive (idle 1 s, interval 1 s), exchanges one message and stays idle 3.5 s before closing.", keepAliveClient, echoServer},
	{"loss-retransmission", "the server sends 300 KB; the caller drops some of it (netem or nft) so segments are retransmitted.", bulkClient, bulkServer},
}

// All returns the scenarios, sorted by name.
func All() []Scenario {
	s := append([]Scenario(nil), scenarios...)
	sort.Slice(s, func(i, j int) bool { return s[i].Name < s[j].Name })
	return s
}

// Lookup returns the scenario called name.
func Lookup(name string) (Scenario, bool) {
	for _, s := range scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

// ErrUnexpected reports that the network did not behave as the scenario
// needs (e.g. a connection that should be refused was accepted).
var ErrUnexpected = errors.New("scenario: unexpected outcome")

func logf(c Config, format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

// listen listens on c.Server; rcvbuf > 0 sets SO_RCVBUF on the listener
// (inherited by accepted sockets). The listener closes when ctx ends.
func listen(ctx context.Context, c Config, rcvbuf int) (*net.TCPListener, error) {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
			if serr == nil && rcvbuf > 0 {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
			}
		})
		return errors.Join(err, serr)
	}}
	ln, err := lc.Listen(ctx, "tcp", c.Server.String())
	if err != nil {
		return nil, fmt.Errorf("scenario: listen %s: %w", c.Server, err)
	}
	go func() { <-ctx.Done(); ln.Close() }()
	if c.Listening != nil {
		c.Listening()
	}
	return ln.(*net.TCPListener), nil
}

func accept(ln *net.TCPListener) (*net.TCPConn, error) {
	conn, err := ln.AcceptTCP()
	if err != nil {
		return nil, fmt.Errorf("scenario: accept: %w", err)
	}
	return conn, nil
}

// serveOne listens, accepts one connection, closes the listener and runs fn.
func serveOne(ctx context.Context, c Config, rcvbuf int, fn func(*net.TCPConn) error) error {
	ln, err := listen(ctx, c, rcvbuf)
	if err != nil {
		return err
	}
	conn, err := accept(ln)
	ln.Close()
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	return fn(conn)
}

// dialer returns a dialer bound to local (if valid), with SO_REUSEADDR so a
// fixed port can be reused at once.
func dialer(local netip.AddrPort) *net.Dialer {
	d := &net.Dialer{KeepAlive: -1}
	if local.IsValid() {
		d.LocalAddr = net.TCPAddrFromAddrPort(local)
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
			})
			return errors.Join(err, serr)
		}
	}
	return d
}

func dial(ctx context.Context, c Config, local netip.AddrPort) (*net.TCPConn, error) {
	conn, err := dialer(local).DialContext(ctx, "tcp", c.Server.String())
	if err != nil {
		return nil, fmt.Errorf("scenario: dial %s: %w", c.Server, err)
	}
	tc := conn.(*net.TCPConn)
	context.AfterFunc(ctx, func() { tc.SetDeadline(time.Now()) })
	return tc, nil
}

// fixedClient returns c.Client with DefaultClientPort when its port is 0.
func fixedClient(c Config) netip.AddrPort {
	addr := c.Client.Addr()
	if !addr.IsValid() {
		if c.Server.Addr().Is4() {
			addr = netip.IPv4Unspecified()
		} else {
			addr = netip.IPv6Unspecified()
		}
	}
	port := c.Client.Port()
	if port == 0 {
		port = DefaultClientPort
	}
	return netip.AddrPortFrom(addr, port)
}

// dialAt connects from local to remote with connect(2) issued at the instant
// at: the socket is created and bound beforehand so that only the connect
// itself (a few µs) separates the instant from the SYN.
func dialAt(ctx context.Context, local, remote netip.AddrPort, at time.Time) (*net.TCPConn, error) {
	family := syscall.AF_INET
	if remote.Addr().Is6() {
		family = syscall.AF_INET6
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("scenario: socket: %w", err)
	}
	f := os.NewFile(uintptr(fd), "tcp")
	defer f.Close()
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		return nil, fmt.Errorf("scenario: SO_REUSEADDR: %w", err)
	}
	// A blocking connect gives up after SO_SNDTIMEO.
	tv := syscall.Timeval{Sec: 5}
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &tv); err != nil {
		return nil, fmt.Errorf("scenario: SO_SNDTIMEO: %w", err)
	}
	if err := syscall.Bind(fd, sockaddr(local)); err != nil {
		return nil, fmt.Errorf("scenario: bind %s: %w", local, err)
	}
	if err := waitUntil(ctx, at); err != nil {
		return nil, err
	}
	if err := syscall.Connect(fd, sockaddr(remote)); err != nil {
		return nil, fmt.Errorf("scenario: connect %s->%s: %w", local, remote, err)
	}
	nc, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	tc := nc.(*net.TCPConn)
	context.AfterFunc(ctx, func() { tc.SetDeadline(time.Now()) })
	return tc, nil
}

func sockaddr(a netip.AddrPort) syscall.Sockaddr {
	if a.Addr().Is4() {
		return &syscall.SockaddrInet4{Port: int(a.Port()), Addr: a.Addr().As4()}
	}
	return &syscall.SockaddrInet6{Port: int(a.Port()), Addr: a.Addr().As16()}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func sleepUntil(ctx context.Context, at time.Time) error { return sleep(ctx, time.Until(at)) }

// waitUntil sleeps until 2 ms before at and spins the rest: timer wake-ups
// are ~100 µs apart, and two segments must leave within a few µs of each
// other to cross on a veth.
func waitUntil(ctx context.Context, at time.Time) error {
	if err := sleepUntil(ctx, at.Add(-2*time.Millisecond)); err != nil {
		return err
	}
	for time.Now().Before(at) {
	}
	return nil
}

var request = []byte("GET / HTTP/1.0\r\n\r\n")

// readN reads one message of up to len(buf) bytes.
func readSome(conn *net.TCPConn) ([]byte, error) {
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		return nil, fmt.Errorf("scenario: read: %w", err)
	}
	return buf[:n], nil
}

func write(conn *net.TCPConn, b []byte) error {
	if _, err := conn.Write(b); err != nil {
		return fmt.Errorf("scenario: write: %w", err)
	}
	return nil
}

// drain reads until EOF and returns the byte count.
func drain(conn *net.TCPConn) (int64, error) {
	n, err := io.Copy(io.Discard, conn)
	if err != nil {
		return n, fmt.Errorf("scenario: read to EOF: %w", err)
	}
	return n, nil
}

// --- servers ---

// echoServer answers each message with "OK <message>" until EOF, then closes.
func echoServer(ctx context.Context, c Config) error {
	return serveOne(ctx, c, 0, func(conn *net.TCPConn) error {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if errors.Is(err, io.EOF) {
				logf(c, "server: EOF, closing")
				return nil
			}
			if errors.Is(err, syscall.ECONNRESET) {
				logf(c, "server: reset by the client")
				return nil
			}
			if err != nil {
				return fmt.Errorf("scenario: read: %w", err)
			}
			if err := write(conn, append([]byte("OK "), buf[:n]...)); err != nil {
				return err
			}
		}
	})
}

func respondAndCloseServer(ctx context.Context, c Config) error {
	return serveOne(ctx, c, 0, func(conn *net.TCPConn) error {
		if _, err := readSome(conn); err != nil {
			return err
		}
		if err := write(conn, []byte("HTTP/1.0 200 OK\r\n\r\nbye")); err != nil {
			return err
		}
		logf(c, "server: closing first")
		return conn.Close()
	})
}

// idleServer listens and accepts whatever comes until ctx ends.
func idleServer(ctx context.Context, c Config) error {
	ln, err := listen(ctx, c, 0)
	if err != nil {
		return err
	}
	for {
		conn, err := accept(ln)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		defer conn.Close()
	}
}

func stuckServer(ctx context.Context, c Config) error {
	return serveOne(ctx, c, 0, func(conn *net.TCPConn) error {
		// Keep-alive probes every second show the capture's clock moving on
		// while the server sits in CLOSE_WAIT (a capture has no end marker:
		// its last packet is its end).
		if err := conn.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: time.Second, Interval: time.Second, Count: 9}); err != nil {
			return fmt.Errorf("scenario: keep-alive: %w", err)
		}
		n, err := drain(conn)
		if err != nil {
			return err
		}
		logf(c, "server: got %d bytes and EOF; staying in CLOSE_WAIT for 5 s", n)
		sleep(ctx, 5*time.Second)
		return nil
	})
}

func halfCloseDataServer(ctx context.Context, c Config) error {
	return serveOne(ctx, c, 0, func(conn *net.TCPConn) error {
		if _, err := drain(conn); err != nil {
			return err
		}
		if err := write(conn, make([]byte, 4096)); err != nil {
			return err
		}
		return conn.Close()
	})
}

func rstServer(ctx context.Context, c Config) error {
	return serveOne(ctx, c, 0, func(conn *net.TCPConn) error {
		if _, err := readSome(conn); err != nil {
			return err
		}
		if err := write(conn, []byte("HTTP/1.0 200 OK\r\n\r\npart")); err != nil {
			return err
		}
		sleep(ctx, 100*time.Millisecond)
		conn.SetLinger(0)
		logf(c, "server: aborting with RST")
		return conn.Close()
	})
}

func simCloseServer(ctx context.Context, c Config) error {
	return serveOne(ctx, c, 0, func(conn *net.TCPConn) error {
		msg, err := readSome(conn)
		if err != nil {
			return err
		}
		at, err := time.Parse(time.RFC3339Nano, string(msg))
		if err != nil {
			return fmt.Errorf("scenario: bad instant %q: %w", msg, err)
		}
		if err := write(conn, []byte("OK")); err != nil {
			return err
		}
		return shutdownAt(ctx, c, conn, at)
	})
}

func simOpenServer(ctx context.Context, c Config) error {
	// The "server" half dials the client's fixed port from the server's
	// address: both sides are active openers.
	local := c.Server
	peer := Config{Server: fixedClient(c), Log: c.Log}
	if c.At.IsZero() {
		return fmt.Errorf("%w: simultaneous-open needs At on both halves", ErrUnexpected)
	}
	if c.Listening != nil {
		c.Listening()
	}
	conn, err := dialAt(ctx, local, peer.Server, c.At)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := readSome(conn); err != nil {
		return err
	}
	if err := write(conn, []byte("OK")); err != nil {
		return err
	}
	_, err = drain(conn)
	return err
}

func portReuseServer(ctx context.Context, c Config) error {
	ln, err := listen(ctx, c, 0)
	if err != nil {
		return err
	}
	defer ln.Close()
	for i := 0; i < 2; i++ {
		conn, err := accept(ln)
		if err != nil {
			return err
		}
		if _, err := readSome(conn); err != nil {
			conn.Close()
			return err
		}
		write(conn, []byte("OK"))
		if i == 0 {
			conn.Close() // server closes first: it sits in TIME_WAIT
			continue
		}
		_, err = drain(conn)
		conn.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func zeroWindowServer(ctx context.Context, c Config) error {
	return serveOne(ctx, c, 2048, func(conn *net.TCPConn) error {
		logf(c, "server: not reading for 7 s")
		if err := sleep(ctx, 7*time.Second); err != nil {
			return err
		}
		n, err := drain(conn)
		logf(c, "server: read %d bytes", n)
		if err != nil {
			return err
		}
		return conn.Close()
	})
}

const bulkSize = 300 * 1024

func bulkServer(ctx context.Context, c Config) error {
	return serveOne(ctx, c, 0, func(conn *net.TCPConn) error {
		if _, err := readSome(conn); err != nil {
			return err
		}
		if err := write(conn, make([]byte, bulkSize)); err != nil {
			return err
		}
		if _, err := drain(conn); err != nil {
			return err
		}
		return conn.Close()
	})
}

// --- clients ---

// exchange writes the request and reads one reply.
func exchange(conn *net.TCPConn) error {
	if err := write(conn, request); err != nil {
		return err
	}
	_, err := readSome(conn)
	return err
}

func normalCloseClient(ctx context.Context, c Config) error {
	conn, err := dial(ctx, c, c.Client)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := exchange(conn); err != nil {
		return err
	}
	logf(c, "client: closing first")
	conn.Close()
	return sleep(ctx, 200*time.Millisecond)
}

func readToEOFClient(ctx context.Context, c Config) error {
	conn, err := dial(ctx, c, c.Client)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := write(conn, request); err != nil {
		return err
	}
	n, err := drain(conn)
	logf(c, "client: %d bytes, then %v", n, err)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		return err
	}
	return nil
}

func refusedClient(ctx context.Context, c Config) error {
	conn, err := dial(ctx, c, c.Client)
	if err == nil {
		conn.Close()
		return fmt.Errorf("%w: connection to %s accepted", ErrUnexpected, c.Server)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return err
	}
	logf(c, "client: refused, as expected")
	return nil
}

func unansweredClient(ctx context.Context, c Config) error {
	// Give up after 7.5 s: SYNs at 0, 1, 3 and 7 s with tcp_syn_retries >= 3.
	ctx, cancel := context.WithTimeout(ctx, 7500*time.Millisecond)
	defer cancel()
	conn, err := dial(ctx, c, c.Client)
	if err == nil {
		conn.Close()
		return fmt.Errorf("%w: connection to %s answered", ErrUnexpected, c.Server)
	}
	logf(c, "client: gave up: %v", err)
	return nil
}

func missingAckClient(ctx context.Context, c Config) error {
	conn, err := dial(ctx, c, c.Client)
	if err != nil {
		return err
	}
	defer conn.Close()
	write(conn, request) // dropped on the way out
	logf(c, "client: established; our ACK and data are dropped, waiting 8 s")
	sleep(ctx, 8*time.Second)
	return nil
}

func halfCloseClient(ctx context.Context, c Config) error {
	end, err := halfCloseThenListen(ctx, c, 3500*time.Millisecond)
	if err != nil {
		return err
	}
	if isTimeout(end) {
		return nil // the server never closed: that is the point
	}
	return end
}

// halfCloseThenListen sends the request, half-closes and reads what the
// server sends for wait. err is a failure of the client itself; end is how
// the reading ended: nil when the server closed, a timeout when it did not.
func halfCloseThenListen(ctx context.Context, c Config, wait time.Duration) (end, err error) {
	conn, err := dial(ctx, c, c.Client)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := write(conn, request); err != nil {
		return nil, err
	}
	if err := conn.CloseWrite(); err != nil {
		return nil, fmt.Errorf("scenario: shutdown: %w", err)
	}
	conn.SetReadDeadline(time.Now().Add(wait))
	n, end := drain(conn)
	logf(c, "client: %d bytes after half-close, then %v", n, end)
	return end, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func rstClient(ctx context.Context, c Config) error {
	conn, err := dial(ctx, c, c.Client)
	if err != nil {
		return err
	}
	if err := exchange(conn); err != nil {
		conn.Close()
		return err
	}
	sleep(ctx, 100*time.Millisecond)
	conn.SetLinger(0)
	logf(c, "client: aborting with RST")
	conn.Close()
	return sleep(ctx, 200*time.Millisecond)
}

func shutdownAt(ctx context.Context, c Config, conn *net.TCPConn, at time.Time) error {
	if err := waitUntil(ctx, at); err != nil {
		return err
	}
	if err := conn.CloseWrite(); err != nil {
		return fmt.Errorf("scenario: shutdown: %w", err)
	}
	logf(c, "shutdown(SHUT_WR) at %s", time.Now().Format(time.RFC3339Nano))
	_, err := drain(conn)
	return err
}

func simCloseClient(ctx context.Context, c Config) error {
	conn, err := dial(ctx, c, c.Client)
	if err != nil {
		return err
	}
	defer conn.Close()
	at := c.At
	if at.IsZero() {
		at = time.Now().Add(time.Second)
	}
	if err := write(conn, []byte(at.UTC().Format(time.RFC3339Nano))); err != nil {
		return err
	}
	if _, err := readSome(conn); err != nil {
		return err
	}
	if err := shutdownAt(ctx, c, conn, at); err != nil {
		return err
	}
	return sleep(ctx, 200*time.Millisecond)
}

func simOpenClient(ctx context.Context, c Config) error {
	if c.At.IsZero() {
		return fmt.Errorf("%w: simultaneous-open needs At on both halves", ErrUnexpected)
	}
	conn, err := dialAt(ctx, fixedClient(c), c.Server, c.At)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := exchange(conn); err != nil {
		return err
	}
	conn.Close()
	return sleep(ctx, 300*time.Millisecond)
}

func portReuseClient(ctx context.Context, c Config) error {
	local := fixedClient(c)
	for i := 0; i < 2; i++ {
		conn, err := dial(ctx, c, local)
		if err != nil {
			return fmt.Errorf("connection %d: %w", i+1, err)
		}
		if err := exchange(conn); err != nil {
			conn.Close()
			return err
		}
		if i == 0 {
			drain(conn) // wait for the server's FIN, then close
		}
		conn.Close()
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

func zeroWindowClient(ctx context.Context, c Config) error {
	conn, err := dial(ctx, c, c.Client)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := write(conn, make([]byte, 64*1024)); err != nil {
		return err
	}
	if err := conn.CloseWrite(); err != nil {
		return err
	}
	_, err = drain(conn)
	return err
}

func keepAliveClient(ctx context.Context, c Config) error {
	d := dialer(c.Client)
	d.KeepAliveConfig = net.KeepAliveConfig{Enable: true, Idle: time.Second, Interval: time.Second, Count: 5}
	nc, err := d.DialContext(ctx, "tcp", c.Server.String())
	if err != nil {
		return fmt.Errorf("scenario: dial %s: %w", c.Server, err)
	}
	conn := nc.(*net.TCPConn)
	defer conn.Close()
	if err := exchange(conn); err != nil {
		return err
	}
	logf(c, "client: idle 3.5 s")
	if err := sleep(ctx, 3500*time.Millisecond); err != nil {
		return err
	}
	conn.Close()
	return sleep(ctx, 200*time.Millisecond)
}

func bulkClient(ctx context.Context, c Config) error {
	conn, err := dial(ctx, c, c.Client)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := write(conn, request); err != nil {
		return err
	}
	buf := make([]byte, 64*1024)
	var total int
	for total < bulkSize {
		n, err := conn.Read(buf)
		total += n
		if err != nil {
			return fmt.Errorf("scenario: read after %d bytes: %w", total, err)
		}
	}
	conn.Close()
	return sleep(ctx, 200*time.Millisecond)
}
