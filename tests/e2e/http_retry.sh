#!/bin/bash
# http_retry: the http action's retry policy against a python origin that fails on demand
# (tests/bin/flaky_origin.py): for each retry_on kind (5xx, gateway-error,
# retriable-status-codes, reset, connect-failure, per-try timeout on a hung origin) the
# client gets 200 through hermesd while the origin saw the failed attempts; with retries
# off the client sees the failure; a POST whose body is too large to buffer is not retried
# while a small buffered one is; the retry budget stops a storm of 20 concurrent failing
# requests; /stats counts attempts, retries, successes, budget and per-try timeouts.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
bg origin s "$PY" "$TESTBIN/flaky_origin.py" 0.0.0.0 8080
wait_tcp "$NS_S" 10.77.1.2 8080 || die "python origin did not start"
EPS='[10.77.1.2:8080, 10.77.1.3:8080]'
FAST='backoff_base_ms: 10, backoff_max_ms: 40'
cat >"$TMP/hermes.yaml" <<YAML
http_routes:
  - {name: r5xx, match: {host: r5xx}, endpoints: $EPS, retry: {retry_on: [5xx], num_retries: 3, $FAST}}
  - {name: rgw, match: {host: rgw}, endpoints: $EPS, retry: {retry_on: [gateway-error], num_retries: 2, $FAST}}
  - {name: rcodes, match: {host: rcodes}, endpoints: $EPS,
     retry: {retry_on: [retriable-status-codes], retriable_status_codes: [409], num_retries: 2, $FAST}}
  - {name: rreset, match: {host: rreset}, endpoints: $EPS, retry: {retry_on: [reset], num_retries: 2, $FAST}}
  - {name: rhang, match: {host: rhang}, endpoints: $EPS,
     retry: {retry_on: [reset], num_retries: 2, per_try_timeout_ms: 400, $FAST}}
  - {name: rconn, match: {host: rconn}, endpoints: [10.77.1.2:9, 10.77.1.3:8080],
     retry: {retry_on: [connect-failure], num_retries: 2, $FAST}}
  - {name: roff, match: {host: roff}, endpoints: $EPS}
  - {name: rpost, match: {host: rpost}, endpoints: $EPS,
     retry: {retry_on: [5xx], num_retries: 2, max_buffered_body: 1024, $FAST}}
  - {name: rbudget, match: {host: rbudget}, endpoints: $EPS,
     retry: {retry_on: [5xx], num_retries: 3, budget_percent: 20, budget_min_retries: 1,
             backoff_base_ms: 300, backoff_max_ms: 300}}
YAML
start_hermesd -c "$TMP/hermes.yaml"
policy_add 10.77.1.0/24 http

# arm N MODE: the origin fails its next N requests with MODE (sent directly, not steered)
arm() { ns_c curl -sS --max-time 5 -o /dev/null "http://10.77.1.2:8080/__arm?n=$1&mode=$2" || die "cannot arm the origin"; }
seen() { ns_c curl -sS --max-time 5 http://10.77.1.2:8080/__stats | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["seen"])'; }
# expect_via HOST STATUS WHAT [CURL ARGS]: one request through hermesd with Host: HOST
expect_via() {
	local host=$1 want=$2 what=$3
	shift 3
	curl_app -o /dev/null -w '%{http_code}' -H "Host: $host" "$@" http://10.77.1.2:8080/x
	assert_eq "$want" "$CURL_OUT" "$what"
}

a0=$(stat_value hermes_http_attempts_total)
arm 2 503
expect_via r5xx 200 "5xx: two 503s retried, the client gets 200"
assert_eq 3 "$(seen)" "5xx: the origin saw 3 attempts"

arm 2 503
expect_via rgw 200 "gateway-error: two 503s retried"
assert_eq 3 "$(seen)" "gateway-error: 3 attempts"
arm 1 500
expect_via rgw 500 "gateway-error does not retry a 500"
assert_eq 1 "$(seen)" "gateway-error: a 500 is one attempt"

arm 1 409
expect_via rcodes 200 "retriable-status-codes: a 409 retried"
assert_eq 2 "$(seen)" "retriable-status-codes: 2 attempts"

arm 2 reset
expect_via rreset 200 "reset: two resets before the response retried"
assert_eq 3 "$(seen)" "reset: 3 attempts"

arm 1 close
expect_via rreset 200 "reset: a close without an answer retried"

# the hang lasts 30 s, over curl's 20 s deadline: a 200 at all shows the attempt was cut
# (and the counter that it was the per-try timeout); the time is printed, not checked
arm 1 hang
expect_via rhang 200 "per-try timeout: a hung attempt cut at 400 ms and retried"
say "per-try timeout: answered in $CURL_MS ms"
assert_ge 1 "$(stat_value hermes_http_per_try_timeouts_total)" "hermes_http_per_try_timeouts_total"

arm 0 503
for i in 1 2 3 4; do expect_via rconn 200 "connect-failure: request $i gets 200 (closed port 10.77.1.2:9 skipped)"; done
assert_ge 1 "$(stat_value hermes_http_upstream_failures_total 'kind="connect"')" "a connect failure was counted"

# retries off (a route without a retry section: the http section's default, none)
arm 1 503
expect_via roff 503 "retries off: the client sees the 503"
assert_eq 1 "$(seen)" "retries off: one attempt"
arm 1 reset
expect_via roff 502 "retries off: a reset is a 502"

# POST: a body too large to buffer (4 KiB > max_buffered_body 1024) is not retried
head -c 4096 /dev/urandom >"$TMP/big.bin"
head -c 100 /dev/urandom >"$TMP/small.bin"
arm 1 503
expect_via rpost 503 "POST with an unbuffered body is not retried" --data-binary @"$TMP/big.bin"
assert_eq 1 "$(seen)" "unbuffered POST: one attempt"
arm 1 503
curl_app -o "$TMP/small.got" -w '%{http_code}' -H 'Host: rpost' --data-binary @"$TMP/small.bin" http://10.77.1.2:8080/echo
assert_eq 200 "$CURL_OUT" "POST with a small (buffered) body is retried"
cmp -s "$TMP/small.bin" "$TMP/small.got" || die "the retried POST body differs"
assert_eq 2 "$(seen)" "buffered POST: 2 attempts"

r0=$(stat_value hermes_http_retries_total)
assert_ge 10 "$r0" "hermes_http_retries_total"
assert_ge 8 "$(stat_value hermes_http_retry_successes_total)" "hermes_http_retry_successes_total"
assert_ge $((a0 + 20)) "$(stat_value hermes_http_attempts_total)" "hermes_http_attempts_total"

# the budget: 20 concurrent requests that all fail; without a budget 20 x 4 = 80 attempts
arm 100000 503
out=$(in_app timeout 60 "$PY" "$TESTBIN/hclient.py" storm 10.77.1.2 8080 rbudget 20 2>&1)
say "storm: $out"
assert_match "$out" '^503 x20$' "the storm's requests all end in 503"
n=$(seen)
assert_le 40 "$n" "the budget kept the origin's attempts low (no budget: 80)"
assert_ge 10 "$(stat_value hermes_http_retry_budget_exhausted_total)" "hermes_http_retry_budget_exhausted_total"
arm 0 503
pass "http retries: every retry_on kind, retries off, unbuffered POST not retried, budget stops a storm"
