#!/usr/bin/env bash
# record-pcaps.sh — record real captures of the Linux TCP stack for the
# analyzer's golden tests, into testdata/pcaps/real/<scenario>.pcap.
#
# Each scenario runs in a fresh pair of network namespaces joined by a veth
# pair (client 192.0.2.1 / 2001:db8::1, server 192.0.2.2 / 2001:db8::2; no
# other address is ever used), with per-namespace sysctls, nftables rules and
# tc netem to provoke the behaviour quickly. The traffic comes from
# internal/cmd/scenario (package internal/scenario). tcpdump records with -U
# and is stopped with SIGINT after a short settle so the last packets land.
#
# Usage: sudo scripts/record-pcaps.sh [SCENARIO...]   (default: all)
#        scripts/record-pcaps.sh --list
# Needs root, iproute2, nft, tc, tcpdump and Go. Re-runnable: captures are
# overwritten; namespaces are removed on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$ROOT/testdata/pcaps/real}
PORT=8080
CPORT=40000
NSC=tfc-cli-$$
NSS=tfc-srv-$$
NSR=
C4=192.0.2.1 S4=192.0.2.2 C6=2001:db8::1 S6=2001:db8::2
MACC=02:00:00:00:00:01 MACS=02:00:00:00:00:02

ALL=(normal-close server-closes-first refused syn-unanswered missing-third-ack
	half-close-stuck half-close-with-data rst-by-client rst-by-server
	simultaneous-close simultaneous-open simultaneous-open-crossed syn-retransmitted port-reuse zero-window
	keep-alive loss-retransmission normal-close-ipv6 refused-ipv6
	half-close-stuck-ipv6 normal-close-any close-wait-leak syn-timeout ip-fragments)

if [[ ${1:-} == --list ]]; then printf '%s\n' "${ALL[@]}"; exit 0; fi
if [[ $(id -u) != 0 ]]; then echo "record-pcaps: needs root (network namespaces)" >&2; exit 2; fi

TMP=$(mktemp -d)
BIN=$TMP/scenario
PIDS=()

teardown() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	PIDS=()
	ip netns del "$NSC" 2>/dev/null || true
	ip netns del "$NSS" 2>/dev/null || true
	[[ -z ${NSR:-} ]] || ip netns del "$NSR" 2>/dev/null || true
	NSR=
}
cleanup() { teardown; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

(cd "$ROOT" && go build -o "$BIN" ./internal/cmd/scenario)
mkdir -p "$OUT"

inc() { ip netns exec "$NSC" "$@"; }

# Where two halves must act within microseconds of each other, run them
# SCHED_FIFO on different CPUs: a busy machine otherwise preempts the 2 ms
# spin before the deadline and the segments no longer cross.
RT0=() RT1=()
if command -v chrt >/dev/null && command -v taskset >/dev/null && [[ $(nproc) -ge 2 ]]; then
	RT0=(chrt -f 10 taskset -c 0) RT1=(chrt -f 10 taskset -c 1)
fi
ins() { ip netns exec "$NSS" "$@"; }

setup() {
	ip netns add "$NSC"
	ip netns add "$NSS"
	ip link add vc netns "$NSC" address $MACC type veth peer name vs netns "$NSS" address $MACS
	ip -n "$NSC" addr add $C4/24 dev vc
	ip -n "$NSS" addr add $S4/24 dev vs
	ip -n "$NSC" addr add $C6/64 dev vc nodad
	ip -n "$NSS" addr add $S6/64 dev vs nodad
	# No IPv6 router solicitations or MLD chatter in the captures.
	for ns in "$NSC" "$NSS"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.router_solicitations=0 net.ipv6.conf.default.router_solicitations=0 || true
		ip -n "$ns" link set lo up
	done
	# One wire-sized segment per packet: veth would otherwise hand tcpdump
	# 64 KB TSO super-segments (there is no ethtool here to turn TSO off).
	ip -n "$NSC" link set dev vc gso_max_segs 1 gso_max_size 1500 2>/dev/null || ip -n "$NSC" link set dev vc gso_max_size 1500
	ip -n "$NSS" link set dev vs gso_max_segs 1 gso_max_size 1500 2>/dev/null || ip -n "$NSS" link set dev vs gso_max_size 1500
	# No link-local address (so no DAD or MLD for it); the documentation
	# addresses are added with nodad.
	inc sysctl -qw net.ipv6.conf.vc.addr_gen_mode=1
	ins sysctl -qw net.ipv6.conf.vs.addr_gen_mode=1
	# ... and the kernel's MLD reports for the solicited-node groups are
	# dropped before they reach the wire: the captures hold only the test's TCP.
	for ns in "$NSC" "$NSS"; do
		ip netns exec "$ns" nft add table inet quiet
		ip netns exec "$ns" nft add chain inet quiet out '{ type filter hook output priority 0; }'
		ip netns exec "$ns" nft add rule inet quiet out icmpv6 type '{ mld-listener-report, mld2-listener-report }' drop
	done
	ip -n "$NSC" link set vc up
	ip -n "$NSS" link set vs up
	# Static neighbours: no ARP or neighbour discovery in the captures.
	ip -n "$NSC" neigh replace $S4 lladdr $MACS dev vc nud permanent
	ip -n "$NSS" neigh replace $C4 lladdr $MACC dev vs nud permanent
	ip -n "$NSC" neigh replace $S6 lladdr $MACS dev vc nud permanent
	ip -n "$NSS" neigh replace $C6 lladdr $MACC dev vs nud permanent
}

# via_router puts a router namespace between client and server: the client's
# veth goes to the router (MTU 1500 on the router's side, 9000 elsewhere),
# the router forwards to the server over a second pair. The two ends keep
# their addresses and MACs and see the router's MAC as the other's, so the
# capture at the client still holds only client and server addresses.
# IPv4 only: IPv6 routers never fragment.
via_router() {
	NSR=tfc-rtr-$$
	local macr1=02:00:00:00:00:11 macr2=02:00:00:00:00:12
	ip netns add "$NSR"
	ip -n "$NSR" link set lo up
	ip netns exec "$NSR" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip netns exec "$NSR" sysctl -qw net.ipv4.ip_forward=1
	ip -n "$NSC" link del vc
	ip -n "$NSS" link del vs 2>/dev/null || true
	ip link add vc netns "$NSC" address $MACC type veth peer name rc netns "$NSR" address $macr1
	ip link add rs netns "$NSR" address $macr2 type veth peer name vs netns "$NSS" address $MACS
	inc sysctl -qw net.ipv6.conf.vc.addr_gen_mode=1
	ins sysctl -qw net.ipv6.conf.vs.addr_gen_mode=1
	ip -n "$NSC" addr add $C4/24 dev vc
	ip -n "$NSS" addr add $S4/24 dev vs
	ip -n "$NSC" link set vc mtu 9000 up
	ip -n "$NSS" link set vs mtu 9000 up
	ip -n "$NSS" link set dev vs gso_max_segs 1 gso_max_size 9000 2>/dev/null || ip -n "$NSS" link set dev vs gso_max_size 9000
	ip -n "$NSR" link set rc mtu 1500 up
	ip -n "$NSR" link set rs mtu 9000 up
	ip -n "$NSR" route add $C4/32 dev rc
	ip -n "$NSR" route add $S4/32 dev rs
	ip -n "$NSR" neigh replace $C4 lladdr $MACC dev rc nud permanent
	ip -n "$NSR" neigh replace $S4 lladdr $MACS dev rs nud permanent
	ip -n "$NSC" neigh replace $S4 lladdr $macr1 dev vc nud permanent
	ip -n "$NSS" neigh replace $C4 lladdr $macr2 dev vs nud permanent
}

# start_dump NS IFACE FILE [tcpdump args...]
start_dump() {
	local ns=$1 ifc=$2 file=$3
	shift 3
	rm -f "$file"
	ip netns exec "$ns" tcpdump -Z root -U --immediate-mode -B 32768 -n -i "$ifc" -w "$file" "$@" 2>"$TMP/tcpdump.err" &
	DUMP=$!
	local i
	for i in $(seq 50); do
		grep -q "listening on" "$TMP/tcpdump.err" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "record-pcaps: tcpdump did not start:" >&2
	cat "$TMP/tcpdump.err" >&2
	return 1
}

stop_dump() {
	sleep "${SETTLE:-0.5}"
	kill -INT "$DUMP"
	wait "$DUMP" || true
	sed -n 's/^/    tcpdump: /p' "$TMP/tcpdump.err" | grep -v "listening on" >&2 || true
}

# record NAME: runs one scenario. Variables set per scenario by the case below:
#   SCEN (scenario name), FAM (4|6), CAPNS/CAPIF (where tcpdump runs),
#   DUMPARGS, SRVARGS/CLIARGS (extra scenario flags), MID (a command run
#   after the client starts), WAIT (max seconds for the client).
record() {
	local name=$1
	SCEN=${name%-ipv6}; SCEN=${SCEN%-any}
	FAM=4; [[ $name == *-ipv6 ]] && FAM=6
	CAPNS=$NSS CAPIF=vs DUMPARGS=() SRVARGS=() CLIARGS=() SRVPRE=() CLIPRE=() MID=: WAIT=12 SETTLE=0.5 CHECK=:
	setup
	case $name in
	syn-unanswered)
		# Drop SYNs at the server. Exponential backoff (tcp_syn_linear_timeouts=0
		# undoes 6.x's linear first retries): SYNs at 0, 1, 3, 7 s; the client
		# gives up at 7.5 s, so the wait is visible in the capture.
		inc sysctl -qw net.ipv4.tcp_syn_retries=3
		inc sysctl -qw net.ipv4.tcp_syn_linear_timeouts=0 2>/dev/null || true
		ins nft add table inet tfc
		ins nft add chain inet tfc in '{ type filter hook input priority 0; }'
		ins nft add rule inet tfc in tcp dport $PORT 'tcp flags & (syn|ack) == syn' drop
		;;
	missing-third-ack)
		# The client's ACKs and data never leave it (dropped in its output, so
		# not on the wire); the server retransmits its SYN-ACK at 1, 3, 7 s.
		ins sysctl -qw net.ipv4.tcp_synack_retries=3
		ins sysctl -qw net.ipv4.tcp_syn_linear_timeouts=0 2>/dev/null || true
		inc nft add table inet tfc
		inc nft add chain inet tfc out '{ type filter hook output priority 0; }'
		inc nft add rule inet tfc out tcp dport $PORT 'tcp flags & syn == 0' drop
		;;
	syn-retransmitted)
		# Drop the first SYN only: the rule is removed 0.5 s after the client starts.
		ins nft add table inet tfc
		ins nft add chain inet tfc in '{ type filter hook input priority 0; }'
		ins nft add rule inet tfc in tcp dport $PORT 'tcp flags & (syn|ack) == syn' drop
		MID="sleep 0.5; ip netns exec $NSS nft delete table inet tfc"
		;;
	simultaneous-close)
		# No netem in this kernel: both halves shutdown at the same instant
		# (sent in-band), a few µs apart, so the FINs cross on the veth.
		# check_crossed below re-records when they did not.
		CHECK=check_crossed
		SRVPRE=("${RT0[@]}") CLIPRE=("${RT1[@]}")
		;;
	simultaneous-open)
		# No netem in this kernel to make the SYNs cross in flight. Instead the
		# server drops the client's SYN (it is still on the wire, recorded at
		# the server's veth), and dials the client 200 ms later: the client,
		# still in SYN_SENT, gets a bare SYN, answers SYN-ACK (SYN_RCVD), and
		# the server ACKs it.
		ins nft add table inet tfc
		ins nft add chain inet tfc in '{ type filter hook input priority 0; }'
		ins nft add rule inet tfc in tcp sport $CPORT tcp dport $PORT 'tcp flags & (syn|ack) == syn' drop
		local at=$(( $(date +%s%3N) + 2000 ))
		SRVARGS=(--client "$C4:$CPORT" --at-ms "$((at + 200))")
		CLIARGS=(--client "$C4:$CPORT" --at-ms "$at")
		;;
	simultaneous-open-crossed)
		# Both halves connect() at the same instant (last 2 ms spun), so the
		# bare SYNs cross on the veth and both sides answer SYN-ACK (RFC 9293
		# figure 8). check_syn_crossed re-records when they did not.
		SCEN=simultaneous-open
		local at=$(( $(date +%s%3N) + 2000 ))
		SRVARGS=(--client "$C4:$CPORT" --at-ms "$at")
		CLIARGS=(--client "$C4:$CPORT" --at-ms "$at")
		CHECK=check_syn_crossed
		SRVPRE=("${RT0[@]}") CLIPRE=("${RT1[@]}")
		;;
	port-reuse)
		CLIARGS=(--client "$C4:$CPORT")
		;;
	loss-retransmission)
		# No netem in this kernel: the client's input drops ~10% of the
		# server's segments at random. They were on the wire first, so the
		# capture at the server's veth holds each lost segment and its
		# retransmission.
		inc nft add table inet tfc
		inc nft add chain inet tfc in '{ type filter hook input priority 0; }'
		inc nft add rule inet tfc in tcp sport $PORT numgen random mod 10 == 0 drop
		;;
	normal-close-any)
		CAPIF=any DUMPARGS=(-y LINUX_SLL2)
		;;
	close-wait-leak)
		# A CI job that stops tcpdump right after its test: the capture ends
		# ~50 ms after the client left, the server still in CLOSE_WAIT and no
		# timeout passed. check must fail it (pending at the trace's end).
		SETTLE=0.05
		;;
	ip-fragments)
		# The server answers 4 KB in one segment (MTU 9000 both ends) without
		# DF (no path MTU discovery); the router's 1500-byte link to the
		# client fragments it. Recorded at the client, as the fragments arrive.
		SCEN=half-close-with-data
		via_router
		ins sysctl -qw net.ipv4.ip_no_pmtu_disc=1
		CAPNS=$NSC CAPIF=vc
		;;
	syn-timeout)
		# A SYN into an nft DROP whose client gives up after 1 s; tcpdump
		# stopped right after. S0 well under the 3 s handshake timeout.
		ins nft add table inet tfc
		ins nft add chain inet tfc in '{ type filter hook input priority 0; }'
		ins nft add rule inet tfc in tcp dport $PORT 'tcp flags & (syn|ack) == syn' drop
		SETTLE=0.05
		;;
	esac
	local saddr
	if [[ $FAM == 6 ]]; then saddr="[$S6]:$PORT"; else saddr="$S4:$PORT"; fi
	local file=$OUT/$name.pcap
	echo "== $name" >&2
	start_dump "$CAPNS" "$CAPIF" "$file" "${DUMPARGS[@]}"
	local srv=""
	if [[ $SCEN != refused ]]; then
		ins "${SRVPRE[@]}" "$BIN" --name "$SCEN" --role server --server "$saddr" "${SRVARGS[@]}" &
		srv=$!
		PIDS+=("$srv")
		sleep 0.3
	fi
	inc "${CLIPRE[@]}" "$BIN" --name "$SCEN" --role client --server "$saddr" "${CLIARGS[@]}" &
	local cli=$!
	PIDS+=("$cli")
	bash -c "$MID"
	local rc=0
	timeout_wait "$cli" "$WAIT" || rc=$?
	[[ $rc == 0 ]] || echo "record-pcaps: $name: client exited $rc" >&2
	stop_dump
	if [[ -n $srv ]]; then
		# Give a server that finishes on its own a moment; the rest are killed
		# after the capture stopped (half-close-stuck keeps CLOSE_WAIT on purpose).
		kill "$srv" 2>/dev/null || true
		wait "$srv" 2>/dev/null || true
	fi
	teardown
	if [[ $rc == 0 ]] && ! $CHECK "$file"; then rc=3; fi
	if [[ $rc == 0 ]] && ! check_complete "$file"; then rc=4; fi
	echo "   $(tcpdump -nr "$file" 2>/dev/null | wc -l) packets -> ${file#$ROOT/}" >&2
	return "$rc"
}

# check_crossed FILE: true when the first two FINs cross (the second does not
# acknowledge the first).
check_crossed() {
	tcpdump -S -nr "$1" 2>/dev/null | awk '
		/Flags \[F/ { n++; match($0, /seq [0-9]+/); s = substr($0, RSTART + 4, RLENGTH - 4) + 0
			match($0, /ack [0-9]+/); a = substr($0, RSTART + 4, RLENGTH - 4) + 0
			if (n == 1) first = s
			if (n == 2) { exit !(a != first + 1) } }
		END { if (n < 2) exit 1 }'
}

# check_syn_crossed FILE: true when the capture starts with two bare SYNs in
# opposite directions followed by two SYN-ACKs.
check_syn_crossed() {
	[[ $(tcpdump -nr "$1" 2>/dev/null | head -4 | grep -o 'Flags \[[^]]*\]' | tr '\n' ' ') == \
		"Flags [S] Flags [S] Flags [S.] Flags [S.] " ]]
}

# check_complete FILE: every drop in these scenarios happens before the wire
# or after the capture point, so the capture must have no holes; a hole means
# tcpdump itself missed packets (seen once in a burst), and the scenario is
# recorded again. Needs tshark; without it the check passes.
check_complete() {
	command -v tshark >/dev/null || return 0
	local n
	n=$(tshark -r "$1" -Y 'tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment' 2>/dev/null | wc -l)
	[[ $n == 0 ]] || { echo "record-pcaps: $1: $n segments missing from the capture" >&2; return 1; }
}

# timeout_wait PID SECONDS: wait for PID, killing it after SECONDS.
timeout_wait() {
	local pid=$1 secs=$2 i
	for ((i = 0; i < secs * 10; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			return
		fi
		sleep 0.1
	done
	kill "$pid" 2>/dev/null || true
	wait "$pid" || true
	return 124
}

names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=("${ALL[@]}")
fail=0
for n in "${names[@]}"; do
	if [[ " ${ALL[*]} " != *" $n "* ]]; then echo "record-pcaps: unknown scenario $n" >&2; fail=1; continue; fi
	ok=0
	for try in 1 2 3 4 5; do
		if record "$n"; then ok=1; break; fi
		echo "record-pcaps: $n: not as intended (try $try)" >&2
	done
	[[ $ok == 1 ]] || fail=1
done
exit $fail
