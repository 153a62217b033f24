#!/bin/bash
# overload: the global memory budget (overload.max_buffer_mb, a low 8 MB here) against
# clients that make hermesd hold buffers and never let go:
#  - 100 HTTP/1.1 connections of the http action at once, each asking for a download and
#    never reading it: their buffers take the count to stage 3; the count follows
#    hermesd's RSS growth (within a factor of 2); in stage 3 each new connection is
#    answered in its protocol: an http request 503 with Connection: close, a new h2c
#    connection (http action and tunnel listener) SETTINGS then GOAWAY(ENHANCE_YOUR_CALM,
#    last stream 0), an HTTP/1.1 CONNECT 503, a transparent (proxied) flow a reset; each
#    counted by action;
#  - then h2c connections to the tunnel listener pushing into CONNECT streams whose
#    target never reads (the tunnel's own limits set high, out of the way): the heaviest
#    sessions are no longer read (stage 1), so the bytes held stay near the budget
#    instead of growing to the connections' windows (8 x 16 MiB);
#  - the stages are logged in order (warn), the gauges show them, /ready stays 200 and
#    `hermesctl status` names the stage;
#  - once the clients and the target that never read are gone the stage falls back to 0
#    (info), the bytes counted return to where they were at rest, and
#    a good client is served through the http action and through the tunnel listener.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

"$PY" -c 'import h2' 2>/dev/null || skip "python3-h2 is not installed for $PY"
topo_up
start_nginx
# the sink (10.77.1.2:9300) accepts and never reads; small socket buffers on hermesd's
# side so that the bytes a target does not take stay in hermesd, where the budget sees them
ns_c sysctl -qw net.ipv4.tcp_wmem="4096 16384 65536" || die "cannot set tcp_wmem in $NS_C"
bg sink s "$PY" -c '
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.bind(("10.77.1.2", 9300))
s.listen(4096)
held = []
while True:
    held.append(s.accept()[0])
'
SINK_PID=$BG_PID
head -c $((8 << 20)) /dev/zero >"$TMP/nginx/www/8m.bin"
chmod 644 "$TMP/nginx/www/8m.bin"
"$HERMESCTL_BIN" certs init "$TMP/pki" --hosts client,server >/dev/null || die "hermesctl certs init failed"
cat >"$TMP/c.yaml" <<EOF
tls: {cert: $TMP/pki/server.crt, key: $TMP/pki/server.key, ca: $TMP/pki/ca.crt}
listeners: {tunnel: 10.77.1.1:15008}
tunnel: {total_buffer_mb: 4096, max_client_connections: 0, allow_cleartext: true}
overload: {max_buffer_mb: ${OVERLOAD_MB:-8}, stop_reading_percent: 25, refuse_streams_percent: 50,
           refuse_connections_percent: 75, hysteresis_percent: 10}
EOF
start_hermesd -c "$TMP/c.yaml"
policy_add 10.77.1.2/32:80 http
policy_add 10.77.1.2/32:9300 proxy
# what the budget sees, for a failure's message
state() {
	echo "stage $(stat_value hermes_overload_stage), $(stat_value hermes_overload_buffer_bytes) bytes held," \
		"$(stat_value hermes_tunnel_buffered_bytes) in tunnel streams; stall: $(cat "$TMP/stall.log" 2>/dev/null)"
}
stage_ge() { [ "$(stat_value hermes_overload_stage)" -ge "$1" ]; }
stage_is() { [ "$(stat_value hermes_overload_stage)" = "$1" ]; }
rss() { awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$HERMESD_PID/status"; }
assert_eq 0 "$(stat_value hermes_overload_stage)" "stage 0 at rest"
# OpenSSL's memory is counted from the start (the TLS contexts), and a TLS session adds to it
tls_counted() { [ "$(stat_value hermes_overload_tls_bytes)" -gt 0 ]; }
wait_until 3 tls_counted || die "OpenSSL's memory is not counted"
out=$(ns_c "$PY" "$TESTBIN/ovlpush.py" h2probe 10.77.1.1 15008 CONNECT 10.77.1.2:80 "$TMP/pki" 2>&1)
assert_match "$out" "status=200" "a CONNECT over mutual TLS at rest: 200"
base_bytes=$(stat_value hermes_overload_buffer_bytes)
rss0=$(rss)
say "at rest: $base_bytes buffer bytes, RSS $rss0 MB"

# ---- stages 1 to 3: http downloads into clients that never read
bg hold app "$PY" "$TESTBIN/ovlpush.py" hold 10.77.1.2 80 100 /8m.bin 4
HOLD_PID=$BG_PID
wait_until 5 stage_ge 3 || die "stage 3 never reached: $(state)"
sleep 0.5
held3=$(stat_value hermes_overload_buffer_bytes)
rss3=$(rss)
say "with the downloads: $held3 buffer bytes held, RSS $rss3 MB (+$((rss3 - rss0)) MB)"
# the count follows what hermesd holds: within a factor of 2 of its RSS growth either way
# (it counted the http action's buffers whole, 2-6 times their resident pages, before)
grown=$(((held3 - base_bytes) >> 20))
assert_le $((2 * (rss3 - rss0) + 2)) "$grown" "the count ($grown MB) at most twice the RSS growth"
assert_ge $(((rss3 - rss0) / 2 - 2)) "$grown" "the count ($grown MB) at least half the RSS growth"
assert_le 24 "$((rss3 - rss0))" "RSS grew by less than 24 MB under an 8 MB budget"
assert_eq 200 "$(admin_code /ready)" "/ready stays 200 in stage 3"

# stage 3 answers each new connection in its protocol
out=$(in_app curl -sS -D - -o /dev/null --max-time 5 http://10.77.1.2/ 2>&1)
assert_match "$out" "^HTTP/1.1 503" "a new HTTP/1.1 request through the http action: 503"
assert_match "$out" "[Cc]onnection: close" "... with Connection: close"
out=$(in_app "$PY" "$TESTBIN/ovlpush.py" h2probe 10.77.1.2 80 GET 10.77.1.2 2>&1)
assert_match "$out" "^settings goaway code=11 last=0 debug=overloaded" \
	"a new h2c connection to the http action: SETTINGS, then GOAWAY(ENHANCE_YOUR_CALM, last stream 0)"
out=$(ns_c "$PY" "$TESTBIN/ovlpush.py" h2probe 10.77.1.1 15008 CONNECT 10.77.1.2:80 2>&1)
assert_match "$out" "^settings goaway code=11 last=0 " "a new h2c connection to the tunnel listener: SETTINGS, GOAWAY"
out=$(ns_c "$PY" "$TESTBIN/ovlpush.py" h2probe 10.77.1.1 15008 CONNECT 10.77.1.2:80 "$TMP/pki" 2>&1)
assert_match "$out" "^settings goaway code=11 last=0 " "a new HTTP/2 connection over mutual TLS: SETTINGS, GOAWAY"
out=$(ns_c curl -sS -o /dev/null -w '%{http_connect}' --max-time 5 -p -x http://10.77.1.1:15008 http://10.77.1.2/ 2>&1)
assert_match "$out" "503" "an HTTP/1.1 CONNECT to the tunnel listener: 503"
out=$(in_app "$PY" -c '
import socket
try:
    s = socket.create_connection(("10.77.1.2", 9300), timeout=5)
    print("closed" if s.recv(1) == b"" else "data")
except ConnectionResetError:
    print("reset")
except socket.timeout:
    print("open")
' 2>&1)
assert_eq reset "$out" "a transparent (proxied) flow has no protocol to answer in: reset"
assert_ge 3 "$(stat_value hermes_overload_actions_total 'action="goaway"')" "GOAWAYs counted"
assert_ge 2 "$(stat_value hermes_overload_actions_total 'action="refuse_request"')" "503s counted"
assert_ge 1 "$(stat_value hermes_overload_actions_total 'action="refuse_connection"')" "resets counted"
wait "$HOLD_PID"
say "downloads: $(cat "$TMP/hold.log")"
wait_until 10 stage_is 0 || die "the stage did not fall back to 0 after the downloads: $(state)"

# ---- stage 1: tunnel streams into a target that never reads
bg stall c "$PY" "$TESTBIN/ovlpush.py" stall 10.77.1.1 15008 10.77.1.2:9300 8 16 4
STALL_PID=$BG_PID
wait_until 5 stage_ge 1 || die "stage 1 never reached: $(state)"
sleep 2
held1=$(stat_value hermes_overload_buffer_bytes)
tun1=$(stat_value hermes_tunnel_buffered_bytes)
say "stalled tunnel streams: $held1 buffer bytes held ($tun1 in streams), RSS $(rss) MB"
assert_le $((6 << 20)) "$held1" "the bytes held stay near stage 1's threshold (2 MB), not the windows (128 MiB)"
assert_ge 1 "$(stat_value hermes_overload_actions_total 'action="stop_reading"')" "sessions not read counted"
assert_eq 200 "$(admin_code /ready)" "/ready stays 200 while shedding"
assert_match "$(hermesctl status 2>&1)" "overload stage [1-3] " "hermesctl status shows the stage"
wait "$STALL_PID"
say "stall: $(cat "$TMP/stall.log")"
# the target that never read goes: its flows are reset, their bytes freed, and the
# sessions not read are read again to their end
stop_pid "$SINK_PID" KILL

# the stages, entered in order and left
grep -o 'overload: .*stage [0-9]' "$HERMESD_LOG" | head -20
order=$(sed -n 's/.*overload: .*over [0-9]*% .*: stage \([0-9]\),.*/\1/p' "$HERMESD_LOG" | head -3 | tr -d '\n')
assert_eq 123 "$order" "stages entered in order (log)"

# ---- the clients are gone: back to 0, a good client is served
wait_until 10 stage_is 0 || die "the stage did not fall back to 0: $(state)"
assert_file_match "$HERMESD_LOG" 'overload: .* stage 1 .* left, now stage 0' "leaving stage 1 is logged"
held0=$(stat_value hermes_overload_buffer_bytes)
say "after the clients: $held0 buffer bytes held (at rest: $base_bytes)"
assert_le $((base_bytes + (1 << 20))) "$held0" "the bytes counted went back to about the resting count"
expect_page "a good client through the http action" http://10.77.1.2/
assert_match "$(ns_c curl -sS --max-time 10 -p -x http://10.77.1.1:15008 http://10.77.1.2/ 2>&1)" "$NGINX_PAGE" \
	"a good client through the tunnel listener"
pid_alive "$HERMESD_PID" || die "hermesd died"
pass "memory budget: stages 1..3 in order, RSS bounded (+$((rss3 - rss0)) MB), back to 0, good clients served"
