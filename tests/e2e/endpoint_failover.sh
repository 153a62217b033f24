#!/bin/bash
# endpoint_failover: config file endpoints: 10.77.1.2:81 (closed) has the alternate
# 10.77.1.3:80 (open): curl to 10.77.1.2:81 through `proxy` gets the page from the alternate
# after a retry; the retry is counted.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx "$NS_S" 10.77.1.2:80 10.77.1.3:80
cat >"$TMP/hermes.yaml" <<YAML
# endpoint failover test
log_level: debug
proxy:
  connect_timeout_ms: 1000
  connect_attempts: 3
  backoff_base_ms: 10
  backoff_max_ms: 100
policy:
  - match: 10.77.1.0/24
    action: proxy
endpoints:
  - match: 10.77.1.2:81
    alternates: [10.77.1.3:80]
YAML
start_hermesd -c "$TMP/hermes.yaml"
say "policy: $(hermesctl policy list 2>&1 | tr '\n' ';')"

r0=$(stat_value hermes_upstream_connect_retries_total)
expect_page "curl to the closed endpoint 10.77.1.2:81 is served by the alternate" http://10.77.1.2:81/
assert_le 5000 "$CURL_MS" "failover took (ms)"
wait_until 3 grep -q . "$NGINX_ACCESS_LOG"
assert_file_match "$NGINX_ACCESS_LOG" '^10\.77\.1\.1 10\.77\.1\.3:80 "GET / ' "nginx served it on the alternate 10.77.1.3:80 to 10.77.1.1"
wait_origdst '10\.77\.1\.2:81' 1 "hermesd saw the original destination 10.77.1.2:81"
assert_ge $((${r0:-0} + 1)) "$(stat_value hermes_upstream_connect_retries_total)" "hermes_upstream_connect_retries_total"
assert_ge 1 "$(stat_value hermes_upstream_connect_failures_total)" "hermes_upstream_connect_failures_total (the closed port)"

# an address without alternates still fails fast
CURL_MAX_TIME=30 curl_app http://10.77.1.3:81/
[ "$CURL_RC" = 56 ] || [ "$CURL_RC" = 52 ] || die "10.77.1.3:81 (closed, no alternate): expected curl exit 56/52, got $CURL_RC: $CURL_ERR"
say "ok: no alternate -> reset (curl exit $CURL_RC in $CURL_MS ms)"
pass "endpoint failover to the alternate"
