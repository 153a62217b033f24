#!/bin/bash
# shellcheck disable=SC2016 # single-quoted sh -c scripts expand in the inner shell
# tools/bench/wan.sh: the `make bench-wan` driver (as root): the paper's wide-area
# experiment. Short HTTPS requests from an unmodified client (curl) on host A to an origin
# (nginx, TLS 1.3, a small object) on host C across a wide-area link (common.sh's wan_up:
# the delay line tests/bin/wandelay in place of the hosts' veth), each request on a new
# connection as browsers and scripts make them, N at once; per request its completion
# time (curl's time_total: from the start of the transfer to its last byte).
#
# Configurations (the app on A and the origin on C the same in all of them):
#   direct          curl -> https://origin/obj (the name resolved to 10.77.1.3 with curl
#                   --resolve; the origin's certificate names it) across the link: a TCP
#                   and a TLS handshake across the WAN for every request, then the request
#   hermes-tunnel   the same curl, steered by A's hermesd (policy tunnel) into a pooled
#                   HTTP/2 CONNECT stream over mutual TLS 1.3 to C's hermesd, which connects
#                   to the origin on C; the app's TLS runs end to end inside the stream
#   hermes-http     the paper's setup: the app speaks plain HTTP to the origin's name
#                   (http://origin/obj); A's hermesd (policy http) sends the request as
#                   HTTPS, HTTP/2 over TLS 1.3 (upstream_protocol: h2, tls_name: origin),
#                   on its pooled connections across the WAN to the origin's port 443
#   haproxy-mtls    the peer of hermes-tunnel: HAProxy 2.6 mode tcp on A (the app's
#                   connection goes to it: curl --connect-to, the URL and its TLS unchanged)
#                   -> TLS 1.3 with client certificates -> HAProxy on C -> the origin; one
#                   TLS connection per flow (HAProxy has no pool in mode tcp)
#   nghttpx-h2      the peer of hermes-http: nghttpx on A, frontend plain HTTP/1.1 (the app
#                   is pointed at it with --connect-to), backend HTTP/2 over TLS 1.3 to the
#                   origin's port 443 (its pool of HTTP/2 connections)
# The TLS everywhere: TLS 1.3, TLS_AES_128_GCM_SHA256 (the origin and every TLS listener
# offer only it; hermesd's tls.ciphersuites puts it first), X25519, the certificates of
# `hermesctl certs init` (EC P-256). The app: curl, HTTP/1.1, "Connection: close" (so no
# connection is reused), --parallel with every request started at once (at most
# WAN_CURL_MAX per curl process: curl 7.88 runs at most 300 transfers in parallel, so
# 1000 requests are 4 processes started together). Every party keeps an unused pooled
# connection for 300 s (hermesd's http2.idle_timeout_ms and http.pool_idle_timeout_ms,
# nghttpx's backend keep-alive and read timeouts, nginx's keepalive_timeout), so that
# the pauses while the other configurations take their turns do not cool the pools.
#
# For every RTT (a fresh delay line) every configuration's proxies are started (one
# hermesd on A serves both Hermes configurations: the app's HTTPS to :443 goes into the
# tunnel, its plain HTTP to :80 to the http action), then for every concurrency N: per
# configuration one untimed round of max(N, 20) requests at once (warms the pools:
# hermesd's pooled tunnel and upstream connections, the backend connections of each of
# nghttpx's workers), then ROUNDS rounds of N requests at once, each round waiting for
# the last of its requests, the configurations taking turns round by round (the order
# rotating) so that the drift of a busy machine hits them alike.
# ROUNDS = max(3, ceil(WAN_SAMPLES / N)) (quick mode: at least 2); the report gives the
# spread of the rounds' own p50s, which at N >= 100 on a busy machine is wide. The Hermes configurations are checked to have
# carried every request (A's hermesd counted the streams or requests: a curl that went
# round hermesd would not be measuring it), and the report gives the new pooled
# connections hermesd opened during the measured rounds (0 when the pool was warm).
#
# Output in $BUILD/bench-wan/: results.md (per RTT a table of p50 / p99 completion time
# and the p50's ratio to direct per configuration and concurrency, and the targets of
# issue 16; per Hermes configuration the CPU per request of A's and C's hermesd),
# results.json, wan_p50.png (p50 vs concurrency, one panel per RTT, one line per
# configuration; gnuplot), raw.tsv (every request), cpu.tsv (per measured round of a
# Hermes configuration, the CPU time, from schedstat, A's and C's hermesd used while it
# ran), logs/. Any failed request (curl
# error, a status other than 200, a short body, a request not answered within the time
# limit), a configuration that is not available or does not start, or a Hermes
# configuration whose hermesd did not carry the requests makes the run exit 1 after the
# report is written, naming each: `make bench-wan QUICK=1` is the smoke check that the
# bench still works.
#
# Environment: WAN_QUICK=1 (RTT 50 only, N = 1 and 100, WAN_SAMPLES 10: under a minute),
# WAN_RTTS (default "10 50 100"), WAN_CONCS (default "1 10 100 1000"), WAN_CONFIGS (a
# subset; direct is always measured, as the ratios need it), WAN_SAMPLES (default 30,
# quick 10), WAN_OBJ_BYTES (the object's size, default 1024), WAN_CURL_MAX (transfers per
# curl process, default 250), WAN_REQ_SECS (curl's --max-time per request, default 30),
# WAN_BASE=DIR (make bench-wan BASE=DIR): A/B mode: DIR is another build directory (make
# all there) whose hermesd runs beside this build's, on both hosts (its own admin,
# transparent and tunnel listeners, its own app cgroup on A), as the configurations
# hermes-tunnel-base and hermes-http-base, measured in the same turns; the report adds a
# table of base and new p50 / p99 per cell and the change (the same build on both sides
# measured -3 to +2 % at RTT 50, N = 1 and 10, on a busy machine).
# Everything it makes (namespaces, cgroups, pin roots, processes) is removed on exit, also
# on failure or Ctrl-C (common.sh's cleanup). tools/bench/wan.sh --help prints this.

case ${1:-} in
-h | --help)
	sed -n '3,/^[^#]/{/^[^#]/d;s/^# \{0,1\}//;p}' "$0"
	exit 0
	;;
'') ;;
*)
	echo "bench-wan: no arguments (settings come from the environment: tools/bench/wan.sh --help)" >&2
	exit 2
	;;
esac

HERMES_TEST_ID=${HERMES_TEST_ID:-wan$$}
# shellcheck source-path=SCRIPTDIR source=../../tests/lib/common.sh
. "$(dirname "$0")/../../tests/lib/common.sh"

case ${WAN_QUICK:-} in '' | 0 | no | false) QUICK=0 ;; *) QUICK=1 ;; esac
if [ $QUICK = 1 ]; then
	RTTS=${WAN_RTTS:-50} CONCS=${WAN_CONCS:-1 100} SAMPLES=${WAN_SAMPLES:-10} MIN_ROUNDS=2
else
	RTTS=${WAN_RTTS:-10 50 100} CONCS=${WAN_CONCS:-1 10 100 1000} SAMPLES=${WAN_SAMPLES:-30} MIN_ROUNDS=3
fi
OBJ_BYTES=${WAN_OBJ_BYTES:-1024}
CURL_MAX=${WAN_CURL_MAX:-250}
# the warm-up round: N requests, at least WARM_MIN: a proxy with a pool per worker
# (nghttpx, workers = cores) gets a request on each, so that N=1 does not time the first
# request of a cold worker
WARM_MIN=20
IDLE_SECS=300 # how long every party keeps an unused pooled connection (below)
REQ_SECS=${WAN_REQ_SECS:-30}
ALL_CONFIGS=(direct hermes-tunnel hermes-http haproxy-mtls nghttpx-h2)
for v in $RTTS $CONCS $SAMPLES $OBJ_BYTES $CURL_MAX $REQ_SECS; do
	[[ $v =~ ^[0-9]+$ ]] && [ "$v" -gt 0 ] || {
		echo "bench-wan: WAN_RTTS, WAN_CONCS, WAN_SAMPLES, WAN_OBJ_BYTES, WAN_CURL_MAX and WAN_REQ_SECS take positive integers, got '$v'" >&2
		exit 2
	}
done
[ "$CURL_MAX" -le 300 ] || {
	echo "bench-wan: WAN_CURL_MAX=$CURL_MAX: curl runs at most 300 transfers in parallel" >&2
	exit 2
}
CONFIGS=(direct)
for c in "${ALL_CONFIGS[@]:1}"; do
	if [ -z "${WAN_CONFIGS:-}" ] || [[ " $WAN_CONFIGS " == *" $c "* ]]; then CONFIGS+=("$c"); fi
done
# A/B mode: the base build's hermesd measured beside this build's, as configurations of
# their own (hermes-tunnel-base, hermes-http-base), in the same turns
BASE_DIR=
if [ -n "${WAN_BASE:-}" ]; then
	BASE_DIR=$(cd "$WAN_BASE" 2>/dev/null && pwd) && [ -x "$BASE_DIR/hermesd" ] && [ -x "$BASE_DIR/hermesctl" ] || {
		echo "bench-wan: WAN_BASE=$WAN_BASE holds no hermesd and hermesctl: give the build directory of the hermesd to compare against (make all there)" >&2
		exit 2
	}
	for c in hermes-tunnel hermes-http; do
		[[ " ${CONFIGS[*]} " == *" $c "* ]] && CONFIGS+=("$c-base")
	done
fi
for c in ${WAN_CONFIGS:-}; do
	[[ " ${ALL_CONFIGS[*]} " == *" $c "* ]] || {
		echo "bench-wan: WAN_CONFIGS names $c, not a configuration (known: ${ALL_CONFIGS[*]})" >&2
		exit 2
	}
done

OUT=$BUILD/bench-wan
LOGS=$OUT/logs
RAW=$OUT/raw.tsv
CELLS=$OUT/cells.tsv
CFGS=$OUT/configs.tsv
CPU=$OUT/cpu.tsv
ORIGIN=10.77.1.3   # the origin's address on C (nginx, TLS on :443)
ORIGIN_NAME=origin # its name: in its certificate, resolved by the app (curl --resolve)
TUN_LISTEN=10.77.1.2:15008
# the base side's hermesd (WAN_BASE) on both hosts: their own admin, transparent and
# tunnel listeners beside the new side's (two hermesd per host, each steering its own
# app cgroup)
TUN_LISTEN_BASE=10.77.1.2:15009
ADMIN_NEW=127.0.0.1:15000
ADMIN_BASE=127.0.0.1:15100
BASE_LISTEN=(--admin "$ADMIN_BASE" --listen 127.0.0.1:15101 --listen6 '[::1]:15101')
PORT_HAPROXY=10443 # HAProxy on A (127.0.0.1) and on C (10.77.1.2, TLS)
PORT_NGHTTPX=38080 # nghttpx on A (127.0.0.1)
TLS_SUITE=TLS_AES_128_GCM_SHA256
TLS_GROUP=X25519
NCPU=$(nproc)
T_START=$(date +%s)

# 1000 connections on each side of a proxy and the origin's: raise the descriptor limit
# (common.sh raised the soft limit to the hard one already)
[ "$(ulimit -Hn)" -ge 65536 ] 2>/dev/null || ulimit -Hn 65536 2>/dev/null
ulimit -n "$(ulimit -Hn)" 2>/dev/null

require_root
require_cmd curl /usr/sbin/nginx gnuplot
rm -rf "$OUT"
mkdir -p "$LOGS"
printf 'config\trtt_ms\tconc\tround\twarm\texitcode\thttp_code\ttime_total_s\tnum_connects\tsize\ttime_connect_s\ttime_appconnect_s\ttime_starttransfer_s\n' >"$RAW"
printf 'config\trtt_ms\tconc\trounds\trequests\tfailed\tnew_pooled\tcheck\n' >"$CFGS.cells.tmp"
printf 'config\tavailable\treason\tdesc\n' >"$CFGS"
printf 'config\trtt_ms\tconc\tround\ta_ns\tc_ns\n' >"$CPU"
FAILS=() # every failure, named; the run exits 1 when there is any

fail_note() {
	FAILS+=("$*")
	say "FAILED: $*"
}

declare -A DESC=(
	[direct]="curl on A -> https://$ORIGIN_NAME/ ($ORIGIN) across the link: a TCP and a TLS handshake across the WAN per request"
	[hermes-tunnel]="curl (the same URL) steered by A's hermesd (policy tunnel) into pooled HTTP/2 CONNECT streams over mTLS 1.3 to C's hermesd ($TUN_LISTEN) -> origin; the app's TLS end to end"
	[hermes-http]="curl -> http://$ORIGIN_NAME/ (plain HTTP to the origin's name and address), A's hermesd (policy http) -> HTTP/2 over TLS 1.3 (upstream_protocol h2, tls_name $ORIGIN_NAME) on pooled connections to the origin's :443"
	[haproxy-mtls]="curl (the same URL, --connect-to 127.0.0.1:$PORT_HAPROXY) -> HAProxy mode tcp on A -> mTLS 1.3 -> HAProxy on C -> origin; the app's TLS end to end; one TLS connection per flow"
	[nghttpx-h2]="curl -> http://$ORIGIN_NAME/ (--connect-to 127.0.0.1:$PORT_NGHTTPX) -> nghttpx on A, backend HTTP/2 over TLS 1.3 (sni $ORIGIN_NAME; its connection pool) to the origin's :443"
	[hermes-tunnel-base]="hermes-tunnel with the base build's hermesd on A and C (WAN_BASE=${BASE_DIR:-})"
	[hermes-http-base]="hermes-http with the base build's hermesd on A (WAN_BASE=${BASE_DIR:-})"
)

# ---------------------------------------------------------------- hosts and origin

topo_up
# the run keeps to the binaries it started with, even if the build is redone meanwhile
mkdir -p "$TMP/new" && cp "$HERMESD_BIN" "$HERMESCTL_BIN" "$TMP/new/" || die "cannot copy hermesd and hermesctl to $TMP/new"
HERMESD_BIN=$TMP/new/hermesd HERMESCTL_BIN=$TMP/new/hermesctl
if [ -n "$BASE_DIR" ]; then
	mkdir -p "$TMP/base" && cp "$BASE_DIR/hermesd" "$BASE_DIR/hermesctl" "$TMP/base/" ||
		die "cannot copy the base's hermesd and hermesctl from $BASE_DIR"
fi
for ns in "$NS_C" "$NS_S"; do
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_reserved_ports="$PORT_HAPROXY,$PORT_NGHTTPX,15000-15001,15008-15009,15100-15101" \
		net.ipv4.ip_local_port_range="1024 65535" net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535 \
		net.ipv4.tcp_tw_reuse=1 >/dev/null || die "cannot set the port range and accept queue limits in $ns"
done
"$HERMESCTL_BIN" certs init "$TMP/pki" --hosts a,c,$ORIGIN_NAME >"$LOGS/certs.log" 2>&1 ||
	die "hermesctl certs init failed: $(tail -n 1 "$LOGS/certs.log")"
for h in a c; do cat "$TMP/pki/$h.crt" "$TMP/pki/$h.key" >"$TMP/pki/$h.pem"; done

# The origin: nginx on C, TLS 1.3 with HTTP/2 (for the pooling proxies) and HTTP/1.1 (the
# app), as its users run it for a benchmark: workers = cores, no access log, long
# keep-alive, an accept queue that takes 1000 connects at once
mkdir -p "$TMP/origin/www" "$TMP/origin/tmp"
head -c "$OBJ_BYTES" /dev/zero | tr '\0' x >"$TMP/origin/www/obj"
chmod -R 755 "$TMP/origin"
cat >"$TMP/origin/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes $NCPU;
worker_rlimit_nofile 20000;
pid $TMP/origin/nginx.pid;
error_log $LOGS/origin-error.log warn;
events { worker_connections 10000; multi_accept on; }
http {
    access_log off;
    client_body_temp_path $TMP/origin/tmp/body;
    proxy_temp_path $TMP/origin/tmp/proxy;
    fastcgi_temp_path $TMP/origin/tmp/fastcgi;
    uwsgi_temp_path $TMP/origin/tmp/uwsgi;
    scgi_temp_path $TMP/origin/tmp/scgi;
    default_type application/octet-stream;
    keepalive_requests 1000000;
    keepalive_timeout $IDLE_SECS;
    http2_max_requests 1000000;
    server {
        listen $ORIGIN:443 ssl http2 backlog=65535;
        ssl_certificate $TMP/pki/$ORIGIN_NAME.crt;
        ssl_certificate_key $TMP/pki/$ORIGIN_NAME.key;
        ssl_protocols TLSv1.3;
        ssl_conf_command Ciphersuites $TLS_SUITE;
        ssl_ecdh_curve $TLS_GROUP;
        root $TMP/origin/www;
    }
}
EOF
bg origin s /usr/sbin/nginx -e "$LOGS/origin-error.log" -p "$TMP/origin" -c "$TMP/origin/nginx.conf"
wait_tcp "$NS_S" $ORIGIN 443 || die "the origin (nginx) did not listen on $ORIGIN:443: $(tail -n 3 "$LOGS/origin-error.log" "$TMP/origin.log")"

# ---------------------------------------------------------------- configurations

# Pools stay warm across the harness's pauses: while the other configurations take their
# turns at N=1000 a pooled connection may sit unused for tens of seconds, longer than the
# defaults keep one (30 s: C's http2.idle_timeout_ms, A's http.pool_idle_timeout_ms);
# IDLE_SECS for every party (hermesd, nghttpx's backend, nginx), as a busy client keeps
# its pools warm by itself.
cat >"$TMP/c-tunnel.yaml" <<YAML
tls: {cert: $TMP/pki/c.crt, key: $TMP/pki/c.key, ca: $TMP/pki/ca.crt}
http2: {idle_timeout_ms: $((IDLE_SECS * 1000))}
YAML
# A's hermesd serves both Hermes configurations (so that one process per host runs while
# every configuration is measured in turn): the app's HTTPS to the origin's :443 goes
# into the tunnel, its plain HTTP to :80 to the http action
# a_yaml TUNNEL_LISTENER: A's configuration, the tunnel to C's hermesd at that address
a_yaml() {
	cat <<YAML
tls: {cert: $TMP/pki/a.crt, key: $TMP/pki/a.key, ca: $TMP/pki/ca.crt}
http: {pool_idle_timeout_ms: $((IDLE_SECS * 1000))}
routes:
  - name: wan
    match: [$ORIGIN/32]
    peers: [{address: $1, name: c, protocol: h2}]
policy:
  - match: $ORIGIN/32:443
    action: tunnel
  - match: $ORIGIN/32:80
    action: http
http_routes:
  - name: origin
    endpoints: [$ORIGIN:443]
    upstream_protocol: h2
    tls_name: $ORIGIN_NAME
YAML
}
a_yaml $TUN_LISTEN >"$TMP/a.yaml"
a_yaml $TUN_LISTEN_BASE >"$TMP/a-base.yaml"
# haproxy_cfg BIND SERVER: one HAProxy of the mTLS tunnel (as bench.sh's haproxy-mtls-1hop):
# A listens on 127.0.0.1 in clear text and dials C over mTLS (C's certificate must name c);
# C listens with TLS, asks for A's certificate and dials the origin in clear TCP (the
# app's own TLS inside). TLS 1.3 only, the same suite and group as hermesd; no session
# reuse (hermesd's listener offers none either).
haproxy_cfg() {
	local tls="crt $TMP/pki/$3.pem ca-file $TMP/pki/ca.crt verify required"
	printf 'global\n    nbthread %s\n    maxconn 5000\n' "$NCPU"
	printf '    ssl-default-bind-ciphersuites %s\n    ssl-default-bind-options ssl-min-ver TLSv1.3\n' "$TLS_SUITE"
	printf '    ssl-default-bind-curves %s\n' "$TLS_GROUP"
	printf '    ssl-default-server-ciphersuites %s\n    ssl-default-server-options ssl-min-ver TLSv1.3\n' "$TLS_SUITE"
	printf 'defaults\n    mode tcp\n    timeout connect 10s\n    timeout client 60s\n    timeout server 60s\n'
	if [ "$3" = a ]; then
		printf 'listen wan\n    bind %s\n    server c %s ssl %s sni str(c) no-ssl-reuse\n' "$1" "$2" "$tls"
	else
		printf 'listen wan\n    bind %s ssl %s\n    server origin %s\n' "$1" "$tls" "$2"
	fi
}
haproxy_cfg 127.0.0.1:$PORT_HAPROXY 10.77.1.2:$PORT_HAPROXY a >"$TMP/haproxy-a.cfg"
haproxy_cfg 10.77.1.2:$PORT_HAPROXY $ORIGIN:443 c >"$TMP/haproxy-c.cfg"

# the app's curl settings per configuration (a curl config file; the URLs are added per
# round). The write-out line is what raw.tsv records of each request.
curlrc() {
	printf '%s\n' silent no-progress-meter show-error http1.1 'header = "Connection: close"' "max-time = $REQ_SECS" \
		"connect-timeout = $REQ_SECS" "cacert = \"$TMP/pki/ca.crt\"" "resolve = \"$ORIGIN_NAME:443:$ORIGIN\"" \
		"resolve = \"$ORIGIN_NAME:80:$ORIGIN\"" \
		'write-out = "%{exitcode}\t%{http_code}\t%{time_total}\t%{num_connects}\t%{size_download}\t%{time_connect}\t%{time_appconnect}\t%{time_starttransfer}\n"'
	case $1 in
	haproxy-mtls) echo "connect-to = \"::127.0.0.1:$PORT_HAPROXY\"" ;;
	nghttpx-h2) echo "connect-to = \"::127.0.0.1:$PORT_NGHTTPX\"" ;;
	esac
}
declare -A URL=([direct]=https://$ORIGIN_NAME/obj [hermes-tunnel]=https://$ORIGIN_NAME/obj
	[hermes-http]=http://$ORIGIN_NAME/obj [haproxy-mtls]=https://$ORIGIN_NAME/obj [nghttpx-h2]=http://$ORIGIN_NAME/obj)

CFG_PIDS=() # every proxy process of the RTT's run
declare -A HPID=() # hermesd's PID by tag (a, c, a-base, c-base)
CFG_FAIL=
declare -A GFAIL=()
# hermes_up NS TAG LOG ADMIN ARGS...: a hermesd in NS (cgroup $CG/hermesd-TAG steering
# $CG/app-TAG, pins $PINROOT-TAG, admin endpoint ADMIN), log level warn; 1 (CFG_FAIL set)
# when it exits or is not ready within 15 s (the run goes on without it)
hermes_up() {
	local ns=$1 tag=$2 log=$3 admin=$4 i
	shift 4
	mkdir -p "$CG/hermesd-$tag" "$CG/app-$tag"
	_PINS_MADE+=("$PINROOT-$tag")
	_LOGS_MADE+=("$log")
	launch_hermesd "$ns" "$CG/hermesd-$tag" "$CG/app-$tag" "$PINROOT-$tag" "$log" warn "$@"
	CFG_PIDS+=("$LAUNCH_PID")
	HPID[$tag]=$LAUNCH_PID
	for ((i = 0; i < 150; i++)); do
		pid_alive "$LAUNCH_PID" || {
			CFG_FAIL="hermesd $tag exited during start-up: $(tail -n 2 "$log" | tr '\n' ' ')"
			return 1
		}
		[ "$(nsenter --net="/run/netns/$ns" curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://$admin/ready")" = 200 ] &&
			return 0
		sleep 0.1
	done
	CFG_FAIL="hermesd $tag not ready after 15 s (GET /ready)"
	return 1
}

# proc_up NAME NS ADDR PORT CMD...: a peer proxy; 1 (CFG_FAIL set) when it does not listen
# on ADDR:PORT within 10 s
proc_up() {
	local name=$1 ns=$2 addr=$3 port=$4
	shift 4
	nsenter --net="/run/netns/$ns" "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
	local pid=$!
	PIDS+=("$pid")
	CFG_PIDS+=("$pid")
	wait_tcp "$ns" "$addr" "$port" && pid_alive "$pid" && return 0
	CFG_FAIL="$name did not listen on $addr:$port: $(tail -n 2 "$LOGS/$name.log" | tr '\n' ' ')"
	return 1
}

# group_up GROUP: start the proxies of a group of configurations (hermes: C's hermesd
# with the tunnel listener, then A's; haproxy-mtls: C's HAProxy, then A's; nghttpx-h2);
# 1 with CFG_FAIL set when one does not start
group_up() {
	CFG_FAIL=
	case $1 in
	hermes)
		hermes_up "$NS_S" c "$LOGS/hermesd-c.log" $ADMIN_NEW -c "$TMP/c-tunnel.yaml" --tunnel-listen $TUN_LISTEN || return 1
		hermes_up "$NS_C" a "$LOGS/hermesd-a.log" $ADMIN_NEW -c "$TMP/a.yaml" || return 1
		;;
	hermes-base)
		local bin=$HERMESD_BIN rc=0
		HERMESD_BIN=$TMP/base/hermesd
		hermes_up "$NS_S" c-base "$LOGS/hermesd-c-base.log" $ADMIN_BASE "${BASE_LISTEN[@]}" -c "$TMP/c-tunnel.yaml" \
			--tunnel-listen $TUN_LISTEN_BASE && hermes_up "$NS_C" a-base "$LOGS/hermesd-a-base.log" $ADMIN_BASE \
			"${BASE_LISTEN[@]}" -c "$TMP/a-base.yaml" || rc=1
		HERMESD_BIN=$bin
		return $rc
		;;
	haproxy-mtls)
		proc_up haproxy-c "$NS_S" 10.77.1.2 $PORT_HAPROXY /usr/sbin/haproxy -db -f "$TMP/haproxy-c.cfg" || return 1
		proc_up haproxy-a "$NS_C" 127.0.0.1 $PORT_HAPROXY /usr/sbin/haproxy -db -f "$TMP/haproxy-a.cfg" || return 1
		;;
	nghttpx-h2)
		proc_up nghttpx "$NS_C" 127.0.0.1 $PORT_NGHTTPX nghttpx --conf=/dev/null \
			"--frontend=127.0.0.1,$PORT_NGHTTPX;no-tls" "--backend=$ORIGIN,443;;proto=h2;tls;sni=$ORIGIN_NAME" \
			--cacert="$TMP/pki/ca.crt" --tls-min-proto-version=TLSv1.3 --tls13-client-ciphers="$TLS_SUITE" \
			--workers="$NCPU" --backend-keep-alive-timeout=${IDLE_SECS}s --backend-read-timeout=${IDLE_SECS}s --no-via \
			--no-ocsp --errorlog-file="$LOGS/nghttpx-error.log" || return 1
		;;
	esac
}
declare -A GROUP=([direct]=direct [hermes-tunnel]=hermes [hermes-http]=hermes [haproxy-mtls]=haproxy-mtls
	[nghttpx-h2]=nghttpx-h2 [hermes-tunnel-base]=hermes-base [hermes-http-base]=hermes-base)

# all_down: stop every proxy (by PID) and remove the hermesd pins
all_down() {
	local p d
	for p in "${CFG_PIDS[@]}"; do pid_alive "$p" && stop_pid "$p" TERM 10; done
	CFG_PIDS=()
	for d in "$PINROOT"-c "$PINROOT"-a "$PINROOT"-c-base "$PINROOT"-a-base; do
		[ -d "$d" ] || continue
		if [ "${d%-base}" != "$d" ]; then
			"$TMP/base/hermesctl" --pin-root "$d" disable >/dev/null 2>&1
		else
			"$HERMESCTL_BIN" --pin-root "$d" disable >/dev/null 2>&1
		fi
		rm -rf "$d"
	done
}

# a_stat CONFIG METRIC_PREFIX: the sum of the /stats samples of the configuration's
# hermesd on A whose line starts with METRIC_PREFIX (e.g.
# 'hermes_http_upstream_connections_total{pool="new"}'); 0 when there is none
a_stat() {
	local admin=$ADMIN_NEW
	[ "${1%-base}" != "$1" ] && admin=$ADMIN_BASE
	ns_c curl -s --max-time 3 "http://$admin/stats" |
		awk -v m="$2" 'index($0, m) == 1 && substr($0, length(m) + 1, 1) ~ /[ {]/ { s += $NF } END { printf "%d\n", s }'
}
# the counters that show a Hermes configuration carried the requests, and its new pooled
# connections
declare -A CARRIED=([hermes-tunnel]=hermes_tunnel_streams_total [hermes-http]=hermes_http_requests_total
	[hermes-tunnel-base]=hermes_tunnel_streams_total [hermes-http-base]=hermes_http_requests_total)
declare -A POOLED=([hermes-tunnel]=hermes_tunnel_sessions_opened_total
	[hermes-http]='hermes_http_upstream_connections_total{pool="new"}'
	[hermes-tunnel-base]=hermes_tunnel_sessions_opened_total
	[hermes-http-base]='hermes_http_upstream_connections_total{pool="new"}')

# burst CONFIG N TAG: N requests at once from the app on A (in the app cgroup of A's
# hermesd for the Hermes configurations, else simply on A); each request's write-out line
# appended to $TMP/burst.out, a line "missing" for each request curl did not report (a
# curl killed at the time limit)
burst() {
	local cfg=$1 n=$2 procs i j k pids=() f run=(ns_c) got
	case $cfg in
	hermes-*-base) run=(in_cg "$CG/app-a-base") ;;
	hermes-*) run=(in_cg "$CG/app-a") ;;
	esac
	procs=$(((n + CURL_MAX - 1) / CURL_MAX))
	: >"$TMP/burst.out"
	for ((i = 0; i < procs; i++)); do
		k=$((n / procs + (i < n % procs ? 1 : 0)))
		f=$TMP/burst-$i
		{
			curlrc "$cfg"
			for ((j = 0; j < k; j++)); do printf 'url = "%s"\noutput = "/dev/null"\n' "${URL[${cfg%-base}]}"; done
		} >"$f.cfg"
		"${run[@]}" timeout $((REQ_SECS + 30)) curl -K "$f.cfg" --parallel --parallel-immediate --parallel-max "$k" \
			>"$f.out" 2>>"$LOGS/curl-$cfg.err" &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}"
		cat "$TMP/burst-$i.out" >>"$TMP/burst.out"
	done
	got=$(grep -c . "$TMP/burst.out")
	for ((i = got; i < n; i++)); do echo missing >>"$TMP/burst.out"; done
}

# in_cg CGROUP CMD...: CMD on A inside CGROUP
in_cg() {
	local cg=$1
	shift
	nsenter --net="/run/netns/$NS_C" sh -c 'echo $$ > "$0" && exec "$@"' "$cg/cgroup.procs" "$@"
}

# cpu_ns TAG: the CPU time (ns on a CPU, /proc/PID/task/*/schedstat: every thread, the
# io_uring workers too) the hermesd of TAG has used so far; 0 when it is not running. (A
# worker thread that ends between two readings takes its time with it: they live on
# while busy, so within one burst that is rare.)
cpu_ns() {
	local pid=${HPID[$1]:-}
	[ -n "$pid" ] && [ -d "/proc/$pid/task" ] || {
		echo 0
		return
	}
	cat /proc/"$pid"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# record CONFIG RTT N ROUND WARM: the burst's lines into raw.tsv; prints the number of
# failed requests (not exit 0, not 200, not the whole object, or missing)
record() {
	awk -F'\t' -v OFS='\t' -v c="$1" -v r="$2" -v n="$3" -v rd="$4" -v w="$5" -v sz="$OBJ_BYTES" -v raw="$RAW" '
		{
			if ($1 == "missing") { $0 = "missing\t000\t0\t0\t0\t0\t0\t0" }
			print c, r, n, rd, w, $1, $2, $3, $4, $5, $6, $7, $8 >>raw
			if ($1 != "0" || $2 != "200" || $5 != sz) bad++
		}
		END { print bad + 0 }' "$TMP/burst.out"
}

# ---------------------------------------------------------------- availability

declare -A OK=()
help=$("$HERMESD_BIN" --help 2>&1)
base_help=
[ -n "$BASE_DIR" ] && base_help=$("$TMP/base/hermesd" --help 2>&1)
for c in "${CONFIGS[@]}"; do
	why=
	case $c in
	hermes-tunnel) grep -q -- '--tunnel-listen' <<<"$help" || why="hermesd --help lists no --tunnel-listen" ;;
	hermes-http) grep -qE '^ +http +' <<<"$help" || why="hermesd --help lists no http action" ;;
	hermes-tunnel-base) grep -q -- '--tunnel-listen' <<<"$base_help" || why="the base's hermesd --help lists no --tunnel-listen" ;;
	hermes-http-base) grep -qE '^ +http +' <<<"$base_help" || why="the base's hermesd --help lists no http action" ;;
	haproxy-mtls) [ -x /usr/sbin/haproxy ] || why="/usr/sbin/haproxy is not installed (make deps)" ;;
	nghttpx-h2) command -v nghttpx >/dev/null || why="nghttpx is not installed (make deps)" ;;
	esac
	if [ -z "$why" ]; then OK[$c]=1; else fail_note "$c: not available: $why"; fi
	printf '%s\t%s\t%s\t%s\n' "$c" "$([ -z "$why" ] && echo true || echo false)" "$why" "${DESC[$c]}" >>"$CFGS"
done

# ---------------------------------------------------------------- the run

say "bench-wan: RTTs [$RTTS] ms, concurrency [$CONCS], at least $SAMPLES requests per cell, configurations: ${CONFIGS[*]}"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for rtt in $RTTS; do
	wan_up "$rtt"
	# every configuration's proxies up at once; then per N each configuration in turn, round
	# by round (the order rotating), so that the machine's drift (other work on it) hits
	# all of them alike within a cell
	CFG_PIDS=()
	declare -A STARTED=([direct]=1)
	LIVE=()
	for cfg in "${CONFIGS[@]}"; do
		[ "${OK[$cfg]:-0}" = 1 ] || continue
		g=${GROUP[$cfg]}
		if [ -z "${STARTED[$g]:-}" ]; then
			if group_up "$g"; then STARTED[$g]=1; else STARTED[$g]=0 && GFAIL[$g]=$CFG_FAIL; fi
		fi
		if [ "${STARTED[$g]}" = 1 ]; then
			LIVE+=("$cfg")
		else
			fail_note "$cfg at RTT $rtt ms: did not start: ${GFAIL[$g]}"
		fi
	done
	for n in $CONCS; do
		rounds=$(((SAMPLES + n - 1) / n))
		[ "$rounds" -ge $MIN_ROUNDS ] || rounds=$MIN_ROUNDS
		warm=$((n > WARM_MIN ? n : WARM_MIN))
		declare -A C0=() P0=() BAD=()
		t0=$(now_ms)
		for cfg in "${LIVE[@]}"; do
			[ -n "${CARRIED[$cfg]:-}" ] && C0[$cfg]=$(a_stat "$cfg" "${CARRIED[$cfg]}")
			burst "$cfg" "$warm"
			BAD[$cfg]=$(record "$cfg" "$rtt" "$n" 0 1)
			[ -n "${POOLED[$cfg]:-}" ] && P0[$cfg]=$(a_stat "$cfg" "${POOLED[$cfg]}")
		done
		for ((r = 1; r <= rounds; r++)); do
			for ((i = 0; i < ${#LIVE[@]}; i++)); do
				cfg=${LIVE[$(((i + r) % ${#LIVE[@]}))]}
				sfx=
				[ "${cfg%-base}" != "$cfg" ] && sfx=-base
				[ -n "${CARRIED[$cfg]:-}" ] && ca=$(cpu_ns a$sfx) cc=$(cpu_ns c$sfx)
				burst "$cfg" "$n"
				[ -n "${CARRIED[$cfg]:-}" ] && printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$cfg" "$rtt" "$n" "$r" \
					$(($(cpu_ns a$sfx) - ca)) $(($(cpu_ns c$sfx) - cc)) >>"$CPU"
				BAD[$cfg]=$((${BAD[$cfg]} + $(record "$cfg" "$rtt" "$n" "$r" 0)))
			done
		done
		say "RTT $rtt ms N=$n: $rounds rounds of ${#LIVE[@]} configurations in $(awk -v t=$(($(now_ms) - t0)) 'BEGIN { printf "%.1f", t / 1000 }') s"
		for cfg in "${LIVE[@]}"; do
			check=- pooled=- bad=${BAD[$cfg]}
			if [ -n "${CARRIED[$cfg]:-}" ]; then
				pooled=$(($(a_stat "$cfg" "${POOLED[$cfg]}") - ${P0[$cfg]}))
				carried=$(($(a_stat "$cfg" "${CARRIED[$cfg]}") - ${C0[$cfg]}))
				if [ "$carried" -ge $((n * rounds + warm)) ]; then
					check="ok ($carried)"
				else
					check="FAILED ($carried)"
					fail_note "$cfg RTT $rtt N=$n: A's hermesd counted $carried ${CARRIED[$cfg]} for $((n * rounds + warm)) requests: the app's requests went round it"
				fi
			fi
			[ "$bad" = 0 ] || fail_note "$cfg RTT $rtt N=$n: $bad of $((n * rounds + warm)) requests failed (raw.tsv; $LOGS/curl-$cfg.err)"
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$cfg" "$rtt" "$n" "$rounds" $((n * rounds)) "$bad" "$pooled" "$check" \
				>>"$CFGS.cells.tmp"
			say "  $cfg: $bad failed$([ "$check" != - ] && echo "; carried by hermesd: $check; new pooled connections while measured: $pooled")"
		done
	done
	all_down
	wan_down
done
mv "$CFGS.cells.tmp" "$CELLS"

# ---------------------------------------------------------------- report

{
	printf 'quick\t%s\n' "$QUICK"
	printf 'rtts\t%s\n' "$RTTS"
	printf 'concs\t%s\n' "$CONCS"
	printf 'samples\t%s\n' "$SAMPLES"
	printf 'obj_bytes\t%s\n' "$OBJ_BYTES"
	printf 'commit\t%s\n' "$(git -C "$HERMES_SRC" rev-parse --short=7 HEAD 2>/dev/null || echo unknown)"
	printf 'date\t%s\n' "$(date -u +%FT%TZ)"
	printf 'cpus\t%s\n' "$NCPU"
	printf 'load_start\t%s\n' "$LOAD_START"
	printf 'load_end\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
	printf 'secs\t%s\n' $(($(date +%s) - T_START))
	printf 'tools\t%s; %s; %s; %s\n' "$(curl --version | head -n 1 | cut -d' ' -f1-2)" "$(/usr/sbin/nginx -v 2>&1 | sed 's/.*: //')" \
		"$(/usr/sbin/haproxy -v 2>/dev/null | head -n 1 | cut -d' ' -f1-3)" "$(nghttpx --version 2>/dev/null | head -n 1)"
	for f in "${FAILS[@]}"; do printf 'failure\t%s\n' "$f"; done
} >"$OUT/meta.tsv"
/usr/bin/python3 "$(dirname "$0")/wan_report.py" "$OUT" || fail_note "wan_report.py failed"
say "bench-wan: report in $OUT/results.md, plot $OUT/wan_p50.png ($(($(date +%s) - T_START)) s)"
if [ ${#FAILS[@]} -gt 0 ]; then
	printf 'bench-wan FAILED (%d):\n' ${#FAILS[@]}
	printf '  - %s\n' "${FAILS[@]}"
	exit 1
fi
exit 0
