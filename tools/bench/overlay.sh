#!/bin/bash
# shellcheck disable=SC2016 # single-quoted sh -c scripts expand in the inner shell
# tools/bench/overlay.sh: the `make bench-overlay` driver (as root): issue 19's targets on
# an emulated overlay of 16 hosts configured from etcd (tests/lib/overlay.sh builds it:
# network namespaces on one bridge, a hermesd on each taking its whole configuration from
# its document PREFIX/nodes/NAME, three of them also running the etcd cluster).
#
#   clients c1..c8 (c1..c3: the etcd members) -> edge relays r1..r4 (a pair per four
#   clients, primary and alternate) -> core relays k1 k2 -> servers s1 s2 (echo servers)
#
# Apps in the clients' app cgroups reach the servers in tunnels across three h2c hops.
# What it measures:
#   1. propagation: OV_CHANGES (50) route changes, one every OV_INTERVAL_MS (1000), each
#      every node's new document written in ONE etcd transaction (by default `hermesctl
#      overlay apply` of the whole overlay file; OVERLAY_APPLY=etcdctl: etcdctl txn,
#      gateway: curl to etcd's JSON gateway). Per change and node: the
#      time from the start of the write (the writer's process started, as an operator
#      would time `overlay apply`) to the node's log line "etcd: reloaded ... revision R"
#      (the new configuration in force); per change the last node's time; p50 and p99
#      over the changes. Also from the write's acknowledgement (the writer returned).
#      Targets: last node p50 <= 100 ms, p99 <= 500 ms.
#   2. flows: OV_FLOWS (1000) concurrent flows held from before the first change to after
#      the last, each sending 1 KiB every OV_FLOW_INTERVAL s (1.0, jittered) and checking
#      the echo byte for byte, closed at the end (tests/bin/ovflows.py hold), plus new
#      flows on every client meanwhile (ovflows.py churn, one every 0.25 s per client),
#      which take the route of their moment. Target: zero failed or corrupted.
#   3. idle: after the traffic, OV_IDLE_S (20) seconds with nothing to do; per hermesd its
#      RSS and the CPU it used (utime + stime), and that of its etcd watch thread (the
#      thread waiting in poll(): curl's; the event loop waits in epoll or io_uring); then,
#      for comparison, the same for a hermesd without etcd reading c1's document from a
#      file.
#   4. failures (OV_FAILURES=1, the default; 0 skips them), after the measured phases
#      (tools/bench/overlay_fail.sh): the leading etcd member killed while changes go
#      on, then restarted and rejoined; a relay host killed while traffic runs (its flows
#      reset, the others byte-exact, its clients' new flows through the pair's other
#      relay); every etcd member killed (the overlay keeps serving). Each judged in the
#      report (pass/fail lines).
# Writes OV_RESULTS (tools/bench/results/overlay/WRITER, WRITER the OVERLAY_APPLY in use): results.md, results.json (by
# overlay_report.py), changes.tsv (per change: generation, revision, write start and end,
# unix ms), applied.tsv (per node and revision: the time of its log line), idle.tsv, flows.txt,
# the failure phase's fail_changes.tsv, fail_applied.tsv, failures.tsv, fail_flows.txt;
# hermesd and etcd logs in $BUILD/bench-overlay/logs. Exit 1 when a flow failed, a change
# did not reach every node, a failure was not survived as it should or a setup step
# failed; the report says whether the latency targets were met (a busy machine can miss
# them: the load is in the report).
# Environment: OV_CLIENTS (8), OV_EDGE (4, even), OV_CORE (2), OV_SERVERS (2), OV_CHANGES,
# OV_INTERVAL_MS, OV_FLOWS, OV_FLOW_INTERVAL, OV_IDLE_S, OVERLAY_APPLY, OV_RESULTS; the failure
# phase's OV_FAILURES (1), OV_FAIL_CHANGES (12), OV_FAIL_FLOWS (400), OV_FAIL_WINDOW_S (12: new
# flows after the relay's death), OV_FAIL_ETCD_ALL (1: also every etcd member killed).
# tools/bench/overlay.sh --help prints this.
case ${1:-} in
-h | --help)
	sed -n '3,/^case /p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
	exit 0
	;;
esac

# shellcheck source-path=SCRIPTDIR source=../../tests/lib/common.sh
. "$(dirname "$0")/../../tests/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../../tests/lib/overlay.sh
. "$(dirname "$0")/../../tests/lib/overlay.sh"
# shellcheck source-path=SCRIPTDIR source=overlay_fail.sh
. "$(dirname "$0")/overlay_fail.sh"

OV_CLIENTS=${OV_CLIENTS:-8}
OV_EDGE=${OV_EDGE:-4}
OV_CORE=${OV_CORE:-2}
OV_SERVERS=${OV_SERVERS:-2}
OV_CHANGES=${OV_CHANGES:-50}
OV_INTERVAL_MS=${OV_INTERVAL_MS:-1000}
OV_FLOWS=${OV_FLOWS:-1000}
OV_FLOW_INTERVAL=${OV_FLOW_INTERVAL:-1.0}
OV_IDLE_S=${OV_IDLE_S:-20}
OV_FAILURES=${OV_FAILURES:-1}
# the issue's target is timed from `overlay apply`: hermesctl writes unless told otherwise
OVERLAY_APPLY=${OVERLAY_APPLY:-hermesctl}
OV_RESULTS=${OV_RESULTS:-$HERMES_SRC/tools/bench/results/overlay/$OVERLAY_APPLY}
OV_OUT=$BUILD/bench-overlay
HERMESD_LOG_LEVEL=${HERMESD_LOG_LEVEL:-info}
{ [ $((OV_EDGE % 2)) = 0 ] && [ "$OV_EDGE" -ge 2 ]; } || die "OV_EDGE must be even (relays come in pairs): $OV_EDGE"
[ "$OV_CLIENTS" -ge 3 ] || die "OV_CLIENTS must be at least 3 (they run the etcd members): $OV_CLIENTS"

require_cmd etcd etcdctl ping
trap 'ov_bench_cleanup' EXIT
ov_bench_cleanup() {
	local rc=$?
	# the logs outlive the run
	[ -n "$TMP" ] && mkdir -p "$OV_OUT/logs" && cp "$TMP"/*.log "$OV_OUT/logs/" 2>/dev/null
	(exit "$rc")
	cleanup
}

topo_up
names=()
for ((i = 1; i <= OV_CLIENTS; i++)); do names+=("c$i"); done
for ((i = 1; i <= OV_EDGE; i++)); do names+=("r$i"); done
for ((i = 1; i <= OV_CORE; i++)); do names+=("k$i"); done
for ((i = 1; i <= OV_SERVERS; i++)); do names+=("s$i"); done
ov_up "${names[@]}"
OV_ECHO_DEADLINE=$((OV_CHANGES * OV_INTERVAL_MS / 1000 + 300 + (OV_FAILURES == 1 ? 180 : 0)))
ov_echo_up
ov_etcd_up c1 c2 c3
mkdir -p "$OV_RESULTS" "$OV_OUT"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

G=0
ov_gen $G "$TMP/gen$G"
ov_apply "$TMP/gen$G"
ov_hermesd_up "${OV_HOSTS[@]}"
ov_wait_applied "$OV_REV"
say "${#OV_HOSTS[@]} hosts at revision $OV_REV"
T=$(ov_targets)

# ---- the flows: OV_FLOWS held, split over the clients, and new ones on each
mapfile -t CLIENTS < <(ov_hosts_of c)
per=$(((OV_FLOWS + ${#CLIENTS[@]} - 1) / ${#CLIENTS[@]}))
left=$OV_FLOWS
HOLD=() CHURN=()
DEADLINE=$((OV_CHANGES * OV_INTERVAL_MS / 1000 + 240))
for c in "${CLIENTS[@]}"; do
	n=$((left < per ? left : per))
	left=$((left - n))
	[ "$n" -gt 0 ] || continue
	ov_bg "hold-$c" "$c" app "$PY" "$TESTBIN/ovflows.py" hold "$T" "$n" --chunk 1024 \
		--interval "$OV_FLOW_INTERVAL" --stop-file "$TMP/flows.stop" --deadline "$DEADLINE" --timeout 30
	HOLD+=("$c:$BG_PID")
done
for c in "${HOLD[@]}"; do
	wait_until 60 grep -q '^established' "$TMP/hold-${c%%:*}.log" ||
		die "the flows of ${c%%:*} did not start: $(tail -n 2 "$TMP/hold-${c%%:*}.log")"
done
say "$OV_FLOWS flows established"
for c in "${CLIENTS[@]}"; do
	ov_bg "churn-$c" "$c" app "$PY" "$TESTBIN/ovflows.py" churn "$T" --parallel 1 --interval 0.25 \
		--stop-file "$TMP/flows.stop" --deadline "$DEADLINE" --timeout 30
	CHURN+=("$c:$BG_PID")
done

# ---- the changes (their documents generated ahead: the write is what is timed)
for ((g = 1; g <= OV_CHANGES; g++)); do ov_gen "$g" "$TMP/gen$g"; done
printf 'generation\trevision\twrite_start_ms\twrite_end_ms\n' >"$OV_RESULTS/changes.tsv"
for ((g = 1; g <= OV_CHANGES; g++)); do
	t0=${EPOCHREALTIME/[.,]/}
	ov_apply "$TMP/gen$g"
	t1=${EPOCHREALTIME/[.,]/}
	printf '%s\t%s\t%s.%s\t%s.%s\n' "$g" "$OV_REV" "${t0:0:-3}" "${t0: -3}" "${t1:0:-3}" "${t1: -3}" >>"$OV_RESULTS/changes.tsv"
	# the next one on the interval's beat from this one's start
	rest=$((OV_INTERVAL_MS * 1000 - (${EPOCHREALTIME/[.,]/} - t0)))
	[ "$rest" -gt 0 ] && sleep "$((rest / 1000000)).$(printf '%06d' $((rest % 1000000)))"
done
LAST=$OV_REV
ov_wait_applied "$LAST"
say "$OV_CHANGES changes written; every node at revision $LAST"
touch "$TMP/flows.stop"
rc=0
: >"$OV_RESULTS/flows.txt"
for c in "${HOLD[@]}" "${CHURN[@]}"; do
	wait "${c#*:}" || rc=1
done
for c in "${CLIENTS[@]}"; do
	for k in hold churn; do
		[ -f "$TMP/$k-$c.log" ] && printf '%s %s %s\n' "$c" "$k" "$(tail -n 1 "$TMP/$k-$c.log")" >>"$OV_RESULTS/flows.txt"
	done
done
cat "$OV_RESULTS/flows.txt"
LOAD_CHANGES=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- per node and change: the apply time, from its log
printf 'node\trevision\tapplied\n' >"$OV_RESULTS/applied.tsv"
for h in "${OV_HOSTS[@]}"; do
	grep -F " info hermesd: etcd: reloaded $OV_PREFIX/nodes/$h revision " "${OV_LOG[$h]}" |
		awk -v h="$h" '{ for (i = 1; i < NF; i++) if ($i == "revision") { printf "%s\t%s\t%s\n", h, $(i + 1), $1; break } }'
done >>"$OV_RESULTS/applied.tsv"

# ---- idle: RSS and CPU of each hermesd and of its watch thread
say "idle for $OV_IDLE_S s"
sleep 2
# cpu_snap: per hermesd and thread: node, tid, the syscall it waits in, its time on a CPU
# (ns, schedstat)
cpu_snap() {
	local h pid t
	for h in "${OV_HOSTS[@]}"; do
		pid=${OV_PID[$h]}
		for t in /proc/"$pid"/task/*; do
			printf '%s\t%s\t%s\t%s\n' "$h" "${t##*/}" "$(cut -d' ' -f1 "$t/syscall" 2>/dev/null)" \
				"$(cut -d' ' -f1 "$t/schedstat" 2>/dev/null)"
		done
	done
}
cpu_snap >"$TMP/cpu0.tsv"
sleep "$OV_IDLE_S"
cpu_snap >"$TMP/cpu1.tsv"
cp "$TMP/cpu1.tsv" "$OV_OUT/threads.tsv"
{
	printf 'node\tpid\trss_kb\tthreads\tcpu_ns\twatch_cpu_ns\twatch_threads\tseconds\n'
	for h in "${OV_HOSTS[@]}"; do
		pid=${OV_PID[$h]}
		# the watch thread: in poll (7) or ppoll (271), curl's wait; the loop waits in
		# epoll or io_uring
		awk -F'\t' -v h="$h" -v pid="$pid" -v rss="$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")" \
			-v secs="$OV_IDLE_S" '
			FNR == NR { if ($1 == h) t0[$2] = $4; next }
			$1 == h { n++; d = $4 - t0[$2]; all += d; if ($3 == 7 || $3 == 271) { w += d; nw++ } }
			END { printf "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", h, pid, rss, n, all, w, nw, secs }' \
			"$TMP/cpu0.tsv" "$TMP/cpu1.tsv"
	done
} >"$OV_RESULTS/idle.tsv"
for h in "${OV_HOSTS[@]}"; do
	printf '%s\t%s\n' "$h" "$(ov_stat "$h" hermes_etcd_watch_reconnects_total)"
done >"$TMP/reconnects.tsv"
# ---- the same hermesd without etcd: c1's document from a file, beside the others, for
# what the etcd section itself costs at idle
mkdir -p "$CG/hermesd-ctl" "$CG/app-ctl"
_PINS_MADE+=("$PINROOT-ctl")
_LOGS_MADE+=("$TMP/hermesd-ctl.log")
launch_hermesd "$(ov_ns c1)" "$CG/hermesd-ctl" "$CG/app-ctl" "$PINROOT-ctl" "$TMP/hermesd-ctl.log" info \
	-c "$TMP/state-c1.yaml" --admin 127.0.0.1:15100 --listen 127.0.0.1:15101 --listen6 off
CTL_PID=$LAUNCH_PID
wait_until 15 sh -c '[ "$(nsenter --net="/run/netns/$0" curl -s -o /dev/null -w "%{http_code}" --max-time 1 http://127.0.0.1:15100/ready)" = 200 ]' \
	"$(ov_ns c1)" || { tail -n 5 "$TMP/hermesd-ctl.log"; die "the hermesd without etcd did not start"; }
sleep 2
c0=$(awk '{ s += $1 } END { print s }' /proc/"$CTL_PID"/task/*/schedstat)
sleep "$OV_IDLE_S"
c1=$(awk '{ s += $1 } END { print s }' /proc/"$CTL_PID"/task/*/schedstat)
printf 'ctl\t%s\t%s\t%s\t%s\t0\t0\t%s\n' "$CTL_PID" "$(awk '/^VmRSS:/ { print $2 }' "/proc/$CTL_PID/status")" \
	"$(find /proc/"$CTL_PID"/task -mindepth 1 -maxdepth 1 | wc -l)" $((c1 - c0)) "$OV_IDLE_S" >>"$OV_RESULTS/idle.tsv"
stop_pid "$CTL_PID" TERM 10

# ---- failures (after what is measured above: they change what the hosts run)
rm -f "$OV_RESULTS"/fail_*.tsv "$OV_RESULTS/fail_flows.txt" "$OV_RESULTS/failures.tsv"
if [ "$OV_FAILURES" = 1 ]; then
	G=$OV_CHANGES
	LOAD_FAIL_START=$(cut -d' ' -f1-3 /proc/loadavg)
	ov_fail_phase
	LOAD_FAIL_END=$(cut -d' ' -f1-3 /proc/loadavg)
fi
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

{
	printf 'date\t%s\n' "$(date -u +%FT%TZ)"
	printf 'hosts\t%s\n' "${#OV_HOSTS[@]}"
	printf 'topology\t%s clients, %s edge relays, %s core relays, %s servers; etcd on c1 c2 c3\n' \
		"$OV_CLIENTS" "$OV_EDGE" "$OV_CORE" "$OV_SERVERS"
	printf 'writer\t%s\n' "$OVERLAY_APPLY"
	printf 'changes\t%s\n' "$OV_CHANGES"
	printf 'interval_ms\t%s\n' "$OV_INTERVAL_MS"
	printf 'flows\t%s\n' "$OV_FLOWS"
	printf 'flow_interval_s\t%s\n' "$OV_FLOW_INTERVAL"
	printf 'cores\t%s\n' "$(nproc)"
	printf 'load_start\t%s\n' "$LOAD_START"
	printf 'load_changes\t%s\n' "$LOAD_CHANGES"
	printf 'load_end\t%s\n' "$LOAD_END"
	printf 'kernel\t%s\n' "$(uname -r)"
	printf 'etcd\t%s\n' "$(etcd --version | head -n 1)"
	printf 'build\t%s\n' "$BUILD"
	printf 'commit\t%s\n' "$(git -C "$HERMES_SRC" rev-parse --short HEAD 2>/dev/null)"
	printf 'failures\t%s\n' "$OV_FAILURES"
	[ "$OV_FAILURES" = 1 ] && printf 'load_fail_start\t%s\nload_fail_end\t%s\n' "$LOAD_FAIL_START" "$LOAD_FAIL_END"
	printf 'watch_reconnects\t%s\n' "$(awk '{ s += $2 } END { print s + 0 }' "$TMP/reconnects.tsv")"
} >"$OV_RESULTS/conditions.tsv"
"$PY" "$HERMES_SRC/tools/bench/overlay_report.py" "$OV_RESULTS" || rc=1
cat "$OV_RESULTS/results.md"
[ $rc = 0 ] || die "the overlay benchmark failed (see above and $OV_RESULTS/flows.txt)"
pass "overlay benchmark: $OV_RESULTS/results.md"
