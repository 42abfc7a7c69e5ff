package scenario

import (
	"context"
	"errors"
	"time"
)

// Run runs both halves of s in this process: the server half first, then,
// once it is listening, the client half. When the client is done the server
// gets serverGrace to finish on its own before its context is cancelled
// (servers that hold a connection open on purpose, like half-close-stuck,
// are cut off there). It returns the halves' errors, joined.
//
// Run is for tests over loopback; the network-shaping parts of a scenario
// (nft drops, sysctls) are the caller's.
func Run(ctx context.Context, s Scenario, c Config) error {
	if s.Server == nil {
		return s.Client(ctx, c)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan struct{})
	done := make(chan error, 1)
	sc := c
	sc.Listening = func() { close(ready) }
	go func() { done <- s.Server(sctx, sc) }()
	select {
	case <-ready:
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
	c.Listening = nil
	cerr := s.Client(ctx, c)
	var serr error
	select {
	case serr = <-done:
	case <-time.After(serverGrace):
		cancel()
		serr = <-done
		if errors.Is(serr, context.Canceled) {
			serr = nil
		}
	}
	return errors.Join(cerr, serr)
}

const serverGrace = time.Second
