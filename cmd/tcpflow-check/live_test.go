package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tcpflow-check/tcpflow-check/capture"
)

// The live tests run the test binary itself as tcpflow-check (see init):
// they need root (or CAP_NET_RAW and CAP_NET_ADMIN) and libpcap, which CI
// has; elsewhere they skip and say which is missing.

const liveChildEnv = "TCPFLOW_CHECK_LIVE_CHILD"

// hang bounds every wait of these tests for the child, the kernel or a
// peer: it only catches a hang, so it is far longer than anything takes
// even on a loaded machine (a wait returns as soon as its event comes).
const hang = 2 * time.Minute

func init() {
	switch os.Getenv(liveChildEnv) {
	case "main": // be tcpflow-check
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	case "serve": // a TCP server inside a network namespace (netns test)
		os.Exit(liveServe(os.Args[1:]))
	case "dial": // a TCP client inside a network namespace (netns test)
		os.Exit(liveDial(os.Args[1:]))
	}
}

// needLive skips t unless this process may capture on loopback.
func needLive(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("live capture test: skipped with -short")
	}
	lv, err := capture.OpenLive("lo", &capture.LiveConfig{SnapLen: 128})
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		t.Skipf("live capture test needs libpcap: %v", err)
	case errors.Is(err, capture.ErrPermission):
		t.Skipf("live capture test needs root or CAP_NET_RAW+CAP_NET_ADMIN (euid %d): %v", os.Geteuid(), err)
	case err != nil:
		t.Skipf("live capture test cannot open lo: %v", err)
	}
	lv.Close()
}

// liveProc is tcpflow-check live running as a child process.
type liveProc struct {
	t       *testing.T
	cmd     *exec.Cmd
	mu      sync.Mutex
	stdout  []string // lines so far
	stderr  []string
	changed chan struct{}
	done    chan struct{}
	exit    int
}

// startLive runs "tcpflow-check live ARGS" and waits until it captures.
func startLive(t *testing.T, args ...string) *liveProc {
	t.Helper()
	return startLiveIn(t, nil, args...)
}

// startLiveIn is startLive with the command prefixed by wrap (e.g. "ip
// netns exec NS", which execs it: the process is still the child).
func startLiveIn(t *testing.T, wrap []string, args ...string) *liveProc {
	t.Helper()
	argv := append(append(append([]string(nil), wrap...), os.Args[0], "live"), args...)
	p := startProc(t, exec.Command(argv[0], argv[1:]...), nil)
	p.waitFor(&p.stderr, "capturing on", hang)
	return p
}

// startProc starts cmd (as tcpflow-check: the test binary with
// liveChildEnv set) and collects its output lines. With stdout not nil,
// the child's standard output goes there instead of being collected.
func startProc(t *testing.T, cmd *exec.Cmd, stdout *os.File) *liveProc {
	t.Helper()
	cmd.Env = append(os.Environ(), liveChildEnv+"=main")
	p := &liveProc{t: t, cmd: cmd, changed: make(chan struct{}, 1), done: make(chan struct{})}
	var wg sync.WaitGroup
	if stdout != nil {
		cmd.Stdout = stdout
	} else {
		outR, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go p.collect(outR, &p.stdout, &wg)
	}
	errR, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	wg.Add(1)
	go p.collect(errR, &p.stderr, &wg)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		wg.Wait()
		err := cmd.Wait()
		p.exit = cmd.ProcessState.ExitCode()
		_ = err
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *liveProc) collect(r io.Reader, lines *[]string, wg *sync.WaitGroup) {
	defer wg.Done()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		p.mu.Lock()
		*lines = append(*lines, sc.Text())
		p.mu.Unlock()
		select {
		case p.changed <- struct{}{}:
		default:
		}
	}
}

// waitFor waits until a line of *lines contains sub and returns it.
func (p *liveProc) waitFor(lines *[]string, sub string, timeout time.Duration) string {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		p.mu.Lock()
		for _, l := range *lines {
			if strings.Contains(l, sub) {
				p.mu.Unlock()
				return l
			}
		}
		p.mu.Unlock()
		select {
		case <-p.changed:
		case <-time.After(50 * time.Millisecond):
		case <-p.done:
			p.mu.Lock()
			defer p.mu.Unlock()
			for _, l := range *lines {
				if strings.Contains(l, sub) {
					return l
				}
			}
			p.t.Fatalf("tcpflow-check live exited (%d) before printing %q\nstdout:\n%s\nstderr:\n%s", p.exit, sub,
				strings.Join(p.stdout, "\n"), strings.Join(p.stderr, "\n"))
		case <-deadline:
			p.mu.Lock()
			defer p.mu.Unlock()
			p.t.Fatalf("no line with %q within %s\nstdout:\n%s\nstderr:\n%s", sub, timeout,
				strings.Join(p.stdout, "\n"), strings.Join(p.stderr, "\n"))
		}
	}
}

// stop sends sig and waits for the exit code.
func (p *liveProc) stop(sig os.Signal) int {
	p.t.Helper()
	if sig != nil {
		if err := p.cmd.Process.Signal(sig); err != nil {
			p.t.Fatal(err)
		}
	}
	select {
	case <-p.done:
	case <-time.After(hang):
		p.t.Fatalf("tcpflow-check live did not stop within %s", hang)
	}
	return p.exit
}

func (p *liveProc) output() (stdout, stderr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.stdout, "\n"), strings.Join(p.stderr, "\n")
}

// freePort returns a TCP port of 127.0.0.1 that nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// exchange makes a normal connection to ln: the client sends, the server
// answers, the client closes first, then the server.
func exchange(t *testing.T, ln net.Listener) {
	t.Helper()
	acc := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			acc <- c
		}
		close(acc)
	}()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), hang)
	if err != nil {
		t.Fatal(err)
	}
	s := <-acc
	if s == nil {
		t.Fatal("accept failed")
	}
	buf := make([]byte, 16)
	c.Write([]byte("ping"))
	s.SetReadDeadline(time.Now().Add(hang))
	io.ReadFull(s, buf[:4])
	s.Write([]byte("pong"))
	c.SetReadDeadline(time.Now().Add(hang))
	io.ReadFull(c, buf[:4])
	c.Close()
	s.SetReadDeadline(time.Now().Add(hang))
	s.Read(buf) // the client's FIN
	s.Close()
}

// TestLiveLoopback captures real kernel traffic on lo: a refused connect,
// a normal exchange, a half-close the server never finishes, and traffic
// outside the filter. Findings must stream before shutdown; SIGINT must
// end the capture with the summary and exit 0; metrics must count it.
func TestLiveLoopback(t *testing.T) {
	needLive(t)
	refused, normal, half, outside := freePort(t), 0, 0, 0
	lnNormal, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lnNormal.Close()
	lnHalf, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lnHalf.Close()
	lnOut, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lnOut.Close()
	normal = lnNormal.Addr().(*net.TCPAddr).Port
	half = lnHalf.Addr().(*net.TCPAddr).Port
	outside = lnOut.Addr().(*net.TCPAddr).Port

	filter := fmt.Sprintf("tcp port %d or tcp port %d or tcp port %d", refused, normal, half)
	p := startLive(t, "-i", "lo", "--format", "jsonl", "--half-close-timeout", "300ms",
		"--metrics-addr", "127.0.0.1:0", filter)
	m := regexp.MustCompile(`metrics on (http://\S+/metrics)`).FindStringSubmatch(p.waitFor(&p.stderr, "metrics on", hang))
	if m == nil {
		t.Fatal("no metrics address on stderr")
	}
	metricsURL := m[1]

	// A refused connect: the finding streams at the RST.
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", refused), hang); err == nil {
		c.Close()
		t.Fatalf("port %d accepted a connection", refused)
	}
	line := p.waitFor(&p.stdout, `"kind":"connection_refused"`, hang)
	if !strings.Contains(line, `"type":"finding"`) || !strings.Contains(line, fmt.Sprintf(":%d", refused)) {
		t.Errorf("refusal not streamed as a finding line: %s", line)
	}

	exchange(t, lnNormal)
	exchange(t, lnOut) // outside the filter: must not appear

	// A half-close the server never finishes: the client shuts its write
	// side, the server keeps the socket open past the half-close timeout.
	acc := make(chan net.Conn, 1)
	go func() { c, _ := lnHalf.Accept(); acc <- c }()
	hc, err := net.DialTimeout("tcp", lnHalf.Addr().String(), hang)
	if err != nil {
		t.Fatal(err)
	}
	hs := <-acc
	hc.Write([]byte("request"))
	hc.(*net.TCPConn).CloseWrite()
	hs.SetReadDeadline(time.Now().Add(hang))
	io.Copy(io.Discard, hs) // reads up to the client's FIN, which the kernel acks
	line = p.waitFor(&p.stdout, `"kind":"half_close_stuck"`, hang)
	if !strings.Contains(line, `"type":"finding"`) || !strings.Contains(line, fmt.Sprintf(":%d", half)) {
		t.Errorf("stuck half-close not streamed while the server holds the socket: %s", line)
	}

	// The metrics count what was seen so far.
	body := scrape(t, metricsURL)
	for _, want := range []string{
		`tcpflow_findings_total{kind="connection_refused"} 1`,
		`tcpflow_findings_total{kind="half_close_stuck"} 1`,
		`tcpflow_kernel_drops_total 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if !regexp.MustCompile(`(?m)^tcpflow_packets_total [1-9]`).MatchString(body) {
		t.Errorf("metrics: no packets counted:\n%s", grepLines(body, "tcpflow_"))
	}

	if code := p.stop(syscall.SIGINT); code != 0 {
		stdout, stderr := p.output()
		t.Fatalf("exit %d after SIGINT, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	hs.Close()
	hc.Close()

	stdout, _ := p.output()
	recs := map[int]map[string]any{} // by server port
	var summary map[string]any
	for _, l := range strings.Split(stdout, "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("not a JSON line: %q", l)
		}
		switch v["type"] {
		case "connection":
			_, port, _ := net.SplitHostPort(v["server"].(string))
			var n int
			fmt.Sscan(port, &n)
			recs[n] = v
		case "summary":
			summary = v
		}
	}
	if summary == nil {
		t.Fatal("no summary line after SIGINT")
	}
	if _, ok := recs[outside]; ok {
		t.Errorf("connection to port %d is outside the filter %q but was reported", outside, filter)
	}
	for _, c := range []struct {
		port                  int
		connState             string
		clientState, srvState string
	}{
		{refused, "REJ", "CLOSED", "CLOSED"},
		{normal, "SF", "TIME_WAIT", "CLOSED"},
		{half, "", "FIN_WAIT_2", "CLOSE_WAIT"},
	} {
		r := recs[c.port]
		if r == nil {
			t.Errorf("no record for the connection to port %d", c.port)
			continue
		}
		if c.connState != "" && r["conn_state"] != c.connState {
			t.Errorf("port %d: conn_state %v, want %s", c.port, r["conn_state"], c.connState)
		}
		if r["client_state"] != c.clientState || r["server_state"] != c.srvState {
			t.Errorf("port %d: final states %v/%v, want %s/%s", c.port, r["client_state"], r["server_state"], c.clientState, c.srvState)
		}
	}
	if len(recs) != 3 {
		t.Errorf("%d connections reported, want 3", len(recs))
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	cl := &http.Client{Timeout: hang}
	resp, err := cl.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestLiveText checks the text format, --count, and the end by SIGTERM.
func TestLiveText(t *testing.T) {
	needLive(t)
	port := freePort(t)
	p := startLive(t, "-i", "lo", "--color", "never", fmt.Sprintf("tcp port %d", port))
	net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), hang)
	line := p.waitFor(&p.stdout, "connection_refused", hang)
	if !strings.Contains(line, fmt.Sprintf("127.0.0.1:%d", port)) {
		t.Errorf("finding line does not name the server: %s", line)
	}
	if code := p.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d after SIGTERM, want 0", code)
	}
	stdout, _ := p.output()
	for _, want := range []string{"tcpflow-check  lo:", "conn_state: REJ 1", "connection_refused × 1"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}

	// --count stops by itself: a refusal is 2 segments.
	p = startLive(t, "-i", "lo", "--count", "2", "--format", "json", fmt.Sprintf("tcp port %d", port))
	net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), hang)
	if code := p.stop(nil); code != 0 {
		t.Fatalf("--count 2: exit %d", code)
	}
	stdout, _ = p.output()
	var doc struct {
		Connections []struct {
			ConnState string `json:"conn_state"`
		} `json:"connections"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil || len(doc.Connections) != 1 || doc.Connections[0].ConnState != "REJ" {
		t.Errorf("--count 2 --format json: %v, %+v\n%s", err, doc, stdout)
	}
}

// TestLiveDuration checks that --duration ends the capture by itself,
// with the summary and exit 0.
func TestLiveDuration(t *testing.T) {
	needLive(t)
	p := startLive(t, "-i", "lo", "--format", "jsonl", "--duration", "1s", fmt.Sprintf("tcp port %d", freePort(t)))
	if code := p.stop(nil); code != 0 {
		stdout, stderr := p.output()
		t.Fatalf("exit %d after --duration 1s, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	stdout, _ := p.output()
	var sum struct {
		Type   string `json:"type"`
		Inputs []struct {
			Name string `json:"name"`
		} `json:"inputs"`
	}
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil || sum.Type != "summary" || len(sum.Inputs) != 1 || sum.Inputs[0].Name != "lo" {
		t.Errorf("--duration 1s: want the summary of lo as the only line (%v):\n%s", err, stdout)
	}
}

// TestLiveErrors checks the command line and capture errors: exit 2 with
// a message that says what to do.
func TestLiveErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no interface", []string{"live"}, "no interface given"},
		{"bad format", []string{"live", "-i", "lo", "--format", "zeek"}, "--format must be"},
		{"bad timeout", []string{"live", "-i", "lo", "--half-close-timeout", "0s"}, "--half-close-timeout must be positive"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCmd(t, nil, c.args...)
			if code != 2 || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, c.want)
			}
		})
	}
	t.Run("no libpcap or no such interface", func(t *testing.T) {
		code, _, stderr := runCmd(t, nil, "live", "-i", "tfc-nosuch0")
		if code != 2 {
			t.Errorf("exit %d, want 2", code)
		}
		// Without libpcap's runtime library the message names the package
		// to install (capture.ErrNoLibpcap); with it, the interface is missing.
		if !strings.Contains(stderr, "no such interface") && !strings.Contains(stderr, "need libpcap") &&
			!strings.Contains(stderr, "no permission") {
			t.Errorf("stderr %q", stderr)
		}
	})
	t.Run("bad filter", func(t *testing.T) {
		needLive(t)
		code, _, stderr := runCmd(t, nil, "live", "-i", "lo", "tcp", "port", "nonsense-port")
		if code != 2 || !strings.Contains(stderr, "bad filter") {
			t.Errorf("exit %d, stderr %q; want 2 and a bad filter", code, stderr)
		}
	})
	t.Run("permission", func(t *testing.T) {
		needLive(t)
		if _, err := exec.LookPath("setpriv"); err != nil {
			t.Skip("needs setpriv (util-linux) to run without capabilities")
		}
		cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
			os.Args[0], "live", "-i", "lo", "--duration", "1s")
		cmd.Env = append(os.Environ(), liveChildEnv+"=main")
		out, _ := cmd.CombinedOutput()
		if cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), "setcap cap_net_raw,cap_net_admin=eip") {
			t.Errorf("unprivileged: exit %d, output %q; want 2 and the setcap hint", cmd.ProcessState.ExitCode(), out)
		}
	})
}

// TestLiveDropPrivileges checks --user: the capture keeps running as the
// user named.
func TestLiveDropPrivileges(t *testing.T) {
	needLive(t)
	p := startLive(t, "-i", "lo", "--user", "nobody", "tcp port 9")
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	uid := regexp.MustCompile(`(?m)^Uid:\s+(\d+)\s+(\d+)\s+(\d+)`).FindStringSubmatch(string(st))
	if uid == nil || uid[1] == "0" || uid[2] == "0" || uid[3] == "0" {
		t.Errorf("still root after --user nobody: %v", uid)
	}
	if code := p.stop(syscall.SIGINT); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// TestLivePolicy checks --policy: a violated policy makes the exit code 1.
func TestLivePolicy(t *testing.T) {
	needLive(t)
	pol := t.TempDir() + "/p.yaml"
	if err := os.WriteFile(pol, []byte("fail_on: [connection_refused]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	// --count 2 (the SYN and the RST of the refusal) ends the capture by
	// itself once it has seen the refusal, however late the connect comes.
	p := startLive(t, "-i", "lo", "--policy", pol, "--count", "2", fmt.Sprintf("tcp port %d", port))
	net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), hang)
	if code := p.stop(nil); code != 1 {
		t.Errorf("exit %d with a refusal under fail_on: [connection_refused], want 1", code)
	}
	if _, stderr := p.output(); !strings.Contains(stderr, "policy violated") {
		t.Errorf("stderr does not say the policy was violated:\n%s", stderr)
	}
}

// TestLivePolicyWithMetrics runs --policy and --metrics-addr together: the
// metrics sink must hand every connection on to the policy as well as to
// the writer, so a refusal under fail_on still exits 1 while the endpoint
// serves and counts it.
func TestLivePolicyWithMetrics(t *testing.T) {
	needLive(t)
	pol := t.TempDir() + "/p.yaml"
	if err := os.WriteFile(pol, []byte("fail_on: [connection_refused]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	p := startLive(t, "-i", "lo", "--policy", pol, "--metrics-addr", "127.0.0.1:0", "--format", "jsonl",
		fmt.Sprintf("tcp port %d", port))
	m := regexp.MustCompile(`metrics on (http://\S+/metrics)`).FindStringSubmatch(p.waitFor(&p.stderr, "metrics on", hang))
	if m == nil {
		t.Fatal("no metrics address on stderr")
	}
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), hang); err == nil {
		c.Close()
		t.Fatalf("port %d accepted a connection", port)
	}
	p.waitFor(&p.stdout, `"kind":"connection_refused"`, hang)
	if body := scrape(t, m[1]); !strings.Contains(body, `tcpflow_findings_total{kind="connection_refused"} 1`) {
		t.Errorf("metrics do not count the refusal:\n%s", grepLines(body, "tcpflow_"))
	}
	if code := p.stop(syscall.SIGINT); code != 1 {
		stdout, stderr := p.output()
		t.Fatalf("exit %d with a refusal under fail_on: [connection_refused] and --metrics-addr, want 1\nstdout:\n%s\nstderr:\n%s",
			code, stdout, stderr)
	}
	if _, stderr := p.output(); !strings.Contains(stderr, "policy violated: fail_on: connection_refused") {
		t.Errorf("stderr does not name the violated rule:\n%s", stderr)
	}
}

// TestNoLibpcap runs live and --filter where libpcap cannot be loaded: each
// says what to install and exits 2, and files are still read.
func TestNoLibpcap(t *testing.T) {
	run := func(args ...string) (int, string, string) {
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), liveChildEnv+"=main", capture.LibpcapEnv+"=/nonexistent/libpcap.so.0.8")
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		cmd.Run()
		return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
	}
	const file = "../../testdata/pcaps/real/refused.pcap"
	for _, args := range [][]string{
		{"live", "-i", "lo", "--duration", "1s"},
		{"analyze", "--filter", "tcp port 80", file},
	} {
		code, out, errOut := run(args...)
		if code != 2 || out != "" || !strings.Contains(errOut, "apt-get install libpcap0.8") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2, nothing, and what to install", args, code, out, errOut)
		}
	}
	if code, out, errOut := run("analyze", file); code != 0 || !strings.Contains(out, "connection_refused") {
		t.Errorf("analyze without libpcap: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestLiveFollowsEvents checks that live output follows the events as they
// happen, on real loopback traffic: after a clean close the connection has
// left the open-connection gauges (it is counted as in TIME_WAIT, by
// conn_state, and its handshake RTT observed) long before its record comes
// out of TIME_WAIT; a streamed half_close_stuck that went on gets an update
// line with the final duration the summary reports; streamed lines are in
// capture order; the summary's wall-clock time says so.
func TestLiveFollowsEvents(t *testing.T) {
	needLive(t)
	lnClean, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lnClean.Close()
	lnHalf, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lnHalf.Close()
	refused := freePort(t)
	clean, half := lnClean.Addr().(*net.TCPAddr).Port, lnHalf.Addr().(*net.TCPAddr).Port
	p := startLive(t, "-i", "lo", "--color", "never", "--half-close-timeout", "300ms", "--metrics-addr", "127.0.0.1:0",
		fmt.Sprintf("tcp port %d or tcp port %d or tcp port %d", clean, half, refused))
	m := regexp.MustCompile(`metrics on (http://\S+/metrics)`).FindStringSubmatch(p.waitFor(&p.stderr, "metrics on", hang))
	if m == nil {
		t.Fatal("no metrics address on stderr")
	}

	// A clean close: the client ends in TIME_WAIT, its record held for
	// 2·MSL (60 s), but the connection is over now.
	exchange(t, lnClean)
	var body string
	waitUntil(t, "the clean connection counted as SF", hang, func() bool {
		body = scrape(t, m[1])
		return strings.Contains(body, `tcpflow_connections_total{conn_state="SF"} 1`)
	})
	for _, want := range []string{
		"tcpflow_time_wait_connections 1",
		"tcpflow_handshake_rtt_seconds_count 1",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, grepLines(body, "tcpflow_"))
		}
	}
	if l := regexp.MustCompile(`(?m)^tcpflow_open_connections\{state="[A-Z_0-9]+"\} [1-9].*$`).FindString(body); l != "" {
		t.Errorf("a connection that is over is still counted open: %s", l)
	}

	// A half-close the server finishes only after 1 s, past the 300 ms
	// timeout; a refusal while it waits.
	acc := make(chan net.Conn, 1)
	go func() { c, _ := lnHalf.Accept(); acc <- c }()
	hc, err := net.DialTimeout("tcp", lnHalf.Addr().String(), hang)
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Close()
	hs := <-acc
	hc.(*net.TCPConn).CloseWrite()
	hs.SetReadDeadline(time.Now().Add(hang))
	io.Copy(io.Discard, hs)
	time.Sleep(100 * time.Millisecond)
	net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", refused), hang)
	p.waitFor(&p.stdout, "half_close_stuck", hang)
	time.Sleep(time.Second)
	hs.Close()
	io.Copy(io.Discard, hc)
	// The signal ends the capture without reading what the kernel still
	// holds: wait until the capture has seen the server's FIN and the
	// client's last ACK, which make the half-closed connection SF.
	waitUntil(t, "the half-closed connection counted as SF", hang, func() bool {
		return strings.Contains(scrape(t, m[1]), `tcpflow_connections_total{conn_state="SF"} 2`)
	})

	if code := p.stop(syscall.SIGINT); code != 0 {
		t.Fatalf("exit %d", code)
	}
	stdout, _ := p.output()
	lines := strings.Split(stdout, "\n")
	var last string
	var update string
	stamp := regexp.MustCompile(`^(\d\d:\d\d:\d\d\.\d{6}) `)
	for _, l := range lines {
		s := stamp.FindStringSubmatch(l)
		if s == nil {
			continue
		}
		if s[1] < last {
			t.Errorf("streamed line at %s after one at %s:\n%s", s[1], last, stdout)
		}
		last = s[1]
		if strings.Contains(l, " update ") && strings.Contains(l, "half_close_stuck") {
			update = l
		}
	}
	if update == "" {
		t.Fatalf("no update line for the half_close_stuck that went on:\n%s", stdout)
	}
	final := regexp.MustCompile(`lasted (\S+) \(final`).FindStringSubmatch(update)
	if final == nil {
		t.Fatalf("update line without its final duration: %s", update)
	}
	summary := stdout[strings.Index(stdout, "tcpflow-check  lo:"):]
	if !strings.Contains(summary, "lasted "+final[1]+" ·") {
		t.Errorf("update says lasted %s, the summary does not:\n%s", final[1], summary)
	}
	if !strings.Contains(summary, "of wall-clock time") {
		t.Errorf("the summary does not label its wall-clock time:\n%s", summary)
	}
}

// TestLiveEndsAtItsStop: a live capture ends when it stops, not at its last
// packet, so its input says when it stopped and whatever was still pending
// is judged against that. One refusal at the start, then two quiet seconds:
// the stop must lie well after the last packet.
func TestLiveEndsAtItsStop(t *testing.T) {
	needLive(t)
	port := freePort(t)
	p := startLive(t, "-i", "lo", "--format", "json", "--duration", "2s", fmt.Sprintf("tcp port %d", port))
	net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 2*time.Second)
	if code := p.stop(nil); code != 0 {
		t.Fatalf("exit %d", code)
	}
	stdout, _ := p.output()
	var doc struct {
		Inputs []struct {
			Packets        uint64    `json:"packets"`
			CaptureEnd     time.Time `json:"capture_end"`
			CaptureStopped time.Time `json:"capture_stopped"`
		} `json:"inputs"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil || len(doc.Inputs) != 1 {
		t.Fatalf("not one input in the document (%v):\n%s", err, stdout)
	}
	in := doc.Inputs[0]
	if in.Packets < 2 {
		t.Fatalf("the refusal was not captured: %d packets\n%s", in.Packets, stdout)
	}
	if d := in.CaptureStopped.Sub(in.CaptureEnd); d < time.Second {
		t.Errorf("capture_stopped %v is %v after the last packet (%v): the end is the last packet, not the stop",
			in.CaptureStopped, d, in.CaptureEnd)
	}
}
