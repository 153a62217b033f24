#!/bin/bash
# h2_idle: HTTP/2 server sessions with no stream go after http2.idle_timeout_ms of their
# own (here 1000 ms; proxy.idle_timeout_ms, an hour, held them before on the tunnel
# listener), with GOAWAY(NO_ERROR) first, on both sides: the http action's h2c clients
# (steered, port 80) and the tunnel listener's h2c sessions (15008). Both announce
# http2.max_concurrent_streams (here 7) in their SETTINGS and refuse an 8th open stream
# with RST_STREAM(REFUSED_STREAM). Counted in hermes_http2_limits_total.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

"$PY" -c 'import hpack' 2>/dev/null || skip "python3-hpack is not installed for $PY"
topo_up
start_nginx
printf 'http2: {idle_timeout_ms: 1000, max_concurrent_streams: 7}\n' >"$TMP/hermes.yaml"
start_hermesd -c "$TMP/hermes.yaml" --tunnel-listen 10.77.1.1:15008
policy_add 10.77.1.2/32:80 http
app() { in_app "$PY" "$TESTBIN/h2raw.py" 10.77.1.2 80 "$@" 2>&1; }
tl() { ns_c "$PY" "$TESTBIN/h2raw.py" 10.77.1.1 15008 --authority 10.77.1.2:80 "$@" 2>&1; }

for side in app tl; do
	out=$($side --timeout 8 idle)
	assert_match "$out" 'settings .*MAX_CONCURRENT_STREAMS=7' "$side: SETTINGS_MAX_CONCURRENT_STREAMS 7"
	assert_match "$out" 'goaway NO_ERROR after [1-3]\.' "$side: an idle session gets GOAWAY(NO_ERROR) after 1-3 s ($out)"
	assert_match "$out" 'closed after' "$side: and is closed"
	out=$($side streams 8)
	assert_match "$out" 'rst REFUSED_STREAM \(stream 15\)' "$side: an 8th open stream is refused ($out)"
done
assert_eq 2 "$(stat_value hermes_http2_limits_total 'limit="idle"')" "two idle sessions counted"
assert_eq 2 "$(stat_value hermes_http2_limits_total 'limit="streams"')" "two refused streams counted"
assert_match "$(app get)" 'status 200' "the http action still serves"
assert_match "$(tl get)" 'status 200' "the tunnel listener still serves"
pass "idle HTTP/2 sessions: GOAWAY(NO_ERROR) and closed after http2.idle_timeout_ms; max_concurrent_streams enforced"
