#!/bin/bash
# etcd_shared: shared documents and the status key (issue 19's hermesd side). One etcd
# member on the client netns' loopback (own data dir and ports, stopped by PID); the
# node's document /hermes/s/nodes/a lists `shared: [base]`, whose policy is the node's:
#  - at start the merge applies (10.77.1.2 proxied); the status key /hermes/s/status/a
#    appears with the applied revision, health ok, no config error, hermesd's pid; its
#    lease revoked, a new one is granted and the key written again;
#  - a change of the shared document reaches the node (10.77.1.2 denied);
#  - a bad shared document is refused (the log names the shared key, its revision and
#    the entry's line),
#    the status key carries the error, the old policy stays; a node document naming a
#    shared document that does not exist is refused too; a bad document met at start is
#    refused and counted once (the watch does not read it again);
#  - `hermesctl overlay status`: in sync (exit 0), behind (the refusal, exit 3), down (a
#    node document with no hermesd), --json;
#  - the state file holds the merge: hermesd restarted with etcd down serves the shared
#    policy; etcd back, the status key is written again;
#  - hermesd killed -9: its status key goes when the lease (10 s) runs out.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=../lib/etcd.sh
. "$(dirname "$0")/../lib/etcd.sh"

require_cmd etcd etcdctl
topo_up
start_nginx

P=/hermes/s
KEY=$P/nodes/a
EPS=http://127.0.0.1:23791

etcd_start() {
	bg etcd c etcd --name e1 --data-dir "$TMP/etcd" \
		--listen-client-urls "$EPS" --advertise-client-urls "$EPS" \
		--listen-peer-urls http://127.0.0.1:23801 --initial-advertise-peer-urls http://127.0.0.1:23801 \
		--initial-cluster e1=http://127.0.0.1:23801 --initial-cluster-token hermes-shared \
		--initial-cluster-state new --heartbeat-interval 50 --election-timeout 500
	ETCD_PID=$BG_PID
	wait_until 15 ectl endpoint health >/dev/null 2>&1 || die "etcd did not come up: $(tail -n 3 "$TMP/etcd.log")"
}
put() { etcd_put "$@"; }
status_key() { ectl get "$P/status/a" --print-value-only 2>/dev/null; }
# status_has REGEX: the status key matches
status_has() { [[ "$(status_key)" =~ $1 ]]; }
ovl() { ns_c "$HERMESCTL_BIN" overlay status --etcd "$EPS" --prefix "$P" "$@"; }

etcd_start
say "etcd up"
put "$P/shared/base" 'policy:
  - {match: 10.77.1.2/32, action: proxy}'
put "$KEY" 'shared: [base]
log_level: debug'
REV1=$REV
CONF=$TMP/hermes.yaml
cat >"$CONF" <<YAML
etcd:
  endpoints: [$EPS]
  prefix: $P
  node: a
  state_file: $TMP/etcd-state.yaml
YAML
# the history before is compacted: the watch starts after the revision of the first read
ectl compaction "$REV1" >/dev/null || die "etcdctl compaction failed"
start_hermesd -c "$CONF"
wait_applied "$REV1"
assert_file_match "$HERMESD_LOG" "starting from $KEY revision $REV1 with $P/shared/base revision" \
	"the start names the shared document"
expect_page "10.77.1.2 through hermesd (the shared document's policy)" http://10.77.1.2/
wait_origdst '10\.77\.1\.2:80' 1 "the flow went through hermesd"

# the status key: lease-bound, the applied revision, health, pid
wait_until 5 status_has "\"applied_revision\":$REV1," || die "no status key at revision $REV1: $(status_key)"
st=$(status_key)
assert_match "$st" '"node":"a"' "the status key names the node"
assert_match "$st" '"health":"ok"' "... health ok"
assert_match "$st" '"config_error":null' "... no config error"
assert_match "$st" "\"pid\":$HERMESD_PID" "... hermesd's pid"
assert_match "$st" '"address":"127.0.0.1:15000"' "... the admin address (no tunnel listener)"
lease=$(ectl get "$P/status/a" -w json | sed -n 's/.*"lease":\([0-9]*\).*/\1/p')
[ -n "$lease" ] && [ "$lease" != 0 ] || die "the status key has no lease: $(ectl get "$P/status/a" -w json)"
ttl=$(ectl lease timetolive "$(printf '%x' "$lease")" | sed -n 's/.*remaining(\([0-9]*\)s).*/\1/p')
assert_le 10 "${ttl:-99}" "the lease's TTL is at most 10 s"
assert_ge 5 "${ttl:-0}" "... and kept alive"
assert_eq 1 "$(stat_value hermes_etcd_status_up)" "hermes_etcd_status_up"
# a lease that etcd no longer knows (here revoked; expired after an outage alike) is
# granted anew at the next renewal (every 3 s) and the key written again
ectl lease revoke "$(printf '%x' "$lease")" >/dev/null || die "etcdctl lease revoke failed"
regranted() { [ "$(stat_value hermes_etcd_lease_grants_total)" = 2 ] && status_has "\"pid\":$HERMESD_PID"; }
wait_until 6 regranted || die "no new lease after the revoke: $(stat_value hermes_etcd_lease_grants_total) grants, key: $(status_key)"
assert_file_match "$HERMESD_LOG" "etcd: the lease of $P/status/a expired" "the new lease is logged"
assert_ge 1 "$(stat_value hermes_etcd_status_writes_total)" "status writes counted"
# overlay status: etcd and the prefix from the file's etcd section (-c), or the options
out=$(ns_c "$HERMESCTL_BIN" overlay status -c "$CONF") || die "overlay status: not in sync with one node applied: $out"
assert_match "$out" "a +127\.0\.0\.1:15000 .* $REV1 +$REV1 +in sync +ok" "overlay status -c: a in sync"
out=$(ovl --bogus 2>&1); rc=$?
assert_eq 2 "$rc" "overlay status: a usage error exits 2 ($out)"
out=$(ns_c "$HERMESCTL_BIN" overlay status --etcd http://127.0.0.1:1 --prefix "$P" 2>&1); rc=$?
assert_eq 1 "$rc" "overlay status: etcd not reached exits 1"
assert_match "$out" "cannot read $P/ from etcd .*check that etcd is up" "... saying what to check"

# a change of the shared document reaches the node
put "$P/shared/base" 'policy:
  - {match: 10.77.1.2/32, action: deny}'
REV2=$REV
wait_applied "$REV2"
expect_eperm "the shared document's change applies" 10.77.1.2 80
wait_until 5 status_has "\"applied_revision\":$REV2," || die "the status key did not follow: $(status_key)"

# a bad shared document: refused, named; the running policy stays
put "$P/shared/base" 'policy:
  - {match: 10.77.1.300/32, action: deny}'
BAD=$REV
wait_until 10 grep -q "etcd: $KEY revision $BAD with $P/shared/base revision $BAD refused, keeping the running config" \
	"$HERMESD_LOG" || die "the bad shared document was not refused: $(grep etcd "$HERMESD_LOG" | tail -n 3)"
assert_file_match "$HERMESD_LOG" "revision $BAD refused, keeping the running config: $P/shared/base revision $BAD:2:5: 'policy.match': bad match '10\.77\.1\.300/32'" \
	"the log names the shared document, the line of the entry and the error"
assert_eq "$REV2" "$(stat_value hermes_etcd_applied_revision)" "the applied revision stays"
expect_eperm "the running policy stays after the bad shared document" 10.77.1.2 80
wait_until 5 status_has '"config_error":"[^"]*10\.77\.1\.300' || die "the status key has no config error: $(status_key)"
out=$(ovl); rc=$?
assert_eq 3 "$rc" "overlay status exits 3 with a node behind ($out)"
assert_match "$out" "a .* $REV2 +$BAD +behind by $((BAD - REV2)) revisions" "overlay status: a behind"
assert_match "$out" "refused: .*10\.77\.1\.300" "... with the refusal"

# a node document naming a shared document that does not exist: refused by the merge
put "$KEY" 'shared: [base, nope]'
NOPE=$REV
wait_until 10 grep -q "etcd: $KEY revision $NOPE refused, keeping the running config: .*the shared document 'nope' does not exist" \
	"$HERMESD_LOG" || die "the missing shared document was not refused: $(grep etcd "$HERMESD_LOG" | tail -n 3)"
assert_ge 2 "$(stat_value hermes_etcd_documents_refused_total)" "refusals counted"

# mended: in sync again
put "$KEY" 'shared: [base]
log_level: debug'
put "$P/shared/base" 'policy:
  - {match: 10.77.1.2/32, action: proxy}
  - {match: 10.77.1.3/32, action: deny}'
REV3=$REV
wait_applied "$REV3"
expect_page "10.77.1.2 through hermesd again" http://10.77.1.2/
wait_until 5 status_has '"config_error":null' || die "the config error stayed: $(status_key)"
out=$(ovl) || die "overlay status: not in sync after the mend: $out"
assert_file_nomatch "$HERMESD_LOG" "was compacted" "the watch never asked for a compacted revision"
# a node with a document and no hermesd: down
put "$P/nodes/b" 'log_level: info'
out=$(ovl); rc=$?
assert_eq 3 "$rc" "overlay status exits 3 with a node down"
assert_match "$out" "b +- +- +- +$REV +down \\(no status\\)" "overlay status: b down"
json=$(ovl --json)
assert_match "$json" '"node": "a", "state": "in_sync"' "--json: a in sync"
assert_match "$json" '"node": "b", "state": "down"' "--json: b down"
assert_match "$json" '"in_sync": false' "--json: not all in sync"
assert_match "$json" "\"status\": \\{\"node\":\"a\"" "--json: a's status key"

# the state file holds the merge: a restart with etcd down serves the shared policy
state_at() { grep -q "^# hermes etcd state: key $KEY revision $REV3\$" "$TMP/etcd-state.yaml" 2>/dev/null; }
wait_until 5 state_at || die "the state file is not at revision $REV3: $(head -n 2 "$TMP/etcd-state.yaml")"
assert_file_match "$TMP/etcd-state.yaml" "10\.77\.1\.3/32" "the state file holds the shared document's rules"
stop_pid "$ETCD_PID" KILL
say "etcd killed"
stop_hermesd
start_hermesd -c "$CONF"
assert_file_match "$HERMESD_LOG" "starting from $KEY revision $REV3 \\(from $TMP/etcd-state.yaml\\)" \
	"started from the state file"
expect_eperm "the shared document's rule from the state file" 10.77.1.3 80
expect_page "... and the other one" http://10.77.1.2/
assert_eq 0 "$(stat_value hermes_etcd_status_up)" "no status key while etcd is down"
# tried again with a backoff (100 ms doubling to 2 s), not in a loop
assert_le 12 "$(stat_value hermes_etcd_status_failures_total)" "status key failures while etcd is down"
assert_match "$(hermesctl status)" "status key not written \(etcd not reached\)" "hermesctl status says so"
etcd_start
say "etcd back"
wait_until 10 status_has "\"pid\":$HERMESD_PID" || die "the status key was not written after etcd came back: $(status_key)"
assert_eq 1 "$(stat_value hermes_etcd_status_up)" "hermes_etcd_status_up again"
assert_match "$(hermesctl status --json)" '"status_key_up": true' "hermesctl status --json shows it"

# killed -9: the key goes with its lease
start=$(now_ms)
kill -KILL "$HERMESD_PID"
HERMESD_PID=
gone() { [ -z "$(status_key)" ]; }
wait_until 15 gone || die "the status key outlived its lease: $(status_key)"
say "ok: the status key went $(($(now_ms) - start)) ms after hermesd was killed"
out=$(ovl); rc=$?
assert_eq 3 "$rc" "overlay status exits 3"
assert_match "$out" "a +- +- +- +$REV3 +down \\(no status\\)" "overlay status: a down"

# a bad document in etcd at start: refused (the state file serves), counted once, not
# again when the watch goes on from that read; the next good one applies
put "$KEY" 'policy: [{match: 10.77.1.300/32, action: deny}]'
BAD2=$REV
start_hermesd -c "$CONF"
# (this start's lines: the log holds the earlier ones too)
log=$(awk '/^=== hermesd start/ { s = "" } { s = s $0 "\n" } END { printf "%s", s }' "$HERMESD_LOG")
assert_match "$log" "a document refused at start: etcd $KEY revision $BAD2.*10\\.77\\.1\\.300" \
	"the bad document at start refused, named"
assert_match "$log" "starting from $KEY revision [0-9]+ \\(from $TMP/etcd-state.yaml\\)" "the state file serves"
put "$KEY" 'shared: [base]
log_level: debug'
REV4=$REV
wait_applied "$REV4"
assert_eq 1 "$(stat_value hermes_etcd_documents_refused_total)" "the document refused at start counted once"
stop_hermesd

stop_pid "$ETCD_PID" KILL
pass "etcd_shared: shared documents merged, followed and refused; the status key written, kept and gone with its lease; overlay status in sync, behind and down"
