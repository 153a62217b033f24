#!/bin/bash
# stats_prometheus: /stats is valid Prometheus text (parsed by prometheus_client, plus
# strict checks: HELP and TYPE everywhere, cumulative histograms) and its counters match
# the traffic sent: 5 flows of 3 MiB up and 2 MiB down through proxy, 2 denied connects,
# 1 pass flow.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null || skip "python3-prometheus-client is not installed"
topo_up
start_nginx
start_hermesd
policy_add 10.77.1.2/32:9600 proxy
policy_add 10.77.1.3/32:81 deny

for i in 1 2 3 4 5; do
	bg "srv$i" s "$PY" "$TESTBIN/closes.py" server 10.77.1.2 9600 client-first
	wait_until 10 grep -q listening "$TMP/srv$i.log" || die "server $i did not start"
	# client-first: the client sends 2 MiB, the server answers 4 MiB
	in_app "$PY" "$TESTBIN/closes.py" client 10.77.1.2 9600 client-first >"$TMP/cli$i.log" 2>&1 ||
		die "flow $i failed: $(cat "$TMP/cli$i.log")"
	wait "$BG_PID" || die "server $i failed: $(cat "$TMP/srv$i.log")"
done
for i in 1 2; do
	in_app "$PY" "$TESTBIN/hnet.py" connect 10.77.1.3 81 --timeout 2 >/dev/null 2>&1
done
expect_page "one pass flow" http://10.77.1.2/
sleep 0.3
admin_get /stats >"$TMP/stats.txt" || die "GET /stats failed"
"$PY" "$TESTBIN/promcheck.py" "$TMP/stats.txt" \
	'hermes_connections_accepted_total=5' \
	'hermes_connections_closed_total=5' \
	'hermes_connections_active=0' \
	'hermes_bytes_total{direction="client_to_upstream"}=10485760' \
	'hermes_bytes_total{direction="upstream_to_client"}=20971520' \
	'hermes_bpf_decisions_total{action="proxy"}=5' \
	'hermes_bpf_decisions_total{action="deny"}=2' \
	'hermes_bpf_decisions_total{action="pass"}=1' \
	'hermes_upstream_connect_seconds_count=5' \
	'hermes_flow_bytes_count=5' \
	'hermes_flow_bytes_sum=31457280' \
	'hermes_flows_total{engine="uring"}=5' || die "/stats check failed (see above)"
pass "/stats parses as Prometheus text and matches the traffic"
