#!/bin/bash
# tools/bench/tunbulk.sh: where a bulk flow through the h2/mTLS tunnel spends its CPU,
# build against build. One iperf3 flow (app on A -> server on C) through a 1-hop tunnel
# (A's and C's hermesd, as the bench's tun-h2-1hop) or a 2-hop one (A -> R -> C, as
# tun-h2-2hop), each build in turn in every round (interleaved, the order alternating),
# and per flow: Gb/s, each hermesd's CPU s per GB (/proc/PID/schedstat), the machine's
# CPU s per GB (/proc/stat), and with perf stat on each hermesd its io_uring submissions,
# completions and io_uring_enter calls per MB. With TUNBULK_PROFILE=DIR also a
# `perf record` of each hermesd per build and round into DIR (TUNBULK_CALLGRAPH=dwarf for
# call graphs through the libraries, fp by default).
#
# Usage (root): tools/bench/tunbulk.sh [-r ROUNDS] [-t SECS] [-H 1|2] BUILD_DIR...
#   e.g. tools/bench/tunbulk.sh -r 6 build /tmp/base/build
# Prints one line per build and round, then medians (min-max) per build.
# Extra hermesd YAML for A (and R, C) via TUNBULK_YAML (appended to every config).
# Uses the test topology (tests/lib/common.sh): own netns, cgroup and pins, removed at exit.
set -u
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
ROUNDS=5 SECS=4 HOPS=1
while getopts "r:t:H:h" o; do
	case $o in
	r) ROUNDS=$OPTARG ;;
	t) SECS=$OPTARG ;;
	H) HOPS=$OPTARG ;;
	h) usage 0 ;;
	*) usage 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage 2
BUILDS=()
for b in "$@"; do BUILDS+=("$(cd "$b" && pwd)"); done
HERMES_TEST_ID=tb$$
export HERMES_TEST_ID
# shellcheck source=../../tests/lib/common.sh
. "$(dirname "$0")/../../tests/lib/common.sh"
require_cmd iperf3 perf
topo_up
[ "$HOPS" = 2 ] && topo_add_relay
"$HERMESCTL_BIN" certs init "$TMP/pki" --hosts a,r,c >/dev/null || die "certs init failed"
tls() { echo "tls: {cert: $TMP/pki/$1.crt, key: $TMP/pki/$1.key, ca: $TMP/pki/ca.crt}"; }
{
	tls c
	echo "${TUNBULK_YAML:-}"
} >"$TMP/c.yaml"
if [ "$HOPS" = 2 ]; then
	C_LISTEN=10.77.3.2:15008 FIRST="{address: 10.77.2.2:15008, name: r, protocol: h2}"
	{
		tls r
		printf 'routes:\n  - name: to-c\n    match: [10.77.1.3/32]\n    peers: [{address: 10.77.3.2:15008, name: c}]\n'
		echo "${TUNBULK_YAML:-}"
	} >"$TMP/r.yaml"
else
	C_LISTEN=10.77.1.2:15008 FIRST="{address: 10.77.1.2:15008, name: c, protocol: h2}"
fi
{
	tls a
	printf 'routes:\n  - name: b\n    match: [10.77.1.3/32]\n    peers: [%s]\npolicy:\n  - match: 10.77.1.3/32\n    action: tunnel\n' "$FIRST"
	echo "${TUNBULK_YAML:-}"
} >"$TMP/a.yaml"
bg iperf3srv s iperf3 -s -B 10.77.1.3 -p 5201
wait_tcp "$NS_S" 10.77.1.3 5201 || die "iperf3 server did not start"

cpu_ns() { awk '{ print $1 }' "/proc/$1/schedstat"; }
busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
OUT=$TMP/rows
: >"$OUT"
PIN0=$PINROOT
run_one() { # BUILD ROUND INDEX
	local b=$1 r=$2 pa pc pr= pids j0 j1 ca0 cc0 cr0 ca1 cc1 cr1 res bps bytes
	HERMESD_BIN=$b/hermesd HERMESCTL_BIN=$b/hermesctl
	# a pin root per build (their maps may differ), removed by cleanup
	PINROOT=$PIN0-b$3
	_PINS_MADE+=("$PINROOT")
	HERMESD_LOG_LEVEL=warn start_peer_hermesd "$NS_S" c -c "$TMP/c.yaml" --tunnel-listen "$C_LISTEN" >/dev/null
	pc=$PEER_PID
	if [ "$HOPS" = 2 ]; then
		HERMESD_LOG_LEVEL=warn start_peer_hermesd "$NS_R" r -c "$TMP/r.yaml" --tunnel-listen 10.77.2.2:15008 --admin 127.0.0.1:15000 >/dev/null
		pr=$PEER_PID
	fi
	HERMESD_LOG_LEVEL=warn start_hermesd --detach-on-exit -c "$TMP/a.yaml" >/dev/null
	pa=$HERMESD_PID
	# warm: the pooled connection and slow start
	in_app timeout 20 iperf3 -c 10.77.1.3 -p 5201 -t 1 >/dev/null 2>&1
	pids=$pa,$pc${pr:+,$pr}
	perf stat -x, -e syscalls:sys_enter_io_uring_enter,io_uring:io_uring_submit_req,io_uring:io_uring_complete,io_uring:io_uring_poll_arm \
		--per-thread -p "$pids" -o "$TMP/perf.$r" -- sleep $((SECS + 1)) &
	local perfpid=$!
	local recs=()
	if [ -n "${TUNBULK_PROFILE:-}" ]; then
		mkdir -p "$TUNBULK_PROFILE"
		for p in A:$pa C:$pc ${pr:+R:$pr}; do
			perf record --call-graph "${TUNBULK_CALLGRAPH:-fp}" -F 999 -p "${p#*:}" -o "$TUNBULK_PROFILE/$(basename "$(dirname "$b")")-r$r-${p%%:*}.data" -- sleep "$SECS" >/dev/null 2>&1 &
			recs+=($!)
		done
	fi
	sleep 0.3
	j0=$(busy) ca0=$(cpu_ns $pa) cc0=$(cpu_ns $pc) cr0=${pr:+$(cpu_ns $pr)}
	in_app timeout $((SECS + 20)) iperf3 -c 10.77.1.3 -p 5201 -t "$SECS" -J >"$TMP/ip.json" 2>&1
	j1=$(busy) ca1=$(cpu_ns $pa) cc1=$(cpu_ns $pc) cr1=${pr:+$(cpu_ns $pr)}
	wait $perfpid "${recs[@]}"
	res=$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); s=d["end"]["sum_received"]; print(s["bits_per_second"], s["bytes"])' "$TMP/ip.json" 2>/dev/null) ||
		{ say "round $r $b: iperf3 failed"; res="0 0"; }
	read -r bps bytes <<<"$res"
	# perf stat per thread: name-pid,count,... ; summed per process
	local per
	per=$(awk -F, -v a="$pa" -v c="$pc" -v rr="${pr:-x}" '
		NF > 3 { split($1, t, "-"); pid = t[length(t)]; ev = $4; v = $2 + 0
			who = (pid == a) ? "A" : (pid == c) ? "C" : (pid == rr) ? "R" : "";
			if (who != "") s[who, ev] += v }
		END { for (w in x) ; printf "%d %d %d %d %d %d %d %d %d %d %d %d",
			s["A","syscalls:sys_enter_io_uring_enter"], s["A","io_uring:io_uring_submit_req"], s["A","io_uring:io_uring_complete"], s["A","io_uring:io_uring_poll_arm"],
			s["C","syscalls:sys_enter_io_uring_enter"], s["C","io_uring:io_uring_submit_req"], s["C","io_uring:io_uring_complete"], s["C","io_uring:io_uring_poll_arm"],
			s["R","syscalls:sys_enter_io_uring_enter"], s["R","io_uring:io_uring_submit_req"], s["R","io_uring:io_uring_complete"], s["R","io_uring:io_uring_poll_arm"] }' "$TMP/perf.$r")
	# perf counted over SECS+1 s, the flow ran SECS of it after the warm-up: per MB of the
	# flow's bytes, scaled to the flow's share of the window is not attempted; the counts
	# are over the whole window, in which only the flow moved data
	local line
	line=$(awk -v b="$(basename "$(dirname "$b")")/$(basename "$b")" -v r="$r" -v bps="$bps" -v by="$bytes" -v j=$((j1 - j0)) -v hz="$(getconf CLK_TCK)" \
		-v ca=$((ca1 - ca0)) -v cc=$((cc1 - cc0)) -v cr="${cr0:+$((cr1 - cr0))}" -v per="$per" 'BEGIN {
		split(per, p, " "); gb = by / 1e9; mb = by / 1e6; if (mb <= 0) mb = 1
		printf "%s r%d Gbps %.2f | CPU s/GB: machine %.3f A %.3f C %.3f R %s | per MB: A_enter %.1f A_sqe %.1f A_cqe %.1f A_poll %.1f C_enter %.1f C_sqe %.1f C_cqe %.1f C_poll %.1f",
			b, r, bps / 1e9, (j / hz) / gb, ca / 1e9 / gb, cc / 1e9 / gb, (cr == "" ? "-" : sprintf("%.3f", cr / 1e9 / gb)),
			p[1] / mb, p[2] / mb, p[3] / mb, p[4] / mb, p[5] / mb, p[6] / mb, p[7] / mb, p[8] / mb
		if (cr != "") printf " R_enter %.1f R_sqe %.1f R_cqe %.1f R_poll %.1f", p[9] / mb, p[10] / mb, p[11] / mb, p[12] / mb
		printf "\n" }')
	say "$line"
	echo "$line" >>"$OUT"
	stop_hermesd >/dev/null
	stop_pid "$pc"
	[ -n "$pr" ] && stop_pid "$pr"
}
for ((r = 1; r <= ROUNDS; r++)); do
	if ((r % 2)); then order=("${BUILDS[@]}"); else order=(); for ((i = ${#BUILDS[@]} - 1; i >= 0; i--)); do order+=("${BUILDS[$i]}"); done; fi
	for b in "${order[@]}"; do
		for ((i = 0; i < ${#BUILDS[@]}; i++)); do [ "${BUILDS[$i]}" = "$b" ] && run_one "$b" "$r" "$i"; done
	done
done
echo "=== medians (min-max) over $ROUNDS rounds, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" - "$OUT" <<'PY'
import re, sys, statistics as st
rows = {}
for line in open(sys.argv[1]):
    b, _, rest = line.split(' ', 2)
    rows.setdefault(b, []).append(re.findall(r'([A-Za-z_]+) ([0-9][0-9.]*)', rest))
for b, vals in rows.items():
    out = []
    for i, (k, _) in enumerate(vals[0]):
        xs = [float(v[i][1]) for v in vals if i < len(v) and v[i][0] == k]
        out.append("%s %.3g (%.3g-%.3g)" % (k, st.median(xs), min(xs), max(xs)))
    print(b + ": " + "; ".join(out))
PY
