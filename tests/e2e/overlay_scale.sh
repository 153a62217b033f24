#!/bin/bash
# overlay_scale: issue 19's scale test on a small emulated overlay (tests/lib/overlay.sh;
# the 16-host version with the measurements is `make bench-overlay`). Six hosts on one
# bridge: clients c1 c2 c3 (c1..c3 also run the 3 etcd members), edge relays r1 r2, server
# s1; every hermesd takes its whole configuration from its document in etcd. Apps in the
# clients' app cgroups reach s1's echo server in tunnels c -> r1|r2 -> s1 (two h2c hops).
#  - a change written by `hermesctl overlay apply` (all documents in one transaction)
#    reaches every node (`hermesctl overlay status` says all are in sync; the revision in
#    each hermesd's /metrics) and takes effect for new flows (their relay follows the
#    order of the route's peers);
#  - 100 established flows stay byte-exact across 20 route changes while new flows run;
#  - a bad document (written with etcdctl: hermesctl would refuse it) is refused by every
#    node and the old route keeps working;
#  - one etcd member killed: a change still reaches every node and works;
#  - every member killed: the overlay keeps serving, and a hermesd restarted then starts
#    from its state file and serves;
#  - relay r1's host killed (hermesd gone, cable cut) mid-run: new flows fail over to r2,
#    the route's alternate peer.
# Against the sanitizer build the same, with fewer established flows.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/overlay.sh
. "$(dirname "$0")/../lib/overlay.sh"

require_cmd etcd etcdctl ping
OVERLAY_APPLY=hermesctl
topo_up
ov_up c1 c2 c3 r1 r2 s1
OV_ECHO_DEADLINE=120
OV_CONNECT_MS=1000 # (a dead relay's new flows wait this long before the alternate)
ov_echo_up
ov_etcd_up c1 c2 c3
G=0
ov_gen $G "$TMP/gen$G"
ov_apply "$TMP/gen$G"
ov_hermesd_up "${OV_HOSTS[@]}"
ov_wait_applied "$OV_REV"
ov_wait_in_sync
say "every node at revision $OV_REV (generation $G)"
T=$(ov_targets)

# gen_apply: the next generation, written by hermesctl and in force everywhere
gen_apply() {
	G=$((G + 1))
	ov_gen $G "$TMP/gen$G"
	ov_apply "$TMP/gen$G"
	ov_wait_in_sync
}
crossed_more() { [ "$(ov_connects "$1")" -gt "$2" ]; }
# new_flow_via CLIENT RELAY WHAT: one new flow from CLIENT's app, echoed byte-exact, and
# it crossed RELAY (one more CONNECT in its log; the other relay none)
new_flow_via() {
	local c=$1 via=$2 r out n1 n2
	r=r1
	[ "$via" = r1 ] && r=r2
	n1=$(ov_connects "$via")
	n2=$(ov_connects "$r")
	out=$(ov_app "$c" timeout 20 "$PY" "$TESTBIN/ovflows.py" once "$T" --timeout 10 2>&1) ||
		die "$3: a new flow from $c failed: $out"
	wait_until 3 crossed_more "$via" "$n1" || die "$3: the new flow from $c did not cross $via"
	assert_eq "$n2" "$(ov_connects "$r")" "$3: the new flow from $c crossed $via, not $r"
}

# ---- a change reaches every node and takes effect for new flows (gen 0: r1 first)
new_flow_via c1 r1 "generation 0"
gen_apply
say "ok: generation $G (revision $OV_REV) applied by every node"
new_flow_via c1 r2 "generation $G: the route's peers swapped"
new_flow_via c3 r2 "generation $G, another client"

# ---- established flows across 20 route changes, new flows meanwhile
NHOLD=$(by_build 100 40)
ov_bg hold c2 app "$PY" "$TESTBIN/ovflows.py" hold "$T" "$NHOLD" --chunk 512 --interval 0.3 \
	--stop-file "$TMP/hold.stop" --deadline 90
HOLD_PID=$BG_PID
wait_until 20 grep -q '^established' "$TMP/hold.log" || die "the $NHOLD flows did not start: $(cat "$TMP/hold.log")"
say "$(cat "$TMP/hold.log")"
ov_bg churn c1 app "$PY" "$TESTBIN/ovflows.py" churn "$T" --stop-file "$TMP/hold.stop" --deadline 90 --interval 0.1
CHURN_PID=$BG_PID
for ((i = 0; i < 20; i++)); do
	G=$((G + 1))
	ov_gen $G "$TMP/gen$G"
	ov_apply "$TMP/gen$G"
	ov_wait_in_sync
done
ov_wait_applied "$OV_REV"
say "ok: 20 route changes applied by every node (last generation $G, revision $OV_REV)"
touch "$TMP/hold.stop"
wait "$HOLD_PID" || die "established flows across the changes: $(tail -n 1 "$TMP/hold.log")"
say "ok: $(tail -n 1 "$TMP/hold.log")"
wait "$CHURN_PID" || die "new flows during the changes: $(tail -n 1 "$TMP/churn.log")"
say "ok: during the changes: $(tail -n 1 "$TMP/churn.log")"

# ---- a bad document: refused by every node, the old route stays
GOOD=$OV_REV
OV_BAD=1
G=$((G + 1))
ov_gen $G "$TMP/gen$G"
OVERLAY_APPLY=etcdctl ov_apply "$TMP/gen$G"
BAD=$OV_REV
OV_BAD=
refused_all() {
	local h
	for h in "${OV_HOSTS[@]}"; do
		[ "$(ov_stat "$h" hermes_etcd_documents_refused_total)" = 1 ] || return 1
	done
}
wait_until 10 refused_all || die "not every node refused revision $BAD"
rc=0
out=$(ov_overlay_status 2>&1) || rc=$?
assert_eq 3 "$rc" "overlay status exits 3 (not in sync) while every node refuses revision $BAD"
assert_match "$out" "behind" "overlay status shows the nodes behind: $out"
for h in "${OV_HOSTS[@]}"; do
	assert_file_match "${OV_LOG[$h]}" "etcd: $OV_PREFIX/nodes/$h revision $BAD refused, keeping the running config.*10\.79\.0\.300" \
		"$h refused the bad document, naming the error"
	assert_eq "$GOOD" "$(ov_stat "$h" hermes_etcd_applied_revision)" "$h keeps revision $GOOD"
done
# generation 21 (odd) put r2 first for c1
new_flow_via c1 r2 "after the bad document: the route in force"
G=$((G + 1)) # (an even generation next: r1 first again for every client, a visible change)

# ---- one etcd member killed: changes still arrive
kill -KILL "${OV_ETCD_PID[c1]}"
say "etcd member on c1 killed"
sleep 1 # (when it led, the others elect a leader within the election timeout, 500 ms)
OV_ECTL_EPS=http://$(ov_ip c2):2379,http://$(ov_ip c3):2379
gen_apply
say "ok: generation $G (revision $OV_REV) applied by every node with one member down"
new_flow_via c1 r1 "one member down: the new route"

# ---- every member killed: serving on the last configuration; a restart uses the state file
kill -KILL "${OV_ETCD_PID[c2]}" "${OV_ETCD_PID[c3]}"
say "etcd members on c2 and c3 killed: no etcd left"
sleep 1
new_flow_via c1 r1 "etcd down: the last configuration serves"
for h in c2 r1; do
	stop_pid "${OV_PID[$h]}" TERM 10
	ov_launch "$h"
	ov_wait_ready "$h"
	assert_file_match "${OV_LOG[$h]}" "etcd: starting from $OV_PREFIX/nodes/$h revision $OV_REV \\(from $TMP/state-$h.yaml\\)" \
		"hermesd $h restarted without etcd: from its state file"
	assert_eq "$OV_REV" "$(ov_stat "$h" hermes_etcd_applied_revision)" "$h serves revision $OV_REV"
done
new_flow_via c2 r1 "the restarted client, through the restarted relay"

# ---- relay r1's host killed mid-run: new flows fail over to r2
ov_bg hold2 c3 app "$PY" "$TESTBIN/ovflows.py" hold "$T" 10 --chunk 256 --interval 0.2 \
	--stop-file "$TMP/hold2.stop" --deadline 60
HOLD2_PID=$BG_PID
wait_until 20 grep -q '^established' "$TMP/hold2.log" || die "the flows before the kill did not start: $(cat "$TMP/hold2.log")"
ov_kill_host r1
say "relay host r1 killed (hermesd pid ${OV_PID[r1]}, its cable cut); c3's route puts r1 first"
n2=$(ov_connects r2)
t0=$(now_ms)
for i in 1 2 3 4; do
	out=$(ov_app c3 timeout 20 "$PY" "$TESTBIN/ovflows.py" once "$T" --timeout 10 2>&1) ||
		die "new flow $i after r1 died: $out"
done
say "ok: 4 new flows after r1 died, in $(($(now_ms) - t0)) ms"
assert_ge $((n2 + 4)) "$(ov_connects r2)" "they went through r2, the route's alternate"
wait_until 10 sh -c "! kill -0 $HOLD2_PID 2>/dev/null" || die "the flows that were on r1 hang after it died"
wait "$HOLD2_PID" && die "the flows that were on r1 looked complete although r1 died"
say "ok: the flows that were on r1 when it died: $(tail -n 1 "$TMP/hold2.log")"
pass "overlay of ${#OV_HOSTS[@]} hosts from etcd: changes reach every node and steer new flows; $NHOLD flows byte-exact across 20 changes; bad document refused everywhere; etcd member down, all down, restart from the state file; failover past a dead relay"
