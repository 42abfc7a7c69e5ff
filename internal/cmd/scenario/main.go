// Command scenario runs one half of a traffic scenario from package
// internal/scenario, for scripts/record-pcaps.sh:
//
//	scenario --name normal-close --role server --server 192.0.2.2:8080
//	scenario --name normal-close --role client --server 192.0.2.2:8080
//
// It exits 0 when the scenario went as intended, 1 when it did not, 2 on
// usage errors. SIGINT and SIGTERM end it early.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/tcpflow-check/tcpflow-check/internal/scenario"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("scenario", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "scenario name (see --list)")
	role := fs.String("role", "", "client or server")
	server := fs.String("server", "", "server address ip:port (listen address for the server, target for the client)")
	client := fs.String("client", "", "client local address ip:port (optional; needed by simultaneous-open)")
	at := fs.Int64("at-ms", 0, "unix time in milliseconds at which both halves act together")
	timeout := fs.Duration("timeout", 15*time.Second, "give up after this long")
	list := fs.Bool("list", false, "list the scenarios and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *list {
		for _, s := range scenario.All() {
			fmt.Fprintf(stdout, "%-22s %s\n", s.Name, s.Doc)
		}
		return 0
	}
	s, ok := scenario.Lookup(*name)
	if !ok {
		fmt.Fprintf(stderr, "scenario: unknown scenario %q\n", *name)
		return 2
	}
	var cfg scenario.Config
	var err error
	if cfg.Server, err = netip.ParseAddrPort(*server); err != nil {
		fmt.Fprintf(stderr, "scenario: --server: %v\n", err)
		return 2
	}
	if *client != "" {
		if cfg.Client, err = netip.ParseAddrPort(*client); err != nil {
			fmt.Fprintf(stderr, "scenario: --client: %v\n", err)
			return 2
		}
	}
	if *at != 0 {
		cfg.At = time.UnixMilli(*at)
	}
	cfg.Log = prefixWriter{stderr, *name + " " + *role + ": "}
	var r scenario.Role
	switch *role {
	case "client":
		r = s.Client
	case "server":
		r = s.Server
	default:
		fmt.Fprintf(stderr, "scenario: --role must be client or server, not %q\n", *role)
		return 2
	}
	if r == nil {
		fmt.Fprintf(stderr, "scenario: %s has no %s half\n", *name, *role)
		return 0
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := r(ctx, cfg); err != nil && !(errors.Is(err, context.Canceled) && ctx.Err() != nil) {
		fmt.Fprintf(stderr, "scenario: %s %s: %v\n", *name, *role, err)
		return 1
	}
	return 0
}

type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	_, err := io.WriteString(p.w, p.prefix+strings.TrimRight(string(b), "\n")+"\n")
	return len(b), err
}
