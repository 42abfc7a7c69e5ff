package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// The memory budget (--max-memory). By default it is half the memory this
// process may use when it starts: /proc/meminfo's MemAvailable, or the
// cgroup's limit (v2 memory.max, v1 memory.limit_in_bytes) when that is
// smaller. The analyzer counts what its connections hold against it (see
// analyze.ConnCost) and ends the idlest when it is spent; the Go runtime
// is told the budget too (debug.SetMemoryLimit, plus runtimeSlack for
// buffers and the rest), so that garbage is collected before the process
// grows past it rather than at twice the live heap.

// runtimeSlack is what the process holds beside the connections: read
// buffers, the output writer, the runtime itself.
const runtimeSlack = 64 << 20

// memoryFiles are where the default budget is read; tests replace them.
var memoryFiles = struct{ meminfo, cgroup2, cgroup1 string }{
	"/proc/meminfo", "/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes",
}

// availableMemory is what this process may use: MemAvailable, or the
// cgroup limit when smaller; 0 when neither can be read.
func availableMemory() int64 {
	avail := int64(0)
	if b, err := os.ReadFile(memoryFiles.meminfo); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) >= 2 && f[0] == "MemAvailable:" {
				if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
					avail = kb << 10
				}
			}
		}
	}
	for _, p := range []string{memoryFiles.cgroup2, memoryFiles.cgroup1} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// "max" (v2) and 2^63 rounded to a page (v1) mean no limit.
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 && n < 1<<62 && (avail == 0 || n < avail) {
			avail = n
		}
		break
	}
	return avail
}

// defaultMaxMemory is the default budget: half of availableMemory, 0 (no
// budget but --max-conns) when it is unknown.
func defaultMaxMemory() int64 { return availableMemory() / 2 }

// parseSize reads a size as "2GiB", "512MiB", "64KiB", "1G", "300M", "4096"
// (bytes), "0" or "none" (no budget). Decimal units (K, M, G, T, with or
// without B) are powers of 1000; binary ones (KiB, MiB, GiB, TiB) of 1024.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "none" || t == "0" {
		return 0, nil
	}
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v <= 0 || v*float64(mult) >= 1<<62 {
		return 0, fmt.Errorf("%q is not a size (e.g. 2GiB, 512MiB, 1G, or none)", s)
	}
	return int64(v * float64(mult)), nil
}

// sizeText writes n bytes for people: "2 GiB", "512 MiB".
func sizeText(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// limitRuntime tells the Go runtime the memory budget, and returns what
// puts the previous limit back.
func limitRuntime(budget int64) (restore func()) {
	if budget <= 0 {
		return func() {}
	}
	prev := debug.SetMemoryLimit(budget + runtimeSlack)
	return func() { debug.SetMemoryLimit(prev) }
}
