#!/bin/bash
# shellcheck disable=SC2016 # single-quoted sh -c scripts expand in the inner shell
# tools/bench/bench.sh: the `make bench` driver (as root). Measures, in one run and on the
# test topology of tests/lib/common.sh (client and server hosts as network namespaces,
# the application in a child cgroup), a direct connection against every Hermes mode:
#   direct               no hermesd: nothing attached, the app talks to the server itself
#   hermes-uring         policy proxy, hermesd --relay uring  --sk-msg off
#   hermes-uring-skmsg   policy proxy, hermesd --relay uring  --sk-msg on
#   hermes-splice        policy proxy, hermesd --relay splice --sk-msg off
#   hermes-uring-noacct  policy proxy, hermesd --relay uring  --sk-msg off --flow-table off
#   hermes-uring-tc      policy proxy, hermesd --relay uring  --sk-msg off --tc-iface eth0
# A mode this hermesd does not offer (no option in --help, or --check refuses it) is
# recorded as not available; a mode whose hermesd fails to start is recorded as failed.
#
# Every round runs every configuration once (interleaved, so slow drifts of the machine
# hit all of them alike), restarting hermesd between configurations; RUNS rounds. Per
# configuration and round:
#   rtt1, rtt100   64 B TCP ping-pong, 1 and 100 concurrent flows (build/bench/pingpong)
#   sockperf       64 B ping-pong, 1 flow, with sockperf (cross-check of the above)
#                  These three run with client, server and hermesd pinned to one CPU
#                  (BENCH_RTT_CPU, default 0): on a VM whose idle vCPUs halt, a wake-up
#                  across vCPUs costs ~50 us and the scheduler's placement, not the data
#                  path, would decide the result.
#   rtt1free       rtt1 again with nobody pinned (what an application sees by default)
#   bulk1, bulk8   iperf3 throughput with 1 and 8 parallel flows; CPU seconds per GB of
#                  the whole machine (/proc/stat) during bulk1
#   connrate       connect + 1 byte each way + close, 8 in parallel (build/bench/connrate)
# Every sample goes to $BUILD/bench/raw.jsonl (one JSON object a line); report.py turns
# them into $BUILD/bench/results.json and results.md. Tool outputs: $BUILD/bench/logs/.
#
# Environment: RUNS (default 5; 3 with BENCH_QUICK=1), BENCH_QUICK=1 (shorter runs),
# BENCH_CONFIGS="direct hermes-uring ..." (a subset; direct is always measured).
# Everything it creates (namespaces, cgroup, pin root, processes) is removed on exit,
# also on failure or Ctrl-C (common.sh's cleanup).

HERMES_TEST_ID=${HERMES_TEST_ID:-bench$$}
# shellcheck source-path=SCRIPTDIR source=../../tests/lib/common.sh
. "$(dirname "$0")/../../tests/lib/common.sh"

OUT=$BUILD/bench
RAW=$OUT/raw.jsonl
LOGS=$OUT/logs
SERVER=10.77.1.2
PORT_PINGPONG=7001
PORT_CONNRATE=7002
PORT_SOCKPERF=7003
PORT_IPERF=5201
PORT_PINGPONG_FREE=7004 # an unpinned pingpong server
RTT_CPU=${BENCH_RTT_CPU:-0}
SERVER_MAX_SECS=7200 # every server stops by itself after this long
CONNRATE_PARALLEL=8

case ${BENCH_QUICK:-} in '' | 0 | no | false) QUICK=0 ;; *) QUICK=1 ;; esac
if [ $QUICK = 1 ]; then
	RUNS=${RUNS:-3} RTT_SECS=1 SOCKPERF_SECS=2 BULK_SECS=2 CONN_SECS=1.5
else
	RUNS=${RUNS:-5} RTT_SECS=2.5 SOCKPERF_SECS=2 BULK_SECS=5 CONN_SECS=3
fi
[[ $RUNS =~ ^[1-9][0-9]?$ ]] || {
	echo "bench: RUNS must be 1..99, got '$RUNS'" >&2
	exit 2
}

# hermes-uring keeps the flow table (the default) without TC counters; -noacct and -tc
# bracket the cost of accounting: flow table and TC counters both off, both on.
# (splice with sk_msg is not a mode: hermesd refuses the combination.)
ALL_CONFIGS=(direct hermes-uring hermes-uring-skmsg hermes-splice hermes-uring-noacct hermes-uring-tc)
declare -A CFG_ARGS=(
	[direct]=''
	[hermes-uring]='--relay uring --sk-msg off'
	[hermes-uring-skmsg]='--relay uring --sk-msg on'
	[hermes-splice]='--relay splice --sk-msg off'
	[hermes-uring-noacct]='--relay uring --sk-msg off --flow-table off'
	[hermes-uring-tc]='--relay uring --sk-msg off --tc-iface eth0'
)
declare -A CFG_OK=()     # 1 when the configuration is measured
declare -A CFG_REASON=() # why it is not

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

# sample CONFIG RUN METRIC VALUE: one measured value (dropped when VALUE is not a number)
ROUND_BUF=
sample() {
	[[ $4 =~ ^[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]] || {
		bench_error "$1" "$2" "$3" "no value (got '$4')"
		return 1
	}
	ROUND_BUF+="{\"type\":\"sample\",\"config\":\"$1\",\"run\":$2,\"metric\":\"$3\",\"value\":$4}"$'\n'
}

# bench_error CONFIG RUN WHAT REASON: a measurement or set-up that failed
bench_error() {
	say "ERROR $1 run $2 $3: $4"
	emit "{\"type\":\"error\",\"config\":\"$1\",\"run\":$2,\"what\":$(json_str "$3"),\"reason\":$(json_str "$4")}"
}

# json_num FIELD JSONLINE: a numeric field of a flat JSON line (pingpong, connrate)
json_num() {
	printf '%s' "$2" | sed -n "s/.*\"$1\":\([-0-9.eE+]*\).*/\1/p" | head -n 1
}

# ---------------------------------------------------------------- servers and hermesd

# wait_listen NS PORT: until a socket listens on PORT in NS (bounded 10 s); no connection
# is made (iperf3 would take one as a client)
wait_listen() {
	wait_until 10 sh -c 'nsenter --net="/run/netns/$0" ss -Hltn "sport = :$1" | grep -q .' "$1" "$2"
}

start_servers() {
	bg pingpong-server s taskset -c "$RTT_CPU" "$BENCHBIN/pingpong" server -a $SERVER -p $PORT_PINGPONG -T $SERVER_MAX_SECS
	bg sockperf-server s taskset -c "$RTT_CPU" timeout $SERVER_MAX_SECS sockperf server --tcp -i $SERVER -p $PORT_SOCKPERF
	bg pingpong-free-server s "$BENCHBIN/pingpong" server -a $SERVER -p $PORT_PINGPONG_FREE -T $SERVER_MAX_SECS
	bg connrate-server s "$BENCHBIN/connrate" server -a $SERVER -p $PORT_CONNRATE -T $SERVER_MAX_SECS
	bg iperf3-server s timeout $SERVER_MAX_SECS iperf3 -s -B $SERVER -p $PORT_IPERF
	local p
	for p in $PORT_PINGPONG $PORT_SOCKPERF $PORT_PINGPONG_FREE $PORT_CONNRATE $PORT_IPERF; do
		wait_listen "$NS_S" "$p" || {
			tail -n 5 "$TMP"/*-server.log
			die "no server listening on $SERVER:$p in $NS_S"
		}
	done
	say "servers up in $NS_S: pingpong :$PORT_PINGPONG and sockperf :$PORT_SOCKPERF on CPU $RTT_CPU," \
		"pingpong :$PORT_PINGPONG_FREE, connrate :$PORT_CONNRATE, iperf3 :$PORT_IPERF unpinned"
}

# pin_hermesd CPULIST: set the CPU affinity of every thread of the running hermesd
pin_hermesd() {
	[ -n "$HERMESD_PID" ] || return 0
	taskset -a -p -c "$1" "$HERMESD_PID" >/dev/null || say "warning: cannot set hermesd's CPU affinity to $1"
}

# hermesd_up ARGS...: like common.sh's start_hermesd (same cgroups, pin root, log and
# PID bookkeeping, so stop_hermesd and cleanup apply), but a hermesd that exits or is not
# ready in 15 s is a failed configuration, not the end of the whole run: returns 1 and
# sets HERMESD_FAIL.
HERMESD_FAIL=
hermesd_up() {
	local i
	HERMESD_FAIL=
	echo "=== hermesd start $(date +%T.%3N): $*" >>"$HERMESD_LOG"
	nsenter --net="/run/netns/$NS_C" sh -c 'echo $$ > "$0" && exec "$@"' "$CG/hermesd/cgroup.procs" \
		"$HERMESD_BIN" --cgroup "$CG/app" --pin-root "$PINROOT" --log-level warn "$@" \
		>>"$HERMESD_LOG" 2>&1 </dev/null &
	HERMESD_PID=$!
	PIDS+=("$HERMESD_PID")
	for ((i = 0; i < 150; i++)); do
		if ! pid_alive "$HERMESD_PID"; then
			wait "$HERMESD_PID" 2>/dev/null
			HERMESD_RC=$?
			HERMESD_FAIL="hermesd $* exited during start-up with status $HERMESD_RC: $(tail -n 1 "$HERMESD_LOG")"
			HERMESD_PID=
			return 1
		fi
		[ "$(admin_code /ready)" = 200 ] && return 0
		sleep 0.1
	done
	HERMESD_FAIL="hermesd $* not ready after 15 s"
	stop_hermesd KILL 2 >/dev/null
	return 1
}

# ensure_policy: the proxy rule for the server host (kept in the pinned map across restarts)
ensure_policy() {
	hermesctl policy list 2>/dev/null | grep -q '10\.77\.1\.0/24.*proxy' || policy_add 10.77.1.0/24 proxy >/dev/null
}

# probe_configs: which configurations this hermesd offers
probe_configs() {
	local help cfg out rc want
	help=$("$HERMESD_BIN" --help 2>&1)
	for cfg in "${ALL_CONFIGS[@]}"; do
		want=1
		if [ -n "${BENCH_CONFIGS:-}" ] && [ "$cfg" != direct ]; then
			case " $BENCH_CONFIGS " in *" $cfg "*) ;; *) want=0 ;; esac
		fi
		if [ $want = 0 ]; then
			CFG_REASON[$cfg]="not selected (BENCH_CONFIGS)"
		elif [ "$cfg" = direct ]; then
			CFG_OK[$cfg]=1
		elif ! grep -q -- '--relay' <<<"$help" || ! grep -q -- '--sk-msg' <<<"$help"; then
			if [ "$cfg" = hermes-uring ]; then
				# Before --relay/--sk-msg existed hermesd had exactly this mode.
				CFG_ARGS[$cfg]=''
				CFG_OK[$cfg]=1
			else
				CFG_REASON[$cfg]="hermesd --help lists no --relay/--sk-msg option"
			fi
		else
			# shellcheck disable=SC2086 # the arguments are words
			out=$("$HERMESD_BIN" --check --cgroup "$CG/app" --pin-root "$PINROOT" ${CFG_ARGS[$cfg]} 2>&1)
			rc=$?
			if [ $rc = 0 ]; then
				CFG_OK[$cfg]=1
			else
				CFG_REASON[$cfg]="hermesd refuses ${CFG_ARGS[$cfg]} (exit $rc): $(printf '%s' "$out" | tail -n 1)"
			fi
		fi
		emit "{\"type\":\"config\",\"config\":\"$cfg\",\"available\":$([ "${CFG_OK[$cfg]:-0}" = 1 ] && echo true || echo false),\"args\":$(json_str "${CFG_ARGS[$cfg]}"),\"reason\":$(json_str "${CFG_REASON[$cfg]:-}")}"
		if [ "${CFG_OK[$cfg]:-0}" = 1 ]; then
			say "config $cfg: measured${CFG_ARGS[$cfg]:+ (hermesd ${CFG_ARGS[$cfg]})}"
		else
			say "config $cfg: not available: ${CFG_REASON[$cfg]}"
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
other_netns() { ip netns list 2>/dev/null | grep -cv -e "^$NS_C" -e "^$NS_S"; }

# busy_jiffies: user+nice+system+irq+softirq of the whole machine
busy_jiffies() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }

m_pingpong() { # CONFIG RUN CONNS pinned|free
	local cfg=$1 run=$2 n=$3 how=$4 log="$LOGS/$1-r$2-pingpong$3-$4.log" out port=$PORT_PINGPONG name=$3 pin=()
	if [ "$how" = free ]; then
		port=$PORT_PINGPONG_FREE name=${n}free
	else
		pin=(taskset -c "$RTT_CPU")
	fi
	if ! out=$(app_run "$log" 30 "${pin[@]}" "$BENCHBIN/pingpong" client -a $SERVER -p "$port" -c "$n" -m 64 \
		-t "$RTT_SECS" -w 0.3) || [ -z "$out" ]; then
		bench_error "$cfg" "$run" "pingpong $n flow(s) $how" "$(tail -n 1 "$log")"
		return 1
	fi
	sample "$cfg" "$run" "rtt${name}_p50_us" "$(json_num p50_us "$out")"
	sample "$cfg" "$run" "rtt${name}_p99_us" "$(json_num p99_us "$out")"
	[ "$how" = free ] || sample "$cfg" "$run" "rr${name}_rate" "$(json_num rate "$out")"
	say "  pingpong $n flow(s) $how: p50 $(json_num p50_us "$out") us, p99 $(json_num p99_us "$out") us," \
		"$(json_num rate "$out") exchanges/s"
}

m_sockperf() { # CONFIG RUN
	local cfg=$1 run=$2 log="$LOGS/$1-r$2-sockperf.log" out p50 p99
	out=$(app_run "$log" 30 taskset -c "$RTT_CPU" sockperf ping-pong --tcp -i $SERVER -p $PORT_SOCKPERF -m 64 -t "$SOCKPERF_SECS" --full-rtt)
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
	local cfg=$1 run=$2 n=$3 log="$LOGS/$1-r$2-iperf3-P$3.json" j0 j1 res bps bytes cpu
	j0=$(busy_jiffies)
	in_app timeout -k 2 $((BULK_SECS + 20)) iperf3 -c $SERVER -p $PORT_IPERF -t "$BULK_SECS" -P "$n" -J \
		--connect-timeout 3000 >"$log" 2>&1
	j1=$(busy_jiffies)
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
	fi
	say "  iperf3 $n flow(s): $(awk -v b="$bps" 'BEGIN { printf "%.2f", b / 1e9 }') Gb/s${cpu:+, $cpu CPU s/GB}"
}

m_connrate() { # CONFIG RUN
	local cfg=$1 run=$2 log="$LOGS/$1-r$2-connrate.log" out errs
	if ! out=$(app_run "$log" 30 "$BENCHBIN/connrate" client -a $SERVER -p $PORT_CONNRATE \
		-P $CONNRATE_PARALLEL -t "$CONN_SECS") || [ -z "$out" ]; then
		bench_error "$cfg" "$run" "connrate" "$(tail -n 1 "$log")"
		return 1
	fi
	sample "$cfg" "$run" connrate_per_s "$(json_num rate "$out")"
	errs=$(json_num errors "$out")
	[ "${errs:-0}" = 0 ] || bench_error "$cfg" "$run" "connrate" "$errs failed connection attempts (still counted: the completed ones): $out"
	say "  connrate: $(json_num rate "$out") connections/s (p50 $(json_num p50_us "$out") us, errors ${errs:-?})"
}

# measure_config CONFIG RUN: one round of every measurement for CONFIG; the samples are
# kept only when the configuration was really in force (nothing attached for direct,
# hermesd alive and proxying for the others)
OTHER_NETNS_MAX=0
measure_config() {
	local cfg=$1 run=$2 accepted other
	ROUND_BUF=
	other=$(other_netns)
	[ "$other" -le "$OTHER_NETNS_MAX" ] || OTHER_NETNS_MAX=$other
	stop_hermesd TERM 15 >/dev/null
	if [ "$cfg" = direct ]; then
		if [ "$(cg_prog_count "$CG")" != 0 ]; then
			bench_error "$cfg" "$run" setup "BPF programs still attached to $CG after hermesd stopped: not a direct path"
			return 1
		fi
	else
		# shellcheck disable=SC2086 # the arguments are words
		if ! hermesd_up ${CFG_ARGS[$cfg]}; then
			bench_error "$cfg" "$run" setup "$HERMESD_FAIL"
			return 1
		fi
		ensure_policy
	fi
	say "run $run/$RUNS $cfg${CFG_ARGS[$cfg]:+ (hermesd ${CFG_ARGS[$cfg]})}"
	pin_hermesd "$RTT_CPU"
	m_sockperf "$cfg" "$run"
	m_pingpong "$cfg" "$run" 1 pinned
	m_pingpong "$cfg" "$run" 100 pinned
	pin_hermesd "0-$(($(nproc) - 1))"
	m_pingpong "$cfg" "$run" 1 free
	m_bulk "$cfg" "$run" 1
	m_bulk "$cfg" "$run" 8
	m_connrate "$cfg" "$run"
	if [ "$cfg" != direct ]; then
		if ! pid_alive "$HERMESD_PID"; then
			bench_error "$cfg" "$run" check "hermesd died during the round: its samples are dropped: $(tail -n 1 "$HERMESD_LOG")"
			HERMESD_PID=
			return 1
		fi
		accepted=$(stat_value hermes_connections_accepted_total)
		if [ "${accepted:-0}" -lt 100 ]; then
			bench_error "$cfg" "$run" check "hermesd accepted ${accepted:-no} connections: traffic was not proxied, samples dropped"
			return 1
		fi
		emit "{\"type\":\"check\",\"config\":\"$cfg\",\"run\":$run,\"hermesd_accepted\":$accepted}"
	fi
	printf '%s' "$ROUND_BUF" >>"$RAW"
}

# ---------------------------------------------------------------- main

[ "$(id -u)" = 0 ] || {
	echo "bench: needs root (network namespaces, a cgroup, BPF): sudo make bench" >&2
	exit 1
}
BENCHBIN=$BUILD/bench
for t in "$BENCHBIN/pingpong" "$BENCHBIN/connrate"; do
	[ -x "$t" ] || die "$t is missing: make bench builds it"
done
require_build
require_cmd sockperf iperf3 ss getconf taskset "$PY"
if ! [[ $RTT_CPU =~ ^[0-9]+$ ]] || [ "$RTT_CPU" -ge "$(nproc)" ]; then
	die "BENCH_RTT_CPU=$RTT_CPU is not a CPU of this machine"
fi

# On exit, keep hermesd's log beside the results (cleanup removes $TMP).
# shellcheck disable=SC2317 # called from the EXIT trap
bench_exit() {
	local rc=$?
	[ -n "$HERMESD_LOG" ] && [ -f "$HERMESD_LOG" ] && cp "$HERMESD_LOG" "$LOGS/hermesd.log" 2>/dev/null
	(exit "$rc")
	cleanup
}
trap bench_exit EXIT

mkdir -p "$OUT" || die "cannot create $OUT"
rm -rf "$LOGS" "$RAW" "$OUT/results.json" "$OUT/results.md"
mkdir -p "$LOGS"

topo_up
# Every round runs the same binaries even if build/ is rebuilt meanwhile.
if ! cp "$HERMESD_BIN" "$TMP/hermesd" || ! cp "$HERMESCTL_BIN" "$TMP/hermesctl"; then
	die "cannot copy the binaries to $TMP"
fi
HERMESD_BIN=$TMP/hermesd
HERMESCTL_BIN=$TMP/hermesctl

emit "{\"type\":\"meta\",\"date\":$(json_str "$(date -u +%Y-%m-%dT%H:%M:%SZ)"),\
\"kernel\":$(json_str "$(uname -r)"),\"arch\":$(json_str "$(uname -m)"),\
\"cpu\":$(json_str "$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)"),\
\"cores\":$(nproc),\"mem_gib\":$(awk '/^MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo),\
\"os\":$(json_str "$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-?}")"),\
\"hermes_rev\":$(json_str "$(git -C "$HERMES_SRC" describe --always --dirty 2>/dev/null || echo unknown)"),\
\"hermesd_sha256\":$(json_str "$(sha256sum "$HERMESD_BIN" | cut -c1-16)"),\
\"sockperf\":$(json_str "$(sockperf --version 2>&1 | head -n 1)"),\"iperf3\":$(json_str "$(iperf3 --version 2>&1 | head -n 1)"),\
\"runs\":$RUNS,\"quick\":$QUICK,\"rtt_secs\":$RTT_SECS,\"sockperf_secs\":$SOCKPERF_SECS,\
\"bulk_secs\":$BULK_SECS,\"conn_secs\":$CONN_SECS,\"connrate_parallel\":$CONNRATE_PARALLEL,\
\"clk_tck\":$(getconf CLK_TCK),\"rtt_cpu\":$RTT_CPU,\"loadavg_start\":$(json_str "$(cut -d' ' -f1-3 /proc/loadavg)"),\
\"other_netns_start\":$(other_netns)}"

start_servers

# A first hermesd creates the pinned maps; the proxy rule stays in them across restarts.
hermesd_up || die "$HERMESD_FAIL"
policy_add 10.77.1.0/24 proxy
stop_hermesd TERM 15 >/dev/null

probe_configs
n_cfg=0
for cfg in "${ALL_CONFIGS[@]}"; do [ "${CFG_OK[$cfg]:-0}" = 1 ] && n_cfg=$((n_cfg + 1)); done
per_round=$(awk -v r="$RTT_SECS" -v s="$SOCKPERF_SECS" -v b="$BULK_SECS" -v c="$CONN_SECS" \
	'BEGIN { printf "%d", 3 * (r + 0.3) + s + 0.5 + 2 * (b + 0.5) + c + 3.5 }')
say "$RUNS round(s) x $n_cfg configuration(s), about $((RUNS * n_cfg * per_round / 60 + 1)) min; raw results in $RAW"

start_s=$(date +%s)
for ((run = 1; run <= RUNS; run++)); do
	for cfg in "${ALL_CONFIGS[@]}"; do
		[ "${CFG_OK[$cfg]:-0}" = 1 ] || continue
		measure_config "$cfg" "$run"
	done
done
stop_hermesd TERM 15 >/dev/null
say "measured in $(($(date +%s) - start_s)) s"
# Other work on the machine (a test run in its own namespaces, say) skews the figures:
# record the load and the foreign namespaces so that the report can say so.
emit "{\"type\":\"end\",\"secs\":$(($(date +%s) - start_s)),\"loadavg_end\":$(json_str "$(cut -d' ' -f1-3 /proc/loadavg)"),\
\"other_netns_max\":$OTHER_NETNS_MAX}"

"$PY" "$HERMES_SRC/tools/bench/report.py" "$RAW" "$OUT" || die "report.py failed"
say "results: $OUT/results.md, $OUT/results.json"
echo
cat "$OUT/results.md"
exit 0
