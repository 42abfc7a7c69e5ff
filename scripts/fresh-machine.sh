#!/usr/bin/env bash
# A fresh machine with only Go and make, simulated: a clean clone of this
# repository's HEAD, empty Go build and module caches, and — in a private
# mount namespace — libpcap (headers and shared library), tcpdump, tshark
# and the C compiler hidden. Runs the README's quick-start commands
# verbatim, then go build, go install and the libpcap-less answers of live
# and --filter; then, outside the namespace (libpcap present), live capture
# on loopback from the binary just built. Needs root (unshare -m) and
# reaches the Go module proxy to fill the empty module cache.
#
#   scripts/fresh-machine.sh            KEEP=1 keeps the work directory
set -euo pipefail
repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)

if [ -z "${FRESH_INNER:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "fresh-machine: needs root (a private mount namespace)" >&2; exit 2; }
  work=$(mktemp -d /tmp/fresh-machine.XXXXXX)
  [ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
  FRESH_INNER=1 FRESH_WORK=$work unshare -m --propagation private "$0"
  # libpcap present again: live on loopback from the binary built without it.
  bin=$work/gopath/bin/tcpflow-check
  echo "== outside the namespace: libpcap present"
  "$bin" version
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$bin" live -i lo --duration 2s --format jsonl "tcp port $port" >"$work/live.jsonl" 2>"$work/live.err" &
  pid=$!
  sleep 1
  python3 -c "import socket; socket.socket().connect_ex(('127.0.0.1', $port))"
  wait "$pid"
  echo "live -i lo: exit $?; $(grep -c '"kind":"connection_refused"' "$work/live.jsonl") connection_refused finding(s)"
  grep -q '"kind":"connection_refused"' "$work/live.jsonl" || { cat "$work/live.err"; exit 1; }
  echo "fresh-machine: ok"
  exit 0
fi

# Inside the namespace: hide what a fresh machine does not have.
work=$FRESH_WORK
empty=$work/empty
: >"$empty"
hide() {
  local p
  for p in "$@"; do
    p=$(realpath -e "$p" 2>/dev/null) || continue
    if [ -d "$p" ]; then mount -t tmpfs -o ro,size=4k none "$p"; else mount --bind "$empty" "$p"; fi
  done
}
hide /usr/include/pcap /usr/include/pcap.h /usr/include/pcap-*.h \
  /usr/lib/*/libpcap.so* /lib/*/libpcap.so* /usr/lib/libpcap.so* \
  "$(command -v tcpdump)" "$(command -v tshark)" "$(command -v dumpcap)" \
  "$(command -v gcc)" "$(command -v cc)" /usr/bin/*-linux-gnu-gcc*

echo "== hidden: libpcap headers and library, tcpdump, tshark, gcc"
for t in tcpdump tshark gcc cc; do
  if command -v "$t" >/dev/null && "$t" --version >/dev/null 2>&1; then echo "fresh-machine: $t still runs" >&2; exit 1; fi
done
[ ! -s /usr/include/pcap.h ] || { echo "fresh-machine: pcap.h still there" >&2; exit 1; }

git clone -q "$repo" "$work/tcpflow-check"
cd "$work/tcpflow-check"
export GOCACHE=$work/gocache GOMODCACHE=$work/gomodcache GOPATH=$work/gopath GOFLAGS=
unset CGO_ENABLED TCPFLOW_LIBPCAP
echo "== clean clone at $(git log --oneline -1); $(go version); GOCACHE and GOMODCACHE empty"

# The README's quick start, verbatim: the lines of its first code block.
mapfile -t quick < <(awk '/^## Quick start/{q=1} q&&/^```/{n++; next} q&&n==1{print} n>=2{exit}' README.md)
[ ${#quick[@]} -ge 2 ] || { echo "fresh-machine: no quick-start commands in README.md" >&2; exit 1; }
for line in "${quick[@]}"; do
  echo "\$ $line"
  start=$SECONDS
  bash -c "$line" >"$work/step.log" 2>&1 || { tail -40 "$work/step.log"; echo "fresh-machine: FAILED: $line" >&2; exit 1; }
  tail -4 "$work/step.log" | sed 's/^/    /'
  echo "    (ok, $((SECONDS - start)) s)"
done

echo "\$ go build ./... && go install ./cmd/tcpflow-check"
go build ./...
go install ./cmd/tcpflow-check
bin=$GOPATH/bin/tcpflow-check
file "$bin" | sed 's/, BuildID.*//; s/^/    /'
"$bin" --version | sed 's/^/    /'

echo "\$ tcpflow-check live -i lo    (no libpcap)"
set +e
"$bin" live -i lo --duration 1s >"$work/out" 2>"$work/err"
code=$?
set -e
sed 's/^/    /' "$work/err"
[ $code = 2 ] && [ ! -s "$work/out" ] && grep -q "apt-get install libpcap0.8" "$work/err" ||
  { echo "fresh-machine: live without libpcap: exit $code" >&2; exit 1; }
echo "    (exit 2, as it should)"
echo "\$ tcpflow-check --filter 'tcp port 80' FILE    (no libpcap)"
set +e
"$bin" --filter 'tcp port 80' testdata/pcaps/real/refused.pcap >"$work/out" 2>"$work/err"
code=$?
set -e
[ $code = 2 ] && grep -q "apt-get install libpcap0.8" "$work/err" ||
  { echo "fresh-machine: --filter without libpcap: exit $code" >&2; exit 1; }
echo "    (exit 2, says what to install)"
