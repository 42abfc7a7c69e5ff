#!/usr/bin/env bash
# How fast `tcpflow-check live` keeps up: replays a capture with tcpreplay
# onto a veth between two network namespaces of its own while `live` captures
# the other end, and prints, per replay rate, the frames sent, the frames
# captured and the kernel's drops. Needs root, iproute2 and tcpreplay.
#
#   scripts/live-throughput.sh BIN CAPTURE RATE...    RATE: packets/s, or "top" (--topspeed)
#
# Any Ethernet capture will do; small frames (editcap -s 96) stress the
# packet rate rather than the veth's bandwidth. "cpu µs/frame" is the CPU
# time (user + system) the capture process spent per frame captured, which
# load from other work does not change much. RT=1 runs tcpreplay and the
# capture SCHED_FIFO on CPUs 0 and 1, for a busy machine; BUFFER=MiB sets
# --buffer-size.
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
bin=$(realpath "$1") pcap=$(realpath "$2"); shift 2
r=tfcr$$ c=tfcc$$
work=$(mktemp -d)
cleanup() { ip netns del "$r" 2>/dev/null || true; ip netns del "$c" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
ip netns add "$r"
ip netns add "$c"
ip -n "$r" link add vr type veth peer name vc netns "$c"
ip -n "$r" link set vr up
ip -n "$c" link set vc up

rt0=() rt1=()
if [ -n "${RT:-}" ]; then rt0=(chrt -f 50 taskset -c 0) rt1=(chrt -f 50 taskset -c 1); fi
printf '%-10s %10s %10s %10s %12s %10s %14s\n' rate sent captured dropped "sent pps" "drop %" "cpu µs/frame"
for rate in "$@"; do
  ip netns exec "$c" "${rt1[@]}" "$bin" live -i vc --promisc --format json ${BUFFER:+--buffer-size "$BUFFER"} \
    >"$work/out.json" 2>"$work/err" &
  pid=$!
  for _ in $(seq 50); do grep -q "capturing on" "$work/err" && break; sleep 0.1; done
  if [ "$rate" = top ]; then speed=--topspeed; else speed=--pps=$rate; fi
  ip netns exec "$r" "${rt0[@]}" tcpreplay -K -i vr $speed "$pcap" >"$work/replay" 2>&1
  sleep 1
  read -r -a st <"/proc/$pid/stat"
  cpu=$(( st[13] + st[14] ))  # utime + stime, in clock ticks
  kill -INT "$pid"
  wait "$pid" || true
  python3 - "$rate" "$work/out.json" "$work/replay" "$cpu" "$(getconf CLK_TCK)" <<'PY'
import json, re, sys
rate, out, replay, cpu, hz = sys.argv[1:]
s = json.load(open(out))["summary"]
log = open(replay).read()
sent = int(re.search(r"Actual: (\d+) packets", log).group(1))
pps = float(re.search(r"Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps", log).group(1))
drop = s.get("dropped", 0) + s.get("if_dropped", 0)
us = int(cpu) / int(hz) * 1e6 / max(s["packets"], 1)
print(f"{rate:<10} {sent:>10} {s['packets']:>10} {drop:>10} {pps:>12,.0f} {100*drop/max(sent,1):>9.2f}% {us:>14.2f}")
PY
done
