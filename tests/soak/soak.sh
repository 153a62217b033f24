#!/bin/bash
# tests/soak/soak.sh: the soak (make soak; not part of make test). SOAK_SECONDS (default
# 1800) of mixed load through hermesd with faults on a schedule, every byte checked end
# to end, then the fuzz targets for longer than make test runs them. Exit 0 when nothing
# was corrupted or lost on a flow that completed, no flow failed outside a fault, and
# hermesd's RSS and descriptors did not grow; 1 otherwise.
#
# Topology (tests/lib/common.sh: topo_up, topo_add_relay), one hermesd per host role:
#   A  client host: hermesd (policy: 10.77.1.2:9000 proxy, 10.77.1.3:9000 tunnel,
#      10.77.1.2:8080 http) and the load (tests/soak/flows.py client, in the app cgroup)
#   R  relay host: R1 (10.77.2.2:15008) and R2 (:15009), tunnel listeners over h2/mTLS;
#      A's route prefers R1, then R2
#   C  server host: hermesd's tunnel listener (10.77.3.2:15008, the second hop), the flow
#      sink (:9000) and the HTTP origin (10.77.1.2:8081, :8082; fails chosen first
#      attempts, the http route retries them) (tests/soak/flows.py server)
# Proxy and http flows cross the A-C link, tunnel flows A-R-C (two h2/mTLS hops).
#
# Faults, each cycle of SOAK_CYCLE seconds (default 60), from the start:
#   reload    SIGHUP to A (its http route's num_retries alternates 3/4), R2 and C
#   peer-kill kill -9 of R1, restarted SOAK_KILL_DOWN seconds later (default 3)
#   cut-ac    the A-C link cut in bursts (tests/bin/impair on C's eth0: 1.2 s of every
#             2 s, for SOAK_CUT seconds, default 6)
#   cut-rc    the R-C link cut whole for SOAK_CUT / 2 seconds (impair on C's eth1)
# A failed flow that was open during a fault that can touch its path (started before the
# fault's end plus 3 s) is "expected"; any other failure, any corrupted byte, and any
# flow that ended cleanly short of its bytes is not.
#
# Measured: warm-up (SOAK_WARMUP, default a tenth, at least one cycle: every path and
# every fault has run once), then a quiet point (no flows; descriptors settle) as the
# baseline; the rest of the load; a quiet point again, and a third (reported, not judged)
# once the idle tunnel sessions have closed.
# RSS of A, R2 and C must stay within SOAK_RSS_DRIFT_PCT (10) % of the baseline, and
# descriptors not counting the tunnel sessions open (hermes_tunnel_sessions) must not
# exceed it. R1 is restarted every cycle: its samples are reported, not judged.
# Every SOAK_SAMPLE seconds (default 5) each hermesd's RSS and descriptors are sampled.
# Then tests/fuzz/run.sh with FUZZ_SECONDS=SOAK_FUZZ_SECONDS (default 120; 0: none).
# Load: SOAK_CONC_PROXY, SOAK_CONC_TUNNEL (4 each), SOAK_CONC_HTTP (3) flows at a time,
# starting flows of at most SOAK_MBPS (default 40) MiB/s in all (0: as fast as they go).
# Output in $BUILD/soak/: report.md, report.json, summary.txt, soak.png, flows.jsonl,
# faults.tsv, samples.tsv, quiet-{base,end,closed}.tsv, fuzz.log and logs/soak/ (every
# hermesd's log at SOAK_LOG_LEVEL, default info). Exit 77 (skip) without root or gnuplot.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

SOAK_DIR=$HERMES_SRC/tests/soak
SOAK_SECONDS=${SOAK_SECONDS:-1800}
SOAK_CYCLE=${SOAK_CYCLE:-60}
SOAK_KILL_DOWN=${SOAK_KILL_DOWN:-3}
SOAK_CUT=${SOAK_CUT:-6}
SOAK_SAMPLE=${SOAK_SAMPLE:-5}
SOAK_WARMUP=${SOAK_WARMUP:-$((SOAK_SECONDS / 10 > SOAK_CYCLE ? SOAK_SECONDS / 10 : SOAK_CYCLE))}
SOAK_FUZZ_SECONDS=${SOAK_FUZZ_SECONDS:-120}
SOAK_RSS_DRIFT_PCT=${SOAK_RSS_DRIFT_PCT:-10}
OUT=$BUILD/soak
IMPAIR=$BUILD/tests/bin/impair
HERMESD_LOG_LEVEL=${SOAK_LOG_LEVEL:-info}
HERMES_KEEP_LOGS=$OUT/logs
export HERMESD_LOG_LEVEL HERMES_KEEP_LOGS

[ "$SOAK_SECONDS" -gt "$SOAK_WARMUP" ] 2>/dev/null ||
	die "SOAK_SECONDS ($SOAK_SECONDS) must be a number of seconds above the warm-up ($SOAK_WARMUP)"
[ -x "$IMPAIR" ] || die "$IMPAIR is missing: run make all first"
require_cmd gnuplot
rm -rf "$OUT"
mkdir -p "$OUT" || die "cannot create $OUT"
: >"$OUT/faults.tsv"
: >"$OUT/flows.jsonl"
printf 't_ms\tphase\tname\tpid\trss_kb\tfds\n' >"$OUT/samples.tsv"
T_START=$(now_ms)

topo_up
topo_add_relay
"$HERMESCTL_BIN" certs init "$TMP/pki" --hosts a,r1,r2,c >/dev/null || die "hermesctl certs init failed"
tls() { echo "tls: {cert: $TMP/pki/$1.crt, key: $TMP/pki/$1.key, ca: $TMP/pki/ca.crt}"; }

# ---- the origin and sink on C, hermesd on C, R1, R2 and A
bg server s "$PY" "$SOAK_DIR/flows.py" server --stats "$OUT/server-stats.json"
SERVER_PID=$BG_PID
wait_until 10 grep -q listening "$TMP/server.log" || die "the soak server did not start: $(tail -n 5 "$TMP/server.log")"

cat >"$TMP/c.yaml" <<YAML
$(tls c)
http2: {max_concurrent_streams: 1000}
tunnel_access:
  - {match: 10.77.1.3/32, san: spiffe://hermes/r1, action: allow}
  - {match: 10.77.1.3/32, san: spiffe://hermes/r2, action: allow}
YAML
start_peer_hermesd "$NS_S" c -c "$TMP/c.yaml" --tunnel-listen 10.77.3.2:15008
C_PID=$PEER_PID

relay_cfg() {
	cat <<YAML
$(tls "$1")
http2: {max_concurrent_streams: 1000}
routes:
  - name: to-c
    match: [10.77.1.3/32]
    peers: [{address: 10.77.3.2:15008, name: c}]
YAML
}
relay_cfg r1 >"$TMP/r1.yaml"
relay_cfg r2 >"$TMP/r2.yaml"
R1_ARGS=(-c "$TMP/r1.yaml" --tunnel-listen 10.77.2.2:15008)
start_peer_hermesd "$NS_R" r1 "${R1_ARGS[@]}"
R1_PID=$PEER_PID
R1_LOG=$PEER_LOG
start_peer_hermesd "$NS_R" r2 -c "$TMP/r2.yaml" --tunnel-listen 10.77.2.2:15009 --admin 127.0.0.1:15010 \
	--listen 127.0.0.1:15011 --listen6 off
R2_PID=$PEER_PID

# a_cfg RETRIES: A's file; the reloads alternate the http route's num_retries
a_cfg() {
	cat <<YAML
$(tls a)
http:
  pool_idle_timeout_ms: 2000
http_routes:
  - name: origin
    match: {path_prefix: /}
    endpoints: [10.77.1.2:8081, 10.77.1.2:8082]
    retry: {retry_on: [connect-failure, reset, gateway-error], num_retries: $1,
            per_try_timeout_ms: 3000, timeout_ms: 30000, backoff_base_ms: 5, backoff_max_ms: 50}
routes:
  - name: via-relay
    match: [10.77.1.3/32]
    peers:
      - {address: 10.77.2.2:15008, name: r1}
      - {address: 10.77.2.2:15009, name: r2}
policy:
  - {match: "10.77.1.2:9000", action: proxy}
  - {match: "10.77.1.3:9000", action: tunnel}
  - {match: "10.77.1.2:8080", action: http}
YAML
}
a_cfg 3 >"$TMP/a.yaml"
start_hermesd -c "$TMP/a.yaml"

# The impair filters go before the namespaces do; then common.sh's cleanup (with our status).
ns_s "$IMPAIR" attach eth0 both || die "cannot attach the impair program to $NS_S eth0"
ns_s "$IMPAIR" attach eth1 both || die "cannot attach the impair program to $NS_S eth1"
# shellcheck disable=SC2154 # _rc is assigned inside the trap
trap '_rc=$?; ns_s "$IMPAIR" detach eth0; ns_s "$IMPAIR" detach eth1; (exit $_rc); cleanup' EXIT

# ---- sampling: every hermesd's RSS and descriptors, PIDs from $TMP/pid-NAME
echo "$HERMESD_PID" >"$TMP/pid-a"
echo "$R1_PID" >"$TMP/pid-r1"
echo "$R2_PID" >"$TMP/pid-r2"
echo "$C_PID" >"$TMP/pid-c"
echo warmup >"$TMP/phase"
sample_once() {
	local n pid rss fds t phase
	t=$(now_ms)
	phase=$(cat "$TMP/phase")
	for n in a r1 r2 c; do
		pid=$(cat "$TMP/pid-$n")
		rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
		[ -n "$rss" ] || continue # R1 between a kill and its restart
		fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$((t - T_START))" "$phase" "$n" "$pid" "$rss" "$fds" >>"$OUT/samples.tsv"
	done
}
sampler() {
	while :; do
		sample_once
		sleep "$SOAK_SAMPLE"
	done
}
sampler &
PIDS+=($!)

# fault KIND START_MS END_MS DETAIL: one line of faults.tsv (ms since the epoch, as flows.jsonl)
fault() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$OUT/faults.tsv"; }

# admin NAME: "netns admin-address" of each hermesd
admin_of() {
	case $1 in
	a) echo "$NS_C 127.0.0.1:15000" ;;
	r1) echo "$NS_R 127.0.0.1:15000" ;;
	r2) echo "$NS_R 127.0.0.1:15010" ;;
	c) echo "$NS_S 127.0.0.1:15000" ;;
	esac
}

# quiet_point LABEL: with no flows running, wait until A's and C's descriptors hold still
# for 3 s (at most 30 s: pooled upstream connections idle out after 2 s), then record
# each hermesd's RSS, descriptors and open tunnel sessions in $OUT/quiet-LABEL.tsv.
quiet_point() {
	local label=$1 n pid prev='' cur stable=0 i ns adm sin sout
	echo "quiet-$label" >"$TMP/phase"
	for ((i = 0; i < 60 && stable < 6; i++)); do
		sleep 0.5
		cur="$(find "/proc/$HERMESD_PID/fd" -mindepth 1 -maxdepth 1 | wc -l) $(find "/proc/$C_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)"
		if [ "$cur" = "$prev" ]; then stable=$((stable + 1)); else stable=0; fi
		prev=$cur
	done
	printf 'name\tpid\trss_kb\tfds\tsessions\tactive\n' >"$OUT/quiet-$label.tsv"
	for n in a r1 r2 c; do
		pid=$(cat "$TMP/pid-$n")
		read -r ns adm <<<"$(admin_of "$n")"
		sin=$(peer_stat "$ns" "$adm" 'hermes_tunnel_sessions{direction="in"}')
		sout=$(peer_stat "$ns" "$adm" 'hermes_tunnel_sessions{direction="out"}')
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$pid" "$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")" \
			"$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l)" "$((${sin:-0} + ${sout:-0}))" \
			"$(peer_stat "$ns" "$adm" hermes_connections_active)" >>"$OUT/quiet-$label.tsv"
	done
	sample_once
	say "quiet point $label: $(tail -n +2 "$OUT/quiet-$label.tsv" | awk '{ printf "%s rss %s kB fds %s sessions %s; ", $1, $3, $4, $5 }')"
}

# load SECONDS ID_BASE: the load in the background (LOAD_PID)
load() {
	bg "load-$2" app "$PY" "$SOAK_DIR/flows.py" client --seconds "$1" --out "$OUT/flows.jsonl" --id-base "$2" \
		--proxy 10.77.1.2:9000 --tunnel 10.77.1.3:9000 --http 10.77.1.2:8080 \
		--conc-proxy "${SOAK_CONC_PROXY:-4}" --conc-tunnel "${SOAK_CONC_TUNNEL:-4}" --conc-http "${SOAK_CONC_HTTP:-3}" \
		--mbps "${SOAK_MBPS:-40}"
	LOAD_PID=$BG_PID
}

# ---- the faults
RETRIES=3
do_reload() {
	local t0 n ns adm before i
	t0=$(now_ms)
	RETRIES=$((RETRIES == 3 ? 4 : 3))
	a_cfg "$RETRIES" >"$TMP/a.yaml.new" && mv "$TMP/a.yaml.new" "$TMP/a.yaml"
	for n in a r2 c; do
		read -r ns adm <<<"$(admin_of "$n")"
		before=$(peer_stat "$ns" "$adm" hermes_config_last_reload_success_timestamp_seconds)
		kill -HUP "$(cat "$TMP/pid-$n")"
		for ((i = 0; i < 100; i++)); do
			[ "$(peer_stat "$ns" "$adm" hermes_config_last_reload_success_timestamp_seconds)" != "$before" ] && break
			sleep 0.1
		done
		[ $i -lt 100 ] || say "warning: $n did not report a reload within 10 s"
		[ "$(peer_stat "$ns" "$adm" hermes_config_last_reload_success)" = 1 ] || die "the reload of $n failed (see its log)"
	done
	fault reload "$t0" "$(now_ms)" "SIGHUP to a, r2, c (a: num_retries $RETRIES)"
}
do_peer_kill() {
	local t0
	t0=$(now_ms)
	kill -KILL "$R1_PID"
	wait "$R1_PID" 2>/dev/null
	sleep "$SOAK_KILL_DOWN"
	hermesd_up "$NS_R" -r1 "$PINROOT-r1" "$R1_LOG" 127.0.0.1:15000 "hermesd r1 (restart)" "${R1_ARGS[@]}"
	R1_PID=$UP_PID
	echo "$R1_PID" >"$TMP/pid-r1"
	fault peer-kill "$t0" "$(now_ms)" "kill -9 of r1, restarted as pid $R1_PID"
}
do_cut() { # do_cut KIND DEV SECONDS PERIOD_MS OUTAGE_MS
	local t0
	t0=$(now_ms)
	ns_s "$IMPAIR" set "$2" "$4" "$5" 100 || die "impair set $2 failed"
	sleep "$3"
	ns_s "$IMPAIR" set "$2" off || die "impair set $2 off failed"
	fault "$1" "$t0" "$(now_ms)" "$(ns_s "$IMPAIR" stats "$2")"
}
# run_cycle DEADLINE_MS: one cycle of faults, each only when it ends before DEADLINE_MS
run_cycle() {
	local c0 half=$((SOAK_CUT / 2 > 0 ? SOAK_CUT / 2 : 1)) step
	c0=$(now_ms)
	for step in reload peer-kill cut-ac cut-rc; do
		case $step in
		reload) at=$((SOAK_CYCLE * 100)) ;;
		peer-kill) at=$((SOAK_CYCLE * 250)) ;;
		cut-ac) at=$((SOAK_CYCLE * 500)) ;;
		cut-rc) at=$((SOAK_CYCLE * 750)) ;;
		esac
		while [ "$(now_ms)" -lt $((c0 + at)) ]; do sleep 0.2; done
		[ $(($(now_ms) + SOAK_CUT * 1000 + 5000)) -lt "$1" ] || return 0
		pid_alive "$LOAD_PID" || return 0
		say "fault: $step"
		case $step in
		reload) do_reload ;;
		peer-kill) do_peer_kill ;;
		cut-ac) do_cut cut-ac eth0 "$SOAK_CUT" 2000 1200 ;;
		cut-rc) do_cut cut-rc eth1 "$half" $((half * 1000 + 1)) $((half * 1000)) ;;
		esac
	done
	while [ "$(now_ms)" -lt $((c0 + SOAK_CYCLE * 1000)) ] && pid_alive "$LOAD_PID"; do sleep 0.2; done
}

# ---- warm-up, baseline, the faulted load, the end
MAIN_SECONDS=$((SOAK_SECONDS - SOAK_WARMUP))
# faulted_load SECONDS ID_BASE: the load with the fault cycles beside it; sets LOAD_RC
faulted_load() {
	local deadline=$(($(now_ms) + $1 * 1000))
	load "$1" "$2"
	while [ "$(now_ms)" -lt "$deadline" ] && pid_alive "$LOAD_PID"; do
		run_cycle "$deadline"
	done
	wait "$LOAD_PID"
	LOAD_RC=$?
	[ "$LOAD_RC" = 0 ] || say "warning: the load client exited with status $LOAD_RC: $(tail -n 5 "$TMP/load-$2.log")"
}
say "soak: ${SOAK_WARMUP}s warm-up, then ${MAIN_SECONDS}s, faults every ${SOAK_CYCLE}s"
faulted_load "$SOAK_WARMUP" 0
WARM_RC=$LOAD_RC
quiet_point base
echo main >"$TMP/phase"
faulted_load "$MAIN_SECONDS" 100000000
[ "$WARM_RC" = 0 ] || LOAD_RC=$WARM_RC
quiet_point end
# Memory an open tunnel session holds goes when the session does: a third point once the
# listeners' idle sessions closed (http2.idle_timeout_ms, 30 s), reported, not judged.
# shellcheck disable=SC2317 # called through wait_until
no_sessions_open() {
	local n ns adm v sum=0
	for n in a r2 c; do
		read -r ns adm <<<"$(admin_of "$n")"
		for v in in out; do
			v=$(peer_stat "$ns" "$adm" "hermes_tunnel_sessions{direction=\"$v\"}")
			sum=$((sum + ${v:-0}))
		done
	done
	[ "$sum" = 0 ]
}
wait_until 45 no_sessions_open || say "warning: tunnel sessions still open 45 s after the load"
quiet_point closed
echo finished >"$TMP/phase"
stop_pid "$SERVER_PID" TERM 5
T_LOAD_END=$(now_ms)

# ---- the fuzz targets, longer than make test's smoke runs
FUZZ_RC=skipped
if [ "$SOAK_FUZZ_SECONDS" -gt 0 ]; then
	say "fuzz: tests/fuzz/run.sh with FUZZ_SECONDS=$SOAK_FUZZ_SECONDS"
	FUZZ_SECONDS=$SOAK_FUZZ_SECONDS BUILD=$BUILD "$HERMES_SRC/tests/fuzz/run.sh" >"$OUT/fuzz.log" 2>&1
	FUZZ_RC=$?
	grep -E '^(PASS|FAIL|SKIP)' "$OUT/fuzz.log"
fi

# ---- the report
"$PY" "$SOAK_DIR/report.py" --out "$OUT" --seconds "$SOAK_SECONDS" --warmup "$SOAK_WARMUP" \
	--t-start "$T_START" --t-end "$T_LOAD_END" --rss-drift-pct "$SOAK_RSS_DRIFT_PCT" --fuzz "$FUZZ_RC" \
	--load-rc "$LOAD_RC"
REPORT_RC=$?
cat "$OUT/summary.txt" 2>/dev/null
[ "$REPORT_RC" = 0 ] || die "the soak failed its criteria (see $OUT/report.md)"
pass "soak: $(head -n 1 "$OUT/summary.txt")"
