#!/bin/bash
# tests/run.sh: Hermes test runner.
#   tests/run.sh        unit tests ($BUILD/tests/test_*), then tests/bpf/*.sh, then tests/e2e/*.sh
#   tests/run.sh unit   unit tests only
#   tests/run.sh PATTERN...  only tests whose name contains one of the patterns (e.g. e2e/proxy)
# Each test's output goes to $BUILD/test-logs/NAME.log. Exit codes of a test: 0 pass,
# 77 skip (reason = last line of its log), anything else fail. Each result line carries
# the test's wall time ("PASS e2e/deny (2.1 s)"); before the summary come the slowest
# runs ("slowest 10:", one "  12.3 s  NAME" line each, when more than one test ran), and
# the last line printed is "N passed, N failed, N skipped"; the runner exits non-zero if
# any test failed. The fuzz targets run FUZZ_JOBS at a time (default: one per core).
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

# run_one NAME LOG CMD...
run_one() {
	local name=$1 log=$2 id start end rc
	shift 2
	mkdir -p "$(dirname "$log")"
	# Short unique id for the test's namespaces, cgroup and pin root.
	id="t$$-$((passed + failed + skipped))"
	start=${EPOCHREALTIME/[.,]/}
	HERMES_TEST_ID=$id timeout --kill-after=20 "$TEST_TIMEOUT" "$@" >"$log" 2>&1 </dev/null
	rc=$?
	end=${EPOCHREALTIME/[.,]/}
	report_one "$name" "$log" "$id" "$rc" $(((end - start + 50000) / 100000))
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
		ids+=("t$$-p$((passed + failed + skipped))-$i")
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

# run_pass PREFIX: every selected test against $BUILD, names prefixed with PREFIX
run_pass() {
	local prefix=$1 t name dir
	# Unit tests: compiled binaries, no root needed.
	if [ -d "$BUILD/tests" ]; then
		for t in "$BUILD"/tests/test_*; do
			[ -f "$t" ] && [ -x "$t" ] || continue
			case $t in *.o | *.d) continue ;; esac
			name=unit/$(basename "$t")
			selected "$name" || continue
			run_one "$prefix$name" "$LOGDIR/$name.log" "$t"
		done
	fi
	# fuzz smoke runs (their builds have ASan+UBSan already: once), one per target
	# tests/fuzz/fuzz_NAME.c: the HTTP/1.1 parser, the config loader, the h1<->h2 translation,
	# the tunnel listener's request parsing, CONNECT-UDP. Each is one process fuzzing for a
	# fixed time on one core: they run side by side, one per core (FUZZ_JOBS), each as long
	# as alone, in a fraction of the wall time.
	if [ -z "$prefix" ] && [ -x tests/fuzz/run.sh ]; then
		local -a fuzz=()
		for t in tests/fuzz/fuzz_*.c; do
			[ -f "$t" ] || continue
			name=$(basename "$t" .c)
			name=fuzz/${name#fuzz_}
			selected "$name" || continue
			fuzz+=("$name" "$LOGDIR/$name.log" "tests/fuzz/run.sh ${name#fuzz/}" --)
		done
		[ ${#fuzz[@]} -eq 0 ] || run_side_by_side "${FUZZ_JOBS:-$(nproc)}" "${fuzz[@]}"
	fi
	[ "$mode" = all ] || return 0
	for dir in bpf e2e; do
		for t in tests/$dir/*.sh; do
			[ -f "$t" ] || continue
			name=$dir/$(basename "$t" .sh)
			selected "$name" || continue
			run_one "$prefix$name" "$LOGDIR/$name.log" bash "$t"
		done
	done
}

run_pass ""

# The relay-engine pass: the flow tests again with every flow spliced in the kernel
# (sk_skb), since the splice engine must keep the same byte-exact, half-close and reset
# semantics as io_uring. common.sh checks that flows really were spliced.
SPLICE_TESTS="e2e/proxy_http e2e/proxy_ipv6 e2e/bulk_1gib e2e/half_close e2e/concurrent_1000
	e2e/upstream_reset e2e/endpoint_failover e2e/sigterm e2e/origdst e2e/relay_close e2e/iperf3_bulk
	e2e/crash_reset"
run_splice_pass() {
	local prefix=$1 name
	[ "$mode" = all ] || return 0
	for name in $SPLICE_TESTS; do
		[ -f "tests/$name.sh" ] || continue
		selected "$name" || selected "${prefix}splice:$name" || continue
		HERMESD_EXTRA_ARGS="--relay splice" HERMES_EXPECT_ENGINE=splice \
			run_one "${prefix}splice:$name" "$LOGDIR/splice/$name.log" bash "tests/$name.sh"
	done
}
run_splice_pass ""

# SAN_BUILD (make test sets it to build/san): the same tests again against the
# ASan+UBSan build; common.sh fails a test whose hermesd log holds a sanitizer report.
if [ -n "${SAN_BUILD:-}" ]; then
	case $SAN_BUILD in /*) ;; *) SAN_BUILD=$ROOT/$SAN_BUILD ;; esac
	BUILD=$SAN_BUILD
	LOGDIR=$BUILD/test-logs
	mkdir -p "$LOGDIR"
	export BUILD
	run_pass "san:"
	run_splice_pass "san:"
fi

if [ ${#durations[@]} -gt 1 ]; then
	echo "slowest ${SLOWEST:-10}:"
	printf '%s\n' "${durations[@]}" | sort -k1,1nr | head -n "${SLOWEST:-10}" |
		awk '{ printf "  %5.1f s  %s\n", $1 / 10, $2 }'
fi
if [ ${#failed_names[@]} -gt 0 ]; then
	echo "failed: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
