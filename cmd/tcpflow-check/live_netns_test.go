package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// liveServe is the child that serves inside a network namespace: for each
// address it listens on, each connection is read to its end, answered
// "ok" and closed. It prints "ready" once listening and runs until killed.
func liveServe(addrs []string) int {
	for _, a := range addrs {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					c.SetDeadline(time.Now().Add(hang))
					io.Copy(io.Discard, c)
					c.Write([]byte("ok"))
					c.Close()
				}()
			}
		}()
	}
	fmt.Println("ready")
	select {}
}

// liveDial is the child that makes connections inside a network
// namespace. Each argument is "ok:ADDR" (send, half-close, read the
// answer, close) or "refused:ADDR" (expect the connect to be refused).
func liveDial(args []string) int {
	for _, a := range args {
		what, addr, _ := strings.Cut(a, ":")
		c, err := net.DialTimeout("tcp", addr, hang)
		switch {
		case what == "refused" && err == nil:
			c.Close()
			fmt.Fprintf(os.Stderr, "%s accepted a connection\n", addr)
			return 1
		case what == "refused":
			continue
		case err != nil:
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		c.Write([]byte("hello"))
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(hang))
		if b, err := io.ReadAll(c); err != nil || string(b) != "ok" {
			fmt.Fprintf(os.Stderr, "%s answered %q, %v\n", addr, b, err)
			return 1
		}
		c.Close()
	}
	return 0
}

// netnsPair is two network namespaces joined by a veth pair, with
// documentation addresses: 192.0.2.1 and 2001:db8::1 on a's side
// (interface dev), 192.0.2.2 and 2001:db8::2 on b's. Nothing is added to
// the test's own namespace, whose routes stay as they are.
type netnsPair struct {
	a, b, dev string
}

func newNetnsPair(t *testing.T) *netnsPair {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("network namespace test needs the ip command (iproute2)")
	}
	id := os.Getpid() % 100000
	n := &netnsPair{a: fmt.Sprintf("tfc-live-a%d", id), b: fmt.Sprintf("tfc-live-b%d", id), dev: "tfca"}
	ip := func(args ...string) error {
		out, err := exec.Command("ip", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := ip("netns", "add", n.a); err != nil {
		t.Skipf("network namespace test cannot create a namespace: %v", err)
	}
	t.Cleanup(func() { ip("netns", "del", n.a) })
	if err := ip("netns", "add", n.b); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ip("netns", "del", n.b) })
	for _, args := range [][]string{
		{"-n", n.a, "link", "add", "tfca", "type", "veth", "peer", "name", "tfcb", "netns", n.b},
		{"-n", n.a, "addr", "add", "192.0.2.1/24", "dev", "tfca"},
		{"-n", n.a, "addr", "add", "2001:db8::1/64", "dev", "tfca", "nodad"},
		{"-n", n.a, "link", "set", "tfca", "up"},
		{"-n", n.a, "link", "set", "lo", "up"},
		{"-n", n.b, "addr", "add", "192.0.2.2/24", "dev", "tfcb"},
		{"-n", n.b, "addr", "add", "2001:db8::2/64", "dev", "tfcb", "nodad"},
		{"-n", n.b, "link", "set", "tfcb", "up"},
		{"-n", n.b, "link", "set", "lo", "up"},
	} {
		if err := ip(args...); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// child runs the test binary in namespace ns in the given mode.
func (n *netnsPair) child(ns, mode string, args ...string) *exec.Cmd {
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, os.Args[0]}, args...)...)
	cmd.Env = append(os.Environ(), liveChildEnv+"="+mode)
	return cmd
}

// TestLiveNetns captures on a veth between two namespaces: IPv4 and IPv6
// exchanges with a server on 8080, a refusal on 8081, ended by SIGINT once
// the refusal, made last, has streamed: the capture has then read the
// exchanges before it (TestLiveDuration checks --duration, which would end
// the capture whether or not the slow start of the client had let it
// connect yet).
func TestLiveNetns(t *testing.T) {
	needLive(t)
	n := newNetnsPair(t)
	srv := n.child(n.b, "serve", "192.0.2.2:8080", "[2001:db8::2]:8080")
	out, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	ready := make(chan bool, 1)
	go func() {
		l, _ := bufio.NewReader(out).ReadString('\n')
		ready <- strings.TrimSpace(l) == "ready"
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("server in the namespace did not start")
		}
	case <-time.After(hang):
		t.Fatalf("server in the namespace did not start within %s", hang)
	}

	p := startLiveIn(t, []string{"ip", "netns", "exec", n.a}, "-i", n.dev, "--format", "jsonl", "tcp")
	if b, err := n.child(n.a, "dial", "ok:192.0.2.2:8080", "ok:[2001:db8::2]:8080", "refused:192.0.2.2:8081").CombinedOutput(); err != nil {
		t.Fatalf("client: %v: %s", err, b)
	}
	p.waitFor(&p.stdout, `"kind":"connection_refused"`, hang)
	if code := p.stop(syscall.SIGINT); code != 0 {
		t.Fatalf("exit %d after SIGINT, want 0", code)
	}
	stdout, _ := p.output()
	got := map[string]string{}
	var sum map[string]any
	for _, l := range strings.Split(stdout, "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		switch v["type"] {
		case "connection":
			got[v["server"].(string)] = fmt.Sprintf("%v %v/%v", v["conn_state"], v["client_state"], v["server_state"])
		case "summary":
			sum = v
		}
	}
	want := map[string]string{
		"192.0.2.2:8080":     "SF TIME_WAIT/CLOSED",
		"[2001:db8::2]:8080": "SF TIME_WAIT/CLOSED",
		"192.0.2.2:8081":     "REJ CLOSED/CLOSED",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}
	if sum == nil {
		t.Fatal("no summary")
	}
}
