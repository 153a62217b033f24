#!/bin/bash
# metrics: GET /metrics (and /stats, the same) parses as Prometheus text with HELP and
# TYPE on every family and carries build info, process_* numbers, reload counters, the
# policy rule count, flow-table occupancy, per-http-route responses and per-tunnel-peer
# attempts that match what was done: 3 requests on route web (2xx) and one 404, one
# request no route matches, a tunnel flow whose first peer refuses and whose second (a
# hermesd on the server host) carries it, one good and one bad SIGHUP, a rule added by
# hermesctl. The metrics-only address (--metrics) serves /metrics and /ready, and 404
# to /config and /flows.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null || skip "python3-prometheus-client is not installed"
topo_up
start_nginx
start_hermesd_s --tunnel-listen 10.77.1.2:15008

write_cfg() {
	cat >"$TMP/hermes.yaml" <<YAML
policy:
  - {match: 10.77.1.2/32:80, action: http}
  - {match: 10.77.1.3/32:80, action: tunnel}
routes:
  - name: two-peers
    match: [10.77.1.3/32:80]
    peers: [{address: 10.77.1.3:15999, protocol: h1}, {address: 10.77.1.2:15008, protocol: h1}]
http_routes:
  - {name: web, match: {host: 10.77.1.2}, endpoints: [10.77.1.2:80]}
$1
YAML
}
write_cfg ""
T0=$(date +%s)
start_hermesd -c "$TMP/hermes.yaml" --metrics 127.0.0.1:15020
policy_add 10.77.1.9/32 deny

for i in 1 2 3; do expect_page "route web, request $i" http://10.77.1.2/; done
expect_page "no http route" -H 'Host: other' http://10.77.1.2/
curl_app -o /dev/null -w '%{http_code}' http://10.77.1.2/nothere
assert_eq 404 "$CURL_OUT" "a 404 on route web"
expect_page "tunnel: the first peer refuses, the second carries the flow" http://10.77.1.3/

scrape() { ns_c curl -sS --max-time 5 "http://$1" >"$TMP/$2" || die "GET http://$1 failed"; }
check() { "$PY" "$TESTBIN/promcheck.py" "$@" || die "$1: check failed (see above)"; }
scrape 127.0.0.1:15000/metrics m1.txt
check "$TMP/m1.txt" \
	'hermes_http_route_responses_total{route="web",code="2xx"}=3' \
	'hermes_http_route_responses_total{route="web",code="4xx"}=1' \
	'hermes_http_route_responses_total{route="-",code="2xx"}=1' \
	'hermes_tunnel_peer_attempts_total{peer="10.77.1.3:15999",result="refused"}=1' \
	'hermes_tunnel_peer_attempts_total{peer="10.77.1.2:15008",result="established"}=1' \
	'hermes_policy_rules{origin="config"}=2' \
	'hermes_policy_rules{origin="manual"}=1' \
	'hermes_flow_table_entries>=1' \
	'hermes_flow_table_max_entries=65536' \
	'hermes_config_reloads_total{result="ok"}=0' \
	'hermes_config_last_reload_success=1' \
	"hermes_config_last_reload_timestamp_seconds>=$T0" \
	"process_start_time_seconds>=$((T0 - 2))" \
	'process_open_fds>=5' \
	'process_max_fds>=1024' \
	'process_resident_memory_bytes>=1000000' \
	'process_cpu_seconds_total>=0'
ver=$("$HERMESD_BIN" --version | awk '{ print $2 }')
assert_file_match "$TMP/m1.txt" "^hermes_build_info\\{version=\"$ver\",commit=\"([0-9a-f]+(-dirty)?|unknown)\"\\} 1\$" "hermes_build_info has the version --version prints and a commit"
scrape 127.0.0.1:15000/stats s1.txt
check "$TMP/s1.txt" 'hermes_http_route_responses_total{route="web",code="2xx"}=3'
say "ok: /stats is the same text"

# ---- reloads: one good (a new route; web keeps its counts), one bad
write_cfg '  - {name: api, match: {host: api}, endpoints: [10.77.1.2:80]}'
kill -HUP "$HERMESD_PID"
wait_until 5 grep -q 'SIGHUP: reloaded' "$HERMESD_LOG" || die "the reload was not applied"
echo 'policy: [' >"$TMP/hermes.yaml"
kill -HUP "$HERMESD_PID"
wait_until 5 grep -q 'SIGHUP: reload failed' "$HERMESD_LOG" || die "the bad reload was not reported"
scrape 127.0.0.1:15000/metrics m2.txt
check "$TMP/m2.txt" \
	'hermes_config_reloads_total{result="ok"}=1' \
	'hermes_config_reloads_total{result="failed"}=1' \
	'hermes_config_last_reload_success=0' \
	"hermes_config_last_reload_success_timestamp_seconds>=$T0" \
	'hermes_http_route_responses_total{route="web",code="2xx"}=3' \
	'hermes_http_route_responses_total{route="api",code="2xx"}=0'

# ---- the metrics-only address
scrape 127.0.0.1:15020/metrics m3.txt
check "$TMP/m3.txt" 'hermes_http_route_responses_total{route="web",code="2xx"}=3' 'hermes_config_reloads_total{result="failed"}=1'
for p in /ready /metrics /stats; do
	assert_eq 200 "$(ns_c curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:15020$p")" "metrics address: GET $p"
done
for p in /config /flows /routes; do
	assert_eq 404 "$(ns_c curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:15020$p")" "metrics address: GET $p refused"
	assert_eq 200 "$(admin_code "$p")" "admin address: GET $p still served"
done
assert_match "$(admin_get /config)" '"metrics":"127\.0\.0\.1:15020"' "/config names the metrics address"
pass "/metrics: new families parse and match the traffic, reloads and rules; the metrics address serves only /metrics and /ready"
