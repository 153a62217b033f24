#!/bin/bash
# origdst_cleanup: the original-destination entries live only as long as their sockets.
# 40k short connections through `proxy` (30k against the sanitizer build) all complete,
# and afterwards hermes_origdst holds (almost) nothing and hermesd has no flow left open:
# no map or memory growth with churn. Either count is more than the client's 28232
# ephemeral ports (32768-60999), so local ports, the map's key, are used again.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

N=${CHURN_N:-$(by_build 40000 30000)}
topo_up
start_hermesd
policy_add 10.77.1.2/32:9200 proxy
bg churnsrv s "$PY" "$TESTBIN/churn.py" serve 10.77.1.2 9200 --deadline 200
listening() { [ -n "$(ns_s ss -Htln 'sport = :9200')" ]; }
wait_until 10 listening || die "churn server did not start: $(cat "$TMP/churnsrv.log")"

in_app "$PY" "$TESTBIN/churn.py" connect 10.77.1.2 9200 "$N" --parallel 100 --deadline 150 >"$TMP/churn.out" 2>&1
rc=$?
say "client: $(cat "$TMP/churn.out")"
assert_eq 0 "$rc" "all $N connections through hermesd completed"

entries() { bpftool map dump pinned "$PINROOT/hermes_origdst" 2>/dev/null | grep -c '"key"'; }
few_entries() { [ "$(entries)" -le 10 ]; }
wait_until 5 few_entries
n=$(entries)
say "hermes_origdst entries after $N connections: $n"
assert_le 10 "$n" "hermes_origdst entries left after churn"
for ((i = 0; i < 50; i++)); do
	active=$(stat_value hermes_connections_active)
	[ "$active" = 0 ] && break
	sleep 0.1
done
assert_eq 0 "$active" "hermesd flows open after churn"
accepted=$(stat_value hermes_connections_accepted_total)
assert_ge "$N" "$accepted" "hermesd accepted every connection"
pass "origdst entries removed with their sockets over $N connections"
