#!/bin/bash
# etcd_config: hermesd takes its reload keys from etcd (the `etcd` section) and follows
# them. A 3-member etcd cluster on the client netns' loopback (own data dirs and ports,
# stopped by PID); the node's document /hermes/t/nodes/a holds the policy:
#  - the client's API (tests/bin/etcdc): lease grant and keepalive, a prefix read, a
#    watch from a revision and its resume revision, a compacted revision refused;
#  - at start the document applies (10.77.1.2 proxied), its revision in /metrics and
#    `hermesctl status`;
#  - a change written with etcdctl takes effect (10.77.1.2 denied);
#  - a bad document is refused (key, revision and error logged, counted) and the policy
#    in force stays;
#  - one member killed: a change still arrives;
#  - one member left (no leader): its watch ends, the staleness grows; every member
#    killed: hermesd keeps serving, its staleness grows;
#  - hermesd restarted while etcd is down starts from the state file;
#  - the members back: hermesd catches up with a change made then; a SIGHUP rebuilds the
#    etcd document; a member asking for TLS client certificates is read with one (by
#    etcdc and by hermesd with etcd.cert, etcd.key and etcd.ca, which starts without a
#    document for it and applies the first one written).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=../lib/etcd.sh
. "$(dirname "$0")/../lib/etcd.sh"

require_cmd etcd etcdctl
topo_up
start_nginx

KEY=/hermes/t/nodes/a
EPS=http://127.0.0.1:23791,http://127.0.0.1:23792,http://127.0.0.1:23793
CLUSTER=e1=http://127.0.0.1:23801,e2=http://127.0.0.1:23802,e3=http://127.0.0.1:23803
declare -A ETCD_PID

# etcd_start N: member eN, data under $TMP/etcdN (kept across restarts)
etcd_start() {
	bg "etcd$1" c etcd --name "e$1" --data-dir "$TMP/etcd$1" \
		--listen-client-urls "http://127.0.0.1:2379$1" --advertise-client-urls "http://127.0.0.1:2379$1" \
		--listen-peer-urls "http://127.0.0.1:2380$1" --initial-advertise-peer-urls "http://127.0.0.1:2380$1" \
		--initial-cluster "$CLUSTER" --initial-cluster-token hermes-test --initial-cluster-state new \
		--heartbeat-interval 50 --election-timeout 500
	ETCD_PID[$1]=$BG_PID
}
# put DOC: writes the node's document (REV: its revision)
put() { etcd_put "$KEY" "$1"; }

for n in 1 2 3; do etcd_start "$n"; done
wait_until 15 ectl endpoint health >/dev/null 2>&1 || die "the etcd cluster did not come up: $(tail -n 3 "$TMP/etcd1.log")"
say "etcd cluster up"

# the client's API against the cluster (tests/bin/etcdc): a lease kept alive past its
# TTL holds its key, which goes once the keepalives stop; a prefix read
ETCDC=$BUILD/tests/bin/etcdc
[ -x "$ETCDC" ] || die "$ETCDC is missing: run make first"
bg lease c "$ETCDC" "$EPS" lease /hermes/t/leased/x up 1 1500
LEASE_PID=$BG_PID
put 'policy:
  - {match: 10.77.1.2/32, action: proxy}'
REV1=$REV
leased() { ns_c "$ETCDC" "$EPS" range /hermes/t/ | grep -q '^/hermes/t/leased/x=up'; }
wait_until 5 leased || die "etcdc lease did not write its key: $(cat "$TMP/lease.log")"
range=$(ns_c "$ETCDC" "$EPS" range /hermes/t/) || die "etcdc range failed"
assert_match "$range" "/hermes/t/nodes/a=policy:" "the prefix read finds the node's document"
assert_match "$range" "/hermes/t/leased/x=up" "... and the leased key"
CONF=$TMP/hermes.yaml
cat >"$CONF" <<YAML
etcd:
  endpoints: [http://127.0.0.1:23791, http://127.0.0.1:23792, http://127.0.0.1:23793]
  prefix: /hermes/t
  state_file: $TMP/etcd-state.yaml
YAML
# the node's name from the command line (one file for every node)
start_hermesd -c "$CONF" --etcd-node a
wait_applied "$REV1"
expect_page "10.77.1.2 through hermesd (the policy from etcd)" http://10.77.1.2/
wait_origdst '10\.77\.1\.2:80' 1 "the flow went through hermesd"
status=$(hermesctl status)
assert_match "$status" "config from etcd at revision $REV1" "hermesctl status shows the applied revision"

# a change takes effect
put 'policy:
  - {match: 10.77.1.2/32, action: deny}'
REV2=$REV
wait_applied "$REV2"
expect_eperm "the changed policy applies" 10.77.1.2 80
state_at() { grep -q "^# hermes etcd state: key $KEY revision $1\$" "$TMP/etcd-state.yaml" 2>/dev/null; }
wait_until 5 state_at "$REV2" || die "the state file is not at revision $REV2: $(head -n 1 "$TMP/etcd-state.yaml")"

# a bad document: refused, the policy in force stays
put 'policy:
  - {match: 10.77.1.300/32, action: deny}'
BAD=$REV
wait_until 10 grep -q "etcd: $KEY revision $BAD refused, keeping the running config" "$HERMESD_LOG" ||
	die "the bad document was not refused in the log: $(grep etcd "$HERMESD_LOG" | tail -n 3)"
assert_file_match "$HERMESD_LOG" "revision $BAD refused.*10\.77\.1\.300" "the log names the error"
assert_eq 1 "$(stat_value hermes_etcd_documents_refused_total)" "one document refused"
assert_eq "$REV2" "$(stat_value hermes_etcd_applied_revision)" "the applied revision stays"
expect_eperm "the running policy still applies after the bad document" 10.77.1.2 80

# the lease (kept alive meanwhile, 1.5 s, in the background)
wait "$LEASE_PID" || die "the leased key did not stay while kept alive: $(cat "$TMP/lease.log")"
assert_match "$(cat "$TMP/lease.log")" "ttl [1-9]" "keepalives renewed the lease"
gone() { [ -z "$(ectl get /hermes/t/leased/x --print-value-only 2>/dev/null)" ]; }
wait_until 5 gone || die "the leased key outlived its lease"
say "ok: the leased key went once its keepalives stopped"

# a watch from a revision hands exactly what followed it; from a compacted one it says so
out=$(ns_c timeout 5 "$ETCDC" "$EPS" watch "$KEY" "$REV2" 2) || die "etcdc watch from $REV2 failed: $out"
assert_match "$out" "PUT $KEY=policy:.*mod $REV2" "the watch starts at the asked revision"
assert_match "$out" "mod $BAD" "... then the next one"
assert_match "$out" "next $((BAD + 1))" "... and resumes after the last event"
ectl compaction "$REV2" >/dev/null || die "etcdctl compaction failed"
out=$(ns_c timeout 5 "$ETCDC" "$EPS" watch "$KEY" 1 1); rc=$?
assert_eq 3 "$rc" "a watch from a compacted revision is refused ($out)"
assert_match "$out" "compacted $REV2" "... naming the compaction"

# one member down: still follows
kill -KILL "${ETCD_PID[1]}"
say "etcd member e1 killed"
EPS=http://127.0.0.1:23792,http://127.0.0.1:23793 # etcdctl would wait for e1 first
put 'policy:
  - {match: 10.77.1.3/32, action: deny}'
REV3=$REV
wait_applied "$REV3"
expect_eperm "a change made with one member down applies" 10.77.1.3 80
expect_page "10.77.1.2 passes again" http://10.77.1.2/

# one member left, without a leader: its watch ends (hermesd asks for a leader), so the
# staleness grows; then none left: serving still
kill -KILL "${ETCD_PID[2]}"
say "etcd member e2 killed: e3 alone has no quorum"
stale_ge() { [ "$(stat_value hermes_etcd_staleness_seconds)" -ge "$1" ]; }
wait_until 10 stale_ge 1 ||
	die "the staleness did not grow while the last member had no leader: $(grep 'etcd:' "$HERMESD_LOG" | tail -n 2); e3: $(grep -E 'leader|became' "$TMP/etcd3.log" | tail -n 6)"
assert_file_match "$HERMESD_LOG" "etcdserver: no leader" "the leaderless member ended the watch"
kill -KILL "${ETCD_PID[3]}"
say "etcd member e3 killed"
wait_until 10 stale_ge 2 || die "staleness (s) did not grow to 2 while etcd is down: $(stat_value hermes_etcd_staleness_seconds)"
assert_eq 200 "$(admin_code /ready)" "hermesd still ready without etcd"
expect_eperm "the last policy still applies without etcd" 10.77.1.3 80
assert_match "$(hermesctl status)" "etcd last heard [0-9.]+ s ago" "hermesctl status shows the staleness"

# restarted without etcd: the state file
stop_hermesd
start_hermesd -c "$CONF" --etcd-node a
assert_file_match "$HERMESD_LOG" "etcd: starting from $KEY revision $REV3 \\(from $TMP/etcd-state.yaml\\)" \
	"started from the state file"
assert_eq "$REV3" "$(stat_value hermes_etcd_applied_revision)" "the state file's revision applies"
expect_eperm "the state file's policy applies" 10.77.1.3 80

# etcd back: caught up
for n in 1 2 3; do etcd_start "$n"; done
EPS=http://127.0.0.1:23791,http://127.0.0.1:23792,http://127.0.0.1:23793
wait_until 15 ectl endpoint health >/dev/null 2>&1 || die "the etcd cluster did not come back"
put 'policy:
  - {match: 10.77.1.3/32, action: proxy}'
REV4=$REV
wait_applied "$REV4"
expect_page "10.77.1.3 through hermesd after etcd came back" http://10.77.1.3/
assert_ge 1 "$(stat_value hermes_etcd_watch_reconnects_total)" "watch reconnects counted"
# a SIGHUP builds the etcd document in use again (not the file's keys)
kill -HUP "$HERMESD_PID"
wait_until 5 grep -q "SIGHUP: reloaded $KEY revision $REV4" "$HERMESD_LOG" ||
	die "SIGHUP did not rebuild the etcd document: $(grep SIGHUP "$HERMESD_LOG" | tail -n 2)"
expect_page "the etcd policy stays after SIGHUP" http://10.77.1.3/
json=$(hermesctl status --json)
assert_match "$json" "\"etcd\": \\{\"applied_revision\": $REV4," "hermesctl status --json shows the revision"

# TLS client certificates (the client's curl options): a member that asks for one
ns_c "$HERMESCTL_BIN" certs init "$TMP/pki" --hosts 127.0.0.1,client >/dev/null || die "certs init failed"
bg etcdtls c etcd --name t --data-dir "$TMP/etcdtls" \
	--listen-client-urls https://127.0.0.1:23794 --advertise-client-urls https://127.0.0.1:23794 \
	--listen-peer-urls http://127.0.0.1:23804 --initial-advertise-peer-urls http://127.0.0.1:23804 \
	--initial-cluster t=http://127.0.0.1:23804 --client-cert-auth --trusted-ca-file "$TMP/pki/ca.crt" \
	--cert-file "$TMP/pki/127.0.0.1.crt" --key-file "$TMP/pki/127.0.0.1.key"
ETCD_PID[4]=$BG_PID
tls_range() {
	ns_c env ETCDC_CERT="$TMP/pki/client.crt" ETCDC_KEY="$TMP/pki/client.key" ETCDC_CA="$TMP/pki/ca.crt" \
		"$ETCDC" https://127.0.0.1:23794 range /
}
wait_until 10 tls_range >/dev/null 2>&1 || die "no range over TLS with a client certificate: $(tls_range 2>&1)"
say "ok: a range over TLS with a client certificate"
out=$(ns_c env ETCDC_CA="$TMP/pki/ca.crt" "$ETCDC" https://127.0.0.1:23794 range / 2>&1) &&
	die "the member took a client without a certificate: $out"
say "ok: refused without a client certificate ($out)"
# hermesd itself with etcd.cert, etcd.key and etcd.ca, on a member with no document for
# it yet: it starts with the file's keys (revision 0), then applies the first one written
cat >"$TMP/tls.yaml" <<YAML
etcd:
  endpoints: [https://127.0.0.1:23794]
  prefix: /hermes/t
  node: a
  cert: $TMP/pki/client.crt
  key: $TMP/pki/client.key
  ca: $TMP/pki/ca.crt
YAML
stop_hermesd
start_hermesd -c "$TMP/tls.yaml"
assert_eq 0 "$(stat_value hermes_etcd_applied_revision)" "no document yet: revision 0"
expect_page "no document yet: the file's (empty) policy" http://10.77.1.2/
out=$(ns_c env ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:23794 --cacert "$TMP/pki/ca.crt" \
	--cert "$TMP/pki/client.crt" --key "$TMP/pki/client.key" put -w json "$KEY" \
	'policy: [{match: 10.77.1.2/32, action: deny}]') || die "etcdctl put over TLS failed: $out"
REV=$(printf '%s' "$out" | sed -n 's/.*"revision":\([0-9]*\).*/\1/p')
wait_applied "$REV"
expect_eperm "the first document, watched over TLS, applies" 10.77.1.2 80

# etcd's own stop takes seconds; its data is the test's
kill -KILL "${ETCD_PID[@]}" 2>/dev/null
pass "etcd_config: policy from etcd applied and followed; bad document refused; one member down, all down, restart from the state file, catch-up"
