#!/bin/bash
# h2_floods: CONTINUATION floods and rapid reset against both HTTP/2 server sides, the
# http action's h2c clients (steered, port 80) and the tunnel listener's h2c sessions
# (15008). A HEADERS followed by 20 CONTINUATION frames (http2.max_continuations: 8) gets
# GOAWAY(ENHANCE_YOUR_CALM) before the close (nghttp2 alone closed without a word); 300
# requests each reset at once (rapid reset, CVE-2023-44487; http2.reset_burst: 100) get
# GOAWAY(ENHANCE_YOUR_CALM) (nghttp2's own limit says INTERNAL_ERROR, and only after
# 1000); 2 million PINGs from a client that does not read the acknowledgements
# (http2.max_pending_acks: 1000) close the connection. Each is counted in
# hermes_http2_limits_total; good clients are still served.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

"$PY" -c 'import hpack' 2>/dev/null || skip "python3-hpack is not installed for $PY"
topo_up
start_nginx
start_hermesd --tunnel-listen 10.77.1.1:15008
policy_add 10.77.1.2/32:80 http
app() { in_app "$PY" "$TESTBIN/h2raw.py" 10.77.1.2 80 "$@" 2>&1; }
tl() { ns_c "$PY" "$TESTBIN/h2raw.py" 10.77.1.1 15008 --authority 10.77.1.2:80 "$@" 2>&1; }

for side in app tl; do
	out=$($side continuation 20)
	assert_match "$out" 'goaway ENHANCE_YOUR_CALM' "$side: a CONTINUATION flood gets GOAWAY(ENHANCE_YOUR_CALM) ($out)"
	assert_match "$out" 'closed after' "$side: and the connection closes"
	out=$($side rapid-reset 300)
	assert_match "$out" 'goaway ENHANCE_YOUR_CALM' "$side: rapid reset gets GOAWAY(ENHANCE_YOUR_CALM) ($out)"
	assert_match "$out" 'closed after' "$side: and the connection closes"
	out=$($side --timeout 20 ping-flood 2000000)
	assert_match "$out" 'closed after' "$side: a PING flood that reads no acknowledgement is closed ($out)"
done
assert_eq 2 "$(stat_value hermes_http2_limits_total 'limit="continuations"')" "two CONTINUATION floods counted"
assert_eq 2 "$(stat_value hermes_http2_limits_total 'limit="resets"')" "two rapid resets counted"
assert_eq 2 "$(stat_value hermes_http2_limits_total 'limit="control_flood"')" "two PING floods counted"
pid_alive "$HERMESD_PID" || die "hermesd died"
assert_match "$(app get)" 'status 200' "the http action still serves"
assert_match "$(tl get)" 'status 200' "the tunnel listener still serves"
pass "CONTINUATION flood and rapid reset: GOAWAY(ENHANCE_YOUR_CALM) on both HTTP/2 sides; PING flood closed; counted"
