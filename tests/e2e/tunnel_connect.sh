#!/bin/bash
# tunnel_connect: the tunnel listener answers HTTP/1.1 CONNECT from an independent client
# (curl -p -x, and a raw client): pages and a 1 MiB body byte-exact over IPv4 and IPv6
# targets, the target sees hermesd's host, bytes sent right after the request head reach
# the target, and errors get the right status: 502 refused target, 400 host-name
# authority, 405 origin-form GET (absolute-form ones are explicit proxy requests:
# http_forward), 431 oversized head; all counted in /stats.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
start_hermesd --tunnel-listen 127.0.0.1:15008
PROXY=http://127.0.0.1:15008

out=$(ns_c curl -sS --max-time 10 -p -x "$PROXY" http://10.77.1.2/) || die "curl -p -x failed"
assert_eq "$NGINX_PAGE" "$out" "page through CONNECT (curl -p -x)"
expect_nginx_client 10.77.1.1 "the target saw hermesd's host"
ns_c curl -sS --max-time 10 -p -x "$PROXY" -o "$TMP/1m.out" http://10.77.1.2/1m.bin || die "1 MiB through CONNECT failed"
cmp -s "$TMP/1m.out" "$TMP/nginx/www/1m.bin" || die "1 MiB through CONNECT is not byte-exact"
say "ok: 1 MiB byte-exact through CONNECT"
out=$(ns_c curl -sS --max-time 10 -p -x "$PROXY" -g 'http://[fd77:1::2]/') || die "CONNECT to an IPv6 target failed"
assert_eq "$NGINX_PAGE" "$out" "page through CONNECT to [fd77:1::2]:80"

connectc() { ns_c "$PY" "$TESTBIN/connectc.py" 127.0.0.1 15008 "$@"; }
out=$(connectc 'CONNECT 10.77.1.2:80 HTTP/1.1\r\nHost: 10.77.1.2:80\r\n\r\n' --then 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
assert_match "$out" '^status 200' "CONNECT with the request pipelined after the head: 200"
assert_match "$out" 'first-line HTTP/1.1 200 OK' "the pipelined request reached nginx and its answer came back"
assert_match "$(connectc 'CONNECT 10.77.1.2:81 HTTP/1.1\r\n\r\n')" '^status 502' "refused target -> 502"
assert_match "$(connectc 'CONNECT example.com:80 HTTP/1.1\r\n\r\n')" '^status 400' "host-name authority -> 400"
assert_match "$(connectc 'GET / HTTP/1.1\r\nHost: 10.77.1.2\r\n\r\n')" '^status 405' "origin-form GET -> 405"
assert_match "$(connectc 'CONNECT 10.77.1.2:80 HTTP/1.1\r\nX: a\r\n X-folded: b\r\n\r\n')" '^status 400' "obs-fold -> 400"
big=$(printf 'X-Pad: %s\\r\\n' "$(head -c 8000 /dev/zero | tr '\0' a)")
assert_match "$(connectc "CONNECT 10.77.1.2:80 HTTP/1.1\\r\\n$big$big$big\\r\\n")" '^status 431' "oversized head -> 431"

assert_ge 9 "$(stat_value hermes_tunnel_requests_total)" "tunnel requests counted"
assert_eq 1 "$(stat_value hermes_tunnel_errors_total 'status="502"')" "502 counted"
assert_eq 2 "$(stat_value hermes_tunnel_errors_total 'status="400"')" "400s counted"
assert_eq 0 "$(stat_value hermes_connections_active)" "no tunnel left open"
pass "HTTP/1.1 CONNECT tunnel listener: curl interop, IPv6, pipelined bytes and error statuses"
