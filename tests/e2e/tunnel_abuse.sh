#!/bin/bash
# tunnel_abuse: the tunnel listener against hostile clients (a clear-text listener on a
# wildcard address, no tunnel_access rules, small limits):
#  - CONNECT and explicit proxy requests to hermesd's own admin port on loopback, and a
#    CONNECT to its own tunnel listener through a host address, get 403 (counted by
#    reason; the rules that let such targets through: tests/unit/test_authz.c);
#  - a CONNECT port written 0080 gets 400, and so does a CONNECT with two Host fields;
#  - Hermes-Hops at tunnel.max_hops gets 508, and two hermesd whose routes point at each
#    other stop their loop there (the app's connection fails at once, counted);
#  - h2c clients pushing into CONNECT streams whose target never reads: the bytes held
#    stay under the per-connection window, and over total_buffer_mb new streams are
#    refused (REFUSED_STREAM), each limit counted;
#  - per client address: CONNECT streams reset before they are up (rapid reset: each
#    already cost an upstream connect) bounded, connects per second (429), connections.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
# the sink (10.77.1.2:9300) accepts and never reads; small buffers on hermesd's side
# (its netns) so that its own bytes, not the kernel's, meet the target's silence
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
c_yaml() {
	cat >"$TMP/c.yaml" <<EOF
listeners: {tunnel: 0.0.0.0:15008}
routes:
  - {name: loop, match: [10.77.9.0/24], protocol: h2c, peers: [10.77.1.2:15008]}
tunnel: {max_hops: 4, stream_buffer_bytes: 65536, conn_buffer_bytes: 786432, total_buffer_mb: 1,
         client_connects_per_second: $1, client_resets_per_second: 5, max_client_connections: 4}
EOF
}
c_yaml 1000
cat >"$TMP/s.yaml" <<EOF
listeners: {tunnel: 10.77.1.2:15008}
routes:
  - {name: loop, match: [10.77.9.0/24], protocol: h2c, peers: [10.77.1.1:15008]}
EOF
start_hermesd -c "$TMP/c.yaml"
start_peer_hermesd "$NS_S" s -c "$TMP/s.yaml"
P=http://10.77.1.1:15008
code() { ns_s curl -s -o /dev/null --max-time 10 -w "$1" "${@:2}"; }
connectc() { ns_s "$PY" "$TESTBIN/connectc.py" 10.77.1.1 15008 "$@"; }

# ---- hermesd itself and loopback
assert_eq 403 "$(code '%{http_connect}' -p -x "$P" http://127.0.0.1:15000/config)" "CONNECT to the admin port on loopback"
assert_eq 403 "$(code '%{http_code}' -x "$P" http://127.0.0.1:15000/config)" "proxy request to the admin port on loopback"
assert_match "$(connectc 'CONNECT 10.77.1.1:15008 HTTP/1.1\r\n\r\n')" '^status 403' \
	"CONNECT to its own tunnel listener through a host address"
assert_match "$(connectc 'CONNECT 10.77.1.2:80 HTTP/1.1\r\n\r\n')" '^status 200' "another host's port 80 is served"
assert_match "$(connectc 'CONNECT 127.0.0.1:80 HTTP/1.1\r\n\r\n')" '^status 403' "CONNECT to loopback"
assert_match "$(connectc 'CONNECT [::]:80 HTTP/1.1\r\n\r\n')" '^status 403' "CONNECT to the unspecified address"
assert_eq 2 "$(stat_value hermes_tunnel_target_refused_total 'reason="self"')" "own listener refusals counted (CONNECTs)"
assert_eq 2 "$(stat_value hermes_tunnel_target_refused_total 'reason="loopback"')" "loopback refusals counted"

# ---- validation
assert_match "$(connectc 'CONNECT 10.77.1.2:0080 HTTP/1.1\r\n\r\n')" '^status 400' "port 0080 -> 400"
assert_match "$(connectc 'CONNECT 10.77.1.2:80 HTTP/1.1\r\nHost: 10.77.1.2:80\r\nHost: 10.77.1.3:80\r\n\r\n')" '^status 400' "two Host fields -> 400"

# ---- loops
assert_match "$(connectc 'CONNECT 10.77.1.2:80 HTTP/1.1\r\nHermes-Hops: 4\r\n\r\n')" '^status 508' "Hermes-Hops 4 (max_hops 4) -> 508"
assert_match "$(connectc 'CONNECT 10.77.1.2:80 HTTP/1.1\r\nHermes-Hops: 3\r\n\r\n')" '^status 200' "Hermes-Hops 3 -> served"
policy_add 10.77.9.0/24 tunnel
# ended by the hop count, not by curl's own deadline (exit 28): what "at once" meant, without
# a time a loaded machine can miss
in_app curl -sS --max-time 30 -o /dev/null http://10.77.9.9/ 2>/dev/null
rc=$?
assert_ne 0 "$rc" "a flow into a routing loop failed"
assert_ne 28 "$rc" "the loop between two hermesd was ended by hermesd, not by curl's 30 s deadline"
assert_ge 1 "$(stat_value hermes_tunnel_loops_total)" "the loop was stopped by the hop count and counted"

# ---- bytes held for a target that never reads
out=$(ns_c "$PY" "$TESTBIN/tunabuse.py" stall 10.77.1.1 15008 10.77.1.2:9300 3 16 127.0.0.1:15000)
say "stall: $out"
held=$(sed -n 's/.*buffered=\([0-9]*\).*/\1/p' <<<"$out")
refused=$(sed -n 's/.*refused=\([0-9]*\).*/\1/p' <<<"$out")
assert_le $((2 * 786432)) "$held" "bytes held by two full connections stay within their windows"
assert_ge 1 "$refused" "over total_buffer_mb new streams were refused (REFUSED_STREAM)"
assert_ge 1 "$(stat_value hermes_tunnel_limited_total 'limit="stream_buffer"')" "full streams counted"
assert_ge 1 "$(stat_value hermes_tunnel_limited_total 'limit="conn_buffer"')" "full connections counted"
assert_ge 1 "$(stat_value hermes_tunnel_limited_total 'limit="total_buffer"')" "refused streams counted"
wait_until 10 stat_is 0 hermes_tunnel_buffered_bytes || die "bytes still held after the clients left"

# ---- per client address: resets, connects per second, connections
a0=$(stat_value hermes_upstream_connect_attempts_total)
out=$(ns_s "$PY" "$TESTBIN/tunabuse.py" rapidreset 10.77.1.1 15008 10.77.1.2:80 60 --src 10.77.1.2)
say "rapid reset: $out"
assert_le 12 "$(($(stat_value hermes_upstream_connect_attempts_total) - a0))" \
	"60 CONNECT streams reset at once: upstream connects bounded by client_resets_per_second (5)"
assert_ge 40 "$(stat_value hermes_tunnel_limited_total 'limit="reset_rate"')" "refused over the reset rate, counted"
c_yaml 10
kill -HUP "$HERMESD_PID"
wait_until 5 stat_is 1 hermes_config_reloads_total 'result="ok"' || die "reload with client_connects_per_second 10 failed"
out=$(ns_s "$PY" "$TESTBIN/tunabuse.py" burst 10.77.1.1 15008 10.77.1.2:80 40 --src 10.77.1.3)
say "40 CONNECTs at once: $out"
n429=$(sed -n 's/.*429=\([0-9]*\).*/\1/p' <<<"$out")
assert_ge 20 "${n429:-0}" "connects over client_connects_per_second (10) -> 429"
assert_ge 20 "$(stat_value hermes_tunnel_limited_total 'limit="connect_rate"')" "429s counted"
assert_eq "open=4 closed=2" "$(ns_s "$PY" "$TESTBIN/tunabuse.py" conns 10.77.1.1 15008 6 --src 10.77.1.3)" \
	"max_client_connections 4: the 5th and 6th connections of one address are closed"
assert_eq 2 "$(stat_value hermes_tunnel_limited_total 'limit="client_connections"')" "refused connections counted"
assert_match "$(connectc 'CONNECT 10.77.1.2:80 HTTP/1.1\r\n\r\n')" '^status 200' "another client is still served"

pass "tunnel listener: own listeners and loopback refused, hop limit, buffers bounded, per-client limits"
