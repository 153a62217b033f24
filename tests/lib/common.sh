# shellcheck shell=bash
# shellcheck disable=SC2016 # single-quoted sh -c scripts expand in the inner shell
# tests/lib/common.sh: shared helpers for the Hermes BPF and e2e tests (and tools/demo.sh).
#
# Source it from a test, then call topo_up. Everything a test creates is named after
# $ID (unique per run) and removed by `cleanup`, which runs from an EXIT trap even when
# the test fails or is killed by the runner's timeout:
#   netns  hc-$ID  client host: 10.77.1.1/24, fd77:1::1/64; runs hermesd and the app
#   netns  hs-$ID  server host: 10.77.1.2/24, 10.77.1.3/24, fd77:1::2/64; runs nginx & co
#   cgroup $CGROOT/hermes-test-$ID/{app,hermesd}
#   pins   /sys/fs/bpf/hermes-test-$ID (and -s for a hermesd on the server host)
#   tmp    $TMP (mktemp -d)
# Nothing is ever attached to the root cgroup and no steered traffic uses the root netns.
#
# Exit codes: 0 pass, 1 fail, 77 skip (the reason is the last "SKIP: " line of the log).

set -u

HERMES_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$HERMES_SRC/$BUILD ;; esac
HERMESD_BIN=$BUILD/hermesd
HERMESCTL_BIN=$BUILD/hermesctl
PY=/usr/bin/python3
TESTBIN=$HERMES_SRC/tests/bin
TEST_NAME=$(basename "${0%.sh}")

# Unique id: the runner gives one (so it can check for leaks); otherwise pid-based.
ID=${HERMES_TEST_ID:-$(printf '%s' "$TEST_NAME" | tr -c 'a-z0-9' 'x' | cut -c1-4)$$}
NS_C=hc-$ID
NS_S=hs-$ID
NS_R=hr-$ID
PINROOT=/sys/fs/bpf/hermes-test-$ID
CGROOT=
CG=
TMP=
HERMESD_PID=
HERMESD_RC=
HERMESD_LOG=
PIDS=()
_NETNS_MADE=()
_PINS_MADE=()   # pin roots of extra hermesds (start_peer_hermesd)
_LOGS_MADE=()   # their logs, checked for sanitizer reports
_CLEANED=0

# Raise the fd limit for everything the test starts (hermesd, clients, servers).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# ---------------------------------------------------------------- messages and results

say() { printf '[%s] %s\n' "$(date +%T.%3N)" "$*"; }
_FAIL_MSG=
die() {
	_FAIL_MSG=$*
	printf 'FAIL: %s\n' "$*"
	exit 1
}
skip() {
	printf 'SKIP: %s\n' "$*"
	exit 77
}
pass() {
	printf 'PASS: %s\n' "${*:-$TEST_NAME}"
	exit 0
}

# assert_eq EXPECTED ACTUAL WHAT
assert_eq() {
	[ "$1" = "$2" ] || die "$3: expected '$1', got '$2'"
	say "ok: $3 ($2)"
}
# assert_ne UNEXPECTED ACTUAL WHAT
assert_ne() {
	[ "$1" != "$2" ] || die "$3: expected anything but '$1'"
	say "ok: $3 ($2)"
}
# assert_match STRING ERE WHAT
assert_match() {
	printf '%s\n' "$1" | grep -Eq -- "$2" || die "$3: expected to match /$2/, got: $(printf '%s' "$1" | head -c 400)"
	say "ok: $3"
}
# assert_file_match FILE ERE WHAT
assert_file_match() {
	grep -Eq -- "$2" "$1" 2>/dev/null || {
		say "--- last lines of $1:"
		tail -n 15 "$1" 2>/dev/null
		die "$3: expected $1 to contain /$2/"
	}
	say "ok: $3"
}
# assert_file_nomatch FILE ERE WHAT
assert_file_nomatch() {
	if grep -Eq -- "$2" "$1" 2>/dev/null; then
		say "--- matching lines of $1:"
		grep -E -- "$2" "$1" | head -n 5
		die "$3: expected $1 NOT to contain /$2/"
	fi
	say "ok: $3"
}
# assert_ge MIN ACTUAL WHAT (integers)
assert_ge() {
	[ -n "$2" ] && [ "$2" -ge "$1" ] 2>/dev/null || die "$3: expected >= $1, got '${2}'"
	say "ok: $3 ($2 >= $1)"
}
# assert_le MAX ACTUAL WHAT
assert_le() {
	[ -n "$2" ] && [ "$2" -le "$1" ] 2>/dev/null || die "$3: expected <= $1, got '${2}'"
	say "ok: $3 ($2 <= $1)"
}

# wait_until SECONDS CMD...: poll CMD every 0.1 s; 0 when it succeeded, 1 on timeout.
wait_until() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# now_ms: monotonic-ish wall clock in milliseconds (for "fails fast" checks)
now_ms() { date +%s%3N; }

# ---------------------------------------------------------------- requirements

require_root() {
	[ "$(id -u)" = 0 ] || skip "needs root (BPF, cgroups, network namespaces)"
}

require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || [ -x "$c" ] || skip "$c is not installed (make deps)"
	done
}

# san_build: true when the hermesd under test is the ASan+UBSan build (make SAN=1)
san_build() {
	ldd "$HERMESD_BIN" 2>/dev/null | grep -q libasan
}

# by_build NORMAL SAN: NORMAL, or SAN against the sanitizer build. For the sizes of bulk
# transfers: the sanitizers watch the same code paths whatever the size, and make test
# runs every test against both builds, so the SAN run moves less (never nothing).
by_build() {
	if san_build; then echo "$2"; else echo "$1"; fi
}

# keystream BYTES: a shell command (for sh -c) that writes BYTES random-looking bytes, the
# same ones each time in a test (AES-CTR keyed by its id). A bulk test's sender runs it as
# it sends, rather than writing a file and reading it back, and SHA256 (a filter printing
# "HEX *stdin") hashes both ends: openssl's SHA-256 takes a quarter of sha256sum's CPU.
keystream() {
	printf 'openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass pass:hermes-%s -in /dev/zero 2>/dev/null | head -c %s' "$ID" "$1"
}
# shellcheck disable=SC2034 # for the tests that source this
SHA256="openssl dgst -sha256 -r"

require_build() {
	[ -x "$HERMESD_BIN" ] || die "$HERMESD_BIN is missing: run make first"
	[ -x "$HERMESCTL_BIN" ] || die "$HERMESCTL_BIN is missing: run make first"
}

# cg2_root: the cgroup v2 mount point (from /proc/self/mounts)
cg2_root() {
	awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts
}

ensure_bpffs() {
	if ! awk '$2 == "/sys/fs/bpf" && $3 == "bpf" { f = 1 } END { exit !f }' /proc/self/mounts; then
		mkdir -p /sys/fs/bpf && mount -t bpf bpf /sys/fs/bpf || die "cannot mount bpffs on /sys/fs/bpf"
		say "mounted bpffs on /sys/fs/bpf"
	fi
}

# ---------------------------------------------------------------- topology

# topo_up: the two hosts, the test cgroup, the tmp dir (see the header).
topo_up() {
	require_root
	require_cmd ip nsenter curl "$PY" bpftool timeout
	ensure_bpffs
	CGROOT=$(cg2_root)
	[ -n "$CGROOT" ] || skip "no cgroup v2 mount in /proc/self/mounts"

	TMP=$(mktemp -d "/tmp/hermes-test-$ID.XXXXXX") || die "mktemp failed"
	chmod 755 "$TMP" # nginx workers (nobody) read the docroot below it
	HERMESD_LOG=$TMP/hermesd.log

	local ns
	for ns in "$NS_C" "$NS_S"; do
		ip netns add "$ns" || die "ip netns add $ns failed"
		_NETNS_MADE+=("$ns")
		ip -n "$ns" link set lo up || die "lo up in $ns failed"
		# no duplicate address detection (link-local included): IPv6 usable at once
		nsenter --net="/run/netns/$ns" sh -c 'echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad; echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad' 2>/dev/null
	done
	# The veth pair is created inside the client netns with its peer directly in the
	# server netns: no interface ever appears in the root netns.
	ip -n "$NS_C" link add eth0 type veth peer name eth0 netns "$NS_S" || die "veth creation failed"
	ip -n "$NS_C" addr add 10.77.1.1/24 dev eth0
	ip -n "$NS_C" addr add fd77:1::1/64 dev eth0 nodad
	ip -n "$NS_S" addr add 10.77.1.2/24 dev eth0
	ip -n "$NS_S" addr add 10.77.1.3/24 dev eth0
	ip -n "$NS_S" addr add fd77:1::2/64 dev eth0 nodad
	ip -n "$NS_C" link set eth0 up || die "eth0 up in $NS_C failed"
	ip -n "$NS_S" link set eth0 up || die "eth0 up in $NS_S failed"

	# Resolve neighbours now (a closed port answers with a reset) so that the first
	# connection of a test does not pay the neighbour-discovery retransmit. Only once
	# both ends are operationally up: until then the kernel drops what is sent (the
	# first probe timed out and the test waited about 0.8 s for the retries).
	wait_links_up 5 "$NS_C" eth0 "$NS_S" eth0 || say "warning: eth0 not up in $NS_C and $NS_S after 5 s"
	wait_until 5 ns_c "$PY" -c '
import socket
for fam, a in ((socket.AF_INET, "10.77.1.2"), (socket.AF_INET6, "fd77:1::2"), (socket.AF_INET, "10.77.1.3")):
    s = socket.socket(fam)
    s.settimeout(0.3)
    try:
        s.connect((a, 9))
    except ConnectionRefusedError:
        pass
' || say "warning: server host not reachable yet"

	CG=$CGROOT/hermes-test-$ID
	mkdir "$CG" "$CG/app" "$CG/hermesd" || die "cannot create cgroup $CG"

	say "topology up: netns $NS_C (10.77.1.1, fd77:1::1) <-> $NS_S (10.77.1.2, 10.77.1.3, fd77:1::2); cgroup $CG; pin root $PINROOT; tmp $TMP"
}

# links_up NS IFACE [NS IFACE...]: every IFACE is operationally up in its netns
links_up() {
	while [ $# -ge 2 ]; do
		case $(ip -n "$1" -o link show dev "$2" 2>/dev/null) in *" state UP "*) ;; *) return 1 ;; esac
		shift 2
	done
}

# wait_links_up SECONDS NS IFACE...: links_up, polled every 20 ms (a link comes up in
# tens of milliseconds; every test starts with this wait)
wait_links_up() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 50; i++)); do
		links_up "$@" && return 0
		sleep 0.02
	done
	return 1
}

# topo_add_relay: a third host between the two, the relay R (netns hr-$ID):
#   hc eth1 10.77.2.1/24 <-> hr eth0 10.77.2.2/24, hr eth1 10.77.3.1/24 <-> hs eth1 10.77.3.2/24
# (the client and server hosts keep their direct link, so tests can show what a direct
# connection does). No forwarding on R: only its hermesd carries flows across it.
topo_add_relay() {
	ip netns add "$NS_R" || die "ip netns add $NS_R failed"
	_NETNS_MADE+=("$NS_R")
	ip -n "$NS_R" link set lo up
	ip -n "$NS_C" link add eth1 type veth peer name eth0 netns "$NS_R" || die "veth hc-hr failed"
	ip -n "$NS_R" link add eth1 type veth peer name eth1 netns "$NS_S" || die "veth hr-hs failed"
	ip -n "$NS_C" addr add 10.77.2.1/24 dev eth1
	ip -n "$NS_R" addr add 10.77.2.2/24 dev eth0
	ip -n "$NS_R" addr add 10.77.3.1/24 dev eth1
	ip -n "$NS_S" addr add 10.77.3.2/24 dev eth1
	ip -n "$NS_C" link set eth1 up
	ip -n "$NS_R" link set eth0 up
	ip -n "$NS_R" link set eth1 up
	ip -n "$NS_S" link set eth1 up
	mkdir -p "$CG/hermesd-r" "$CG/app-r" "$CG/hermesd-s" "$CG/app-s"
	say "relay host $NS_R: 10.77.2.2 (towards $NS_C 10.77.2.1), 10.77.3.1 (towards $NS_S 10.77.3.2)"
}

# ns_r CMD...: run in the relay host netns
ns_r() { nsenter --net="/run/netns/$NS_R" "$@"; }

# ---------------------------------------------------------------- a wide-area link

WAN_BIN=$BUILD/tests/bin/wandelay
WAN_PID=
WAN_LOG=
_WAN_RUNS=0
# wan_up RTT_MS [LOSS_PCT] [RATE] [WANDELAY OPTIONS...]: a wide-area link between the
# client and the server host in place of their direct one. The veth (eth0 on both) goes;
# tests/bin/wandelay, a delay line in user space (this kernel has no netem), makes a TUN
# device wan0 in each host and carries every packet between them after RTT_MS/2 (decimals
# allowed) each way, dropping LOSS_PCT % of them at random each way (seeded: the same
# packets every run) and at most RATE each way (bytes/s: 2M, 12.5M, 100Mbit; 0 or empty:
# no limit). The hosts keep their addresses, now on wan0: 10.77.1.1, fd77:1::1 <->
# 10.77.1.2, 10.77.1.3, fd77:1::2 (MTU 1500, or WANDELAY OPTIONS' --mtu). The relay host's
# links (topo_add_relay) are left alone. Called again, it replaces the line with the new
# settings (connections across it see a short outage). The line runs with SCHED_FIFO
# priority 10: on a busy machine it woke up to 6 ms late now and then as a normal process;
# as a real-time one, packets left it 50 us late on average, 0.7 ms at worst (--rt-prio 0
# in WANDELAY OPTIONS turns that off). Sets WAN_PID and WAN_LOG (the line's output: its
# settings, then its counters on wan_stat and on exit); cleanup stops it and the devices
# go with it. `wandelay --help` has the options.
wan_up() {
	local rtt=$1 loss=${2:-0} rate=${3:-0}
	shift $(($# < 3 ? $# : 3))
	[ -x "$WAN_BIN" ] || die "$WAN_BIN is missing: run make first"
	require_cmd ping
	[ -n "$WAN_PID" ] && wan_down
	# a second path would let traffic go round the line
	ip -n "$NS_C" link del eth0 2>/dev/null
	_WAN_RUNS=$((_WAN_RUNS + 1))
	WAN_LOG=$TMP/wan-$_WAN_RUNS.log
	bg "wan-$_WAN_RUNS" c "$WAN_BIN" --rt-prio 10 --rtt "$rtt" --loss "$loss" --rate "${rate:-0}" "$@" "$NS_C" "$NS_S"
	WAN_PID=$BG_PID
	if ! wait_until 5 grep -q '^wandelay: ready' "$WAN_LOG"; then
		cat "$WAN_LOG"
		die "wandelay (pid $WAN_PID) did not make its devices in $NS_C and $NS_S within 5 s"
	fi
	ip -n "$NS_C" addr add 10.77.1.1/24 dev wan0 &&
		ip -n "$NS_C" addr add fd77:1::1/64 dev wan0 nodad &&
		ip -n "$NS_S" addr add 10.77.1.2/24 dev wan0 &&
		ip -n "$NS_S" addr add 10.77.1.3/24 dev wan0 &&
		ip -n "$NS_S" addr add fd77:1::2/64 dev wan0 nodad ||
		die "cannot put the hosts' addresses on wan0"
	# the path works, both families: ping sends every 20 ms until the first reply (a TCP
	# check would wait a second for its SYN's retransmission when the line drops it)
	ns_c ping -n -q -c 1 -i 0.02 -w 5 10.77.1.2 >/dev/null && ns_c ping -n -q -c 1 -i 0.02 -w 5 fd77:1::2 >/dev/null ||
		die "no way from $NS_C to $NS_S through the delay line (see $WAN_LOG)"
	say "wide-area link up: $NS_C wan0 <-> $NS_S wan0 through wandelay (pid $WAN_PID): $(sed -n 's/^wandelay: ready //p' "$WAN_LOG")"
}

# wan_down: stop the delay line (its devices go with it; the hosts are then cut off)
wan_down() {
	[ -n "$WAN_PID" ] || return 0
	stop_pid "$WAN_PID" TERM 5
	say "wandelay (pid $WAN_PID) stopped: status $STOP_RC; $(grep -c '^wandelay: final' "$WAN_LOG") final counter lines"
	WAN_PID=
}

# wan_stat DIR COUNTER: a counter of the delay line now; DIR a->b (client host to server
# host) or b->a; COUNTER one of the names of a "wandelay: stats" line (rx_packets,
# drop_loss, late_p99_us, ...)
wan_stat() {
	local n
	n=$(grep -c '^wandelay: stats' "$WAN_LOG")
	kill -USR1 "$WAN_PID" 2>/dev/null || die "wan_stat: wandelay (pid $WAN_PID) is not running"
	wait_until 5 sh -c '[ "$(grep -c "^wandelay: stats" "$0")" -ge "$1" ]' "$WAN_LOG" $((n + 2)) ||
		die "wan_stat: wandelay (pid $WAN_PID) printed no counters within 5 s of SIGUSR1"
	grep "^wandelay: stats $1 " "$WAN_LOG" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# start_peer_hermesd NS TAG ARGS...: another hermesd (a relay or ingress host) in netns
# NS, in cgroup $CG/hermesd-TAG steering $CG/app-TAG, pins under $PINROOT-TAG, log
# $TMP/hermesd-TAG.log; ARGS must give it its own --admin (and --listen) when it
# shares a netns with another. Waits for /ready on the --admin address (default
# 127.0.0.1:15000). Sets PEER_PID and PEER_LOG; cleanup stops it and unpins.
start_peer_hermesd() {
	local ns=$1 tag=$2 admin=127.0.0.1:15000 a prev=
	shift 2
	for a in "$@"; do
		[ "$prev" = --admin ] && admin=$a
		prev=$a
	done
	mkdir -p "$CG/hermesd-$tag" "$CG/app-$tag"
	PEER_LOG=$TMP/hermesd-$tag.log
	_PINS_MADE+=("$PINROOT-$tag")
	_LOGS_MADE+=("$PEER_LOG")
	hermesd_up "$ns" "-$tag" "$PINROOT-$tag" "$PEER_LOG" "$admin" "hermesd $tag" "$@"
	PEER_PID=$UP_PID
	say "hermesd $tag ready in $ns (pid $PEER_PID)"
}

# peer_stat NS ADMIN METRIC: a /stats value of another hermesd (first sample matching)
peer_stat() {
	nsenter --net="/run/netns/$1" curl -s --max-time 3 "http://$2/stats" |
		awk -v m="$3" 'index($0, m) == 1 && substr($0, length(m) + 1, 1) ~ /[ {]/ { print $NF; exit }'
}

# ns_c CMD...: run in the client host netns (NOT in the app cgroup: never steered)
ns_c() { nsenter --net="/run/netns/$NS_C" "$@"; }
# ns_s CMD...: run in the server host netns
ns_s() { nsenter --net="/run/netns/$NS_S" "$@"; }

# in_app CMD...: run CMD in the client netns inside the app cgroup (steered by hermes)
in_app() {
	nsenter --net="/run/netns/$NS_C" sh -c 'echo $$ > "$0" && exec "$@"' "$CG/app/cgroup.procs" "$@"
}

# app_iperf3_udp HOST RATE WHAT: iperf3 -u from the app cgroup to HOST:5201, 1200-byte
# datagrams at RATE for 2 s; sets sent_b, recv_b (bytes each end counted), lost and pkts
# (the server's count of lost and received datagrams)
app_iperf3_udp() {
	in_app timeout 20 iperf3 -c "$1" -p 5201 -u -b "$2" -l 1200 -t 2 -w 4M -J >"$TMP/iperf3.json" 2>&1 ||
		{ cat "$TMP/iperf3.json"; die "iperf3 -u $3 failed"; }
	read -r sent_b recv_b lost pkts < <("$PY" -c '
import json, sys
e = json.load(open(sys.argv[1]))["end"]
snt, rcv = e.get("sum_sent", e["sum"]), e.get("sum_received", e["sum"])
print(snt["bytes"], rcv["bytes"], rcv["lost_packets"], rcv["packets"])
' "$TMP/iperf3.json" 2>&1)
	[ "${pkts:-x}" -ge 0 ] 2>/dev/null || { cat "$TMP/iperf3.json"; die "cannot read iperf3's JSON: $sent_b $recv_b $lost"; }
	say "iperf3 -u $2 $3: sent $sent_b bytes, server received $recv_b; lost $lost of $pkts datagrams"
}

# bg NAME WHERE CMD...: start CMD in the background (WHERE = c, s, app or a netns name), output in
# $TMP/NAME.log, PID recorded for cleanup and returned in $BG_PID.
BG_PID=
bg() {
	local name=$1 where=$2
	shift 2
	# nsenter itself in the background (not a shell function in a subshell), so that
	# BG_PID is the process that ends up running CMD and a TERM reaches it
	case $where in
	c | "$NS_C") nsenter --net="/run/netns/$NS_C" "$@" >"$TMP/$name.log" 2>&1 </dev/null & ;;
	s | "$NS_S") nsenter --net="/run/netns/$NS_S" "$@" >"$TMP/$name.log" 2>&1 </dev/null & ;;
	r | "$NS_R") nsenter --net="/run/netns/$NS_R" "$@" >"$TMP/$name.log" 2>&1 </dev/null & ;;
	app) nsenter --net="/run/netns/$NS_C" sh -c 'echo $$ > "$0" && exec "$@"' "$CG/app/cgroup.procs" "$@" \
		>"$TMP/$name.log" 2>&1 </dev/null & ;;
	*) die "bg: unknown place $where" ;;
	esac
	BG_PID=$!
	PIDS+=("$BG_PID")
}

# pid_alive PID: true while the process exists and is not a zombie
pid_alive() {
	local st
	[ -r "/proc/$1/stat" ] || return 1
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# stop_pid PID [SIG] [SECONDS]: signal, wait (bounded), SIGKILL if still there.
# Sets STOP_RC to the exit status when PID was our child.
STOP_RC=
stop_pid() {
	local pid=$1 sig=${2:-TERM} secs=${3:-10} i
	STOP_RC=
	kill "-$sig" "$pid" 2>/dev/null
	for ((i = 0; i < secs * 10; i++)); do
		pid_alive "$pid" || break
		sleep 0.1
	done
	if pid_alive "$pid"; then
		say "pid $pid still alive ${secs}s after SIG$sig: SIGKILL"
		kill -KILL "$pid" 2>/dev/null
		sleep 0.2
	fi
	wait "$pid" 2>/dev/null
	STOP_RC=$?
}

# wait_tcp NS ADDR PORT: until something listens (bounded 10 s)
wait_tcp() {
	local ns=$1 addr=$2 port=$3
	wait_until 10 nsenter --net="/run/netns/$ns" "$PY" -c '
import socket, sys
a, p = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET)
s.settimeout(1)
s.connect((a, p))
' "$addr" "$port"
}

# ---------------------------------------------------------------- nginx

NGINX_ACCESS_LOG=
NGINX_PAGE=
# start_nginx NS ADDR:PORT...: nginx in netns NS (default: the server host) listening on
# the given addresses (default 10.77.1.2:80 10.77.1.3:80 [fd77:1::2]:80). The access log
# ($NGINX_ACCESS_LOG) lines are "REMOTE_ADDR SERVER_ADDR:SERVER_PORT "REQUEST" STATUS BYTES".
# $NGINX_HTTP_EXTRA, when set, goes into the http block as it is (more servers, formats).
start_nginx() {
	local ns=${1:-$NS_S} a listens=
	shift || true
	[ $# -gt 0 ] || set -- 10.77.1.2:80 10.77.1.3:80 '[fd77:1::2]:80'
	require_cmd /usr/sbin/nginx
	mkdir -p "$TMP/nginx/www" "$TMP/nginx/tmp"
	chmod -R 755 "$TMP/nginx"
	NGINX_PAGE="hermes test page $ID"
	echo "$NGINX_PAGE" >"$TMP/nginx/www/index.html"
	head -c 1048576 /dev/urandom >"$TMP/nginx/www/1m.bin"
	chmod 644 "$TMP/nginx/www/"*
	NGINX_ACCESS_LOG=$TMP/nginx/access.log
	for a in "$@"; do listens="$listens        listen $a;"$'\n'; done
	cat >"$TMP/nginx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log info;
events { worker_connections 4096; }
http {
    log_format hermes '\$remote_addr \$server_addr:\$server_port "\$request" \$status \$body_bytes_sent';
    access_log $NGINX_ACCESS_LOG hermes;
    client_body_temp_path $TMP/nginx/tmp/body;
    proxy_temp_path $TMP/nginx/tmp/proxy;
    fastcgi_temp_path $TMP/nginx/tmp/fastcgi;
    uwsgi_temp_path $TMP/nginx/tmp/uwsgi;
    scgi_temp_path $TMP/nginx/tmp/scgi;
    types { text/html html; application/octet-stream bin; }
    keepalive_timeout 5;
    server {
$listens        root $TMP/nginx/www;
    }
${NGINX_HTTP_EXTRA:-}
}
EOF
	bg nginx "$ns" /usr/sbin/nginx -e "$TMP/nginx/error.log" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf"
	NGINX_PID=$BG_PID
	local first=$1 addr port
	port=${first##*:}
	addr=${first%:*}
	addr=${addr#[}
	addr=${addr%]}
	if ! wait_tcp "$ns" "$addr" "$port"; then
		cat "$TMP/nginx.log" "$TMP/nginx/error.log" 2>/dev/null | tail -n 20
		die "nginx did not start listening on $first in $ns"
	fi
	say "nginx (pid $NGINX_PID) in $ns on $*"
}

# nginx_last_client: the client address of the last access-log line
nginx_last_client() {
	tail -n 1 "$NGINX_ACCESS_LOG" 2>/dev/null | awk '{ print $1 }'
}

# ---------------------------------------------------------------- hermesd

# start_hermesd [ARGS...]: hermesd in the client netns, inside $CG/hermesd, steering
# $CG/app, pins under $PINROOT, debug log in $HERMESD_LOG. Waits until /ready is 200.
# $HERMESD_EXTRA_ARGS (e.g. "--relay splice", set by the runner's engine pass) goes
# before ARGS.
start_hermesd() {
	require_build
	say "starting hermesd $*"
	# shellcheck disable=SC2086 # HERMESD_EXTRA_ARGS is a list of words
	hermesd_up "$NS_C" "" "$PINROOT" "$HERMESD_LOG" 127.0.0.1:15000 hermesd ${HERMESD_EXTRA_ARGS:-} "$@"
	HERMESD_PID=$UP_PID
	say "hermesd ready (pid $HERMESD_PID)"
}

# launch_hermesd NS CGROUP APP_CGROUP PIN_ROOT LOG LEVEL ARGS...: start a hermesd in the
# background (in netns NS, its process in CGROUP, steering APP_CGROUP, log level LEVEL,
# output appended to LOG); its PID in LAUNCH_PID, also in PIDS so that cleanup stops it.
# An empty LEVEL gives no --log-level (the config file's log_level then applies).
# Does not wait: hermesd_up below and tools/bench/bench.sh each wait their own way.
# "-c none" first: a host's /etc/hermes/hermes.yaml (hermesd's default config, e.g. from
# the .deb test) must never reach a test's hermesd; a -c in ARGS comes later and wins.
LAUNCH_PID=
launch_hermesd() {
	local ns=$1 cg=$2 app=$3 pins=$4 log=$5 level=$6
	shift 6
	echo "=== hermesd start $(date +%T.%3N): $*" >>"$log"
	nsenter --net="/run/netns/$ns" sh -c 'echo $$ > "$0" && exec "$@"' "$cg/cgroup.procs" \
		"$HERMESD_BIN" -c none --cgroup "$app" --pin-root "$pins" ${level:+--log-level "$level"} "$@" >>"$log" 2>&1 </dev/null &
	LAUNCH_PID=$!
	PIDS+=("$LAUNCH_PID")
}

# hermesd_up NS SUFFIX PIN LOG ADMIN WHAT ARGS...: hermesd in netns NS, inside cgroup
# $CG/hermesdSUFFIX steering $CG/appSUFFIX, pins under PIN, debug log appended to LOG;
# waits up to 15 s for GET http://ADMIN/ready to answer 200. Sets UP_PID (also in PIDS,
# so cleanup stops it); fails the test naming WHAT when hermesd exits or is not ready.
# HERMESD_LOG_LEVEL (default debug) is its --log-level; set empty, none is given.
hermesd_up() {
	local ns=$1 suffix=$2 pin=$3 log=$4 admin=$5 what=$6 i rc
	shift 6
	launch_hermesd "$ns" "$CG/hermesd$suffix" "$CG/app$suffix" "$pin" "$log" "${HERMESD_LOG_LEVEL-debug}" "$@"
	UP_PID=$LAUNCH_PID
	for ((i = 0; i < 150; i++)); do
		if ! pid_alive "$UP_PID"; then
			wait "$UP_PID" 2>/dev/null
			rc=$?
			tail -n 30 "$log"
			die "$what exited during startup with status $rc"
		fi
		[ "$(nsenter --net="/run/netns/$ns" curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://$admin/ready")" = 200 ] &&
			return 0
		sleep 0.1
	done
	tail -n 30 "$log"
	die "$what (pid $UP_PID) not ready after 15 s: GET http://$admin/ready never returned 200"
}

# stop_hermesd [SIG] [SECONDS]: sets HERMESD_RC
stop_hermesd() {
	[ -n "$HERMESD_PID" ] || return 0
	stop_pid "$HERMESD_PID" "${1:-TERM}" "${2:-15}"
	HERMESD_RC=$STOP_RC
	say "hermesd (pid $HERMESD_PID) stopped with SIG${1:-TERM}: status $HERMESD_RC"
	HERMESD_PID=
}

# hermesctl ARGS...: build/hermesctl with the test's pin root, in the client netns
# (so that the admin endpoint it may query is the test's hermesd).
hermesctl() {
	ns_c "$HERMESCTL_BIN" --pin-root "$PINROOT" "$@"
}

# policy_add CIDR[:PORT] ACTION [--protocol P] (fails the test if hermesctl fails)
policy_add() {
	local out
	out=$(hermesctl policy add "$@" 2>&1) || die "hermesctl policy add $* failed: $out"
	say "policy add $*"
}

# admin_code PATH: HTTP status of the admin endpoint (000 when unreachable)
admin_code() {
	ns_c curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:15000$1" 2>/dev/null
}

# admin_get PATH: body of the admin endpoint
admin_get() {
	ns_c curl -sS --max-time 5 "http://127.0.0.1:15000$1"
}

# stat_value NAME [LABEL_SUBSTRING]: sum of the Prometheus samples of NAME whose labels
# contain LABEL_SUBSTRING (e.g. 'action="proxy"'); empty when NAME is absent.
stat_value() {
	admin_get /stats 2>/dev/null | awk -v name="$1" -v lab="${2:-}" '
		/^#/ { next }
		{
			n = $1; l = ""
			i = index(n, "{")
			if (i > 0) { l = substr(n, i); n = substr(n, 1, i - 1) }
			if (n != name) next
			if (lab != "" && index(l, lab) == 0) next
			found = 1; sum += $NF
		}
		END { if (found) printf "%d\n", sum }'
}

# stat_is VALUE NAME [LABEL_SUBSTRING]: stat_value is VALUE now; for wait_until, which runs
# its command each time (a "$(stat_value ...)" in wait_until's arguments is read only once)
stat_is() { [ "$(stat_value "$2" "${3:-}")" = "$1" ]; }

# cg_prog_count [CGPATH]: programs attached anywhere in the cgroup subtree (default $CG)
cg_prog_count() {
	bpftool cgroup tree "${1:-$CG}" 2>/dev/null | awk '/^[[:space:]]+[0-9]+[[:space:]]/ { n++ } END { print n + 0 }'
}

# assert_no_progs WHAT: nothing attached to the test cgroups
assert_no_progs() {
	local n
	n=$(cg_prog_count "$CG")
	if [ "$n" != 0 ]; then
		bpftool cgroup tree "$CG"
		die "$1: expected no BPF programs attached under $CG, found $n"
	fi
	say "ok: $1 (bpftool cgroup tree $CG shows no programs)"
}

# ---------------------------------------------------------------- a hermesd on the server host

PIN_S=$PINROOT-s
S_PID=
S_LOG=
# start_hermesd_s [ARGS...]: a second hermesd in the server netns, inside $CG/hermesd-s,
# steering $CG/app-s, pins under $PIN_S, debug log appended to $S_LOG. Waits until its
# /ready is 200. cleanup stops it and removes $PIN_S.
start_hermesd_s() {
	require_build
	S_LOG=$TMP/hermesd-s.log
	mkdir -p "$CG/hermesd-s" "$CG/app-s" || die "cannot create the server host's cgroups"
	hermesd_up "$NS_S" -s "$PIN_S" "$S_LOG" 127.0.0.1:15000 "hermesd on the server host" "$@"
	S_PID=$UP_PID
	say "hermesd on the server host ready (pid $S_PID)"
}

# stop_hermesd_s [SIG]: sets STOP_RC
stop_hermesd_s() {
	stop_pid "$S_PID" "${1:-TERM}" 15
	say "hermesd on the server host (pid $S_PID) stopped with SIG${1:-TERM}: status $STOP_RC"
	S_PID=
}

# ---------------------------------------------------------------- clients and checks

# curl_app [CURL ARGS...] URL: curl from the app cgroup; sets CURL_OUT, CURL_ERR, CURL_RC,
# CURL_MS (never fails the test by itself).
CURL_OUT='' CURL_ERR='' CURL_RC='' CURL_MS=''
curl_app() {
	local t0
	t0=$(now_ms)
	CURL_OUT=$(in_app curl -sS --max-time "${CURL_MAX_TIME:-20}" "$@" 2>"$TMP/curl.err")
	CURL_RC=$?
	CURL_MS=$(($(now_ms) - t0))
	CURL_ERR=$(cat "$TMP/curl.err")
	say "curl $* (from app cgroup): rc $CURL_RC in ${CURL_MS} ms${CURL_ERR:+: $CURL_ERR}"
}

# expect_page WHAT [CURL ARGS...] URL: curl from the app must return the nginx test page
expect_page() {
	local what=$1
	shift
	curl_app "$@"
	[ "$CURL_RC" = 0 ] || die "$what: curl $* failed with exit $CURL_RC: $CURL_ERR"
	[ "$CURL_OUT" = "$NGINX_PAGE" ] || die "$what: expected the test page '$NGINX_PAGE', got '$(printf '%s' "$CURL_OUT" | head -c 200)'"
	say "ok: $what (got the page)"
}

# origdst_count DST_ERE [PEER_ERE]: hermesd debug lines "origdst PEER -> DST (SO_ORIGINAL_DST)"
origdst_count() {
	grep -cE -- "origdst ${2:-[^ ]+} -> $1 \(SO_ORIGINAL_DST\)" "$HERMESD_LOG" 2>/dev/null
}

# wait_origdst DST_ERE MIN WHAT [PEER_ERE]: until hermesd logged at least MIN such lines (3 s)
wait_origdst() {
	local i n
	for ((i = 0; i < 30; i++)); do
		n=$(origdst_count "$1" "${4:-}")
		[ "${n:-0}" -ge "$2" ] && {
			say "ok: $3 (hermesd logged $n 'origdst ... -> $1 (SO_ORIGINAL_DST)' lines)"
			return 0
		}
		sleep 0.1
	done
	grep -E 'origdst' "$HERMESD_LOG" | tail -n 5
	die "$3: expected hermesd (--log-level debug) to log 'origdst ${4:-PEER} -> $1 (SO_ORIGINAL_DST)' at least $2 time(s), found ${n:-0}"
}

# expect_nginx_client ADDR WHAT: the last request nginx logged came from ADDR
expect_nginx_client() {
	local i last
	for ((i = 0; i < 20; i++)); do
		last=$(nginx_last_client)
		[ "$last" = "$1" ] && break
		sleep 0.1
	done
	[ "$last" = "$1" ] || die "$2: expected nginx to log client address $1, its last access-log line is: $(tail -n 1 "$NGINX_ACCESS_LOG")"
	say "ok: $2 (nginx saw $last)"
}

# expect_eperm WHAT HOST PORT: connect() from the app fails at once with EPERM
expect_eperm() {
	local out rc
	out=$(in_app "$PY" "$TESTBIN/hnet.py" connect "$2" "$3" --timeout 5 2>&1)
	rc=$?
	[ $rc = 3 ] || die "$1: expected connect($2:$3) from the app cgroup to fail with EPERM (PermissionError), got: $out"
	local ms
	ms=$(printf '%s' "$out" | sed -n 's/^EPERM after \([0-9]*\) ms.*/\1/p')
	[ "${ms:-9999}" -le 500 ] || die "$1: EPERM came after ${ms} ms, expected it at once"
	say "ok: $1 ($out)"
}

# expect_connects WHERE WHAT HOST PORT: connect() succeeds (WHERE = app or c)
expect_connects() {
	local out rc
	if [ "$1" = app ]; then
		out=$(in_app "$PY" "$TESTBIN/hnet.py" connect "$3" "$4" --timeout 5 2>&1)
	else
		out=$(ns_c "$PY" "$TESTBIN/hnet.py" connect "$3" "$4" --timeout 5 2>&1)
	fi
	rc=$?
	[ $rc = 0 ] || die "$2: expected connect($3:$4) to succeed, got: $out"
	say "ok: $2 ($out)"
}

# close_scenarios ADDR PORT WHAT SCENARIO...: tests/bin/closes.py end-of-flow scenarios
# (slow readers, resets both ways, closes from either side), all at once, each its own
# flow: the server on the server host at ADDR:PORT+i, the client steered in the app
# cgroup; each side must see exactly what it should. (Side by side, since most of a
# scenario's time is waiting: the slow ones sleep 2 s before they read.) WHAT names the
# path in messages. $SCENARIOS_PY (default tests/bin/closes.py) is the script that plays
# them (kernel_path: kpath.py).
close_scenarios() {
	local addr=$1 port=$2 what=$3 sc i crc src
	local -a srv=() cli=()
	shift 3
	for sc in "$@"; do
		# A scenario played again under the same name found its last run's "listening"
		# in the log, which bg's redirection truncates only in the child, and connected
		# before the server listened: the log goes first, so only this server's line counts.
		rm -f "$TMP/srv-$sc.log"
		bg "srv-$sc" s "$PY" "${SCENARIOS_PY:-$TESTBIN/closes.py}" server "$addr" $((port + 1 + ${#srv[@]})) "$sc"
		srv+=("$BG_PID")
	done
	for sc in "$@"; do
		wait_until 10 grep -q listening "$TMP/srv-$sc.log" || die "$sc: server did not start"
	done
	for sc in "$@"; do
		in_app timeout 60 "$PY" "${SCENARIOS_PY:-$TESTBIN/closes.py}" client "$addr" $((port + 1 + ${#cli[@]})) "$sc" \
			>"$TMP/cli-$sc.log" 2>&1 &
		cli+=("$!")
		PIDS+=("$!")
	done
	i=0
	for sc in "$@"; do
		wait "${cli[i]}"
		crc=$?
		wait "${srv[i]}"
		src=$?
		i=$((i + 1))
		say "$sc: $(tr '\n' ' ' <"$TMP/cli-$sc.log")| $(grep -v listening "$TMP/srv-$sc.log" | tr '\n' ' ')"
		[ $crc = 0 ] && [ $src = 0 ] || die "$sc $what: client exit $crc, server exit $src"
		say "ok: $sc $what"
	done
}

# flows_up: hermesd with a rule per action for the flow accounting tests (flow_table,
# hermes_top) to hold counters against: proxy for 10.77.1.2, pass for 10.77.1.3, deny
# for 10.77.1.3:81; and tests/bin/xfer.py serving port 7000 on the server host.
flows_up() {
	start_hermesd
	policy_add 10.77.1.2 proxy
	policy_add 10.77.1.3 pass
	policy_add 10.77.1.3:81 deny
	bg server s "$PY" "$TESTBIN/xfer.py" server 0.0.0.0 7000
	wait_tcp "$NS_S" 10.77.1.2 7000 || die "test server did not start on 10.77.1.2:7000"
}

# pin_lock_file PIN_ROOT: the lock hermesd holds for PIN_ROOT (include/hermes/pin.h:
# /run/hermes/ and the path escaped as systemd-escape --path does; test pin roots hold
# only letters, digits, '/' and '-')
pin_lock_file() {
	local p=${1#/}
	p=${p//-/\\x2d}
	printf '/run/hermes/%s.lock\n' "${p//\//-}"
}

# ---------------------------------------------------------------- cleanup

cleanup() {
	local rc=$?
	[ "$_CLEANED" = 1 ] && return
	_CLEANED=1
	set +e
	trap - INT TERM HUP
	local pid ns d i

	# 1. our background processes (hermesd, nginx, servers, clients), by PID
	for pid in "${PIDS[@]}"; do
		pid_alive "$pid" && kill -TERM "$pid" 2>/dev/null
	done
	# (polled every 20 ms, up to 5 s: most are gone within tens of milliseconds, and every
	# test ends here)
	for ((i = 0; i < 250; i++)); do
		local alive=0
		for pid in "${PIDS[@]}"; do pid_alive "$pid" && alive=1 && break; done
		[ $alive = 0 ] && break
		sleep 0.02
	done
	for pid in "${PIDS[@]}"; do
		pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null
	done
	# 2. anything else still running in the test's namespaces or cgroups
	for ns in "${_NETNS_MADE[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
	done
	if [ -n "$CG" ] && [ -d "$CG" ]; then
		for d in "$CG"/*/ "$CG"; do
			[ -f "$d/cgroup.procs" ] || continue
			for pid in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
		done
	fi
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done

	# 3. BPF: detach and unpin (a stopped hermesd leaves its links attached: disable is
	#    what removes them), and the pin-root lock a killed hermesd leaves behind
	for d in "$PINROOT" "${PIN_S:-}" "${_PINS_MADE[@]}"; do
		[ -n "$d" ] || continue
		if [ -e "$d" ]; then
			[ -x "$HERMESCTL_BIN" ] && "$HERMESCTL_BIN" --pin-root "$d" disable >/dev/null 2>&1
			rm -rf "$d"
		fi
		rm -f "$(pin_lock_file "$d")"
	done

	# 4. cgroups, children first (bounded retries: exiting tasks leave them late)
	if [ -n "$CG" ] && [ -d "$CG" ]; then
		for ((i = 0; i < 50; i++)); do
			for d in "$CG"/*/; do [ -d "$d" ] && rmdir "$d" 2>/dev/null; done
			rmdir "$CG" 2>/dev/null && break
			sleep 0.1
		done
		[ -d "$CG" ] && echo "cleanup: could not remove cgroup $CG" >&2
	fi

	# 5. a sanitizer build reports memory errors and leaks in hermesd's log: any is a failure
	for d in "$HERMESD_LOG" "${S_LOG:-}" "${_LOGS_MADE[@]}"; do
		if [ -f "$d" ] && grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$d"; then
			echo "--- sanitizer report in $(basename "$d"):"
			grep -E -A 30 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$d" | head -n 60
			_FAIL_MSG="hermesd hit a sanitizer error (see above)"
			[ $rc = 0 ] || [ $rc = 77 ] && rc=1
		fi
	done

	# 6. an engine pass of the runner (HERMES_EXPECT_ENGINE=splice): proxied flows must
	#    really have been spliced, not quietly relayed another way
	if [ "${HERMES_EXPECT_ENGINE:-}" = splice ] && [ -f "$HERMESD_LOG" ] && grep -q 'origdst' "$HERMESD_LOG"; then
		if ! grep -q 'relay splice' "$HERMESD_LOG" || grep -q 'relaying with io_uring' "$HERMESD_LOG"; then
			grep -E 'relay splice|relaying with io_uring' "$HERMESD_LOG" | tail -n 5
			_FAIL_MSG="flows were not spliced although the pass runs hermesd with --relay splice"
			[ $rc = 0 ] || [ $rc = 77 ] && rc=1
		fi
	fi

	# 7. namespaces and files (HERMES_KEEP_LOGS=DIR keeps every log for a post-mortem)
	for ns in "${_NETNS_MADE[@]}"; do ip netns del "$ns" 2>/dev/null; done
	if [ -n "${HERMES_KEEP_LOGS:-}" ] && [ -n "$TMP" ] && [ -d "$TMP" ]; then
		mkdir -p "$HERMES_KEEP_LOGS/$TEST_NAME" && cp "$TMP"/*.log "$HERMES_KEEP_LOGS/$TEST_NAME/" 2>/dev/null
	fi
	if [ -n "$TMP" ] && [ -d "$TMP" ]; then
		if [ $rc != 0 ] && [ $rc != 77 ] && [ -f "$HERMESD_LOG" ]; then
			echo "--- hermesd log (last 20 lines):"
			tail -n 20 "$HERMESD_LOG"
			echo "---"
			echo "FAIL (status $rc): ${_FAIL_MSG:-see above}"
		fi
		rm -rf "$TMP"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap '_FAIL_MSG="killed by a signal (the runner timeout?)"; exit 143' TERM HUP
