// Command tcpflow-check follows every TCP connection in a capture (or live
// on an interface), infers the RFC 9293 state of both peers after every
// segment, and reports what went wrong: unanswered SYNs, refusals, missing
// third ACKs, half-closes nobody finished, resets, invalid RSTs.
//
// Usage:
//
//	tcpflow-check [analyze] [flags] FILE...     analyze captures ("-" = stdin)
//	tcpflow-check ladder FILE... [--conn ID]    draw connections as ladder diagrams
//	tcpflow-check check --policy P.yaml FILE... pass/fail verdict for CI
//	tcpflow-check live -i IFACE [BPF filter]    watch an interface
//
// Exit codes: 0 success (check: policy passed), 1 check found policy
// violations, 2 usage or input error, 130 interrupted.
package main

import (
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// env is what a command may touch of the outside world; tests pass buffers.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	interrupt      *interrupt // nil: signals have their default effect
}
