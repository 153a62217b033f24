#!/bin/bash
# shellcheck disable=SC2016 # single-quoted sh -c scripts expand in the inner shell
# tools/bench/bench.sh: the `make bench` driver (as root). Measures, in one run and on the
# three-host test topology of tests/lib/common.sh (client host A, relay R, server host C
# as network namespaces; A and C also have a direct link; the application in a child
# cgroup of A), a direct connection against every Hermes mode and against the peers:
#   direct               no proxy: the app talks to the server on C over the direct link
#   hermes-uring         policy proxy, hermesd --relay uring  --sk-msg off
#   hermes-uring-skmsg   policy proxy, hermesd --relay uring  --sk-msg on
#   hermes-splice        policy proxy, hermesd --relay splice --sk-msg off
#   hermes-uring-noacct  policy proxy, hermesd --relay uring  --sk-msg off --flow-table off
#   hermes-uring-tc      policy proxy, hermesd --relay uring  --sk-msg off --tc-iface eth0
#   hermes-kernel        policy proxy, hermesd --relay kernel --sk-msg off (opt-in)
#   tun-h1-1hop          policy tunnel: A's hermesd -> C's hermesd tunnel listener, HTTP/1.1
#                        CONNECT in clear text (2 hermesd on the path, 1 tunnel hop)
#   tun-h2-1hop          the same over HTTP/2 CONNECT with mutual TLS 1.3 (2 hermesd, 1 hop)
#   tun-h2-2hop          A -> R -> C, HTTP/2 CONNECT over mTLS on both hops (3 hermesd on
#                        the path, the issue's "3 hops"; 2 tunnel hops)
#   tun-h1-squid         policy tunnel: A's hermesd -> squid on C (HTTP/1.1 CONNECT)
#   haproxy-tcp          HAProxy 2.6 mode tcp on A (127.0.0.1:PORT+10000 -> C): an L4 proxy
#                        the app is pointed at
#   squid                squid 5 on C as the app's CONNECT forward proxy (pingpong -x)
#   haproxy-http         HAProxy mode http on A, retry-on, h1 -> h1 to nginx on C
#   nginx-rp             nginx reverse proxy on A, upstream keep-alive, h1 -> h1
#   nghttpx              nghttpx on A: frontend HTTP/1.1 (clear), backend HTTP/2 (h2c) to
#                        nginx on C: the h1 -> h2 translation
#   hermes-http-h2c      hermesd's http action, h1 client -> h2c upstream (translation)
#   hermes-http-h1       hermesd's http action (h1 -> h1); measured only when hermesd
#                        --help lists it (else "not available")
#   haproxy-mtls-1hop    the peer of tun-h2-1hop with the same TLS: HAProxy mode tcp on A
#                        (the app is pointed at it) -> TLS 1.3 with client certificates
#                        (hermesctl certs, same suite and group as hermesd) -> HAProxy on
#                        C -> the server: an mTLS tunnel, the stunnel/ztunnel shape, one
#                        TLS connection per flow
#   haproxy-mtls-2hop    the same through HAProxy on R (it ends TLS and opens a new TLS
#                        connection to C, as R's hermesd does): the peer of tun-h2-2hop;
#                        opt-in (measured only when BENCH_CONFIGS names it)
#   nghttpx-mtls-1hop    nghttpx on A (frontend HTTP/1.1 and h2c, clear text) -> HTTP/2
#                        over mTLS 1.3 -> nghttpx on C -> nginx (HTTP/1.1): an HTTP/2
#                        proxy pair, the L7 peer of tun-h2-1hop (HTTP loads only)
# HTTP caches (the cachehit load only; direct and hermes-http-h1 measure it uncached):
#   nginx-cache          nginx proxy_cache on A in front of the cache origin on C, tuned
#                        for it: cache files on tmpfs, keys in shared memory, open file
#                        cache, upstream keep-alive, proxy_cache_lock (the issue's peer)
#   hermes-cache         hermesd's http action (h1 -> h1) with its `cache` section enabled;
#                        "not available" while hermesd --check refuses that section
# UDP (the udp loads below only; direct measures them too):
#   hermes-udp           hermesd on A, a `protocol: udp` proxy rule: its UDP relay
#   hermes-udp-kpath     the same rule with udp.kernel_path: true: the datagrams go
#                        straight from the app's socket, marked and counted in BPF
#   socat-udp            socat on A (UDP4-LISTEN,fork -> UDP4): a UDP relay the app is
#                        pointed at (HAProxy 2.6 has no UDP proxying; see the report)
#   tun-udp-1hop         a `protocol: udp` rule with action tunnel: A's hermesd -> C's
#                        hermesd, CONNECT-UDP over HTTP/2 with mutual TLS 1.3 (the routes
#                        of tun-h2-1hop)
#   tun-udp-2hop         the same A -> R -> C (the routes of tun-h2-2hop)
#                        Both tunnel rows are "not measured: unsupported" while hermesd
#                        --check refuses their rule (a hermesd whose tunnel action does
#                        not carry UDP).
# A configuration whose software is missing (no option in --help, --check refuses it, no
# binary) is recorded as not available; one whose processes fail to start as failed.
#
# Every round runs every configuration once (interleaved, so slow drifts of the machine
# hit all of them alike), with its proxies started for it and stopped after; RUNS rounds.
# The loads (each only where the configuration can carry it: L4 loads need a TCP path,
# HTTP loads an HTTP one):
#   rtt1, rtt100   64 B TCP ping-pong, 1 and 100 concurrent flows (build/bench/pingpong)
#   rtt4k          4 KiB ping-pong, 1 flow
#   sockperf       64 B ping-pong, 1 flow, with sockperf (cross-check of the pingpong tool
#                  on the paths with one proxy or none: direct, hermes-*, haproxy-tcp)
#                  These run with client, server and every proxy pinned to one CPU
#                  (BENCH_RTT_CPU, default 0): on a VM whose idle vCPUs halt, a wake-up
#                  across vCPUs costs ~50 us and the scheduler's placement, not the data
#                  path, would decide the result.
#   rtt1free       rtt1 again with nobody pinned (what an application sees by default)
#   flows1000      1000 concurrent flows, each connect + 10 x 64 B request/response:
#                  completion time and RTT percentiles (pingpong -n 10), and the CPU
#                  time the proxy processes spent on it (schedstat, 0.2 s after the
#                  load so that their closing of the flows counts)
#   bulk1, bulk8   iperf3 throughput with 1 and 8 parallel flows; CPU seconds per GB of
#                  the whole machine (/proc/stat) and of the proxy processes
#                  (schedstat) during bulk1
#   connrate       connect + 1 byte each way + close, 8 in parallel (build/bench/connrate)
#   idle1000       resident memory of the configuration's proxy processes before and
#                  after 1000 idle connections (L4: after one exchange each; HTTP: after
#                  one keep-alive request each)
#   idle10000      the same with 10000 idle flows, on the HTTP/2 tunnel configurations
#                  only (tun-h2-1hop, tun-h2-2hop: one socket a flow in each hermesd; a
#                  proxy in the middle of a flow holds two, 20000 for 10000 flows, which
#                  RLIMIT_NOFILE does not leave here); full mode, or named in BENCH_LOADS
#   wrk c=1/100/1000     HTTP/1.1 GET of a 64 B body, keep-alive (wrk); CPU s per 100k
#                        requests of the whole machine during c=100
#   h2load c=1/100/1000  the same over HTTP/2 (h2c prior knowledge; h2load -m 1)
#   wrk, h2load c=10000  the same with 10000 connections, for BIG_SECS each, last in the
#                        round. The errors (wrk's socket errors, h2load's failed
#                        requests) are samples of their own, and so are the connections
#                        left unaccepted in any listen queue at the end (which neither
#                        tool counts), so a configuration that cannot hold 10000
#                        connections shows it. 10000 connections through one proxy
#                        process take 20000 descriptors in it: the harness raises
#                        RLIMIT_NOFILE as far as it may and records every proxy's limit.
#   cachehit       wrk c=100 (keep-alive) for CACHE_SECS, every request for
#                  the same 4 KiB object (/4k of tools/bench/cache_origin.py on C: max-age
#                  3600, ETag, each answer CACHE_ORIGIN_DELAY_MS late), after a warm-up of
#                  2 requests that puts it in the cache: req/s, p50/p99/p99.9, errors, the
#                  proxy processes' CPU time per request (schedstat), and the requests
#                  that reached the origin during the measured phase (its
#                  access log). In a cache configuration more than CACHE_ORIGIN_MAX of
#                  them is an error of the round: the cache forwarded, not served hits.
#                  With CACHE_SPLIT=1 (the default on 2 or more CPUs) wrk runs as one
#                  thread on CPU 0 and the proxy's processes on the others (nginx-cache
#                  with one worker per CPU it has): two wrk threads sharing CPUs with the
#                  proxy put the scheduler's slice (4 ms here, HZ=250) into every
#                  proxy's p99; CACHE_SPLIT=0: 2 wrk threads, nothing pinned.
#   udprtt         64 B UDP request/response, 1 flow (a connected socket), pinned to
#                  one CPU like rtt1 (build/bench/udpping): RTT p50/p99/p99.9, requests
#                  lost (no reply within 200 ms)
#   udpbulk        iperf3 -u, 1200-byte datagrams, one flow at 500 Mb/s and at 1 Gb/s
#                  (1 s each): rate received, loss %, the CPU the configuration's
#                  proxy processes used (% of one CPU, schedstat), and where datagrams
#                  were dropped meanwhile: by the kernel on A and on C (UDP
#                  RcvbufErrors + SndbufErrors of the namespace: on A hermesd's relay
#                  socket, on C the iperf3 server's socket and the far hermesd's) and
#                  by A's and C's hermesd (the sums of hermes_udp_drops_total,
#                  hermes_tunnel_udp_client_drops_total, hermes_tunnel_udp_drops_total)
#   udpsearch      the highest offered rate (iperf3 -u, 1200 B, 1 s a step, at most
#                  UDP_SEARCH_STEPS steps from 1 Gb/s, doubling or halving, then
#                  bisecting) that arrives with < 0.1% loss and >= 95% of it received
#                  (about 9 s per configuration): full mode, rounds 1..UDP_SEARCH_RUNS
#                  (default 2; 0: none); quick mode only when BENCH_LOADS names it (then
#                  in every round)
#   tls            the TLS version, suite, key exchange group and signature that the
#                  listener a TLS configuration's client dials negotiates with that
#                  client's settings (openssl s_client, round 1): the settings compared
#                  are shown, not typed
# Before every HTTP load the harness waits (up to 10 s) until no listen queue holds
# connections, so that a proxy still working off the previous load is not measured on
# the next one's time. The full run measures every load in every round, so that each
# figure is a median of RUNS samples. Quick mode leaves out the cross-checks (sockperf,
# rtt1free, bulk8), h2load other than c=100, the UDP rate search, and c=10000
# (BENCH_C10K=1 measures c=10000 in quick mode too).
# Every sample goes to $BUILD/bench/raw.jsonl (one JSON object a line); report.py turns
# them into $BUILD/bench/results.json, results.md and PNG plots (gnuplot). Tool outputs
# and proxy logs: $BUILD/bench/logs/.
#
# Environment: RUNS (default 5; 2 with BENCH_QUICK=1), BENCH_QUICK=1 (shorter loads, fewer
# configurations: the four hermes-uring variants are left out unless BENCH_CONFIGS names
# them), BENCH_CONFIGS="direct tun-h2-1hop ..." (a subset; direct is always measured; the
# opt-in configurations, haproxy-mtls-2hop, hermes-uring-noacct, hermes-uring-tc and hermes-kernel, are
# measured only when named there), BENCH_C10K=0|1 (c=10000 off or on; default on in full
# mode, off in quick mode), BIG_RUNS (rounds with c=10000, default all), BIG_SECS (its
# seconds per load, default 3), EXTRA_RUNS (rounds with the cross-checks, default all),
# UDP_SEARCH_RUNS (rounds with the UDP rate search in full mode, default 2),
# UDP_SEARCH_STEPS (its steps, default 7), CACHE_SECS (cachehit's seconds, default 2),
# CACHE_ORIGIN_DELAY_MS (the cache origin's delay per answer, default 2), CACHE_ORIGIN_MAX
# (origin requests a cache may let through while measured, default 5), BENCH_LOADS="flows1000 ..." (only these loads, in every selected configuration: any of
# idle1000 idle10000 tls rtt1 rtt100 rtt4k sockperf rtt1free flows1000 bulk1 bulk8 connrate wrk
# h2load c10000 cachehit udprtt udpbulk udpsearch; the quick-mode and round limits above still apply; for bisecting one
# row, with BENCH_CONFIGS and BENCH_BASE), BENCH_RT=1 (the flows1000 load's pingpong
# client and server and every proxy process of the configuration run SCHED_FIFO, priority
# 10, for that load only; so do the iperf3 -u client and servers and the proxies during
# the udpbulk and udpsearch loads: on a machine where other work runs, the scheduler's choice of
# who waits otherwise decides that row (its spread was +-100% and more beside test runs
# at load 5-15, +-7 to 30% with BENCH_RT=1); it measures the proxy with the CPU to
# itself, not what an application sees beside other work. The kernel's RT throttling
# (sched_rt_runtime_us) still leaves the rest of the machine 5%.)
# BENCH_UDP_STALL_MS=N (0..1000, 0: none): during every iperf3 -u measurement of a configuration
# with a hermesd on A, that hermesd is stopped (SIGSTOP) three times for N ms, 0.6 s in and
# 0.1 s apart, as a loop that the scheduler does not run would be: what the path loses to
# the backlog (with BENCH_RT=1 nothing else stops it; the samples are those of a stalled
# run, not the path's own).
# Everything it creates (namespaces, cgroup, pin roots, processes) is removed on exit,
# also on failure or Ctrl-C (common.sh's cleanup). tools/bench/bench.sh --help prints this.
#
# A/B mode, BENCH_BASE=DIR (make bench BASE=DIR): DIR is another build directory (the
# build/ of another checkout, built with make all) whose hermesd and hermesctl are the
# "base"; $BUILD's are the "new" ones. Every configuration that runs hermesd (hermes-*,
# tun-*, hermes-http-*) is then measured twice in every round, once with each build's
# hermesd (on every host of the path: the tunnels' peers too), one right after the other
# (the base first in odd rounds, the new one first in even rounds), so that the machine's
# drift during the run hits both alike; the others (direct and the peers) once. The
# base's hermesd runs on its own pin roots (its own maps, in the layout its own build
# expects) and is driven by its own hermesctl; the BPF programs are embedded in each
# hermesd, so nothing else is taken from DIR. A configuration is measured only when both
# hermesd offer it. The report then begins with the A/B table: per row the base and new
# medians (min-max over the rounds), the relative change and the run's own spread (the
# larger of the two sides' (max - min) / median); a row is "worse" only when the new
# hermesd is worse than the base by more than that spread (counts, and rows whose base
# median is 0: when every new sample is worse than every base sample). With RUNS=1 there
# is no spread and no verdict. The rest of the report is the new hermesd's, as without a
# base. Logs of the base side: $BUILD/bench/logs/base/.

case ${1:-} in
-h | --help)
	# this header is the manual
	sed -n '3,/^[^#]/{/^[^#]/d;s/^# \{0,1\}//;p}' "$0"
	exit 0
	;;
'') ;;
*)
	echo "bench: no arguments (settings come from the environment: tools/bench/bench.sh --help)" >&2
	exit 2
	;;
esac

HERMES_TEST_ID=${HERMES_TEST_ID:-bench$$}
# shellcheck source-path=SCRIPTDIR source=../../tests/lib/common.sh
. "$(dirname "$0")/../../tests/lib/common.sh"

OUT=$BUILD/bench
RAW=$OUT/raw.jsonl
LOGS=$OUT/logs
LOGS_NEW=$LOGS     # LOGS is the base side's directory while it is measured (use_side)
PINROOT_NEW=$PINROOT # likewise PINROOT
TGT_PROXY=10.77.1.2 # the destination of the direct and policy-proxy flows
TGT_TUN=10.77.1.3   # the destination of the policy-tunnel flows (same host, same servers)
PORT_PINGPONG=7001
PORT_CONNRATE=7002
PORT_SOCKPERF=7003
PORT_PINGPONG_FREE=7004 # an unpinned pingpong server
PORT_IPERF=5201
PORT_IPERF_UDP=5202 # iperf3 -u (its own server: UDP tests and TCP bulk never share one)
PORT_UDPPING=7005   # UDP
PORT_HTTP=8080 # nginx origin, HTTP/1.1
PORT_H2C=8081  # nginx origin, HTTP/2 prior knowledge
PORT_CACHE=8082 # the cachehit load's origin (tools/bench/cache_origin.py)
PORT_NGINX_CACHE=28082 # nginx-cache on A
NGINX_CACHE_DIR=/dev/shm/hermes-bench-$ID-nginx-cache # nginx-cache's files (tmpfs)
PORT_SQUID=3128
# the server ports the L4 proxies (haproxy-tcp, haproxy-mtls-*) carry, each on its own
# listener at the port + 10000
L4_PORTS="$PORT_PINGPONG $PORT_PINGPONG_FREE $PORT_SOCKPERF $PORT_CONNRATE $PORT_IPERF $PORT_HTTP $PORT_H2C"
PORT_NGHTTPX=38080     # nghttpx on A (both nghttpx configurations)
PORT_NGHTTPX_TLS=38443 # nghttpx on C, TLS (nghttpx-mtls-1hop)
# The peers' TLS: what two hermesd negotiate by default (TLS 1.3; tls.ciphersuites puts
# AES-128-GCM first and hermesd's listener picks by its own order; the key exchange is
# OpenSSL 3's default). The round-1 probe of every TLS configuration checks it and
# reports a difference as an error. Left to their defaults, the peers would differ:
# HAProxy 2.6 takes OpenSSL's TLS 1.3 list, TLS_AES_256_GCM_SHA384 first, on both ends,
# so two HAProxy would negotiate AES-256-GCM; nghttpx's own --tls13-ciphers and
# --tls13-client-ciphers defaults put TLS_AES_128_GCM_SHA256 first. Hence both are set
# to TLS_SUITE below (HAProxy: ssl-default-*-ciphersuites; nghttpx: --tls13-*ciphers).
TLS_SUITE=TLS_AES_128_GCM_SHA256
TLS_GROUP=X25519
RTT_CPU=${BENCH_RTT_CPU:-0}
SERVER_MAX_SECS=7200 # every server stops by itself after this long
CONNRATE_PARALLEL=8
NCPU=$(nproc)

case ${BENCH_QUICK:-} in '' | 0 | no | false) QUICK=0 ;; *) QUICK=1 ;; esac
# A/B mode: the base build's directory, made absolute (make runs us from the source tree)
BASE_DIR=
if [ -n "${BENCH_BASE:-}" ]; then
	BASE_DIR=$(cd "$BENCH_BASE" 2>/dev/null && pwd) || {
		echo "bench: BENCH_BASE=$BENCH_BASE is not a directory: give the build directory of the hermesd to compare against (e.g. ../old/build after make all there)" >&2
		exit 2
	}
	for t in hermesd hermesctl; do
		[ -x "$BASE_DIR/$t" ] || {
			echo "bench: $BASE_DIR/$t is missing: run make all in the checkout that BENCH_BASE=$BENCH_BASE belongs to" >&2
			exit 2
		}
	done
fi
# UDP throughput: iperf3 -u takes whole seconds; the rate search's steps take 1 s each
UDP_SECS=1
UDP_SEARCH_STEPS=${UDP_SEARCH_STEPS:-7}
[[ $UDP_SEARCH_STEPS =~ ^[1-9][0-9]?$ ]] || {
	echo "bench: UDP_SEARCH_STEPS must be 1..99, got '$UDP_SEARCH_STEPS'" >&2
	exit 2
}
# the rate search's rounds in full mode (it costs about 9 s per configuration and round)
UDP_SEARCH_RUNS=${UDP_SEARCH_RUNS:-2}
[[ $UDP_SEARCH_RUNS =~ ^[0-9][0-9]?$ ]] || {
	echo "bench: UDP_SEARCH_RUNS must be 0..99, got '$UDP_SEARCH_RUNS'" >&2
	exit 2
}
if [ $QUICK = 1 ]; then
	RUNS=${RUNS:-2} RTT_SECS=0.5 SOCKPERF_SECS=1 BULK_SECS=1 CONN_SECS=0.7 HTTP_SECS=1 H2_SECS=1
else
	# Every load runs in every round (each figure a median of RUNS samples) within the
	# 30-minute budget on 2 vCPUs: hence 1 s per HTTP load and bulk (wrk and iperf3 take
	# whole seconds only). The spread between rounds (the machine's drift) is larger than
	# what longer loads would take out of a sample.
	RUNS=${RUNS:-5} RTT_SECS=0.6 SOCKPERF_SECS=1 BULK_SECS=1 CONN_SECS=1.5 HTTP_SECS=1 H2_SECS=1
fi
[[ $RUNS =~ ^[1-9][0-9]?$ ]] || {
	echo "bench: RUNS must be 1..99, got '$RUNS'" >&2
	exit 2
}
HTTP_CONNS="1 100 1000"
# cachehit: seconds of wrk per measurement; the origin's delay per answer (ms); the origin
# requests a cache configuration may let through in the measured phase (a revalidation,
# a connection the cache opens anew) before the round is an error: more is forwarding
CACHE_SECS=${CACHE_SECS:-2}
CACHE_ORIGIN_DELAY_MS=${CACHE_ORIGIN_DELAY_MS:-2}
CACHE_ORIGIN_MAX=${CACHE_ORIGIN_MAX:-5}
# cachehit: the load generator on CPU 0, the proxy on the rest (see the header)
if [ "$(nproc)" -ge 2 ]; then CACHE_SPLIT=${CACHE_SPLIT:-1}; else CACHE_SPLIT=0; fi
for v in CACHE_SECS CACHE_ORIGIN_DELAY_MS CACHE_ORIGIN_MAX; do
	[[ ${!v} =~ ^[0-9][0-9]?$ ]] || {
		echo "bench: $v must be 0..99, got '${!v}'" >&2
		exit 2
	}
done
[ "$CACHE_SECS" -ge 1 ] || {
	echo "bench: CACHE_SECS must be at least 1 (wrk takes whole seconds)" >&2
	exit 2
}
# quick mode leaves out the cross-checks: sockperf, unpinned RTT, 8-flow bulk, h2load
# other than c=100
if [ $QUICK = 1 ]; then H2_CONNS=100 EXTRA=0; else H2_CONNS=$HTTP_CONNS EXTRA=1; fi
# the cross-checks run in rounds 1..EXTRA_RUNS (default: every round)
EXTRA_RUNS=${EXTRA_RUNS:-$RUNS}
[[ $EXTRA_RUNS =~ ^[1-9][0-9]?$ ]] || {
	echo "bench: EXTRA_RUNS must be 1..99, got '$EXTRA_RUNS'" >&2
	exit 2
}
[ "$EXTRA_RUNS" -le "$RUNS" ] || EXTRA_RUNS=$RUNS
# c=10000: in rounds 1..BIG_RUNS (default: every round); off in quick mode unless asked
# for (setting up and closing 10000 connections through a proxy takes seconds of its own)
BIG_CONNS=10000
BIG_SECS=${BIG_SECS:-3}
case ${BENCH_C10K:-} in
'') C10K=$((1 - QUICK)) ;;
0 | no | false) C10K=0 ;;
*) C10K=1 ;;
esac
BIG_RUNS=${BIG_RUNS:-$RUNS}
[[ $BIG_RUNS =~ ^[1-9][0-9]?$ ]] || {
	echo "bench: BIG_RUNS must be 1..99, got '$BIG_RUNS'" >&2
	exit 2
}
# BENCH_LOADS: only these loads (e.g. to bisect one row: a round of one load takes
# seconds, a whole configuration minutes)
LOAD_NAMES="idle1000 idle10000 tls rtt1 rtt100 rtt4k sockperf rtt1free flows1000 bulk1 bulk8 connrate wrk h2load c10000 cachehit udprtt udpbulk udpsearch"
for l in ${BENCH_LOADS:-}; do
	case " $LOAD_NAMES " in *" $l "*) ;; *)
		echo "bench: BENCH_LOADS names '$l', which is not a load: give some of $LOAD_NAMES" >&2
		exit 2
		;;
	esac
done
want_load() { [ -z "${BENCH_LOADS:-}" ] || case " $BENCH_LOADS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
# BENCH_RT=1: the 1000-flow load's client, server and proxies run SCHED_FIFO (RT_PRIO), and
# so do the UDP throughput loads' iperf3 -u client and servers and proxies
case ${BENCH_RT:-} in '' | 0 | no | false) RT=0 ;; *) RT=1 ;; esac
RT_PRIO=10
PP_FREE_PID=
IPERF_U_PIDS=() # the iperf3 -u servers on C
STALL_MS=${BENCH_UDP_STALL_MS:-0}
if ! [[ $STALL_MS =~ ^[0-9]{1,4}$ ]] || [ "$STALL_MS" -gt 1000 ]; then
	echo "bench: BENCH_UDP_STALL_MS must be 0..1000 (ms), got '$STALL_MS'" >&2
	exit 2
fi
# a hermesd that accepted fewer connections than this was not on the path: its round's
# samples are dropped (a subset of loads may carry only a few connections)
if [ -n "${BENCH_LOADS:-}" ]; then ACCEPTED_MIN=1; else ACCEPTED_MIN=100; fi
[[ $BIG_SECS =~ ^[1-9][0-9]?$ ]] || {
	echo "bench: BIG_SECS must be 1..99 (seconds), got '$BIG_SECS'" >&2
	exit 2
}
[ "$BIG_RUNS" -le "$RUNS" ] || BIG_RUNS=$RUNS
# 10000 connections through one proxy process take 20000 descriptors in it (client and
# upstream sides) plus its listeners and maps: raise the hard limit where we may
# (CAP_SYS_RESOURCE); every process started here inherits it (hermesd and HAProxy raise
# their soft limit to it themselves). Where it cannot be raised, the configurations that
# need more show it as errors at c=10000, and the report gives every proxy's limit.
NOFILE_WANT=65536
[ "$(ulimit -Hn)" -ge $NOFILE_WANT ] 2>/dev/null || ulimit -Hn $NOFILE_WANT 2>/dev/null
ulimit -n "$(ulimit -Hn)" 2>/dev/null
NOFILE=$(ulimit -n)

# hermes-uring keeps the flow table (the default) without TC counters; -noacct and -tc
# bracket the cost of accounting: flow table and TC counters both off, both on.
# (splice with sk_msg is not a mode: hermesd refuses the combination.)
ALL_CONFIGS=(direct hermes-uring hermes-uring-skmsg hermes-splice hermes-uring-noacct hermes-uring-tc hermes-kernel
	tun-h1-1hop tun-h2-1hop tun-h2-2hop tun-h1-squid haproxy-tcp haproxy-mtls-1hop haproxy-mtls-2hop squid
	haproxy-http nginx-rp nghttpx nghttpx-mtls-1hop hermes-http-h1 hermes-http-h2c nginx-cache hermes-cache
	hermes-udp hermes-udp-kpath socat-udp tun-udp-1hop tun-udp-2hop)
QUICK_SKIP=" hermes-uring-skmsg hermes-splice hermes-uring-noacct hermes-uring-tc hermes-kernel "
# measured only when BENCH_CONFIGS names them, for the full run's 30-minute budget: 20000
# TLS handshakes at c=10000 and a handshake per flow in every load make the 2-hop HAProxy
# tunnel cost about 4 minutes; -noacct and -tc (the cost of accounting, not a peer
# comparison) about 1.5 minutes
OPT_IN=" haproxy-mtls-2hop hermes-uring-noacct hermes-uring-tc hermes-kernel "
declare -A CFG_ARGS=(
	[hermes-uring]='--relay uring --sk-msg off'
	[hermes-uring-skmsg]='--relay uring --sk-msg on'
	[hermes-splice]='--relay splice --sk-msg off'
	[hermes-uring-noacct]='--relay uring --sk-msg off --flow-table off'
	[hermes-uring-tc]='--relay uring --sk-msg off --tc-iface eth0'
	[hermes-kernel]='--relay kernel --sk-msg off'
)
# what each configuration is, for the report (no figure here: words only)
declare -A CFG_DESC=(
	[direct]='no proxy: the app connects to the server on C over the direct link'
	[hermes-uring]='hermesd on A, policy proxy (transparent), --relay uring --sk-msg off'
	[hermes-uring-skmsg]='hermesd on A, policy proxy, --relay uring --sk-msg on'
	[hermes-splice]='hermesd on A, policy proxy, --relay splice (sk_skb)'
	[hermes-uring-noacct]='hermesd on A, policy proxy, --relay uring, flow table off'
	[hermes-uring-tc]='hermesd on A, policy proxy, --relay uring, TC counters on eth0'
	[hermes-kernel]='hermesd on A, policy proxy, --relay kernel (sk_msg redirect toward the server, stream verdict toward the app)'
	[tun-h1-1hop]="policy tunnel: A's hermesd -> C's hermesd tunnel listener, HTTP/1.1 CONNECT, clear text; 2 hermesd, 1 tunnel hop"
	[tun-h2-1hop]="policy tunnel: A's hermesd -> C's hermesd, HTTP/2 CONNECT over mutual TLS 1.3 (hermesctl certs); 2 hermesd, 1 tunnel hop"
	[tun-h2-2hop]="policy tunnel: A -> R -> C, HTTP/2 CONNECT over mTLS on both hops; 3 hermesd (the issue's '3 hops'), 2 tunnel hops"
	[tun-h1-squid]="policy tunnel: A's hermesd -> squid on C, HTTP/1.1 CONNECT; squid replaces C's hermesd"
	[haproxy-tcp]='HAProxy 2.6 on A, mode tcp, one frontend per server port on 127.0.0.1 (the app is pointed at it), nbthread = cores'
	[squid]="squid 5 on C as the app's HTTP/1.1 CONNECT forward proxy (the client sends CONNECT itself), cache off, access log off"
	[haproxy-http]='HAProxy 2.6 on A, mode http, keep-alive both sides, retry-on all-retryable-errors (retries 3), nbthread = cores, h1 -> h1 to nginx on C'
	[nginx-rp]='nginx on A as reverse proxy, worker_processes = cores, upstream keepalive 64, h1 -> h1 to nginx on C'
	[nghttpx]='nghttpx on A, frontend HTTP/1.1 clear text, backend HTTP/2 (h2c) to nginx on C, workers = cores'
	[hermes-http-h1]="hermesd on A, policy http (its L7 action), h1 -> h1"
	[hermes-http-h2c]="hermesd on A, policy http, h1 client -> HTTP/2 (h2c) upstream to nginx on C: translation, as nghttpx"
	[nginx-cache]="nginx proxy_cache on A in front of the cache origin on C: worker_processes = cores, cache files on tmpfs, keys_zone in shared memory, freshness from the origin's max-age, open_file_cache, proxy_cache_lock, upstream keepalive 64, access log off"
	[hermes-cache]="hermesd on A, policy http (h1 -> h1) with its HTTP cache on (cache: enabled, max_size_mb 64) in front of the cache origin on C"
	[haproxy-mtls-1hop]="HAProxy 2.6 mode tcp on A (the app is pointed at it) -> TLS 1.3 with client certificates both ways (hermesctl certs, ${TLS_SUITE}, ${TLS_GROUP}, names checked, no session resumption) -> HAProxy on C -> the server; one TLS connection per flow (the stunnel shape), nbthread = cores on each: the peer of tun-h2-1hop"
	[haproxy-mtls-2hop]="the same through HAProxy on R, which ends TLS and opens its own mTLS connection to C (as R's hermesd does): the peer of tun-h2-2hop; 3 HAProxy on the path"
	[nghttpx-mtls-1hop]="nghttpx on A (frontend HTTP/1.1 and h2c, clear text) -> HTTP/2 over TLS 1.3 with client certificates (same certificates, suite and group) -> nghttpx on C -> nginx on C (HTTP/1.1, keep-alive); workers = cores on each: an HTTP/2-over-mTLS proxy pair, the L7 peer of tun-h2-1hop"
	[hermes-udp]="hermesd on A, a protocol: udp proxy rule for the servers' address: the UDP relay (transparent: the app sends to the server's address)"
	[hermes-udp-kpath]="hermesd on A, the same rule with udp.kernel_path: true: no relay, the app's socket sends straight to the server, marked (SO_MARK set in BPF), each flow's datagrams counted by cgroup_skb programs"
	[socat-udp]="socat 1.7 on A, UDP4-LISTEN on 127.0.0.1 (the app is pointed at it), fork (a child per client address), UDP4 to the server; socket buffers 4 MiB as hermesd's relay; the iperf3 control connection through a TCP socat beside it"
	[tun-udp-1hop]="policy tunnel for UDP (protocol: udp, action tunnel): A's hermesd -> C's hermesd, CONNECT-UDP over HTTP/2 with mutual TLS 1.3 (the route of tun-h2-1hop); 2 hermesd, 1 tunnel hop"
	[tun-udp-2hop]="the same A -> R -> C (the routes of tun-h2-2hop); 3 hermesd, 2 tunnel hops"
)
# proxy processes on the path and tunnel hops between hermesd instances
declare -A CFG_PROXIES=([direct]=0 [hermes-uring]=1 [hermes-uring-skmsg]=1 [hermes-splice]=1 [hermes-uring-noacct]=1
	[hermes-uring-tc]=1 [hermes-kernel]=1 [tun-h1-1hop]=2 [tun-h2-1hop]=2 [tun-h2-2hop]=3 [tun-h1-squid]=2 [haproxy-tcp]=1 [squid]=1
	[haproxy-http]=1 [nginx-rp]=1 [nghttpx]=1 [hermes-http-h1]=1 [hermes-http-h2c]=1 [nginx-cache]=1 [hermes-cache]=1
	[haproxy-mtls-1hop]=2 [haproxy-mtls-2hop]=3 [nghttpx-mtls-1hop]=2
	[hermes-udp]=1 [hermes-udp-kpath]=0 [socat-udp]=1 [tun-udp-1hop]=2 [tun-udp-2hop]=3)
declare -A CFG_HOPS=([tun-h1-1hop]=1 [tun-h2-1hop]=1 [tun-h2-2hop]=2 [tun-h1-squid]=1
	[haproxy-mtls-1hop]=1 [haproxy-mtls-2hop]=2 [nghttpx-mtls-1hop]=1 [tun-udp-1hop]=1 [tun-udp-2hop]=2)
declare -A CFG_OK=()     # 1 when the configuration is measured
declare -A CFG_REASON=() # why it is not

# loads per configuration: l4 (every TCP load), pp (ping-pong only, through a CONNECT
# proxy the client speaks to), http (HTTP/1.1 loads), h2 (HTTP/2 loads), udp (the UDP loads),
# cache (cachehit; direct and hermes-http-h1 carry it uncached, beside the caches)
declare -A CFG_LOADS=(
	[direct]='l4 http h2 udp cache' [hermes-uring]='l4 http h2' [hermes-uring-skmsg]=l4 [hermes-splice]=l4
	[hermes-uring-noacct]=l4 [hermes-uring-tc]=l4 [hermes-kernel]=l4 [tun-h1-1hop]='l4 http h2' [tun-h2-1hop]='l4 http h2'
	[tun-h2-2hop]='l4 http h2' [tun-h1-squid]=pp [haproxy-tcp]='l4 http h2' [squid]=pp
	[haproxy-http]=http [nginx-rp]=http [nghttpx]='http h2' [hermes-http-h1]='http cache' [hermes-http-h2c]=http
	[nginx-cache]=cache [hermes-cache]=cache
	[haproxy-mtls-1hop]='l4 http h2' [haproxy-mtls-2hop]='l4 http h2' [nghttpx-mtls-1hop]='http h2'
	[hermes-udp]=udp [hermes-udp-kpath]=udp [socat-udp]=udp [tun-udp-1hop]=udp [tun-udp-2hop]=udp
)
# the configuration file of the hermesd configurations that steer UDP (write_configs), also
# what probe_configs has hermesd --check: a hermesd that refuses its rule cannot run it
declare -A CFG_UDP_YAML=([hermes-udp]=a-udp.yaml [hermes-udp-kpath]=a-udp-kpath.yaml [tun-udp-1hop]=a-udp-tun.yaml [tun-udp-2hop]=a-udp-tun-2hop.yaml)
# the TLS configurations: the listener their first hop dials (probed with openssl
# s_client from A with A's certificate), its certificate name, and the client's suites
# (empty: OpenSSL's defaults, which hermesd uses)
declare -A CFG_TLS=([tun-h2-1hop]=10.77.1.2:15008 [tun-h2-2hop]=10.77.2.2:15008
	[haproxy-mtls-1hop]=10.77.1.2:$((PORT_PINGPONG + 10000)) [haproxy-mtls-2hop]=10.77.2.2:$((PORT_PINGPONG + 10000))
	[nghttpx-mtls-1hop]=10.77.1.2:$PORT_NGHTTPX_TLS)
declare -A CFG_TLS_NAME=([tun-h2-1hop]=c [tun-h2-2hop]=r [haproxy-mtls-1hop]=c [haproxy-mtls-2hop]=r [nghttpx-mtls-1hop]=c)
has_load() { case " ${CFG_LOADS[$1]} " in *" $2 "*) return 0 ;; esac; return 1; }

# ---------------------------------------------------------------- raw results

# json_str STRING: STRING as a JSON string literal (control characters dropped)
json_str() {
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	s=$(printf '%s' "$s" | tr -d '\000-\037')
	printf '"%s"' "$s"
}

# emit JSON: append one record to raw.jsonl
emit() { printf '%s\n' "$1" >>"$RAW"; }

# A/B mode: which hermesd the records being written are about. SIDE_JSON is the JSON field
# the records carry (none for the new side, so that a run without a base writes what it
# always wrote), SIDE_TAG the words in messages; use_side sets both and the binaries.
SIDE=new
SIDE_JSON=
SIDE_TAG=

# sample CONFIG RUN METRIC VALUE: one measured value (dropped when VALUE is not a number)
ROUND_BUF=
sample() {
	[[ $4 =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]] || {
		bench_error "$1" "$2" "$3" "no value (got '$4')"
		return 1
	}
	ROUND_BUF+="{\"type\":\"sample\",\"config\":\"$1\"$SIDE_JSON,\"run\":$2,\"metric\":\"$3\",\"value\":$4}"$'\n'
}

# bench_error CONFIG RUN WHAT REASON: a measurement or set-up that failed
bench_error() {
	say "ERROR $1$SIDE_TAG run $2 $3: $4"
	emit "{\"type\":\"error\",\"config\":\"$1\"$SIDE_JSON,\"run\":$2,\"what\":$(json_str "$3"),\"reason\":$(json_str "$4")}"
}

# json_num FIELD JSONLINE: a numeric field of a flat JSON line (pingpong, connrate)
json_num() {
	printf '%s' "$2" | sed -n "s/.*\"$1\":\([-0-9.eE+]*\).*/\1/p" | head -n 1
}

# ---------------------------------------------------------------- servers

# wait_listen NS PORT[/udp]: until a socket listens on TCP PORT (or is bound to UDP PORT)
# in NS (bounded 10 s); no connection is made (iperf3 would take one as a client)
wait_listen() {
	local p=${2%/udp} t=t
	[ "$p" = "$2" ] || t=u
	wait_until 10 sh -c 'nsenter --net="/run/netns/$0" ss -Hl$2n "sport = :$1" | grep -q .' "$1" "$p" "$t"
}

# Servers on C listen on every address: the proxy flows dial 10.77.1.2, the tunnel flows
# 10.77.1.3 (C's hermesd reaches it over lo), and squid dials from C itself.
start_servers() {
	bg pingpong-server s taskset -c "$RTT_CPU" "$BENCHBIN/pingpong" server -a 0.0.0.0 -p $PORT_PINGPONG -T $SERVER_MAX_SECS
	bg sockperf-server s taskset -c "$RTT_CPU" timeout $SERVER_MAX_SECS sockperf server --tcp -i 0.0.0.0 -p $PORT_SOCKPERF
	bg pingpong-free-server s "$BENCHBIN/pingpong" server -a 0.0.0.0 -p $PORT_PINGPONG_FREE -T $SERVER_MAX_SECS
	PP_FREE_PID=$BG_PID
	bg connrate-server s "$BENCHBIN/connrate" server -a 0.0.0.0 -p $PORT_CONNRATE -T $SERVER_MAX_SECS
	bg iperf3-server s timeout $SERVER_MAX_SECS iperf3 -s -p $PORT_IPERF
	# iperf3 -u replies from the address its route picks: one server per address, so that a
	# tunnel's flow to $TGT_TUN hears back from $TGT_TUN
	bg iperf3-udp-server s timeout $SERVER_MAX_SECS iperf3 -s -p $PORT_IPERF_UDP -B $TGT_PROXY
	IPERF_U_PIDS=("$BG_PID")
	bg iperf3-udp-server-tun s timeout $SERVER_MAX_SECS iperf3 -s -p $PORT_IPERF_UDP -B $TGT_TUN
	IPERF_U_PIDS+=("$BG_PID")
	bg udpping-server s taskset -c "$RTT_CPU" "$BENCHBIN/udpping" server -a 0.0.0.0 -p $PORT_UDPPING -T $SERVER_MAX_SECS
	CACHE_LOG=$TMP/cache-origin-access.log
	: >"$CACHE_LOG"
	bg cache-origin s "$PY" "$HERMES_SRC/tools/bench/cache_origin.py" 0.0.0.0 $PORT_CACHE "$CACHE_LOG" \
		"$CACHE_ORIGIN_DELAY_MS" $SERVER_MAX_SECS
	start_origin
	start_squid_c
	local p
	for p in $PORT_PINGPONG $PORT_SOCKPERF $PORT_PINGPONG_FREE $PORT_CONNRATE $PORT_IPERF $PORT_HTTP $PORT_H2C $PORT_SQUID \
		$PORT_IPERF_UDP $PORT_UDPPING/udp $PORT_CACHE; do
		wait_listen "$NS_S" "$p" || {
			tail -n 5 "$TMP"/*.log
			die "no server listening on :$p in $NS_S"
		}
	done
	say "servers up in $NS_S: pingpong :$PORT_PINGPONG and sockperf :$PORT_SOCKPERF on CPU $RTT_CPU," \
		"pingpong :$PORT_PINGPONG_FREE, connrate :$PORT_CONNRATE, iperf3 :$PORT_IPERF, nginx :$PORT_HTTP (h1)" \
		":$PORT_H2C (h2c), squid :$PORT_SQUID, udpping UDP :$PORT_UDPPING on CPU $RTT_CPU, iperf3 (UDP tests) :$PORT_IPERF_UDP," \
		"cache origin :$PORT_CACHE (${CACHE_ORIGIN_DELAY_MS} ms an answer)"
}

# NGINX_CONNS: nginx's worker_connections (origin and nginx-rp). 10000 client connections
# plus as many upstream ones may all land on one worker (no accept mutex): room for both.
# multi_accept on (both): by default a worker accepts one connection per event-loop pass,
# and 10000 connects at once then wait seconds in the origin's queue (1513 were still
# there 2.5 s into a direct c=10000 load), which would count against the baseline and the
# L4 proxies but not against the proxies that pool their upstream connections.
# NGINX_BACKLOG: listen backlog (as for HAProxy, nghttpx and hermesd, the kernel caps it
# at net.core.somaxconn, raised in every host below), so that 10000 connects at once wait
# in the queue instead of losing their SYNs.
NGINX_CONNS=$((NOFILE < 25000 ? NOFILE : 25000))
NGINX_BACKLOG=65535
# HAProxy refuses to start when its maxconn needs more descriptors than the limit allows
# (2 per connection and a few for its listeners): the most the limit allows, at most 20000
HAPROXY_MAXCONN=$(((NOFILE - 100) / 2 < 20000 ? (NOFILE - 100) / 2 : 20000))

# nginx_prologue DIR ERRLOG: the start of every nginx.conf here, as its users run it for
# a benchmark: workers = cores, access log off, temporary files under DIR/tmp; the
# caller writes the rest of the http block
nginx_prologue() {
	cat <<EOF
daemon off;
master_process on;
worker_processes $NCPU;
worker_rlimit_nofile $NOFILE;
pid $1/nginx.pid;
error_log $2 warn;
events { worker_connections $NGINX_CONNS; multi_accept on; }
http {
    access_log off;
    client_body_temp_path $1/tmp/body;
    proxy_temp_path $1/tmp/proxy;
    fastcgi_temp_path $1/tmp/fastcgi;
    uwsgi_temp_path $1/tmp/uwsgi;
    scgi_temp_path $1/tmp/scgi;
EOF
}

# start_origin: nginx on C as the HTTP origin, as its users run it for a benchmark:
# worker_processes = cores, access log off, keep-alive, a 64 B body
start_origin() {
	local d=$TMP/origin
	mkdir -p "$d/www" "$d/tmp"
	head -c 64 /dev/zero | tr '\0' x >"$d/www/64"
	chmod -R 755 "$d"
	{
		nginx_prologue "$d" "$d/error.log"
		cat <<EOF
    default_type application/octet-stream;
    keepalive_requests 1000000;
    keepalive_timeout 60;
    http2_max_requests 1000000;
    server {
        listen 0.0.0.0:$PORT_HTTP reuseport backlog=$NGINX_BACKLOG;
        listen 0.0.0.0:$PORT_H2C http2 backlog=$NGINX_BACKLOG;
        root $d/www;
    }
}
EOF
	} >"$d/nginx.conf"
	bg origin s /usr/sbin/nginx -e "$d/error.log" -p "$d" -c "$d/nginx.conf"
}

# start_squid_c: squid on C as a CONNECT proxy for the bench's ports (squid and
# tun-h1-squid): no cache, no access log, one process (-N: squid's foreground mode runs
# no SMP workers: named in the report as a setting that may favour Hermes in bulk).
SQUID_PID=
SQUID_SVC=
start_squid_c() {
	local d=$TMP/squid
	mkdir -p "$d"
	chown proxy:proxy "$d" || die "cannot chown $d to the proxy user (squid's cache_effective_user)"
	cat >"$d/squid.conf" <<CONF
http_port 10.77.1.2:$PORT_SQUID
visible_hostname hermes-bench-squid
cache_effective_user proxy
cache_effective_group proxy
pid_filename $d/squid.pid
cache_log $d/cache.log
access_log none
cache_store_log none
netdb_filename none
coredump_dir $d
pinger_enable off
cache deny all
cache_mem 8 MB
max_filedescriptors $NOFILE
shutdown_lifetime 1 seconds
acl lan src 10.77.1.0/24
acl connect_method method CONNECT
acl bench_ports port $PORT_PINGPONG $PORT_PINGPONG_FREE $PORT_CONNRATE $PORT_SOCKPERF $PORT_IPERF $PORT_HTTP $PORT_H2C
http_access allow connect_method lan bench_ports
http_access deny all
CONF
	SQUID_SVC=hbench${ID//[^a-zA-Z0-9]/}
	nsenter --net="/run/netns/$NS_S" /usr/sbin/squid -N -n "$SQUID_SVC" -f "$d/squid.conf" \
		>"$TMP/squid.log" 2>&1 </dev/null &
	SQUID_PID=$!
	PIDS+=("$SQUID_PID")
}

# ---------------------------------------------------------------- proxies

# tree_pids PID...: the PIDs and their children (one level: nginx/nghttpx workers)
tree_pids() {
	local p
	for p in "$@"; do
		[ -n "$p" ] || continue
		echo "$p"
		cat "/proc/$p/task/"*/children 2>/dev/null | tr ' ' '\n' | grep .
	done
}

# pin_pids CPULIST PID...: the CPU affinity of every thread of the PIDs and their children
pin_pids() {
	local cpus=$1 p
	shift
	for p in $(tree_pids "$@"); do
		taskset -a -p -c "$cpus" "$p" >/dev/null 2>&1 || say "warning: cannot set the CPU affinity of pid $p to $cpus"
	done
}

# rss_kib PID...: resident memory of the PIDs and their children, KiB
rss_kib() {
	local p sum=0 v
	for p in $(tree_pids "$@"); do
		v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

# cpu_us PID...: CPU time (user + system, every thread) the processes and their children
# have run, in microseconds (schedstat: nanoseconds, unlike the 10 ms ticks of stat)
cpu_us() {
	local p sum=0 t v
	for p in $(tree_pids "$@"); do
		for t in "/proc/$p/task/"*/schedstat; do
			v=$(cut -d' ' -f1 "$t" 2>/dev/null) || continue
			sum=$((sum + ${v:-0} / 1000))
		done
	done
	echo "$sum"
}

# rt_pids -f PRIO|-o 0 PID...: every thread of the processes and their children to
# SCHED_FIFO at PRIO, or back to SCHED_OTHER (BENCH_RT)
rt_pids() {
	local pol=$1 prio=$2 p
	shift 2
	for p in $(tree_pids "$@"); do
		chrt "$pol" -a -p "$prio" "$p" >/dev/null 2>&1 || say "warning: cannot set the scheduling policy of pid $p (chrt $pol $prio)"
	done
}

# up_ready NS ADMIN: a hermesd's /ready is 200
up_ready() { [ "$(nsenter --net="/run/netns/$1" curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://$2/ready")" = 200 ]; }

# use_side new|base: the hermesd and hermesctl binaries, A's pin root, hermesd's log and
# the log directory of what follows (A/B mode; the new side is the run without a base).
# The base's pin roots are $PINROOT-base (A) and $PINROOT-base-TAG (peer_up): its maps are
# never the ones the new hermesd made.
HERMESD_LOG_NEW=
use_side() {
	SIDE=$1
	if [ "$1" = base ]; then
		HERMESD_BIN=$TMP/base/hermesd HERMESCTL_BIN=$TMP/base/hermesctl PINROOT=$PINROOT_NEW-base
		HERMESD_LOG=$TMP/hermesd-base.log LOGS=$LOGS_NEW/base SIDE_JSON=',"side":"base"' SIDE_TAG=' (base hermesd)'
	else
		HERMESD_BIN=$TMP/hermesd HERMESCTL_BIN=$TMP/hermesctl PINROOT=$PINROOT_NEW
		HERMESD_LOG=$HERMESD_LOG_NEW LOGS=$LOGS_NEW SIDE_JSON='' SIDE_TAG=''
	fi
}

# runs_hermesd CONFIG: whether CONFIG runs a hermesd (measured with both in A/B mode)
runs_hermesd() { case $1 in hermes-* | tun-*) return 0 ;; esac; return 1; }

# a_hermesd_up ARGS...: A's hermesd, like common.sh's start_hermesd (same cgroups, pin
# root, log and PID bookkeeping, so stop_hermesd and cleanup apply), but a hermesd that
# exits or is not ready in 15 s is a failed configuration, not the end of the whole run
# (common.sh's hermesd_up ends the test): returns 1 and sets HERMESD_FAIL.
HERMESD_FAIL=
a_hermesd_up() {
	HERMESD_FAIL=
	# --detach-on-exit: the direct configurations measured after a stop must have no
	# program on the app's path (the pinned maps, and the proxy rule, stay)
	launch_hermesd "$NS_C" "$CG/hermesd" "$CG/app" "$PINROOT" "$HERMESD_LOG" "${BENCH_LOG_LEVEL:-warn}" \
		--detach-on-exit "$@"
	HERMESD_PID=$LAUNCH_PID
	await_up "$HERMESD_PID" "$NS_C" "$HERMESD_LOG" "hermesd $*"
	case $? in
	0) return 0 ;;
	1)
		wait "$HERMESD_PID" 2>/dev/null
		HERMESD_RC=$?
		HERMESD_PID=
		;;
	*) stop_hermesd KILL 2 >/dev/null ;;
	esac
	return 1
}

# await_up PID NS LOG WHAT: until the hermesd PID in NS answers /ready (bounded 15 s);
# 1 when it exited, 2 when it did not become ready (HERMESD_FAIL says which)
await_up() {
	local i
	for ((i = 0; i < 150; i++)); do
		if ! pid_alive "$1"; then
			HERMESD_FAIL="$4 exited during start-up: $(tail -n 1 "$3")"
			return 1
		fi
		up_ready "$2" 127.0.0.1:15000 && return 0
		sleep 0.1
	done
	HERMESD_FAIL="$4 not ready after 15 s"
	return 2
}

# peer_up NS TAG ARGS...: a hermesd on R or C (cgroup $CG/hermesd-TAG steering the empty
# $CG/app-TAG, pins $PINROOT-TAG, log $LOGS/hermesd-TAG.log); appends its PID to
# CFG_PIDS; returns 1 (HERMESD_FAIL set) when it does not come up
peer_up() {
	local ns=$1 tag=$2 log=$LOGS/hermesd-$2.log
	shift 2
	mkdir -p "$CG/hermesd-$tag" "$CG/app-$tag"
	_PINS_MADE+=("$PINROOT-$tag")
	launch_hermesd "$ns" "$CG/hermesd-$tag" "$CG/app-$tag" "$PINROOT-$tag" "$log" "${BENCH_LOG_LEVEL:-warn}" "$@"
	CFG_PIDS+=("$LAUNCH_PID")
	await_up "$LAUNCH_PID" "$ns" "$log" "hermesd $tag"
}

# proc_up NAME NS PORT[/udp] CMD...: a peer proxy process; appends its PID to CFG_PIDS;
# waits until PORT listens (or is bound, UDP) in NS; returns 1 (HERMESD_FAIL set) when it
# does not
proc_up() {
	local name=$1 ns=$2 port=$3
	shift 3
	nsenter --net="/run/netns/$ns" "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
	BG_PID=$!
	PIDS+=("$BG_PID")
	CFG_PIDS+=("$BG_PID")
	if ! wait_listen "$ns" "$port" || ! pid_alive "$BG_PID"; then
		HERMESD_FAIL="$name did not start listening on :$port: $(tail -n 2 "$LOGS/$name.log" | tr '\n' ' ')"
		return 1
	fi
}

tls_yaml() { echo "tls: {cert: $TMP/pki/$1.crt, key: $TMP/pki/$1.key, ca: $TMP/pki/ca.crt}"; }

# tunnel_a_yaml PEERS [TLS_HOST [PROTOCOL]]: A's configuration for the tunnel
# configurations (PROTOCOL udp: the rule tunnels UDP only)
tunnel_a_yaml() {
	[ -n "${2:-}" ] && tls_yaml "$2"
	cat <<YAML
routes:
  - name: bench
    match: [$TGT_TUN/32]
    peers: [$1]
policy:
  - match: $TGT_TUN/32
    action: tunnel
YAML
	[ -n "${3:-}" ] && echo "    protocol: $3"
	return 0
}

# haproxy_tcp_cfg [GLOBAL_LINE...]: the global and defaults sections of the mode tcp
# HAProxy configurations
haproxy_tcp_cfg() {
	printf 'global\n    nbthread %s\n    maxconn %s\n' "$NCPU" "$HAPROXY_MAXCONN"
	local l
	for l in "$@"; do printf '    %s\n' "$l"; done
	printf 'defaults\n    mode tcp\n    timeout connect 5s\n    timeout client 60s\n    timeout server 60s\n'
}

# haproxy_mtls_cfg BIND_ADDR SERVER_ADDR HOST NEXT_NAME: one HAProxy of the mTLS tunnel,
# a listener per server port: on 127.0.0.1 in clear text (A: the app is pointed at it) or
# on BIND_ADDR with TLS and client certificates (R, C); it forwards to the server on
# SERVER_ADDR in clear text (C, NEXT_NAME empty) or over mTLS to the next HAProxy, whose
# certificate must carry NEXT_NAME. HOST names its own certificate.
haproxy_mtls_cfg() {
	local bind=$1 srv=$2 host=$3 next=$4 p b s g=()
	local tls="crt $TMP/pki/$host.pem ca-file $TMP/pki/ca.crt verify required"
	[ "$bind" != 127.0.0.1 ] && g+=("ssl-default-bind-ciphersuites $TLS_SUITE"
		"ssl-default-bind-options ssl-min-ver TLSv1.3" "ssl-default-bind-curves $TLS_GROUP")
	[ -n "$next" ] && g+=("ssl-default-server-ciphersuites $TLS_SUITE" "ssl-default-server-options ssl-min-ver TLSv1.3")
	haproxy_tcp_cfg "${g[@]}"
	for p in $L4_PORTS; do
		b="$bind:$((p + 10000))"
		[ "$bind" != 127.0.0.1 ] && b+=" ssl $tls"
		if [ -n "$next" ]; then
			s="$srv:$((p + 10000)) ssl $tls sni str($next) no-ssl-reuse"
		else
			s="$srv:$p"
		fi
		printf 'listen p%s\n    bind %s\n    server s %s\n' "$p" "$b" "$s"
	done
}

# write_configs: every proxy's configuration file, once
write_configs() {
	local d=$TMP/cfg p
	mkdir -p "$d"
	"$HERMESCTL_BIN" certs init "$TMP/pki" --hosts a,r,c >"$LOGS/certs.log" 2>&1 || die "hermesctl certs init failed: $(tail -n 1 "$LOGS/certs.log")"
	# C serves tun-h1-1hop's HTTP/1.1 CONNECT in clear text beside the mTLS tunnels
	{
		tls_yaml c
		echo "tunnel: {allow_cleartext: true}"
	} >"$d/c.yaml"
	{
		tls_yaml r
		cat <<YAML
routes:
  - name: to-c
    match: [$TGT_TUN/32]
    peers: [{address: 10.77.3.2:15008, name: c}]
YAML
	} >"$d/r.yaml"
	tunnel_a_yaml "{address: 10.77.1.2:15008, protocol: h1}" >"$d/a-h1.yaml"
	tunnel_a_yaml "{address: 10.77.1.2:15008, name: c, protocol: h2}" a >"$d/a-h2.yaml"
	tunnel_a_yaml "{address: 10.77.2.2:15008, name: r, protocol: h2}" a >"$d/a-h2-2hop.yaml"
	tunnel_a_yaml "{address: 10.77.1.2:$PORT_SQUID, protocol: h1}" >"$d/a-squid.yaml"
	# UDP: the relay for the proxy rule; CONNECT-UDP over the h2/mTLS routes for the tunnels
	cat >"$d/a-udp.yaml" <<YAML
policy:
  - match: $TGT_PROXY/32
    action: proxy
    protocol: udp
YAML
	{ printf 'udp:\n  kernel_path: true\n'; cat "$d/a-udp.yaml"; } >"$d/a-udp-kpath.yaml"
	tunnel_a_yaml "{address: 10.77.1.2:15008, name: c, protocol: h2}" a udp >"$d/a-udp-tun.yaml"
	tunnel_a_yaml "{address: 10.77.2.2:15008, name: r, protocol: h2}" a udp >"$d/a-udp-tun-2hop.yaml"
	cat >"$d/a-http.yaml" <<YAML
policy:
  - match: $TGT_TUN/32:$PORT_HTTP
    action: http
  - match: $TGT_TUN/32:$PORT_CACHE
    action: http
YAML
	# hermes-cache: the same with the http action's cache on (a 4 KiB object and the
	# store's default size)
	{
		cat "$d/a-http.yaml"
		printf 'cache:\n  enabled: true\n  max_size_mb: 64\n'
	} >"$d/a-http-cache.yaml"
	cat >"$d/a-http-h2c.yaml" <<YAML
policy:
  - match: $TGT_TUN/32:$PORT_HTTP
    action: http
http_routes:
  - name: to-h2c
    endpoints: [$TGT_PROXY:$PORT_H2C]
    upstream_protocol: h2c
YAML
	# HAProxy: what its documentation's tuning advice gives for a benchmark: one process,
	# nbthread = cores, no logging, keep-alive (the default), maxconn above the largest
	# load (it counts client connections; HAProxy sizes its descriptors from it)
	{
		haproxy_tcp_cfg
		for p in $L4_PORTS; do
			printf 'listen p%s\n    bind 127.0.0.1:%s\n    server s %s:%s\n' "$p" $((p + 10000)) "$TGT_PROXY" "$p"
		done
	} >"$d/haproxy-tcp.cfg"
	# The mTLS tunnel (haproxy-mtls-*): HAProxy's own certificate files hold the
	# certificate and its key together; the certificates are hermesd's. Every side is set
	# to what hermesd negotiates: TLS 1.3 only, $TLS_SUITE, $TLS_GROUP, the peer's
	# certificate verified against the CA and its name checked by the client (as
	# hermesd's `name:`); no session resumption (no-ssl-reuse: hermesd's listener offers
	# none, so every HAProxy flow pays a full handshake as every hermesd pooled
	# connection does).
	for p in a r c; do cat "$TMP/pki/$p.crt" "$TMP/pki/$p.key" >"$TMP/pki/$p.pem"; done
	haproxy_mtls_cfg 127.0.0.1 10.77.1.2 a c >"$d/haproxy-mtls-a.cfg"
	haproxy_mtls_cfg 127.0.0.1 10.77.2.2 a r >"$d/haproxy-mtls-a2.cfg"
	haproxy_mtls_cfg 10.77.2.2 10.77.3.2 r c >"$d/haproxy-mtls-r.cfg"
	haproxy_mtls_cfg 10.77.1.2 $TGT_TUN c '' >"$d/haproxy-mtls-c.cfg"
	haproxy_mtls_cfg 10.77.3.2 $TGT_TUN c '' >"$d/haproxy-mtls-c2.cfg"
	cat >"$d/haproxy-http.cfg" <<EOF
global
    nbthread $NCPU
    maxconn $HAPROXY_MAXCONN
defaults
    mode http
    option http-keep-alive
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
    retries 3
    retry-on all-retryable-errors
frontend fe
    bind 127.0.0.1:$((PORT_HTTP + 10000))
    default_backend be
backend be
    http-reuse safe
    server s $TGT_PROXY:$PORT_HTTP
EOF
	mkdir -p "$TMP/nginx-rp/tmp"
	{
		nginx_prologue "$TMP/nginx-rp" "$LOGS/nginx-rp-error.log"
		cat <<EOF
    keepalive_requests 1000000;
    keepalive_timeout 60;
    upstream origin {
        server $TGT_PROXY:$PORT_HTTP;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$((PORT_HTTP + 20000)) backlog=$NGINX_BACKLOG;
        location / {
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
	} >"$d/nginx-rp.conf"
	# nginx-cache: proxy_cache as an operator tunes it for a hot small object: the cache
	# files on tmpfs (NGINX_CACHE_DIR, removed on exit), the keys in a shared-memory zone,
	# open file descriptors of the cache files kept (open_file_cache), sendfile, freshness
	# from the origin's Cache-Control, one upstream fetch for concurrent misses
	# (proxy_cache_lock), stale served while one refresh runs, 304 revalidation, upstream
	# keep-alive
	mkdir -p "$TMP/nginx-cache/tmp" "$NGINX_CACHE_DIR"
	{
		nginx_prologue "$TMP/nginx-cache" "$LOGS/nginx-cache-error.log"
		cat <<EOF
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 60;
    open_file_cache max=1000 inactive=60s;
    open_file_cache_valid 60s;
    proxy_cache_path $NGINX_CACHE_DIR levels=1:2 keys_zone=bench:16m max_size=64m inactive=60m use_temp_path=off;
    upstream cache_origin {
        server $TGT_PROXY:$PORT_CACHE;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$PORT_NGINX_CACHE backlog=$NGINX_BACKLOG;
        location / {
            proxy_pass http://cache_origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache bench;
            proxy_cache_lock on;
            proxy_cache_revalidate on;
            proxy_cache_use_stale updating error timeout;
            proxy_cache_background_update on;
            add_header X-Cache-Status \$upstream_cache_status;
        }
    }
}
EOF
	} >"$d/nginx-cache.conf"
	# CACHE_SPLIT: nginx gets the CPUs the load generator leaves it, a worker each
	[ "$CACHE_SPLIT" = 1 ] && sed -i "s/^worker_processes .*/worker_processes $((NCPU - 1));/" "$d/nginx-cache.conf"
}

# nghttpx's settings in both nghttpx configurations, as its users would run it for a
# benchmark: workers = cores, keep-alive both sides, no Via, no OCSP fetching, no access log
NGHTTPX_COMMON=(--workers="$NCPU" --backend-keep-alive-timeout=60s --frontend-keep-alive-timeout=60s --no-via --no-ocsp)

# cfg_up CONFIG: start the configuration's proxies (hermesd for the Hermes ones); sets
# CFG_PIDS (every proxy process, for pinning and memory) and the addresses the loads use:
#   L4_ADDR, L4_OFF (the server port + L4_OFF), PP_PROXY (pingpong -x), HTTP_HOSTPORT,
#   H2_HOSTPORT, CACHE_HOSTPORT (cachehit), UDP_ADDR and UDP_OFF (the UDP loads). Returns 1 (HERMESD_FAIL set) when
#   something did not start.
CFG_PIDS=()
cfg_up() {
	local cfg=$1 d=$TMP/cfg
	CFG_PIDS=() L4_ADDR=$TGT_PROXY L4_OFF=0 PP_PROXY='' UDP_ADDR=$TGT_PROXY UDP_OFF=0
	HTTP_HOSTPORT=$TGT_PROXY:$PORT_HTTP H2_HOSTPORT=$TGT_PROXY:$PORT_H2C CACHE_HOSTPORT=$TGT_PROXY:$PORT_CACHE
	case $cfg in
	direct) ;;
	hermes-udp | hermes-udp-kpath)
		a_hermesd_up -c "$d/${CFG_UDP_YAML[$cfg]}" || return 1
		CFG_PIDS+=("$HERMESD_PID")
		;;
	socat-udp)
		# socat as its users run it for a UDP relay: a child per client address (fork),
		# each with its own connected socket to the server; -T ends idle children. The
		# socket buffers are hermesd's relay's (4 MiB; socat has no SO_RCVBUFFORCE, so
		# net.core.rmem_max caps them). iperf3's control connection (TCP) needs a relay too.
		UDP_ADDR=127.0.0.1 UDP_OFF=10000
		local p u
		for p in $PORT_UDPPING $PORT_IPERF_UDP; do
			u=rcvbuf=4194304,sndbuf=4194304
			proc_up "socat-udp-$p" "$NS_C" $((p + UDP_OFF))/udp socat -T 10 \
				"UDP4-LISTEN:$((p + UDP_OFF)),bind=127.0.0.1,fork,reuseaddr,$u" "UDP4:$TGT_PROXY:$p,$u" || return 1
		done
		proc_up socat-tcp-iperf3 "$NS_C" $((PORT_IPERF_UDP + UDP_OFF)) socat \
			"TCP4-LISTEN:$((PORT_IPERF_UDP + UDP_OFF)),bind=127.0.0.1,fork,reuseaddr" "TCP4:$TGT_PROXY:$PORT_IPERF_UDP" || return 1
		;;
	hermes-uring*|hermes-splice|hermes-kernel)
		# shellcheck disable=SC2086 # the arguments are words
		a_hermesd_up ${CFG_ARGS[$cfg]} || return 1
		CFG_PIDS+=("$HERMESD_PID")
		ensure_policy
		;;
	tun-*)
		L4_ADDR=$TGT_TUN HTTP_HOSTPORT=$TGT_TUN:$PORT_HTTP H2_HOSTPORT=$TGT_TUN:$PORT_H2C UDP_ADDR=$TGT_TUN
		case $cfg in
		tun-h1-1hop | tun-h2-1hop | tun-udp-1hop) peer_up "$NS_S" c -c "$d/c.yaml" --tunnel-listen 10.77.1.2:15008 || return 1 ;;
		tun-h2-2hop | tun-udp-2hop)
			peer_up "$NS_S" c -c "$d/c.yaml" --tunnel-listen 10.77.3.2:15008 || return 1
			peer_up "$NS_R" r -c "$d/r.yaml" --tunnel-listen 10.77.2.2:15008 || return 1
			;;
		tun-h1-squid) CFG_PIDS+=("$SQUID_PID") ;;
		esac
		case $cfg in
		tun-h1-1hop) a_hermesd_up -c "$d/a-h1.yaml" || return 1 ;;
		tun-h2-1hop) a_hermesd_up -c "$d/a-h2.yaml" || return 1 ;;
		tun-h2-2hop) a_hermesd_up -c "$d/a-h2-2hop.yaml" || return 1 ;;
		tun-h1-squid) a_hermesd_up -c "$d/a-squid.yaml" || return 1 ;;
		tun-udp-*) a_hermesd_up -c "$d/${CFG_UDP_YAML[$cfg]}" || return 1 ;;
		esac
		CFG_PIDS+=("$HERMESD_PID")
		;;
	hermes-http-h1 | hermes-http-h2c)
		HTTP_HOSTPORT=$TGT_TUN:$PORT_HTTP CACHE_HOSTPORT=$TGT_TUN:$PORT_CACHE
		if [ "$cfg" = hermes-http-h1 ]; then
			a_hermesd_up -c "$d/a-http.yaml" || return 1
		else
			a_hermesd_up -c "$d/a-http-h2c.yaml" || return 1
		fi
		CFG_PIDS+=("$HERMESD_PID")
		;;
	haproxy-tcp)
		L4_ADDR=127.0.0.1 L4_OFF=10000
		HTTP_HOSTPORT=127.0.0.1:$((PORT_HTTP + 10000)) H2_HOSTPORT=127.0.0.1:$((PORT_H2C + 10000))
		proc_up haproxy-tcp "$NS_C" $((PORT_IPERF + 10000)) /usr/sbin/haproxy -db -f "$d/haproxy-tcp.cfg" || return 1
		;;
	squid) PP_PROXY=10.77.1.2:$PORT_SQUID CFG_PIDS+=("$SQUID_PID") ;;
	haproxy-http)
		HTTP_HOSTPORT=127.0.0.1:$((PORT_HTTP + 10000))
		proc_up haproxy-http "$NS_C" $((PORT_HTTP + 10000)) /usr/sbin/haproxy -db -f "$d/haproxy-http.cfg" || return 1
		;;
	nginx-rp)
		HTTP_HOSTPORT=127.0.0.1:$((PORT_HTTP + 20000))
		proc_up nginx-rp "$NS_C" $((PORT_HTTP + 20000)) /usr/sbin/nginx -e "$LOGS/nginx-rp-error.log" \
			-p "$TMP/nginx-rp" -c "$d/nginx-rp.conf" || return 1
		;;
	nginx-cache)
		CACHE_HOSTPORT=127.0.0.1:$PORT_NGINX_CACHE
		proc_up nginx-cache "$NS_C" $PORT_NGINX_CACHE /usr/sbin/nginx -e "$LOGS/nginx-cache-error.log" \
			-p "$TMP/nginx-cache" -c "$d/nginx-cache.conf" || return 1
		;;
	hermes-cache)
		CACHE_HOSTPORT=$TGT_TUN:$PORT_CACHE
		a_hermesd_up -c "$d/a-http-cache.yaml" || return 1
		CFG_PIDS+=("$HERMESD_PID")
		;;
	nghttpx | nghttpx-mtls-1hop)
		HTTP_HOSTPORT=127.0.0.1:$PORT_NGHTTPX H2_HOSTPORT=127.0.0.1:$PORT_NGHTTPX
		local backend="$TGT_PROXY,$PORT_H2C;;proto=h2" tls=()
		if [ "$cfg" = nghttpx-mtls-1hop ]; then
			# C: TLS frontend asking for client certificates, HTTP/1.1 to the origin
			proc_up nghttpx-c "$NS_S" $PORT_NGHTTPX_TLS nghttpx --conf=/dev/null \
				"--frontend=10.77.1.2,$PORT_NGHTTPX_TLS" "--backend=$TGT_TUN,$PORT_HTTP;;proto=http/1.1" \
				--verify-client --verify-client-cacert="$TMP/pki/ca.crt" --tls-min-proto-version=TLSv1.3 \
				--tls13-ciphers="$TLS_SUITE" --ecdh-curves="$TLS_GROUP" "${NGHTTPX_COMMON[@]}" \
				--errorlog-file="$LOGS/nghttpx-c-error.log" "$TMP/pki/c.key" "$TMP/pki/c.crt" || return 1
			backend="10.77.1.2,$PORT_NGHTTPX_TLS;;proto=h2;tls;sni=c"
			tls=(--client-private-key-file="$TMP/pki/a.key" --client-cert-file="$TMP/pki/a.crt"
				--cacert="$TMP/pki/ca.crt" --tls-min-proto-version=TLSv1.3 --tls13-client-ciphers="$TLS_SUITE")
		fi
		proc_up nghttpx "$NS_C" $PORT_NGHTTPX nghttpx --conf=/dev/null \
			"--frontend=127.0.0.1,$PORT_NGHTTPX;no-tls" "--backend=$backend" "${tls[@]}" "${NGHTTPX_COMMON[@]}" \
			--errorlog-file="$LOGS/nghttpx-error.log" || return 1
		;;
	haproxy-mtls-1hop | haproxy-mtls-2hop)
		L4_ADDR=127.0.0.1 L4_OFF=10000
		HTTP_HOSTPORT=127.0.0.1:$((PORT_HTTP + 10000)) H2_HOSTPORT=127.0.0.1:$((PORT_H2C + 10000))
		local a=$d/haproxy-mtls-a.cfg
		if [ "$cfg" = haproxy-mtls-1hop ]; then
			proc_up haproxy-mtls-c "$NS_S" $((PORT_IPERF + 10000)) /usr/sbin/haproxy -db -f "$d/haproxy-mtls-c.cfg" || return 1
		else
			proc_up haproxy-mtls-c "$NS_S" $((PORT_IPERF + 10000)) /usr/sbin/haproxy -db -f "$d/haproxy-mtls-c2.cfg" || return 1
			proc_up haproxy-mtls-r "$NS_R" $((PORT_IPERF + 10000)) /usr/sbin/haproxy -db -f "$d/haproxy-mtls-r.cfg" || return 1
			a=$d/haproxy-mtls-a2.cfg
		fi
		proc_up haproxy-mtls-a "$NS_C" $((PORT_IPERF + 10000)) /usr/sbin/haproxy -db -f "$a" || return 1
		;;
	*) HERMESD_FAIL="unknown configuration $cfg" && return 1 ;;
	esac
	return 0
}

# cfg_down: stop every process cfg_up started (by PID)
cfg_down() {
	local p
	stop_hermesd TERM 15 >/dev/null
	for p in "${CFG_PIDS[@]}"; do
		[ "$p" = "$SQUID_PID" ] && continue # squid serves the whole run
		pid_alive "$p" && stop_pid "$p" TERM 10
	done
	CFG_PIDS=()
	for p in c r; do # their pins: a fresh start for every round
		[ -d "$PINROOT-$p" ] && "$HERMESCTL_BIN" --pin-root "$PINROOT-$p" disable >/dev/null 2>&1 && rm -rf "$PINROOT-$p"
	done
	return 0
}

# ensure_policy: the proxy rule for the server's address (kept in the pinned map across restarts)
ensure_policy() {
	hermesctl policy list 2>/dev/null | grep -q "${TGT_PROXY//./\\.}/32.*proxy" || policy_add $TGT_PROXY/32 proxy >/dev/null
}

# hermesd_refuses CONFIG BIN HELP PINROOT: why the hermesd BIN (its --help output is HELP)
# cannot run the Hermes configuration CONFIG; prints nothing when it can
hermesd_refuses() {
	local cfg=$1 bin=$2 help=$3 out rc
	case $cfg in
	hermes-udp* | tun-udp-*)
		if [ "${cfg#tun-}" != "$cfg" ] && ! grep -q -- '--tunnel-listen' <<<"$help"; then
			echo "hermesd --help lists no --tunnel-listen option"
			return 0
		fi
		# the configuration's own file: a hermesd whose policy takes no such UDP rule
		# (no UDP steering, or a tunnel action that does not carry UDP) refuses it
		out=$("$bin" -c none --check --cgroup "$CG/app" --pin-root "$4" -c "$TMP/cfg/${CFG_UDP_YAML[$cfg]}" 2>&1)
		rc=$?
		[ $rc = 0 ] || echo "unsupported by this hermesd: it refuses the protocol: udp rule of ${CFG_UDP_YAML[$cfg]} (hermesd --check, exit $rc): $(grep -v '^ *$' <<<"$out" | tail -n 1 | sed "s|^hermesd: $TMP/cfg/||")"
		;;
	hermes-http-*) grep -qE '^ +http +' <<<"$help" || echo "not available: hermesd --help lists no http action" ;;
	hermes-cache)
		if ! grep -qE '^ +http +' <<<"$help"; then
			echo "not available: hermesd --help lists no http action"
			return 0
		fi
		# a hermesd without the http action's cache refuses the section
		out=$("$bin" -c none --check --cgroup "$CG/app" --pin-root "$4" -c "$TMP/cfg/a-http-cache.yaml" 2>&1)
		rc=$?
		[ $rc = 0 ] || echo "not available: this hermesd refuses the cache section of a-http-cache.yaml (hermesd --check, exit $rc): $(grep -v '^ *$' <<<"$out" | tail -n 1 | sed "s|^hermesd: $TMP/cfg/||")"
		;;
	tun-*) grep -q -- '--tunnel-listen' <<<"$help" || echo "hermesd --help lists no --tunnel-listen option" ;;
	*)
		[ -n "${CFG_ARGS[$cfg]:-}" ] || return 0
		if ! grep -q -- '--relay' <<<"$help" || ! grep -q -- '--sk-msg' <<<"$help"; then
			echo "hermesd --help lists no --relay/--sk-msg option"
			return 0
		fi
		# shellcheck disable=SC2086 # the arguments are words
		out=$("$bin" -c none --check --cgroup "$CG/app" --pin-root "$4" ${CFG_ARGS[$cfg]} 2>&1)
		rc=$?
		[ $rc = 0 ] || echo "hermesd refuses ${CFG_ARGS[$cfg]} (exit $rc): $(printf '%s' "$out" | tail -n 1)"
		;;
	esac
}

# probe_configs: which configurations this machine and this hermesd (in A/B mode: both
# hermesd) offer
probe_configs() {
	local help base_help='' cfg want bin why
	help=$("$HERMESD_BIN" --help 2>&1)
	[ -n "$BASE_DIR" ] && base_help=$("$TMP/base/hermesd" --help 2>&1)
	for cfg in "${ALL_CONFIGS[@]}"; do
		want=1
		if [ -n "${BENCH_CONFIGS:-}" ] && [ "$cfg" != direct ]; then
			case " $BENCH_CONFIGS " in *" $cfg "*) ;; *) want=0 ;; esac
		else
			case $OPT_IN in *" $cfg "*) want=0 ;; esac
			[ $QUICK = 1 ] && case $QUICK_SKIP in *" $cfg "*) want=0 ;; esac
		fi
		bin=
		case $cfg in
		haproxy-*) bin=/usr/sbin/haproxy ;;
		socat-udp) bin=/usr/bin/socat ;;
		squid | tun-h1-squid) bin=/usr/sbin/squid ;;
		nginx-rp | nginx-cache) bin=/usr/sbin/nginx ;;
		nghttpx*) bin=$(command -v nghttpx) ;;
		esac
		if [ $want = 0 ]; then
			case $OPT_IN in
			*" $cfg "*) CFG_REASON[$cfg]="opt-in, not selected: BENCH_CONFIGS=\"$cfg\" measures it (left out of the default runs for the 30-minute budget)" ;;
			*) CFG_REASON[$cfg]="not selected (BENCH_CONFIGS, or left out in quick mode)" ;;
			esac
		elif [ -n "$bin" ] || [ "${cfg#nghttpx}" != "$cfg" ]; then
			if [ -x "$bin" ]; then CFG_OK[$cfg]=1; else CFG_REASON[$cfg]="${bin:-nghttpx} is not installed"; fi
		elif [ "$cfg" = direct ]; then
			CFG_OK[$cfg]=1
		else
			# a hermesd without the relay options runs hermes-uring with its defaults
			if [ "$cfg" = hermes-uring ] && { ! grep -q -- '--relay' <<<"$help" || ! grep -q -- '--sk-msg' <<<"$help"; }; then
				CFG_ARGS[$cfg]=''
			fi
			why=$(hermesd_refuses "$cfg" "$HERMESD_BIN" "$help" "$PINROOT")
			if [ -z "$why" ] && [ -n "$BASE_DIR" ]; then
				why=$(hermesd_refuses "$cfg" "$TMP/base/hermesd" "$base_help" "$PINROOT-base")
				[ -z "$why" ] || why="the base ($BASE_DIR/hermesd): $why"
			fi
			if [ -z "$why" ]; then CFG_OK[$cfg]=1; else CFG_REASON[$cfg]=$why; fi
		fi
		emit "{\"type\":\"config\",\"config\":\"$cfg\",\"available\":$([ "${CFG_OK[$cfg]:-0}" = 1 ] && echo true || echo false),\
\"args\":$(json_str "${CFG_ARGS[$cfg]:-}"),\"desc\":$(json_str "${CFG_DESC[$cfg]}"),\"loads\":$(json_str "${CFG_LOADS[$cfg]}"),\
\"proxies\":${CFG_PROXIES[$cfg]},\"hops\":${CFG_HOPS[$cfg]:-0},\"reason\":$(json_str "${CFG_REASON[$cfg]:-}")}"
		if [ "${CFG_OK[$cfg]:-0}" = 1 ]; then
			say "config $cfg: measured: ${CFG_DESC[$cfg]}"
		else
			say "config $cfg: not measured: ${CFG_REASON[$cfg]}"
		fi
	done
}

# ---------------------------------------------------------------- measurements

# app_run LOG SECS CMD...: CMD in the app cgroup with a hard time limit; stdout returned,
# stdout and stderr kept in LOG
app_run() {
	local log=$1 limit=$2
	shift 2
	# shellcheck disable=SC2094 # both only append to LOG
	in_app timeout -k 2 "$limit" "$@" 2>>"$log" | tee -a "$log"
	return "${PIPESTATUS[0]}"
}

# other_netns: how many network namespaces exist besides ours (others' test runs)
other_netns() { ip netns list 2>/dev/null | grep -cv -e "^$NS_C" -e "^$NS_S" -e "^$NS_R"; }

# busy_jiffies: user+nice+system+irq+softirq of the whole machine
busy_jiffies() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }

# pp_args PORT: pingpong's address arguments for the server port PORT in this configuration
pp_args() {
	if [ -n "$PP_PROXY" ]; then
		echo "-a $L4_ADDR -p $1 -x $PP_PROXY"
	else
		echo "-a $L4_ADDR -p $(($1 + L4_OFF))"
	fi
}

m_pingpong() { # CONFIG RUN CONNS SIZE pinned|free
	local cfg=$1 run=$2 n=$3 size=$4 how=$5 out port=$PORT_PINGPONG name pin=()
	local log="$LOGS/$1-r$2-pingpong$3-$4-$5.log"
	name=$n
	[ "$size" = 64 ] || name=4k
	if [ "$how" = free ]; then
		port=$PORT_PINGPONG_FREE name=${n}free
	else
		pin=(taskset -c "$RTT_CPU")
	fi
	# shellcheck disable=SC2046 # pp_args gives words
	if ! out=$(app_run "$log" 30 "${pin[@]}" "$BENCHBIN/pingpong" client $(pp_args "$port") -c "$n" -m "$size" \
		-t "$RTT_SECS" -w 0.3) || [ -z "$out" ]; then
		bench_error "$cfg" "$run" "pingpong $n flow(s) $size B $how" "$(tail -n 1 "$log")"
		return 1
	fi
	sample "$cfg" "$run" "rtt${name}_p50_us" "$(json_num p50_us "$out")"
	sample "$cfg" "$run" "rtt${name}_p99_us" "$(json_num p99_us "$out")"
	[ "$how" = free ] || sample "$cfg" "$run" "rtt${name}_p999_us" "$(json_num p999_us "$out")"
	[ "$how" = free ] || sample "$cfg" "$run" "rr${name}_rate" "$(json_num rate "$out")"
	say "  pingpong $n flow(s) $size B $how: p50 $(json_num p50_us "$out") us, p99 $(json_num p99_us "$out") us," \
		"$(json_num rate "$out") exchanges/s"
}

m_flows() { # CONFIG RUN: 1000 concurrent flows, 10 exchanges each, unpinned
	local cfg=$1 run=$2 log="$LOGS/$1-r$2-flows1000.log" out cpu0 rt=()
	if [ "$RT" = 1 ]; then
		rt=(chrt -f "$RT_PRIO")
		rt_pids -f "$RT_PRIO" "$PP_FREE_PID" "${CFG_PIDS[@]}"
	fi
	cpu0=$(cpu_us "${CFG_PIDS[@]}")
	# shellcheck disable=SC2046 # pp_args gives words
	if ! out=$(app_run "$log" 60 "${rt[@]}" "$BENCHBIN/pingpong" client $(pp_args $PORT_PINGPONG_FREE) -c 1000 -m 64 -n 10 -t 30) ||
		[ -z "$out" ]; then
		[ "$RT" = 1 ] && rt_pids -o 0 "$PP_FREE_PID" "${CFG_PIDS[@]}"
		bench_error "$cfg" "$run" "1000 flows" "$(tail -n 1 "$log")"
		return 1
	fi
	# the proxies' own CPU time for the burst, what other work on the machine skews least;
	# 0.2 s more for them to close the flows (pingpong does not wait for that)
	[ ${#CFG_PIDS[@]} = 0 ] || sleep 0.2
	[ ${#CFG_PIDS[@]} = 0 ] || sample "$cfg" "$run" flows1000_cpu_ms "$((($(cpu_us "${CFG_PIDS[@]}") - cpu0) / 1000))"
	[ "$RT" = 1 ] && rt_pids -o 0 "$PP_FREE_PID" "${CFG_PIDS[@]}"
	sample "$cfg" "$run" flows1000_ms "$(json_num elapsed_ms "$out")"
	sample "$cfg" "$run" flows1000_connect_ms "$(json_num connect_ms "$out")"
	sample "$cfg" "$run" flows1000_p50_us "$(json_num p50_us "$out")"
	sample "$cfg" "$run" flows1000_p99_us "$(json_num p99_us "$out")"
	say "  1000 flows x 10 exchanges: done in $(json_num elapsed_ms "$out") ms (connected in $(json_num connect_ms "$out") ms)," \
		"p50 $(json_num p50_us "$out") us, p99 $(json_num p99_us "$out") us"
}

m_sockperf() { # CONFIG RUN
	local cfg=$1 run=$2 log="$LOGS/$1-r$2-sockperf.log" out p50 p99
	out=$(app_run "$log" 30 taskset -c "$RTT_CPU" sockperf ping-pong --tcp -i "$L4_ADDR" -p $((PORT_SOCKPERF + L4_OFF)) \
		-m 64 -t "$SOCKPERF_SECS" --full-rtt)
	p50=$(printf '%s\n' "$out" | sed -n 's/.*percentile 50\.000 = *\([0-9.]*\).*/\1/p' | head -n 1)
	p99=$(printf '%s\n' "$out" | sed -n 's/.*percentile 99\.000 = *\([0-9.]*\).*/\1/p' | head -n 1)
	if [ -z "$p50" ] || [ -z "$p99" ]; then
		bench_error "$cfg" "$run" "sockperf" "no percentiles in its output: $(tail -n 1 "$log")"
		return 1
	fi
	sample "$cfg" "$run" sockperf1_p50_us "$p50"
	sample "$cfg" "$run" sockperf1_p99_us "$p99"
	say "  sockperf 1 flow: p50 $p50 us, p99 $p99 us"
}

m_bulk() { # CONFIG RUN FLOWS
	local cfg=$1 run=$2 n=$3 log="$LOGS/$1-r$2-iperf3-P$3.json" j0 j1 p0 p1 res bps bytes cpu= pcpu=
	j0=$(busy_jiffies)
	[ ${#CFG_PIDS[@]} = 0 ] || p0=$(cpu_us "${CFG_PIDS[@]}")
	in_app timeout -k 2 $((${BULK_SECS%.*} + 20)) iperf3 -c "$L4_ADDR" -p $((PORT_IPERF + L4_OFF)) -t "$BULK_SECS" -P "$n" -J \
		--connect-timeout 3000 >"$log" 2>&1
	j1=$(busy_jiffies)
	[ ${#CFG_PIDS[@]} = 0 ] || p1=$(cpu_us "${CFG_PIDS[@]}")
	res=$("$PY" -c '
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print("error: iperf3 output is not JSON: %s" % e); sys.exit()
if d.get("error"):
    print("error: " + d["error"]); sys.exit()
s = d["end"]["sum_received"]
print(s["bits_per_second"], s["bytes"])
' "$log")
	case $res in "error: "* | "")
		bench_error "$cfg" "$run" "iperf3 -P $n" "${res#error: }"
		return 1
		;;
	esac
	read -r bps bytes <<<"$res"
	sample "$cfg" "$run" "bulk${n}_gbps" "$(awk -v b="$bps" 'BEGIN { printf "%.4f", b / 1e9 }')"
	if [ "$n" = 1 ]; then
		cpu=$(awk -v j=$((j1 - j0)) -v hz="$(getconf CLK_TCK)" -v by="$bytes" \
			'BEGIN { if (by > 0) printf "%.4f", (j / hz) / (by / 1e9) }')
		sample "$cfg" "$run" cpu_s_per_gb "$cpu"
		# the proxy processes' own CPU time (schedstat): what other work on the machine
		# skews least
		if [ ${#CFG_PIDS[@]} != 0 ]; then
			pcpu=$(awk -v us=$((p1 - p0)) -v by="$bytes" 'BEGIN { if (by > 0) printf "%.4f", (us / 1e6) / (by / 1e9) }')
			sample "$cfg" "$run" proxy_cpu_s_per_gb "$pcpu"
		fi
	fi
	say "  iperf3 $n flow(s): $(awk -v b="$bps" 'BEGIN { printf "%.2f", b / 1e9 }') Gb/s${cpu:+, $cpu CPU s/GB}${pcpu:+, proxies $pcpu}"
}

m_udprtt() { # CONFIG RUN: 64 B UDP request/response, 1 flow, pinned
	local cfg=$1 run=$2 log="$LOGS/$1-r$2-udpping.log" out lost
	if ! out=$(app_run "$log" 30 taskset -c "$RTT_CPU" "$BENCHBIN/udpping" client -a "$UDP_ADDR" \
		-p $((PORT_UDPPING + UDP_OFF)) -c 1 -m 64 -t "$RTT_SECS" -w 0.3) || [ -z "$out" ]; then
		bench_error "$cfg" "$run" "udpping 1 flow 64 B" "$(tail -n 1 "$log")"
		return 1
	fi
	lost=$(json_num lost "$out")
	sample "$cfg" "$run" udprtt_p50_us "$(json_num p50_us "$out")"
	sample "$cfg" "$run" udprtt_p99_us "$(json_num p99_us "$out")"
	sample "$cfg" "$run" udprtt_p999_us "$(json_num p999_us "$out")"
	sample "$cfg" "$run" udprr_rate "$(json_num rate "$out")"
	sample "$cfg" "$run" udprtt_lost "${lost:-0}"
	say "  udpping 1 flow 64 B pinned: p50 $(json_num p50_us "$out") us, p99 $(json_num p99_us "$out") us," \
		"$(json_num rate "$out") exchanges/s, ${lost:-?} lost"
}

# reaped_us PID...: CPU time of the PIDs' children that have exited and been waited for
# (cutime + cstime of /proc/PID/stat, clock ticks), in microseconds: a socat child ends
# when its server's socket goes away at the end of a test (its write gets ECONNREFUSED),
# and its time would otherwise be lost from cpu_us
reaped_us() {
	local p sum=0 v hz
	hz=$(getconf CLK_TCK)
	for p in "$@"; do
		v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $14 + $15 }')
		sum=$((sum + ${v:-0} * 1000000 / hz))
	done
	echo "$sum"
}

# udp_drops NS: "KERNEL HERMESD", the datagrams dropped so far in NS by the kernel (UDP
# RcvbufErrors + SndbufErrors: a full socket buffer) and by a hermesd there (its UDP drop
# counters, every reason; 0 without one)
udp_drops() {
	local k h
	k=$(nsenter --net="/run/netns/$1" cat /proc/net/snmp | awk '$1 == "Udp:" && $2 !~ /^[0-9]+$/ { for (i = 2; i <= NF; i++) col[$i] = i; next }
		$1 == "Udp:" { print $col["RcvbufErrors"] + $col["SndbufErrors"]; exit }')
	h=$(nsenter --net="/run/netns/$1" curl -s --max-time 3 "http://127.0.0.1:15000/stats" 2>/dev/null | awk '
		/^(hermes_udp_drops_total|hermes_tunnel_udp_client_drops_total|hermes_tunnel_udp_drops_total)[{ ]/ { sum += $NF }
		END { printf "%d\n", sum }')
	echo "${k:-0} ${h:-0}"
}

# udp_stall: A's hermesd stopped three times for STALL_MS (BENCH_UDP_STALL_MS), in the
# background while iperf3 runs; UDP_STALL_PID is that job (empty: none)
UDP_STALL_PID=
udp_stall() {
	UDP_STALL_PID=
	[ "$STALL_MS" -gt 0 ] && [ -n "$HERMESD_PID" ] || return 0
	local pid=$HERMESD_PID s
	s=$(awk -v ms="$STALL_MS" 'BEGIN { printf "%.3f", ms / 1000 }')
	(
		sleep 0.6
		for _ in 1 2 3; do
			kill -STOP "$pid" 2>/dev/null || exit 0
			sleep "$s"
			kill -CONT "$pid"
			sleep 0.1
		done
	) &
	UDP_STALL_PID=$!
}

# udp_iperf LOG MBPS: iperf3 -u from the app, one flow of 1200-byte datagrams offered at
# MBPS Mb/s for UDP_SECS (socket buffers 4 MiB each end, as hermesd's relay has); sets
# IPERF_U to "SENT RECEIVED LOSS UNDELIVERED" (Mb/s, Mb/s, iperf3's loss: the gaps in the
# sequence the server received, in %; the datagrams sent that the server had not received
# when the test ended, in % of those sent: lost, or still queued on the path, which
# iperf3's loss does not count) and IPERF_U_CPU to
# the CPU the configuration's proxy processes used meanwhile (% of one CPU over the test's
# seconds; empty without proxies) and IPERF_U_DROPS to the datagrams dropped meanwhile on A
# and on C, "A_KERNEL A_HERMESD C_KERNEL C_HERMESD" (udp_drops); returns 1 with IPERF_U the
# reason when it failed
udp_iperf() {
	local log=$1 rate=$2 p0 p1 rt=() a0 c0 a1 c1
	IPERF_U_CPU=''
	IPERF_U_DROPS=''
	if [ "$RT" = 1 ]; then
		rt=(chrt -f "$RT_PRIO")
		rt_pids -f "$RT_PRIO" "${IPERF_U_PIDS[@]}" "${CFG_PIDS[@]}"
	fi
	a0=$(udp_drops "$NS_C")
	c0=$(udp_drops "$NS_S")
	[ ${#CFG_PIDS[@]} = 0 ] || p0=$(($(cpu_us "${CFG_PIDS[@]}") + $(reaped_us "${CFG_PIDS[@]}")))
	udp_stall
	in_app timeout -k 2 $((UDP_SECS + 20)) "${rt[@]}" iperf3 -u -c "$UDP_ADDR" -p $((PORT_IPERF_UDP + UDP_OFF)) \
		-b "${rate}M" -l 1200 -w 4M -t "$UDP_SECS" -J --connect-timeout 3000 >"$log" 2>&1
	[ ${#CFG_PIDS[@]} = 0 ] || p1=$(($(cpu_us "${CFG_PIDS[@]}") + $(reaped_us "${CFG_PIDS[@]}")))
	[ -z "$UDP_STALL_PID" ] || wait "$UDP_STALL_PID"
	[ "$RT" = 1 ] && rt_pids -o 0 "${IPERF_U_PIDS[@]}" "${CFG_PIDS[@]}"
	a1=$(udp_drops "$NS_C")
	c1=$(udp_drops "$NS_S")
	IPERF_U_DROPS=$(echo "$a0 $c0 $a1 $c1" | awk '{ print $5 - $1, $6 - $2, $7 - $3, $8 - $4 }')
	IPERF_U=$("$PY" -c '
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print("iperf3 output is not JSON: %s" % e); sys.exit(1)
if d.get("error"):
    print(d["error"]); sys.exit(1)
s, r = d["end"]["sum_sent"], d["end"]["sum_received"]
if not r.get("packets"):
    print("the server received no datagram"); sys.exit(1)
got = r["packets"] - r["lost_packets"]
und = max(0.0, 100.0 * (s["packets"] - got) / s["packets"]) if s.get("packets") else 0.0
print("%.1f %.1f %.4f %.4f %.3f" % (s["bits_per_second"] / 1e6, r["bits_per_second"] / 1e6, r["lost_percent"], und,
                                    r["seconds"]))
' "$log") || return 1
	local secs=${IPERF_U##* }
	IPERF_U=${IPERF_U% *}
	[ ${#CFG_PIDS[@]} = 0 ] ||
		IPERF_U_CPU=$(awk -v us=$((p1 - p0)) -v s="$secs" 'BEGIN { if (s > 0) printf "%.1f", us / 1e4 / s }')
	return 0
}

m_udpbulk() { # CONFIG RUN MBPS: iperf3 -u at a fixed rate
	local cfg=$1 run=$2 rate=$3 sent rcv loss und dak dah dck dch
	if ! udp_iperf "$LOGS/$1-r$2-iperf3u-${3}M.json" "$rate"; then
		bench_error "$cfg" "$run" "iperf3 -u at $rate Mb/s" "$IPERF_U"
		return 1
	fi
	read -r sent rcv loss und <<<"$IPERF_U"
	read -r dak dah dck dch <<<"$IPERF_U_DROPS"
	sample "$cfg" "$run" "udp${rate}_sent_mbps" "$sent"
	sample "$cfg" "$run" "udp${rate}_mbps" "$rcv"
	sample "$cfg" "$run" "udp${rate}_loss_pct" "$loss"
	sample "$cfg" "$run" "udp${rate}_undelivered_pct" "$und"
	[ -z "$IPERF_U_CPU" ] || sample "$cfg" "$run" "udp${rate}_cpu_pct" "$IPERF_U_CPU"
	sample "$cfg" "$run" "udp${rate}_drops_a_kernel" "$dak"
	sample "$cfg" "$run" "udp${rate}_drops_a_hermesd" "$dah"
	sample "$cfg" "$run" "udp${rate}_drops_c_kernel" "$dck"
	sample "$cfg" "$run" "udp${rate}_drops_c_hermesd" "$dch"
	say "  iperf3 -u 1200 B at $rate Mb/s: sent $sent, received $rcv Mb/s, $loss% lost, $und% not received by the end${IPERF_U_CPU:+, proxies $IPERF_U_CPU% of a CPU}; dropped on A: $dak by the kernel, $dah by hermesd; on C: $dck by the kernel, $dch by hermesd"
}

# m_udpsearch CONFIG RUN: the highest offered rate that arrives with < 0.1% loss and at
# least 95% of it received (below that the sender could not offer it: the path's
# limit all the same), from 1 Gb/s, doubling until a step fails or halving until one
# passes, then bisecting, in UDP_SEARCH_STEPS steps at most (until the bracket is within
# 5%); the sample is the rate received at the best step
m_udpsearch() {
	local cfg=$1 run=$2 rate=1000 lo=0 hi=0 best='' step sent rcv loss und ok
	for ((step = 1; step <= UDP_SEARCH_STEPS; step++)); do
		if ! udp_iperf "$LOGS/$cfg-r$run-iperf3u-search$step.json" "$rate"; then
			bench_error "$cfg" "$run" "udp rate search at $rate Mb/s" "$IPERF_U"
			return 1
		fi
		read -r sent rcv loss und <<<"$IPERF_U"
		ok=$(awk -v r="$rate" -v g="$rcv" -v l="$loss" 'BEGIN { print (l < 0.1 && g >= 0.95 * r) ? 1 : 0 }')
		say "  udp search step $step: $rate Mb/s offered, sent $sent, received $rcv, $loss% lost ($und% not received by the end): $([ "$ok" = 1 ] && echo pass || echo fail)"
		if [ "$ok" = 1 ]; then
			lo=$rate best=$rcv
		else
			hi=$rate
		fi
		if [ $hi = 0 ]; then
			rate=$((rate * 2))
		elif [ $lo = 0 ]; then
			rate=$((rate / 2))
			[ $rate -ge 25 ] || break
		else
			[ $((hi - lo)) -gt $((hi / 20)) ] || break
			rate=$(((lo + hi) / 2))
		fi
	done
	if [ -z "$best" ]; then
		bench_error "$cfg" "$run" "udp rate search" "no offered rate down to $hi Mb/s arrived with < 0.1% loss"
		return 1
	fi
	sample "$cfg" "$run" udpmax_mbps "$best"
	say "  udp rate search: $lo Mb/s offered passes ($best received)$([ $hi = 0 ] || echo ", $hi fails")"
}

# udpsearch_round RUN: whether round RUN searches the UDP rate (full mode: the first
# UDP_SEARCH_RUNS rounds; named in BENCH_LOADS: every round)
udpsearch_round() {
	want_load udpsearch || return 1
	[ -n "${BENCH_LOADS:-}" ] || { [ "$QUICK" = 0 ] && [ "$1" -le "$UDP_SEARCH_RUNS" ]; }
}

# ns_stat NS NAME LABEL_SUBSTRING: the sum of a hermesd's /stats samples in NS (its admin
# port 127.0.0.1:15000), like common.sh's stat_value for A's
ns_stat() {
	nsenter --net="/run/netns/$1" curl -s --max-time 3 "http://127.0.0.1:15000/stats" 2>/dev/null | awk -v name="$2" -v lab="$3" '
		/^#/ { next }
		{ n = $1; l = ""; i = index(n, "{"); if (i > 0) { l = substr(n, i); n = substr(n, 1, i - 1) }
		  if (n == name && index(l, lab)) { found = 1; sum += $NF } }
		END { if (found) printf "%d\n", sum }'
}

m_connrate() { # CONFIG RUN
	local cfg=$1 run=$2 log="$LOGS/$1-r$2-connrate.log" out errs
	if ! out=$(app_run "$log" 30 "$BENCHBIN/connrate" client -a "$L4_ADDR" -p $((PORT_CONNRATE + L4_OFF)) \
		-P $CONNRATE_PARALLEL -t "$CONN_SECS") || [ -z "$out" ]; then
		bench_error "$cfg" "$run" "connrate" "$(tail -n 1 "$log")"
		return 1
	fi
	sample "$cfg" "$run" connrate_per_s "$(json_num rate "$out")"
	errs=$(json_num errors "$out")
	[ "${errs:-0}" = 0 ] || bench_error "$cfg" "$run" "connrate" "$errs failed connection attempts (still counted: the completed ones): $out"
	say "  connrate: $(json_num rate "$out") connections/s (p50 $(json_num p50_us "$out") us, errors ${errs:-?})"
}

# m_idle CONFIG RUN l4|http [N]: proxy RSS before and with N (1000) idle connections open
IDLE_HTTP_PY='
import socket, sys, time
host, port, n, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
req = b"GET /64 HTTP/1.1\r\nHost: bench\r\n\r\n"
socks = []
for i in range(n):
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(req)
    socks.append(s)
for s in socks:
    buf = b""
    while not (b"\r\n\r\n" in buf and len(buf.split(b"\r\n\r\n", 1)[1]) >= 64):
        d = s.recv(4096)
        if not d:
            sys.exit("connection closed before the answer")
        buf += d
    if not buf.startswith(b"HTTP/1.1 200"):
        sys.exit("not a 200: %r" % buf[:40])
print("idle", n, flush=True)
time.sleep(hold)
'
m_idle() {
	local cfg=$1 run=$2 kind=$3 n=${4:-1000} log="$LOGS/$1-r$2-idle${4:-1000}-$3.log" before after pid i hp
	local secs=$((n < 5000 ? 40 : 120))
	[ ${#CFG_PIDS[@]} -gt 0 ] || return 0
	before=$(rss_kib "${CFG_PIDS[@]}")
	: >"$log"
	if [ "$kind" = l4 ]; then
		# shellcheck disable=SC2046 # pp_args gives words
		in_app timeout -k 2 $secs "$BENCHBIN/pingpong" client $(pp_args $PORT_PINGPONG_FREE) -c "$n" -m 64 -n 1 -t $((secs / 2)) -H 5 \
			>>"$log" 2>&1 </dev/null &
	else
		hp=$HTTP_HOSTPORT
		in_app timeout -k 2 $secs "$PY" -c "$IDLE_HTTP_PY" "${hp%:*}" "${hp##*:}" "$n" 5 >>"$log" 2>&1 </dev/null &
	fi
	pid=$!
	for ((i = 0; i < secs * 10 - 150; i++)); do
		grep -q -e '"tool":"pingpong"' -e '^idle ' "$log" && break
		pid_alive "$pid" || break
		sleep 0.1
	done
	if ! grep -q -e '"tool":"pingpong"' -e '^idle ' "$log"; then
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		bench_error "$cfg" "$run" "$n idle connections ($kind)" "$(tail -n 1 "$log")"
		return 1
	fi
	# idle for 2 s before the count: what a proxy keeps for an idle connection, once its
	# once-a-second housekeeping (hermesd gives idle streams' buffers back then) has run
	sleep 2
	after=$(rss_kib "${CFG_PIDS[@]}")
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	sample "$cfg" "$run" "rss_idle${n}_${kind}_kib" $((after - before))
	[ "$n" = 1000 ] && sample "$cfg" "$run" "rss_base_kib" "$before"
	say "  $n idle connections ($kind): proxy RSS $before -> $after KiB"
}

WRK_LUA='
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("{\"requests\":%d,\"duration_us\":%d,\"errors\":%d,\"connect_errors\":%d,\"read_errors\":%d,\"write_errors\":%d,\"status_errors\":%d,\"timeouts\":%d,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f}\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
'
# listen_queued: connections waiting in the accept queue of any listener on A, R and C
# (completed handshakes that no proxy or server has accepted yet)
listen_queued() {
	local ns sum=0 v
	for ns in "$NS_C" "$NS_S" "$NS_R"; do
		v=$(nsenter --net="/run/netns/$ns" ss -Hltn 2>/dev/null | awk '{ s += $2 } END { print s + 0 }')
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

# closing_sockets: TCP sockets on A, R and C that a process still has to close (the peer
# closed: CLOSE-WAIT) or whose close is still under way (FIN-WAIT-1, CLOSING, LAST-ACK)
closing_sockets() {
	local ns sum=0 v
	for ns in "$NS_C" "$NS_S" "$NS_R"; do
		v=$(nsenter --net="/run/netns/$ns" ss -Htan state close-wait state fin-wait-1 state closing state last-ack \
			2>/dev/null | wc -l)
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

# settle CONFIG RUN WHAT: before the HTTP load WHAT, until no listen queue holds
# connections and no socket is being closed (bounded 10 s): a proxy still working off the
# previous load (TLS handshakes queued at the next hop, 20000 sockets to close after
# c=10000) would otherwise be measured on the next load's time. When the bound is hit,
# that is an error of the run: WHAT's figures then include the previous load's work.
settle() {
	local t0 q c
	t0=$(now_ms)
	while :; do
		q=$(listen_queued) c=$(closing_sockets)
		[ "$q" = 0 ] && [ "$c" = 0 ] && break
		if [ $(($(now_ms) - t0)) -ge 10000 ]; then
			bench_error "$1" "$2" "$3" "the previous load had not ended 10 s later ($q connections still queued, $c sockets closing): measured anyway, its figures include that work"
			return 0
		fi
		sleep 0.1
	done
	[ $(($(now_ms) - t0)) -lt 500 ] || say "  ($1: waited $(($(now_ms) - t0)) ms for the previous load to end)"
}

# queue_watch_start FILE / queue_watch_stop: the listen_queued count, BIG_SECS - 0.5 s
# after a c=BIG_CONNS load began, into FILE: the connections that no proxy or server has
# accepted by then (a proxy out of descriptors or at its connection limit leaves them
# there, and neither wrk nor h2load counts them as errors)
QWATCH_PID=
queue_watch_start() {
	rm -f "$1"
	(
		sleep "$(awk -v s="$BIG_SECS" 'BEGIN { print s - 0.5 }')"
		listen_queued >"$1"
	) &
	QWATCH_PID=$!
	PIDS+=("$QWATCH_PID")
}
queue_watch_stop() {
	[ -n "$QWATCH_PID" ] || return 0
	wait "$QWATCH_PID" 2>/dev/null
	QWATCH_PID=
}

# big_queued CONFIG RUN PREFIX TOOL FILE: the sample PREFIX<BIG_CONNS>_queued (and an
# error when not 0) of the connections left in listen queues near the end of TOOL's
# c=BIG_CONNS load
big_queued() {
	local q
	q=$(cat "$5" 2>/dev/null)
	[ -n "$q" ] || return 0
	sample "$1" "$2" "$3${BIG_CONNS}_queued" "$q"
	[ "$q" = 0 ] || bench_error "$1" "$2" "$4 c=$BIG_CONNS" "$q connections still waiting to be accepted in the listen queues of A, R and C $BIG_SECS s - 0.5 s after the load began"
}

# m_wrk CONFIG RUN CONNS: wrk for HTTP_SECS (BIG_SECS at c=BIG_CONNS). Its errors are a
# sample too (wrk<CONNS>_errors: socket errors - connect, read, write, timeout - and non-2xx
# answers), so that a configuration which could not carry the load shows it beside its rate.
m_wrk() {
	local cfg=$1 run=$2 n=$3 log="$LOGS/$1-r$2-wrk-c$3.log" out j0 j1 req dur errs t=2 rps cpu secs=$HTTP_SECS e
	[ "$n" -ge 2 ] || t=1
	settle "$cfg" "$run" "wrk c=$n"
	[ "$n" = "$BIG_CONNS" ] && secs=$BIG_SECS && queue_watch_start "$TMP/queued"
	j0=$(busy_jiffies)
	out=$(app_run "$log" $((${secs%.*} + 30)) wrk -t "$t" -c "$n" -d "${secs}s" --timeout 10s -s "$TMP/wrk.lua" "http://$HTTP_HOSTPORT/64" |
		grep '^{"requests"')
	j1=$(busy_jiffies)
	[ "$n" = "$BIG_CONNS" ] && queue_watch_stop && big_queued "$cfg" "$run" wrk wrk "$TMP/queued"
	req=$(json_num requests "$out")
	dur=$(json_num duration_us "$out")
	errs=$(json_num errors "$out")
	if [ -z "$req" ] || [ "${req:-0}" = 0 ]; then
		bench_error "$cfg" "$run" "wrk c=$n" "no requests completed: $(tail -n 2 "$log" | tr '\n' ' ')"
		[ -n "$errs" ] && sample "$cfg" "$run" "wrk${n}_errors" "$errs"
		return 1
	fi
	if [ "${errs:-0}" != 0 ]; then
		e=$(for f in connect_errors read_errors write_errors status_errors timeouts; do
			printf '%s %s, ' "$(json_num $f "$out")" "${f//_/ }"
		done)
		bench_error "$cfg" "$run" "wrk c=$n" "$errs errors (${e%, }; the completed requests are still counted)"
	fi
	rps=$(awk -v r="$req" -v d="$dur" 'BEGIN { printf "%.1f", r / (d / 1e6) }')
	sample "$cfg" "$run" "wrk${n}_rps" "$rps"
	sample "$cfg" "$run" "wrk${n}_p50_us" "$(json_num p50_us "$out")"
	sample "$cfg" "$run" "wrk${n}_p99_us" "$(json_num p99_us "$out")"
	sample "$cfg" "$run" "wrk${n}_p999_us" "$(json_num p999_us "$out")"
	sample "$cfg" "$run" "wrk${n}_errors" "${errs:-0}"
	if [ "$n" = 100 ]; then
		cpu=$(awk -v j=$((j1 - j0)) -v hz="$(getconf CLK_TCK)" -v r="$req" 'BEGIN { printf "%.4f", (j / hz) / (r / 1e5) }')
		sample "$cfg" "$run" cpu_s_per_100k_req "$cpu"
	fi
	say "  wrk c=$n: $rps req/s, p50 $(json_num p50_us "$out") us, p99 $(json_num p99_us "$out") us, ${errs:-0} errors${cpu:+, $cpu CPU s/100k req}"
}

# sockops_stats: "RUNS NS" summed over the sock_ops programs attached to the app's and
# hermesd's cgroups (hermesd's sockops: the flow table, the hop), from the kernel's BPF
# statistics: counted only while kernel.bpf_stats_enabled=1, which the harness never sets
# (it adds two clock reads to every program run); empty when they are off
sockops_stats() {
	[ "$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null)" = 1 ] || return 0
	local ids
	ids=$(for g in "$CG/app" "$CG/hermesd"; do bpftool cgroup show "$g" -j 2>/dev/null; echo; done |
		"$PY" -c '
import json, sys
for line in sys.stdin:
    if line.strip():
        for a in json.loads(line):
            if a.get("attach_type", "").endswith("sock_ops"):
                print(a["id"])
')
	[ -n "$ids" ] || return 0
	bpftool prog show -j 2>/dev/null | "$PY" -c '
import json, sys
ids = {int(x) for x in sys.argv[1].split()}
runs = ns = 0
for p in json.load(sys.stdin):
    if p.get("id") in ids:
        runs += p.get("run_cnt", 0)
        ns += p.get("run_time_ns", 0)
print(runs, ns)
' "$ids"
}

# m_cachehit CONFIG RUN: the cachehit load (see the header). The warm-up's two requests
# must both be answered 200 with the whole object; the origin's access log is counted
# around the measured phase only.
m_cachehit() {
	local cfg=$1 run=$2 log="$LOGS/$1-r$2-cachehit.log" url="http://$CACHE_HOSTPORT/4k" i got n0 n1 origin
	local out req dur errs rps c0= c1= cpu= so0= so1= sopr= sons=
	settle "$cfg" "$run" cachehit
	for i in 1 2; do
		got=$(in_app timeout 10 curl -s -o /dev/null -w '%{http_code} %{size_download}' --max-time 5 "$url" 2>>"$log")
		if [ "$got" != "200 4096" ]; then
			bench_error "$cfg" "$run" cachehit "warm-up request $i for $url: got '${got:-nothing}', not 200 with 4096 bytes"
			return 1
		fi
	done
	n0=$(wc -l <"$CACHE_LOG")
	[ ${#CFG_PIDS[@]} = 0 ] || c0=$(cpu_us "${CFG_PIDS[@]}")
	[ -z "$HERMESD_PID" ] || so0=$(sockops_stats)
	local gen=(wrk -t 2)
	if [ "$CACHE_SPLIT" = 1 ]; then
		gen=(taskset -c 0 wrk -t 1)
		[ ${#CFG_PIDS[@]} = 0 ] || pin_pids "1-$((NCPU - 1))" "${CFG_PIDS[@]}"
	fi
	out=$(app_run "$log" $((CACHE_SECS + 30)) "${gen[@]}" -c 100 -d "${CACHE_SECS}s" --timeout 10s -s "$TMP/wrk.lua" "$url" |
		grep '^{"requests"')
	[ "$CACHE_SPLIT" = 1 ] && [ ${#CFG_PIDS[@]} -gt 0 ] && pin_pids "0-$((NCPU - 1))" "${CFG_PIDS[@]}"
	[ ${#CFG_PIDS[@]} = 0 ] || c1=$(cpu_us "${CFG_PIDS[@]}")
	[ -z "$so0" ] || so1=$(sockops_stats)
	n1=$(wc -l <"$CACHE_LOG")
	origin=$((n1 - n0))
	req=$(json_num requests "$out")
	dur=$(json_num duration_us "$out")
	errs=$(json_num errors "$out")
	if [ -z "$req" ] || [ "${req:-0}" = 0 ]; then
		bench_error "$cfg" "$run" cachehit "no requests completed: $(tail -n 2 "$log" | tr '\n' ' ')"
		return 1
	fi
	[ "${errs:-0}" = 0 ] || bench_error "$cfg" "$run" cachehit "$errs wrk errors (socket errors and non-2xx; the completed requests are still counted)"
	case $cfg in *-cache)
		[ "$origin" -le "$CACHE_ORIGIN_MAX" ] ||
			bench_error "$cfg" "$run" cachehit "$origin of the $req requests reached the origin during the measured phase (at most $CACHE_ORIGIN_MAX expected from a cache): it forwarded them instead of serving hits"
		;;
	esac
	rps=$(awk -v r="$req" -v d="$dur" 'BEGIN { printf "%.1f", r / (d / 1e6) }')
	sample "$cfg" "$run" cachehit_rps "$rps"
	sample "$cfg" "$run" cachehit_p50_us "$(json_num p50_us "$out")"
	sample "$cfg" "$run" cachehit_p99_us "$(json_num p99_us "$out")"
	sample "$cfg" "$run" cachehit_p999_us "$(json_num p999_us "$out")"
	sample "$cfg" "$run" cachehit_errors "${errs:-0}"
	sample "$cfg" "$run" cachehit_origin_reqs "$origin"
	# the proxy's own CPU per request (schedstat): on 2 CPUs shared with wrk, the rate is
	# the whole machine's; this is what the proxy itself spends on a hit
	if [ -n "$c0" ]; then
		cpu=$(awk -v c=$((c1 - c0)) -v r="$req" 'BEGIN { printf "%.2f", c / r }')
		sample "$cfg" "$run" cachehit_proxy_cpu_us "$cpu"
	fi
	# the flow table's per-packet cost: sockops runs (both ends of every socket of the
	# app's and hermesd's cgroups) per request, and their mean run time
	if [ -n "$so1" ]; then
		read -r -a so0 <<<"$so0"
		read -r -a so1 <<<"$so1"
		sopr=$(awk -v n=$((so1[0] - so0[0])) -v r="$req" 'BEGIN { printf "%.2f", n / r }')
		sons=$(awk -v n=$((so1[0] - so0[0])) -v t=$((so1[1] - so0[1])) 'BEGIN { printf "%.1f", n ? t / n : 0 }')
		sample "$cfg" "$run" cachehit_sockops_per_req "$sopr"
		sample "$cfg" "$run" cachehit_sockops_ns "$sons"
		say "  cachehit sockops: $sopr runs a request, $sons ns a run"
	fi
	say "  cachehit c=100: $rps req/s, p50 $(json_num p50_us "$out") us, p99 $(json_num p99_us "$out") us, ${errs:-0} errors, $origin of $req requests reached the origin${cpu:+, proxy CPU $cpu us a request}"
}

# m_h2load CONFIG RUN CONNS: h2load for H2_SECS (BIG_SECS at c=BIG_CONNS); the requests
# that failed or errored, and the clients that never connected, are h2l<CONNS>_failed
m_h2load() {
	local cfg=$1 run=$2 n=$3 log="$LOGS/$1-r$2-h2load-c$3.log" lat="$TMP/h2load-lat.log" rps ok pct secs=$H2_SECS
	local failed errored nocon
	settle "$cfg" "$run" "h2load c=$n"
	[ "$n" = "$BIG_CONNS" ] && secs=$BIG_SECS && queue_watch_start "$TMP/queued"
	rm -f "$lat"
	app_run "$log" $((${secs%.*} + 30)) h2load -c "$n" -t 1 -m 1 -D "$(awk -v s="$secs" 'BEGIN { printf "%dms", s * 1000 }')" \
		--log-file="$lat" \
		"http://$H2_HOSTPORT/64" >/dev/null
	[ "$n" = "$BIG_CONNS" ] && queue_watch_stop && big_queued "$cfg" "$run" h2l h2load "$TMP/queued"
	rps=$(sed -n 's/^finished in [0-9.]*[a-z]*, \([0-9.]*\) req\/s.*/\1/p' "$log" | tail -n 1)
	ok=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' "$log" | tail -n 1)
	failed=$(sed -n 's/^requests: .* \([0-9]*\) failed.*/\1/p' "$log" | tail -n 1)
	errored=$(sed -n 's/^requests: .* \([0-9]*\) errored.*/\1/p' "$log" | tail -n 1)
	nocon=$(grep -c '^client could not connect' "$log")
	if [ -z "$rps" ] || [ "${ok:-0}" = 0 ] || ! [ -s "$lat" ]; then
		bench_error "$cfg" "$run" "h2load c=$n" "no requests completed: $(grep -v '^$' "$log" | tail -n 2 | tr '\n' ' ')"
		return 1
	fi
	if [ "${failed:-0}" != 0 ] || [ "${errored:-0}" != 0 ] || [ "$nocon" != 0 ]; then
		bench_error "$cfg" "$run" "h2load c=$n" "${failed:-?} requests failed (${errored:-?} errored), $nocon clients could not connect (the succeeded requests are still counted)"
	fi
	pct=$(awk '{ print $3 }' "$lat" | sort -n | awk '{ v[NR] = $1 } END {
		r50 = int(NR * 0.5 + 0.999999); r99 = int(NR * 0.99 + 0.999999); r999 = int(NR * 0.999 + 0.999999)
		printf "%s %s %s", v[r50], v[r99], v[r999] }')
	read -r p50 p99 p999 <<<"$pct"
	sample "$cfg" "$run" "h2l${n}_rps" "$rps"
	sample "$cfg" "$run" "h2l${n}_p50_us" "$p50"
	sample "$cfg" "$run" "h2l${n}_p99_us" "$p99"
	sample "$cfg" "$run" "h2l${n}_p999_us" "$p999"
	sample "$cfg" "$run" "h2l${n}_failed" $((${failed:-0} + nocon))
	say "  h2load c=$n: $rps req/s, p50 $p50 us, p99 $p99 us, ${failed:-?} failed, $nocon clients not connected"
}

# m_tls CONFIG RUN: what the TLS listener that the configuration's first hop dials
# negotiates with that client's settings (openssl s_client from A with A's certificate:
# OpenSSL's default suites, AES-256-GCM first, for hermesd, whose listener picks its own
# first, the configured ones for the peers). A suite, group or version other than the peers' settings is an error: then the
# peers were not given hermesd's TLS.
declare -A TLS_PROBED=()
m_tls() {
	local cfg=$1 run=$2 addr=${CFG_TLS[$1]} name=${CFG_TLS_NAME[$1]} out proto suite group sig ver suites=()
	[ -n "${TLS_PROBED[$cfg/$SIDE]:-}" ] && return 0
	TLS_PROBED[$cfg/$SIDE]=1
	case $cfg in tun-*) ;; *) suites=(-ciphersuites "$TLS_SUITE") ;; esac
	out=$(ns_c timeout 10 openssl s_client -connect "$addr" -servername "$name" -verify_hostname "$name" \
		-verify_return_error -CAfile "$TMP/pki/ca.crt" -cert "$TMP/pki/a.crt" -key "$TMP/pki/a.key" -brief \
		"${suites[@]}" </dev/null 2>&1)
	printf '%s\n' "$out" >"$LOGS/$cfg-tls.log"
	proto=$(sed -n 's/^Protocol version: *//p' <<<"$out" | head -n 1)
	suite=$(sed -n 's/^Ciphersuite: *//p' <<<"$out" | head -n 1)
	group=$(sed -n 's/^\(Server \)\{0,1\}Temp Key: *\([^,]*\).*/\2/p' <<<"$out" | head -n 1)
	sig="$(sed -n 's/^\(Peer \)\{0,1\}[sS]ignature type: *//p' <<<"$out" | head -n 1)"
	sig+=" $(sed -n 's/^Hash used: *//p' <<<"$out" | head -n 1)"
	ver=$(sed -n 's/^Verification: *//p' <<<"$out" | head -n 1)
	emit "{\"type\":\"tls\",\"config\":\"$cfg\"$SIDE_JSON,\"listener\":\"$addr\",\"name\":\"$name\",\"protocol\":$(json_str "$proto"),\
\"suite\":$(json_str "$suite"),\"group\":$(json_str "$group"),\"signature\":$(json_str "$sig"),\
\"verification\":$(json_str "$ver"),\"client_suites\":$(json_str "${suites[1]:-OpenSSL default}")}"
	if [ "$proto" != TLSv1.3 ] || [ "$suite" != "$TLS_SUITE" ] || [ "$group" != "$TLS_GROUP" ] || [ "$ver" != OK ]; then
		bench_error "$cfg" "$run" "TLS probe of $addr" "negotiated '${proto:-?} ${suite:-?} ${group:-?}', verification '${ver:-?}'; the peers are set to TLSv1.3 $TLS_SUITE $TLS_GROUP: $(tail -n 1 "$LOGS/$cfg-tls.log")"
		return 1
	fi
	say "  TLS at $addr: $proto $suite $group, $sig, peer certificate $name verified"
}

# record_limits CONFIG: every proxy process's descriptor limit (RLIMIT_NOFILE, soft),
# once per configuration: 10000 connections through one process take 20000 of them
declare -A LIMITS_RECORDED=()
record_limits() {
	local cfg=$1 p comm lim list=
	[ -n "${LIMITS_RECORDED[$cfg/$SIDE]:-}" ] && return 0
	LIMITS_RECORDED[$cfg/$SIDE]=1
	for p in $(tree_pids "${CFG_PIDS[@]}"); do
		comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
		lim=$(awk '/^Max open files/ { print $4 }' "/proc/$p/limits" 2>/dev/null)
		list+="$comm:$lim "
	done
	emit "{\"type\":\"limits\",\"config\":\"$cfg\"$SIDE_JSON,\"nofile\":$(json_str "${list% }")}"
}

# big_round RUN: whether round RUN measures c=BIG_CONNS
big_round() { [ "$C10K" = 1 ] && [ "$1" -le "$BIG_RUNS" ] && want_load c10000; }
# cross_round RUN: whether round RUN runs the cross-checks (sockperf, unpinned RTT,
# 8-flow bulk)
cross_round() { [ "$EXTRA" = 1 ] && [ "$1" -le "$EXTRA_RUNS" ]; }
# sockperf_cfg CONFIG: whether sockperf cross-checks CONFIG's pinned 64 B RTT: the paths
# with one proxy or none (direct, the policy proxy modes, haproxy-tcp), where the pingpong
# tool itself is the thing to check; each run of it costs 3 s (its warm-up and setup)
sockperf_cfg() { case $1 in direct | hermes-uring* | hermes-splice | hermes-kernel | haproxy-tcp) return 0 ;; esac; return 1; }

# measure_config CONFIG RUN: one round of every load of CONFIG; the samples are kept only
# when the configuration was really in force (nothing attached for the peers and direct,
# hermesd alive and carrying the flows for the Hermes ones)
OTHER_NETNS_MAX=0
measure_config() {
	local cfg=$1 run=$2 accepted other n t0 p
	ROUND_BUF=
	t0=$(date +%s.%N)
	other=$(other_netns)
	[ "$other" -le "$OTHER_NETNS_MAX" ] || OTHER_NETNS_MAX=$other
	cfg_down
	# a direct path has no program on it; in A/B mode neither does the start of a hermesd
	# configuration, so that it never runs under the other hermesd's programs
	if ! runs_hermesd "$cfg" || [ -n "$BASE_DIR" ]; then
		if [ "$(cg_prog_count "$CG/app")" != 0 ]; then
			bench_error "$cfg" "$run" setup "BPF programs still attached to $CG/app after hermesd stopped: $(runs_hermesd "$cfg" &&
				echo "the previous hermesd's programs would be on this one's path" || echo "not a direct path")"
			return 1
		fi
	fi
	if ! cfg_up "$cfg"; then
		bench_error "$cfg" "$run" setup "$HERMESD_FAIL"
		cfg_down
		return 1
	fi
	say "run $run/$RUNS $cfg$SIDE_TAG: ${CFG_DESC[$cfg]}"
	record_limits "$cfg"
	[ -n "${CFG_TLS[$cfg]:-}" ] && want_load tls && m_tls "$cfg" "$run"
	# memory first, before any load has grown the proxies' pools
	if ! want_load idle1000; then
		:
	elif has_load "$cfg" l4 || has_load "$cfg" pp; then
		m_idle "$cfg" "$run" l4
	elif has_load "$cfg" http; then
		m_idle "$cfg" "$run" http
	fi
	case $cfg in
	tun-h2-1hop | tun-h2-2hop)
		want_load idle10000 && { [ $QUICK = 0 ] || [ -n "${BENCH_LOADS:-}" ]; } && m_idle "$cfg" "$run" l4 10000
		;;
	esac
	if has_load "$cfg" l4 || has_load "$cfg" pp; then
		pin_pids "$RTT_CPU" "${CFG_PIDS[@]}"
		cross_round "$run" && has_load "$cfg" l4 && want_load sockperf && sockperf_cfg "$cfg" && m_sockperf "$cfg" "$run"
		want_load rtt1 && m_pingpong "$cfg" "$run" 1 64 pinned
		want_load rtt100 && m_pingpong "$cfg" "$run" 100 64 pinned
		want_load rtt4k && m_pingpong "$cfg" "$run" 1 4096 pinned
		pin_pids "0-$((NCPU - 1))" "${CFG_PIDS[@]}"
		cross_round "$run" && want_load rtt1free && m_pingpong "$cfg" "$run" 1 64 free
		want_load flows1000 && m_flows "$cfg" "$run"
		if has_load "$cfg" l4; then
			want_load bulk1 && m_bulk "$cfg" "$run" 1
			cross_round "$run" && want_load bulk8 && m_bulk "$cfg" "$run" 8
			want_load connrate && m_connrate "$cfg" "$run"
		fi
	fi
	if has_load "$cfg" http && want_load wrk; then
		for n in $HTTP_CONNS; do m_wrk "$cfg" "$run" "$n"; done
	fi
	has_load "$cfg" cache && want_load cachehit && m_cachehit "$cfg" "$run"
	if has_load "$cfg" udp; then
		pin_pids "$RTT_CPU" "${CFG_PIDS[@]}"
		want_load udprtt && m_udprtt "$cfg" "$run"
		pin_pids "0-$((NCPU - 1))" "${CFG_PIDS[@]}"
		if want_load udpbulk; then
			m_udpbulk "$cfg" "$run" 500
			m_udpbulk "$cfg" "$run" 1000
		fi
		udpsearch_round "$run" && m_udpsearch "$cfg" "$run"
	fi
	if has_load "$cfg" h2 && want_load h2load; then
		for n in $H2_CONNS; do m_h2load "$cfg" "$run" "$n"; done
	fi
	# the round's samples are kept only when the configuration was in force: for UDP, the
	# relay on A, or the tunnel's far end on C, carried datagrams to the servers
	case $cfg in hermes-udp* | tun-udp-*)
		if ! pid_alive "$HERMESD_PID"; then
			bench_error "$cfg" "$run" check "hermesd died during the round: its samples are dropped: $(tail -n 1 "$HERMESD_LOG")"
			HERMESD_PID=
			cfg_down
			return 1
		fi
		if [ "${cfg#hermes-udp}" != "$cfg" ]; then
			# the relay's, or the kernel path's (counted in BPF, read by hermesd once a second)
			for _ in 1 2 3 4 5 6; do
				accepted=$(stat_value hermes_udp_datagrams_total 'direction="app_to_upstream"')
				[ "${accepted:-0}" -ge 1 ] || [ "$cfg" != hermes-udp-kpath ] && break
				sleep 0.25
			done
		else
			accepted=$(ns_stat "$NS_S" hermes_tunnel_udp_datagrams_total 'direction="to_target"')
		fi
		if [ -n "$ROUND_BUF" ] && [ "${accepted:-0}" -lt 1 ]; then
			bench_error "$cfg" "$run" check "$([ "${cfg#hermes-udp}" != "$cfg" ] && echo "A's hermesd relayed" || echo "C's hermesd sent") no UDP datagram to the servers: the UDP was not steered, samples dropped"
			cfg_down
			return 1
		fi
		emit "{\"type\":\"check\",\"config\":\"$cfg\"$SIDE_JSON,\"run\":$run,\"udp_datagrams_to_servers\":${accepted:-0}}"
		;;
	hermes-* | tun-*)
		if ! pid_alive "$HERMESD_PID"; then
			bench_error "$cfg" "$run" check "hermesd died during the round: its samples are dropped: $(tail -n 1 "$HERMESD_LOG")"
			HERMESD_PID=
			cfg_down
			return 1
		fi
		accepted=$(stat_value hermes_connections_accepted_total)
		if [ "${accepted:-0}" -lt "$ACCEPTED_MIN" ]; then
			bench_error "$cfg" "$run" check "hermesd accepted ${accepted:-no} connections: traffic was not steered, samples dropped"
			cfg_down
			return 1
		fi
		emit "{\"type\":\"check\",\"config\":\"$cfg\"$SIDE_JSON,\"run\":$run,\"hermesd_accepted\":$accepted}"
		;;
	esac
	printf '%s' "$ROUND_BUF" >>"$RAW"
	ROUND_BUF=
	# c=10000 last, after the check (a hermesd out of descriptors cannot answer its admin
	# port either) and after every other load (a proxy still closing 10000 connections
	# would skew them). Its samples are kept when every proxy process survived it.
	if big_round "$run" && { has_load "$cfg" http || has_load "$cfg" h2; }; then
		has_load "$cfg" http && m_wrk "$cfg" "$run" $BIG_CONNS
		has_load "$cfg" h2 && m_h2load "$cfg" "$run" $BIG_CONNS
		for p in "${CFG_PIDS[@]}"; do
			pid_alive "$p" && continue
			bench_error "$cfg" "$run" "c=$BIG_CONNS" "proxy process $p died during the c=$BIG_CONNS loads: their samples are dropped"
			ROUND_BUF=
			break
		done
		printf '%s' "$ROUND_BUF" >>"$RAW"
	fi
	cfg_down
	emit "{\"type\":\"timing\",\"config\":\"$cfg\"$SIDE_JSON,\"run\":$run,\"secs\":$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')}"
}

# ---------------------------------------------------------------- main

[ "$(id -u)" = 0 ] || {
	echo "bench: needs root (network namespaces, a cgroup, BPF): sudo make bench" >&2
	exit 1
}
BENCHBIN=$BUILD/bench
for t in "$BENCHBIN/pingpong" "$BENCHBIN/connrate" "$BENCHBIN/udpping"; do
	[ -x "$t" ] || die "$t is missing: make bench builds it"
done
require_build
require_cmd sockperf iperf3 ss getconf taskset wrk h2load "$PY" /usr/sbin/nginx
if ! [[ $RTT_CPU =~ ^[0-9]+$ ]] || [ "$RTT_CPU" -ge "$NCPU" ]; then
	die "BENCH_RTT_CPU=$RTT_CPU is not a CPU of this machine"
fi

# On exit, keep hermesd's log beside the results (cleanup removes $TMP); squid's shared
# memory goes with it.
# shellcheck disable=SC2317 # called from the EXIT trap
bench_exit() {
	local rc=$?
	[ -n "$HERMESD_LOG_NEW" ] && [ -f "$HERMESD_LOG_NEW" ] && cp "$HERMESD_LOG_NEW" "$LOGS_NEW/hermesd.log" 2>/dev/null
	[ -f "$TMP/hermesd-base.log" ] && cp "$TMP/hermesd-base.log" "$LOGS_NEW/base/hermesd.log" 2>/dev/null
	cfg_down >/dev/null 2>&1
	# cleanup unpins with HERMESCTL_BIN: the new one (the base's pin roots are in _PINS_MADE)
	[ -n "$HERMESD_LOG_NEW" ] && use_side new
	if [ -n "$SQUID_PID" ]; then
		pid_alive "$SQUID_PID" && stop_pid "$SQUID_PID" TERM 10
		rm -f /dev/shm/"$SQUID_SVC"-*
	fi
	rm -rf "$NGINX_CACHE_DIR"
	(exit "$rc")
	cleanup
}
trap bench_exit EXIT

mkdir -p "$OUT" || die "cannot create $OUT"
rm -rf "$LOGS" "$RAW" "$OUT/results.json" "$OUT/results.md" "$OUT"/*.png "$OUT/plots"
mkdir -p "$LOGS"
printf '%s\n' "$WRK_LUA" >"$LOGS/wrk.lua"

topo_up
topo_add_relay
# Every host's ephemeral range is 1024-65535: at c=10000 a proxy's 10000 upstream
# connections come on top of the client's, and sockets left in TIME_WAIT by the previous
# configuration (60 s) still hold ports towards the same server port; the default range
# (32768-60999) would leave little room. The listening ports are kept out of it: a client
# or upstream socket still holding one as its local port from an earlier configuration
# made nghttpx's bind() fail (EADDRINUSE) in 4 of 5 rounds of a full run. The accept
# queues may hold 65535 connections (every server here asks for that or more, hermesd for
# 4096), so that 10000 connects at once are queued rather than dropped. TIME_WAIT sockets
# may be reused for new outgoing connections (tcp_tw_reuse=1, as proxy operators set it):
# a full run leaves 60000+ of them on C within their 60 s (every configuration's c=10000
# loads), and without reuse each connect() to nginx searched the ephemeral range port by
# port: C's proxy (hermesd, HAProxy or nghttpx alike) then took seconds to open its
# upstream connections, and tun-h2-2hop's h2load at c=10000 completed nothing.
RESERVED_PORTS=3128,5201-5202,7001-7005,8080-8082,15000-15001,15008,15201-15202,17001-17005,18080-18081,28080,28082,38080,38443
for ns in "$NS_C" "$NS_S" "$NS_R"; do
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_reserved_ports="$RESERVED_PORTS" \
		net.ipv4.ip_local_port_range="1024 65535" net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535 \
		net.ipv4.tcp_tw_reuse=1 >/dev/null ||
		die "cannot set the port range, reserved ports, TIME_WAIT reuse and accept queue limits in $ns"
done
cp "$LOGS/wrk.lua" "$TMP/wrk.lua"
# Every round runs the same binaries even if build/ is rebuilt meanwhile.
if ! cp "$HERMESD_BIN" "$TMP/hermesd" || ! cp "$HERMESCTL_BIN" "$TMP/hermesctl"; then
	die "cannot copy the binaries to $TMP"
fi
HERMESD_LOG_NEW=$HERMESD_LOG
use_side new
BASE_META=
if [ -n "$BASE_DIR" ]; then
	mkdir -p "$TMP/base" "$LOGS/base"
	if ! cp "$BASE_DIR/hermesd" "$TMP/base/hermesd" || ! cp "$BASE_DIR/hermesctl" "$TMP/base/hermesctl"; then
		die "cannot copy the base binaries from $BASE_DIR to $TMP/base"
	fi
	BASE_META=",\"base_dir\":$(json_str "$BASE_DIR"),\
\"base_rev\":$(json_str "$(git -C "$BASE_DIR" describe --always --dirty 2>/dev/null || echo unknown)"),\
\"base_hermesd_sha256\":$(json_str "$(sha256sum "$TMP/base/hermesd" | cut -c1-16)")"
fi

emit "{\"type\":\"meta\",\"date\":$(json_str "$(date -u +%Y-%m-%dT%H:%M:%SZ)"),\
\"kernel\":$(json_str "$(uname -r)"),\"arch\":$(json_str "$(uname -m)"),\
\"cpu\":$(json_str "$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)"),\
\"cores\":$NCPU,\"mem_gib\":$(awk '/^MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo),\
\"os\":$(json_str "$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-?}")"),\
\"hermes_rev\":$(json_str "$(git -C "$HERMES_SRC" describe --always --dirty 2>/dev/null || echo unknown)"),\
\"hermesd_sha256\":$(json_str "$(sha256sum "$HERMESD_BIN" | cut -c1-16)"),\
\"sockperf\":$(json_str "$(sockperf --version 2>&1 | head -n 1)"),\"iperf3\":$(json_str "$(iperf3 --version 2>&1 | head -n 1)"),\
\"wrk\":$(json_str "$(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"),\"h2load\":$(json_str "$(h2load --version 2>&1 | head -n 1)"),\
\"haproxy\":$(json_str "$(/usr/sbin/haproxy -v 2>&1 | head -n 1 | cut -d' ' -f1-3)"),\
\"nginx\":$(json_str "$(/usr/sbin/nginx -v 2>&1 | head -n 1)"),\"squid\":$(json_str "$(/usr/sbin/squid -v 2>&1 | head -n 1)"),\
\"nghttpx\":$(json_str "$(nghttpx --version 2>&1 | head -n 1)"),\
\"runs\":$RUNS,\"quick\":$QUICK,\"rtt_secs\":$RTT_SECS,\"sockperf_secs\":$SOCKPERF_SECS,\
\"bulk_secs\":$BULK_SECS,\"conn_secs\":$CONN_SECS,\"http_secs\":$HTTP_SECS,\"h2_secs\":$H2_SECS,\"connrate_parallel\":$CONNRATE_PARALLEL,\
\"udp_secs\":$UDP_SECS,\"cache_secs\":$CACHE_SECS,\"cache_split\":$CACHE_SPLIT,\"cache_origin_delay_ms\":$CACHE_ORIGIN_DELAY_MS,\"cache_origin_max\":$CACHE_ORIGIN_MAX,\"udp_search_steps\":$UDP_SEARCH_STEPS,\"udp_search_runs\":$UDP_SEARCH_RUNS,\"socat\":$(json_str "$(socat -V 2>&1 | sed -n 's/^socat version \([^ ]*\).*/socat \1/p' | head -n 1)"),\
\"clk_tck\":$(getconf CLK_TCK),\"rtt_cpu\":$RTT_CPU,\"nofile\":$NOFILE,\"nofile_wanted\":$NOFILE_WANT,\
\"loads\":$(json_str "${BENCH_LOADS:-}"),\"rt\":$RT,\"extra\":$EXTRA,\"extra_runs\":$EXTRA_RUNS,\"c10k\":$C10K,\"big_conns\":$BIG_CONNS,\"big_runs\":$BIG_RUNS,\"big_secs\":$BIG_SECS,\"tls_suite\":\"$TLS_SUITE\",\"tls_group\":\"$TLS_GROUP\",\"loadavg_start\":$(json_str "$(cut -d' ' -f1-3 /proc/loadavg)"),\
\"other_netns_start\":$(other_netns)$BASE_META}"

start_servers
write_configs

# A first hermesd creates the pinned maps; the proxy rule stays in them across restarts.
a_hermesd_up || die "$HERMESD_FAIL"
policy_add $TGT_PROXY/32 proxy
stop_hermesd TERM 15 >/dev/null
if [ -n "$BASE_DIR" ]; then # the same for the base's own pin root, with its own hermesctl
	use_side base
	_PINS_MADE+=("$PINROOT")
	a_hermesd_up || die "the base hermesd ($BASE_DIR/hermesd): $HERMESD_FAIL"
	policy_add $TGT_PROXY/32 proxy
	stop_hermesd TERM 15 >/dev/null
	use_side new
fi

probe_configs
n_cfg=0 n_ab=0
for cfg in "${ALL_CONFIGS[@]}"; do
	[ "${CFG_OK[$cfg]:-0}" = 1 ] || continue
	n_cfg=$((n_cfg + 1))
	[ -n "$BASE_DIR" ] && runs_hermesd "$cfg" && n_ab=$((n_ab + 1))
done
say "$RUNS round(s) x $n_cfg configuration(s)${BASE_DIR:+, $n_ab of them twice (base hermesd from $BASE_DIR and new)}; raw results in $RAW"

start_s=$(date +%s)
for ((run = 1; run <= RUNS; run++)); do
	for cfg in "${ALL_CONFIGS[@]}"; do
		[ "${CFG_OK[$cfg]:-0}" = 1 ] || continue
		if [ -n "$BASE_DIR" ] && runs_hermesd "$cfg"; then
			# both hermesd one after the other, the order alternating between rounds so
			# that neither always inherits the other's TIME_WAIT sockets and warm caches
			if ((run % 2)); then sides="base new"; else sides="new base"; fi
			for side in $sides; do
				use_side "$side"
				measure_config "$cfg" "$run"
			done
			use_side new
		else
			measure_config "$cfg" "$run"
		fi
	done
	say "round $run done after $(($(date +%s) - start_s)) s"
done
say "measured in $(($(date +%s) - start_s)) s"
# Other work on the machine (a test run in its own namespaces, say) skews the figures:
# record the load and the foreign namespaces so that the report can say so.
emit "{\"type\":\"end\",\"secs\":$(($(date +%s) - start_s)),\"loadavg_end\":$(json_str "$(cut -d' ' -f1-3 /proc/loadavg)"),\
\"other_netns_max\":$OTHER_NETNS_MAX}"

"$PY" "$HERMES_SRC/tools/bench/report.py" "$RAW" "$OUT" || die "report.py failed"
say "results: $OUT/results.md, $OUT/results.json, plots $OUT/*.png"
echo
cat "$OUT/results.md"
exit 0
