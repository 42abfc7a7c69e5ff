//go:build (linux || darwin || freebsd) && !nolibpcap

package capture

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// TestLibpcapMissing checks what a machine without libpcap is told: what
// to install, with errors that callers can tell apart.
func TestLibpcapMissing(t *testing.T) {
	_, err := openLibpcap([]string{"/nonexistent/libpcap.so.0.8", "libtcpflow-nosuch.so"})
	if !errors.Is(err, ErrNoLibpcap) || !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("err %v: want ErrNoLibpcap and errors.ErrUnsupported", err)
	}
	for _, want := range []string{"apt-get install libpcap0.8", "libtcpflow-nosuch.so", LibpcapEnv} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q:\n%s", want, err)
		}
	}
	if got := libpcapNamesWith(t, "/opt/pcap/libpcap.so"); len(got) != 1 || got[0] != "/opt/pcap/libpcap.so" {
		t.Errorf("%s set: tries %v", LibpcapEnv, got)
	}
}

func libpcapNamesWith(t *testing.T, path string) []string {
	t.Setenv(LibpcapEnv, path)
	return libpcapNames()
}

// TestLibpcapLoaded checks the loader against the libpcap installed here,
// when there is one: its version, the interface list, a filter compiled
// for each link type files use.
func TestLibpcapLoaded(t *testing.T) {
	v, err := LibpcapVersion()
	if errors.Is(err, ErrNoLibpcap) {
		t.Skipf("libpcap not installed: %v", err)
	}
	if err != nil || !strings.HasPrefix(v, "libpcap version ") {
		t.Fatalf("version %q, %v", v, err)
	}
	ifs, err := Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	var lo bool
	for _, i := range ifs {
		if i.Loopback && i.Name != "" {
			lo = true
		}
	}
	if !lo {
		t.Errorf("no loopback interface among %+v", ifs)
	}
	for _, lt := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeRaw, layers.LinkTypeLinuxSLL, layers.LinkTypeNull} {
		if _, err := CompileFilter("tcp port 80", lt, 0); err != nil {
			t.Errorf("%s: %v", LinkTypeName(lt), err)
		}
	}
	if _, err := CompileFilter("ether host 1:2:3:4:5:6", layers.LinkTypeRaw, 0); !errors.Is(err, ErrFilter) {
		t.Errorf("ether host on raw IP: %v, want ErrFilter", err)
	}
}

// TestLibpcapMatchesTcpdump holds the loaded libpcap's verdicts against
// tcpdump's on the same frames: the filter language is tcpdump's own.
func TestLibpcapMatchesTcpdump(t *testing.T) {
	if _, err := LibpcapVersion(); err != nil {
		t.Skip(err)
	}
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("needs tcpdump")
	}
	const file = "../testdata/pcaps/real/port-reuse.pcap"
	for _, expr := range []string{"tcp port 8080", "tcp[tcpflags] & tcp-fin != 0", "src host 192.0.2.1", "tcp port 9"} {
		out, err := exec.Command("tcpdump", "-n", "-r", file, "-#", expr).Output()
		if err != nil {
			t.Fatalf("tcpdump %q: %v", expr, err)
		}
		want := strings.Count(string(out), "\n")
		r, err := Open(file, &Config{Filter: expr})
		if err != nil {
			t.Fatal(err)
		}
		var seg Segment
		for r.Next(&seg) == nil {
		}
		st := r.Stats()
		r.Close()
		if got := int(st.Packets - st.Skipped["filtered"]); got != want {
			t.Errorf("%q: %d frames pass, tcpdump passes %d", expr, got, want)
		}
	}
}

// TestFilterMatchAllocs: a frame through a compiled filter allocates
// nothing (the filter runs on every frame of --filter).
func TestFilterMatchAllocs(t *testing.T) {
	f, err := CompileFilter("tcp port 80", layers.LinkTypeEthernet, 0)
	if err != nil {
		t.Skip(err)
	}
	syn := synFrame(t)
	if n := testing.AllocsPerRun(1000, func() { f.Match(syn, 0) }); n != 0 {
		t.Errorf("Match allocates %.1f times per frame", n)
	}
}
