#!/bin/bash
# tests/run.sh: Hermes test runner.
#   tests/run.sh        unit tests ($BUILD/tests/test_*), the fuzz targets, tests/bpf/*.sh,
#                       tests/e2e/*.sh and the splice runs; again against $SAN_BUILD if set
#   tests/run.sh unit   unit tests (and the fuzz targets) only
#   tests/run.sh PATTERN...  only tests whose name contains one of the patterns (e.g. e2e/proxy)
# Runs go TEST_JOBS at a time (default 3; 1: one by one in the queue's order), the
# normal and SAN builds' mixed; a test file with the line "# test: serial (why)" runs
# alone, one with "# test: lock NAME (why)" never beside another holding NAME; the fuzz
# targets run FUZZ_JOBS at a time (default: one per core) with nothing beside them.
# Each test's output goes to $BUILD/test-logs/NAME.log. Exit codes of a test: 0 pass,
# 77 skip (reason = last line of its log), anything else fail; a test is killed after
# TEST_TIMEOUT s (default 300), and anything it left under its id fails it (leak_check).
# Each result line is printed as its run ends, with its wall time ("PASS e2e/deny
# (2.1 s)"); before the summary come the slowest runs ("slowest 10:", one "  12.3 s  NAME"
# line each, when more than one test ran; SLOWEST=N), the sum of the runs' times against
# the wall time ("time: ..."), the failed runs' names ("failed: ..."), and the last line
# printed is "N passed, N failed, N skipped"; the runner exits non-zero if any test failed.
# $BUILD/test-logs/times keeps each run's last wall time, so the longest start first.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
export BUILD
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
LOGDIR=$BUILD/test-logs
mkdir -p "$LOGDIR"

mode=all
patterns=()
if [ $# -gt 0 ]; then
	if [ "$1" = unit ] && [ $# -eq 1 ]; then
		mode=unit
	else
		patterns=("$@")
	fi
fi

passed=0 failed=0 skipped=0
failed_names=()
durations=() # "TENTHS NAME" per run, for the slowest list

selected() {
	local name=$1 p
	[ ${#patterns[@]} -eq 0 ] && return 0
	for p in "${patterns[@]}"; do
		case $name in *"$p"*) return 0 ;; esac
	done
	return 1
}

# Anything a test left behind under its id is a failure: remove it and say so.
leak_check() {
	local id=$1 log=$2 leaks=() cgroot ns
	# (hc-, hs-, hr-: common.sh's hosts; any other name ending in the id: a test's own
	# hosts, such as overlay.sh's)
	for ns in "hc-$id" "hs-$id" "hr-$id" $(ip netns list 2>/dev/null | awk '{print $1}' | grep -- "-$id\$" | grep -v -- "^h[csr]-"); do
		if ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$ns"; then
			leaks+=("netns $ns")
			for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
			ip netns del "$ns" 2>/dev/null
		fi
	done
	for pin in /sys/fs/bpf/hermes-test-"$id" /sys/fs/bpf/hermes-test-"$id"-*; do
		[ -e "$pin" ] || continue
		leaks+=("pin root $pin")
		[ -x "$BUILD/hermesctl" ] && "$BUILD/hermesctl" --pin-root "$pin" disable >/dev/null 2>&1
		rm -rf "$pin"
	done
	cgroot=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
	if [ -n "$cgroot" ] && [ -d "$cgroot/hermes-test-$id" ]; then
		leaks+=("cgroup $cgroot/hermes-test-$id")
		local d
		for d in "$cgroot/hermes-test-$id"/*/ "$cgroot/hermes-test-$id/"; do
			[ -f "$d/cgroup.procs" ] || continue
			for pid in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
		done
		sleep 0.5
		for d in "$cgroot/hermes-test-$id"/*/; do rmdir "$d" 2>/dev/null; done
		rmdir "$cgroot/hermes-test-$id" 2>/dev/null
	fi
	if [ ${#leaks[@]} -gt 0 ]; then
		echo "LEAK: the test left behind: ${leaks[*]} (removed by the runner)" >>"$log"
		return 1
	fi
	return 0
}

# report_one NAME LOG ID RC TENTHS: the leak check and the result line of a finished run
report_one() {
	local name=$1 log=$2 id=$3 rc=$4 tenths=$5 reason took
	took="$((tenths / 10)).$((tenths % 10)) s"
	durations+=("$tenths $name")
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "TIMEOUT: killed after ${TEST_TIMEOUT}s (rc $rc)" >>"$log"
	fi
	if ! leak_check "$id" "$log" && [ "$rc" -eq 0 ]; then
		rc=1
	fi
	case $rc in
	0)
		passed=$((passed + 1))
		echo "PASS $name ($took)"
		;;
	77)
		skipped=$((skipped + 1))
		reason=$(grep -v '^[[:space:]]*$' "$log" | grep '^SKIP: ' | tail -n 1 | sed 's/^SKIP: //')
		[ -n "$reason" ] || reason=$(grep -v '^[[:space:]]*$' "$log" | tail -n 1)
		echo "SKIP $name ($took): $reason"
		;;
	*)
		failed=$((failed + 1))
		failed_names+=("$name")
		echo "FAIL $name ($took, see $log)"
		tail -n 30 "$log" | sed 's/^/    | /'
		;;
	esac
}

# run_side_by_side JOBS NAME LOG CMD [-- NAME LOG CMD]...: runs of single commands (no
# spaces in CMD's words) that share nothing (no netns, cgroup or port: the fuzz targets,
# each a process on one core for a fixed time), JOBS at a time; results in the given order.
run_side_by_side() {
	local jobs=$1 i=0 n name log start rc end
	local -a names=() logs=() ids=()
	shift
	while [ $# -ge 3 ]; do
		names+=("$1") logs+=("$2")
		ids+=("t$$-$seq")
		seq=$((seq + 1))
		mkdir -p "$(dirname "$2")"
		while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
		(
			start=${EPOCHREALTIME/[.,]/}
			# shellcheck disable=SC2086 # CMD is a list of words
			HERMES_TEST_ID=${ids[i]} timeout --kill-after=20 "$TEST_TIMEOUT" $3 >"$2" 2>&1 </dev/null
			rc=$?
			end=${EPOCHREALTIME/[.,]/}
			echo "$rc $(((end - start + 50000) / 100000))" >"$2.rc"
		) &
		i=$((i + 1))
		shift 3
		[ "${1:-}" = -- ] && shift
	done
	wait
	for ((n = 0; n < i; n++)); do
		read -r rc end <"${logs[n]}.rc" 2>/dev/null || { rc=1 end=0; }
		rm -f "${logs[n]}.rc"
		report_one "${names[n]}" "${logs[n]}" "${ids[n]}" "$rc" "$end"
	done
}

# ---------------------------------------------------------------- the queue
# Every run is queued first (both builds, both engines), then run: TEST_JOBS at a time
# (default 3), each result line printed as its run ends. Most e2e tests wait (on daemons,
# timeouts, namespaces) far more than they compute: on 2 cores two at a time took 0.55
# of the runs' summed time, three 0.39-0.40 (2026-12-07). A test file holding the line "# test: serial" (optionally
# followed by why) runs alone, nothing else beside it: it measures time or throughput
# with a tight bound. One holding "# test: lock NAME" runs beside others, but never
# beside another run holding lock NAME (its own run against the other build included):
# it uses something global, such as dpkg or make in the source tree.
# (docs/development.md, "Tests")
Q_NAME=() Q_LOG=() Q_BUILD=() Q_ENGINE=() Q_CMD=() Q_MODE=()
seq=0 # the next run's number, for its id (ids must never repeat within a run)

# enqueue NAME LOG BUILD ENGINE MODE CMD: MODE as run_mode prints it; CMD a list of
# words without spaces
enqueue() {
	Q_NAME+=("$1") Q_LOG+=("$2") Q_BUILD+=("$3") Q_ENGINE+=("$4") Q_MODE+=("$5") Q_CMD+=("$6")
}

# run_mode FILE: 1 when the test file asks to run alone, lock:NAME for "# test: lock
# NAME", else 0
run_mode() {
	local lock
	if grep -qE '^# test: serial' "$1" 2>/dev/null; then
		echo 1
		return
	fi
	lock=$(sed -n 's/^# test: lock \([A-Za-z0-9_-]*\).*/\1/p' "$1" 2>/dev/null | head -n 1)
	if [ -n "$lock" ]; then echo "lock:$lock"; else echo 0; fi
}

# launch I: start queued run I in the background; LAUNCHED=its pid. The run writes
# "RC TENTHS" to LOG.rc when it ends (the parent reads it when it reaps the run).
LAUNCHED=
declare -A RUN_OF=() # pid -> queue index
declare -A HELD=()   # lock:NAME -> 1 while a run holding it runs
ID_OF=()             # queue index -> test id
launch() {
	local i=$1 id log=${Q_LOG[$1]}
	id="t$$-$seq"
	seq=$((seq + 1))
	ID_OF[i]=$id
	mkdir -p "$(dirname "$log")"
	rm -f "$log.rc"
	local -a env=("BUILD=${Q_BUILD[i]}" "HERMES_TEST_ID=$id")
	if [ "${Q_ENGINE[i]}" = splice ]; then
		env+=("HERMESD_EXTRA_ARGS=--relay splice" HERMES_EXPECT_ENGINE=splice)
	fi
	(
		start=${EPOCHREALTIME/[.,]/}
		# shellcheck disable=SC2086 # CMD is a list of words
		env "${env[@]}" timeout --kill-after=20 "$TEST_TIMEOUT" ${Q_CMD[i]} >"$log" 2>&1 </dev/null
		rc=$?
		end=${EPOCHREALTIME/[.,]/}
		echo "$rc $(((end - start + 50000) / 100000))" >"$log.rc"
	) &
	LAUNCHED=$!
	RUN_OF[$LAUNCHED]=$i
}

# reap: wait for any launched run to end and report it
reap() {
	local pid='' i rc tenths log
	wait -n -p pid "${!RUN_OF[@]}"
	[ -n "$pid" ] || return 1
	i=${RUN_OF[$pid]}
	unset "RUN_OF[$pid]"
	case ${Q_MODE[i]} in lock:*) unset "HELD[${Q_MODE[i]}]" ;; esac
	log=${Q_LOG[i]}
	read -r rc tenths <"$log.rc" 2>/dev/null || { rc=1 tenths=0; }
	rm -f "$log.rc"
	BUILD=${Q_BUILD[i]} report_one "${Q_NAME[i]}" "$log" "${ID_OF[i]}" "$rc" "$tenths"
}

# Interrupted (Ctrl-C, or the runner itself killed): TERM every running test's timeout,
# which passes it on to the test, whose EXIT trap cleans up; then their leak checks.
stop_running() {
	local pid c
	trap - INT TERM HUP
	echo "interrupted: stopping ${#RUN_OF[@]} running test(s)"
	for pid in "${!RUN_OF[@]}"; do
		for c in $(ps -o pid= --ppid "$pid" 2>/dev/null); do kill -TERM "$c" 2>/dev/null; done
	done
	while [ ${#RUN_OF[@]} -gt 0 ]; do reap || break; done
	echo "interrupted: the runs not started yet did not run"
	echo "$passed passed, $failed failed, $skipped skipped"
	exit 130
}
trap stop_running INT TERM HUP

# the last run's wall time of each test (TIMES file: "TENTHS NAME" lines), to start the
# longest runs first so that no long one is left running alone at the end. A build that
# has run no test yet (a clean clone, CI) takes them from tests/lib/times, a full run's
# times checked in (refresh it from $BUILD/test-logs/times now and then; a test missing
# from both goes after the others, in the queue's order).
TIMES=$LOGDIR/times
declare -A LAST=()
for f in tests/lib/times "$TIMES"; do
	[ -r "$f" ] || continue
	while read -r t n; do
		case $t in '#'* | '') continue ;; esac
		LAST[$n]=$t
	done <"$f"
done

# run_queue: the serial runs one by one, then the rest TEST_JOBS at a time, longest
# first (by the last run's times; the queue's order for runs without one, and always
# with TEST_JOBS=1)
run_queue() {
	local jobs=${TEST_JOBS:-3} i
	local -a order=()
	[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1
	for i in "${!Q_NAME[@]}"; do
		[ "${Q_MODE[i]}" = 1 ] || [ "$jobs" = 1 ] || continue
		launch "$i"
		reap
	done
	[ "$jobs" = 1 ] && return 0
	mapfile -t order < <(for i in "${!Q_NAME[@]}"; do
		[ "${Q_MODE[i]}" = 1 ] && continue
		printf '%s %s\n' "${LAST[${Q_NAME[i]}]:-0}" "$i"
	done | sort -s -k1,1nr | awk '{ print $2 }')
	# the first waiting run whose lock (if any) is free; none: wait for a run to end
	local n k
	while [ ${#order[@]} -gt 0 ]; do
		while [ ${#RUN_OF[@]} -ge "$jobs" ]; do reap; done
		n=-1
		for k in "${!order[@]}"; do
			i=${order[k]}
			case ${Q_MODE[i]} in lock:*) [ -n "${HELD[${Q_MODE[i]}]:-}" ] && continue ;; esac
			n=$k
			break
		done
		if [ "$n" = -1 ]; then
			reap
			continue
		fi
		case ${Q_MODE[i]} in lock:*) HELD[${Q_MODE[i]}]=1 ;; esac
		launch "$i"
		unset "order[n]"
	done
	while [ ${#RUN_OF[@]} -gt 0 ]; do reap; done
}

# queue_pass PREFIX: every selected test against $BUILD, names prefixed with PREFIX
queue_pass() {
	local prefix=$1 t name dir
	# Unit tests: compiled binaries, no root needed.
	if [ -d "$BUILD/tests" ]; then
		for t in "$BUILD"/tests/test_*; do
			[ -f "$t" ] && [ -x "$t" ] || continue
			case $t in *.o | *.d) continue ;; esac
			name=unit/$(basename "$t")
			selected "$name" || continue
			enqueue "$prefix$name" "$LOGDIR/$name.log" "$BUILD" "" 0 "$t"
		done
	fi
	[ "$mode" = all ] || return 0
	for dir in bpf e2e; do
		for t in tests/$dir/*.sh; do
			[ -f "$t" ] || continue
			name=$dir/$(basename "$t" .sh)
			selected "$name" || continue
			enqueue "$prefix$name" "$LOGDIR/$name.log" "$BUILD" "" "$(run_mode "$t")" "bash $t"
		done
	done
	# The relay-engine pass: the flow tests again with every flow spliced in the kernel
	# (sk_skb), since the splice engine must keep the same byte-exact, half-close and
	# reset semantics as io_uring. common.sh checks that flows really were spliced.
	for name in $SPLICE_TESTS; do
		[ -f "tests/$name.sh" ] || continue
		selected "$name" || selected "${prefix}splice:$name" || continue
		enqueue "${prefix}splice:$name" "$LOGDIR/splice/$name.log" "$BUILD" splice \
			"$(run_mode "tests/$name.sh")" "bash tests/$name.sh"
	done
}
SPLICE_TESTS="e2e/proxy_http e2e/proxy_ipv6 e2e/bulk_1gib e2e/half_close e2e/concurrent_1000
	e2e/upstream_reset e2e/endpoint_failover e2e/sigterm e2e/origdst e2e/relay_close e2e/iperf3_bulk
	e2e/crash_reset"

# fuzz smoke runs (their builds have ASan+UBSan already: once), one per target
# tests/fuzz/fuzz_NAME.c: the HTTP/1.1 parser, the config loader, the h1<->h2 translation,
# the tunnel listener's request parsing, CONNECT-UDP, the HTTP cache (rules and store, its
# disk files), etcd's answers and documents, the etcd state file's first line, hermes-top's
# readers of the admin port. Each is one process fuzzing for a
# fixed time on one core: they run side by side, one per core (FUZZ_JOBS), each as long
# as alone, in a fraction of the wall time, and nothing else runs beside them (a fuzz
# target sharing its core would try fewer inputs in its fixed time).
run_fuzz() {
	local t name
	local -a fuzz=()
	[ -x tests/fuzz/run.sh ] || return 0
	for t in tests/fuzz/fuzz_*.c; do
		[ -f "$t" ] || continue
		name=$(basename "$t" .c)
		name=fuzz/${name#fuzz_}
		selected "$name" || continue
		fuzz+=("$name" "$LOGDIR/$name.log" "tests/fuzz/run.sh ${name#fuzz/}" --)
	done
	[ ${#fuzz[@]} -eq 0 ] || run_side_by_side "${FUZZ_JOBS:-$(nproc)}" "${fuzz[@]}"
}

t0=${EPOCHREALTIME/[.,]/}
queue_pass ""
# SAN_BUILD (make test sets it to build/san): the same tests again against the
# ASan+UBSan build; common.sh fails a test whose hermesd log holds a sanitizer report.
if [ -n "${SAN_BUILD:-}" ]; then
	case $SAN_BUILD in /*) ;; *) SAN_BUILD=$ROOT/$SAN_BUILD ;; esac
	MAIN_BUILD=$BUILD MAIN_LOGDIR=$LOGDIR
	BUILD=$SAN_BUILD
	LOGDIR=$BUILD/test-logs
	mkdir -p "$LOGDIR"
	queue_pass "san:"
	BUILD=$MAIN_BUILD LOGDIR=$MAIN_LOGDIR
fi
run_fuzz
run_queue
wall=$(((${EPOCHREALTIME/[.,]/} - t0 + 50000) / 100000))

if [ ${#durations[@]} -gt 0 ]; then
	# this run's times replace the last run's (the others are kept)
	{
		printf '%s\n' "${durations[@]}"
		if [ -r "$TIMES" ]; then cat "$TIMES"; fi
	} | awk '!seen[$2]++' >"$TIMES.new" && mv "$TIMES.new" "$TIMES"
fi
if [ ${#durations[@]} -gt 1 ]; then
	echo "slowest ${SLOWEST:-10}:"
	printf '%s\n' "${durations[@]}" | sort -k1,1nr | head -n "${SLOWEST:-10}" |
		awk '{ printf "  %5.1f s  %s\n", $1 / 10, $2 }'
	printf '%s\n' "${durations[@]}" | awk -v wall="$wall" -v jobs="${TEST_JOBS:-3}" \
		'{ s += $1 } END { printf "time: %.1f s of test runs in %.1f s (TEST_JOBS=%s)\n", s / 10, wall / 10, jobs }'
fi
if [ ${#failed_names[@]} -gt 0 ]; then
	echo "failed: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
