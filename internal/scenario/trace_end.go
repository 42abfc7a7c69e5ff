package scenario

import (
	"context"
	"fmt"
	"net"
	"time"
)

// The scenarios of a test that stops its capture right after it ends: what
// was pending then never finished, though no timeout had passed.

// leakClient half-closes and leaves after 200 ms: a test whose client is
// done while the server still holds the socket.
func leakClient(ctx context.Context, c Config) error {
	end, err := halfCloseThenListen(ctx, c, 200*time.Millisecond)
	switch {
	case err != nil:
		return err
	case isTimeout(end):
		return nil // the server never closed: that is the leak
	case end == nil:
		return fmt.Errorf("%w: the server closed", ErrUnexpected)
	}
	return end
}

// leakServer reads to EOF and never closes the socket: the CLOSE_WAIT leak
// of an application that forgets close(). It holds it until ctx ends.
func leakServer(ctx context.Context, c Config) error {
	return serveOne(ctx, c, 0, func(conn *net.TCPConn) error {
		n, err := drain(conn)
		if err != nil {
			return err
		}
		logf(c, "server: got %d bytes and EOF; never closing", n)
		<-ctx.Done()
		return nil
	})
}

// synTimeoutClient gives up on connect after 1 s, as a test client with a
// short timeout does.
func synTimeoutClient(ctx context.Context, c Config) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	conn, err := dial(ctx, c, c.Client)
	if err == nil {
		conn.Close()
		return fmt.Errorf("%w: connection to %s answered", ErrUnexpected, c.Server)
	}
	logf(c, "client: gave up after 1 s: %v", err)
	return nil
}
