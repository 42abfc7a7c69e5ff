#!/usr/bin/env bash
# Benchmark tcpflow-check against tshark and tcptrace on a synthetic capture
# of a million packets (100,000 complete connections, 1000 open at a time).
# Prints median wall times and packets/s; run on an otherwise idle machine.
# Needs: go, tshark, tcptrace, hyperfine (apt-get install tshark tcptrace hyperfine).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${WORK:-$(mktemp -d)}
pcap=$work/synthetic-1M.pcap
runs=${RUNS:-5}

go build -o "$work/tcpflow-check" ./cmd/tcpflow-check
if [ ! -s "$pcap" ]; then
  go run ./internal/pcapgen/cmd/synthetic -conns 100000 -o "$pcap" 2>/dev/null ||
    go test -run '^$' -bench Pipeline -benchtime 1x ./cmd/tcpflow-check/ >/dev/null &&
    cp "$(ls -t /tmp/tcpflow-bench*/synthetic-1M.pcap | head -1)" "$pcap"
fi
packets=1000000
echo "capture: $pcap ($(du -h "$pcap" | cut -f1), $packets packets)"

cmds=("$work/tcpflow-check analyze --format jsonl $pcap"
      "$work/tcpflow-check analyze $pcap")
names=("tcpflow-check jsonl" "tcpflow-check text")
if command -v tshark >/dev/null; then
  cmds+=("tshark -n -r $pcap -q -z conv,tcp"); names+=("tshark -z conv,tcp")
  cmds+=("tshark -n -r $pcap -q -z expert"); names+=("tshark -z expert (TCP analysis)")
fi
if command -v tcptrace >/dev/null; then
  cmds+=("tcptrace -n -b $pcap"); names+=("tcptrace -b")
fi
args=()
for c in "${cmds[@]}"; do args+=("$c >/dev/null"); done
hyperfine --style basic --runs "$runs" --export-json "$work/bench.json" "${args[@]}" >/dev/null 2>&1 || true
python3 - "$work/bench.json" "$packets" "${names[@]}" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
n = int(sys.argv[2]); names = sys.argv[3:]
base = res[0]["median"]
print(f"{'tool':34} {'median s':>9} {'packets/s':>12} {'vs tcpflow-check':>17}")
for name, r in zip(names, res):
    m = r["median"]
    print(f"{name:34} {m:9.2f} {n/m:12,.0f} {m/base:16.1f}x")
PY
