#!/bin/bash
# fd_streams: descriptors and the tunnel listener's HTTP/2 streams. Each CONNECT stream
# opens an upstream socket with no accept of its own, so the accept reserve does not
# bound them: three h2c connections of 7000 streams once filled a 20000-descriptor limit,
# /ready stopped answering and flows were reset. Here hermesd runs under RLIMIT_NOFILE
# 600 and an h2c client opens 3 connections of 300 CONNECT streams (900 upstream sockets
# wanted) to a target that accepts and holds, with the stream and per-client limits
# raised so that they do not stop it first. Streams beyond the budget (the last
# tunnel.stream_fd_headroom_percent, 10%, of the limit stays free) get REFUSED_STREAM
# and are counted; no stream fails for want of a descriptor; while they are held, /ready
# and /metrics answer and a new proxied flow and a new HTTP/1.1 CONNECT are served; once
# the client leaves, new streams are accepted again.
# Then the http action's h2c side: 3 connections of 250 requests to an origin that
# answers after 0.5 s (750 upstream sockets wanted at once). The requests beyond the
# budget wait for a descriptor (hermes_http_descriptor_waits_total) rather than take the
# reserve (hermes_descriptor_reserve_used_total stays 0: without the budget they took it
# and rested the listeners); /ready answers meanwhile and every request gets its 200.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

LIMIT=600
CONNS=3
STREAMS=300
require_cmd prlimit
"$PY" -c 'import h2' 2>/dev/null || skip "python3-h2 is not installed"
topo_up
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
start_nginx
# the target: accepts every connection and holds it
bg sink s "$PY" -c '
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.77.1.2", 9300))
s.listen(4096)
held = []
while True:
    held.append(s.accept()[0])
'
wait_tcp "$NS_S" 10.77.1.2 9300 || die "the holding target did not start"
cat >"$TMP/h.yaml" <<EOF
listeners: {tunnel: 10.77.1.1:15008}
http2: {max_concurrent_streams: 1000}
tunnel: {max_client_connections: 100, client_connects_per_second: 100000}
EOF
REAL_HERMESD=$HERMESD_BIN
HERMESD_BIN=$TMP/hermesd-limited
printf '#!/bin/sh\nexec prlimit --nofile=%s:%s %s "$@"\n' "$LIMIT" "$LIMIT" "$REAL_HERMESD" >"$HERMESD_BIN"
chmod +x "$HERMESD_BIN"
HERMESD_LOG_LEVEL=info start_hermesd -c "$TMP/h.yaml"
policy_add 10.77.1.2/32:80 proxy
field() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" "$TMP/abuse.log"; }

bg abuse s "$PY" "$TESTBIN/tunabuse.py" hold 10.77.1.1 15008 10.77.1.2:9300 "$CONNS" "$STREAMS" 4
ABUSE_PID=$BG_PID
wait_until 15 grep -q accepted= "$TMP/abuse.log" || die "the stream client got no answers: $(cat "$TMP/abuse.log")"
say "$CONNS x $STREAMS CONNECT streams: $(cat "$TMP/abuse.log")"
assert_eq 0 "$(field unanswered)" "every stream was answered"
assert_eq 0 "$(field reset)" "no stream failed (reset other than REFUSED_STREAM): none found no descriptor"
assert_eq 0 "$(field failed)" "no stream was answered with an error status: none found no descriptor"
assert_ge 100 "$(field accepted)" "streams within the budget were served"
# while the accepted streams are held
assert_eq 200 "$(admin_code /ready)" "/ready answers while streams hold the descriptors"
assert_ge 1 "$(field refused)" "streams beyond the descriptor budget were refused (REFUSED_STREAM)"
metrics=$(ns_c curl -sS --max-time 2 http://127.0.0.1:15000/metrics) || die "/metrics did not answer"
refusals=$(awk '$1 == "hermes_stream_descriptor_refusals_total" { print $2 }' <<<"$metrics")
assert_eq "$(field refused)" "$refusals" "refused streams counted in hermes_stream_descriptor_refusals_total"
open=$(awk '$1 == "process_open_fds" { print $2 }' <<<"$metrics")
assert_ge "$((LIMIT * 85 / 100))" "${open:-0}" "streams took descriptors up to near the budget (open: ${open:-none})"
assert_le "$((LIMIT * 92 / 100))" "${open:-$LIMIT}" "the last tenth of the limit stays free (open: ${open:-none})"
assert_match "$(in_app curl -sS --max-time 5 http://10.77.1.2/)" "$NGINX_PAGE" "a new proxied flow is served meanwhile"
assert_match "$(ns_s "$PY" "$TESTBIN/connectc.py" 10.77.1.1 15008 'CONNECT 10.77.1.2:80 HTTP/1.1\r\n\r\n')" \
	'^status 200' "a new HTTP/1.1 CONNECT is served meanwhile"
pid_alive "$ABUSE_PID" || die "the stream client ended before the checks were done (its hold is too short)"

wait "$ABUSE_PID" || die "the stream client failed: $(cat "$TMP/abuse.log")"
wait_until 10 stat_is 0 hermes_stream_descriptors || die "streams still counted after the client left"
out=$(ns_s "$PY" "$TESTBIN/tunabuse.py" hold 10.77.1.1 15008 10.77.1.2:9300 1 50 0)
assert_eq "accepted=50 refused=0 reset=0 failed=0 unanswered=0" "$out" "after the client left, new streams are served"
assert_eq 0 "$(grep -c 'Too many open files' "$HERMESD_LOG")" "no flow failed for want of a descriptor"
assert_eq 1 "$(grep -c 'refusing new HTTP/2 streams while descriptors are short' "$HERMESD_LOG")" "said once in the log"

bg origin s "$PY" "$TESTBIN/flaky_origin.py" 10.77.1.2 9301
wait_tcp "$NS_S" 10.77.1.2 9301 || die "python origin did not start"
ns_s curl -sS --max-time 5 -o /dev/null "http://10.77.1.2:9301/__arm?n=100000&mode=delay&ms=500" || die "cannot arm the origin"
policy_add 10.77.1.2/32:9301 http
rpids=()
for k in 1 2 3; do
	bg "h2app$k" app "$PY" "$TESTBIN/h2req.py" 10.77.1.2 9301 --timeout 15 "GET http://10.77.1.2:9301/$k n=250"
	rpids+=("$BG_PID")
done
waiting() { [ "$(stat_value hermes_http_descriptor_waits_total)" -ge 1 ] 2>/dev/null; }
wait_until 10 waiting || die "no request of the http action's h2c streams waited for a descriptor"
assert_eq 200 "$(admin_code /ready)" "/ready answers while h2c requests wait for descriptors"
assert_match "$(in_app curl -sS --max-time 5 http://10.77.1.2/)" "$NGINX_PAGE" "a new proxied flow is served meanwhile"
for k in 1 2 3; do
	wait "${rpids[$((k - 1))]}" || die "h2c requests of connection $k failed: $(tail -3 "$TMP/h2app$k.log")"
done
say "750 h2c requests: all 200, $(stat_value hermes_http_descriptor_waits_total) waited for a descriptor"
assert_eq 0 "$(grep -c 'Too many open files' "$HERMESD_LOG")" "no request failed for want of a descriptor"
assert_eq 0 "$(stat_value hermes_descriptor_reserve_used_total)" "no stream or request took a descriptor of the reserve"
assert_eq 0 "$(stat_value hermes_accept_pauses_total)" "no listener had to rest"
pid_alive "$HERMESD_PID" || die "hermesd died"
pass "HTTP/2 streams keep within the descriptor budget: refused beyond it, admin and new flows served"
