#!/bin/bash
# proxy_http: curl from the app cgroup through a `proxy` rule gets the page; nginx logs the
# client host's address (10.77.1.1) and hermesd logs the flow with its original destination;
# the admin /stats counters move (accepted, bytes both ways, proxy decisions).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
start_hermesd
policy_add 10.77.1.0/24 proxy

expect_page "curl through proxy" http://10.77.1.2/
expect_nginx_client 10.77.1.1 "nginx saw the client host's address"
wait_origdst '10\.77\.1\.2:80' 1 "hermesd relayed the flow"

# a bigger body, checked byte for byte
in_app curl -sS --max-time 20 -o "$TMP/1m.got" http://10.77.1.2/1m.bin || die "curl of /1m.bin through proxy failed"
cmp -s "$TMP/1m.got" "$TMP/nginx/www/1m.bin" || die "1 MiB body through proxy differs from the original"
say "ok: 1 MiB body through proxy is byte-exact"

stats=$(admin_get /stats) || die "GET /stats failed"
for m in hermes_connections_accepted_total hermes_connections_active hermes_upstream_connect_failures_total \
	hermes_upstream_connect_retries_total hermes_bytes_total hermes_bpf_decisions_total; do
	assert_match "$stats" "^$m(\{| )" "/stats exports $m"
done
assert_ge 2 "$(stat_value hermes_connections_accepted_total)" "hermes_connections_accepted_total"
assert_ge 2 "$(stat_value hermes_bpf_decisions_total 'action="proxy"')" "hermes_bpf_decisions_total{action=\"proxy\"}"
assert_ge 1048576 "$(stat_value hermes_bytes_total 'direction="upstream_to_client"')" "hermes_bytes_total{direction=\"upstream_to_client\"}"
assert_ge 100 "$(stat_value hermes_bytes_total 'direction="client_to_upstream"')" "hermes_bytes_total{direction=\"client_to_upstream\"}"
# connections end: active goes back to 0 (bounded wait)
active_is_zero() { [ "$(stat_value hermes_connections_active)" = 0 ]; }
wait_until 5 active_is_zero || true
assert_eq 0 "$(stat_value hermes_connections_active)" "hermes_connections_active after the transfers"

pass "proxy: page fetched through hermesd, client address preserved at the origin, stats counted"
