#!/bin/bash
# http_forward: explicit proxy requests on the tunnel listener. A clear-text request in
# absolute form (`curl -x http://10.77.1.2:15008 http://10.77.1.3/`) is served by the
# http action: forwarded in origin form with Host from the URL, routed (a route matching
# the URL's authority), retried, and the connection kept alive for more absolute-form
# requests, to other targets too (python http.client, 6 requests on one connection);
# 1 MiB byte-exact both ways; tunnel_access applies to every target (403); a host-name
# authority gets 400 (hermesd has no resolver); an origin-form GET still gets 405 and
# CONNECT keeps working on the same port.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
bg origin s "$PY" "$TESTBIN/flaky_origin.py" 10.77.1.3 8080
wait_tcp "$NS_S" 10.77.1.3 8080 || die "python origin did not start"
cat >"$TMP/hermes.yaml" <<YAML
tunnel_access:
  - {match: 10.77.1.3/32, action: allow}
  - {match: "[fd77:1::2/128]:80", action: allow}
  - {match: 10.77.1.2/32:80, action: deny}
http_routes:
  - {name: flaky, match: {host: "10.77.1.3:8080"}, endpoints: [10.77.1.3:8080],
     retry: {retry_on: [5xx], num_retries: 2, backoff_base_ms: 10, backoff_max_ms: 40}}
YAML
S_ADMIN=127.0.0.1:15000
start_peer_hermesd "$NS_S" s -c "$TMP/hermes.yaml" --tunnel-listen 10.77.1.2:15008
S_LOG=$PEER_LOG
PROXY=http://10.77.1.2:15008
sstat() { peer_stat "$NS_S" "$S_ADMIN" "$1"; }

out=$(ns_c curl -sS --max-time 10 -x "$PROXY" http://10.77.1.3/) || die "curl -x failed"
assert_eq "$NGINX_PAGE" "$out" "page through the explicit proxy (curl -x)"
assert_match "$(tail -n 1 "$NGINX_ACCESS_LOG")" ' 10\.77\.1\.3:80 "GET / HTTP/1\.1" 200' \
	"nginx got the request in origin form"
ns_c curl -sS --max-time 10 -x "$PROXY" -o "$TMP/1m.out" http://10.77.1.3/1m.bin || die "1 MiB through the proxy failed"
cmp -s "$TMP/1m.out" "$TMP/nginx/www/1m.bin" || die "1 MiB through the proxy is not byte-exact"
say "ok: 1 MiB byte-exact down"
out=$(ns_c curl -sS --max-time 10 -x "$PROXY" -g 'http://[fd77:1::2]/') || die "curl -x to an IPv6 target failed"
assert_eq "$NGINX_PAGE" "$out" "page from [fd77:1::2]:80 through the proxy"

# keep-alive: six requests on one connection, two targets, bodies both ways
ns_c "$PY" - "$TMP/nginx/www/1m.bin" "$NGINX_PAGE" >"$TMP/py.out" 2>&1 <<'PY' || { cat "$TMP/py.out"; die "python http.client through the proxy failed"; }
import http.client, os, sys
big = open(sys.argv[1], "rb").read()
page = sys.argv[2].encode() + b"\n"
c = http.client.HTTPConnection("10.77.1.2", 15008, timeout=10)
sock = None
def get(method, url, body=None, headers={}):
    global sock
    c.request(method, url, body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    if sock is None:
        sock = c.sock
    assert c.sock is sock, "the connection was not kept alive"
    return r.status, data, r
s, d, _ = get("GET", "http://10.77.1.3/")
assert (s, d) == (200, page), (s, d[:100])
s, d, _ = get("GET", "http://10.77.1.3/1m.bin")
assert s == 200 and d == big, (s, len(d))
s, d, r = get("GET", "http://10.77.1.3:8080/headers?x=1", headers={"Host": "wrong.example"})
assert s == 200, s
hs = d.decode().lower()
assert "host: 10.77.1.3:8080" in hs and "wrong.example" not in hs, hs
assert r.getheader("X-Seen") is not None
body = os.urandom(1 << 20)
s, d, _ = get("POST", "http://10.77.1.3:8080/echo", body=body, headers={"Content-Type": "application/octet-stream"})
assert s == 200 and d == body, (s, len(d))
s, d, _ = get("HEAD", "http://10.77.1.3/1m.bin")
assert s == 200 and d == b"", (s, d)
s, d, _ = get("GET", "http://10.77.1.3")
assert (s, d) == (200, page), (s, d[:100])
print("ok: 6 requests on one kept-alive connection")
PY
cat "$TMP/py.out"
assert_file_match "$TMP/origin.log" '^GET /headers\?x=1 seen=' "the python origin got an origin-form target"
assert_file_nomatch "$TMP/origin.log" '^[A-Z]+ http' "no absolute-form target reached the origin"

# a retry through the forward path: the route matched the URL's authority
ns_c curl -sS --max-time 5 -o /dev/null "http://10.77.1.3:8080/__arm?n=2&mode=503" || die "cannot arm the origin"
out=$(ns_c curl -sS --max-time 10 -x "$PROXY" -o /dev/null -w '%{http_code}' http://10.77.1.3:8080/x)
assert_eq 200 "$out" "two 503s retried through the forward path"
assert_eq 3 "$(ns_c curl -sS --max-time 5 http://10.77.1.3:8080/__stats | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["seen"])')" \
	"the origin saw 3 attempts"

# refusals
lines=$(wc -l <"$NGINX_ACCESS_LOG")
out=$(ns_c curl -sS --max-time 10 -x "$PROXY" -w '%{http_code}' http://10.77.1.2/)
assert_match "$out" '^403$' "a target tunnel_access denies -> 403"
assert_eq "$lines" "$(wc -l <"$NGINX_ACCESS_LOG")" "the denied target saw nothing"
assert_file_match "$S_LOG" 'GET http://10\.77\.1\.2/ refused: denied by tunnel_access rule at line 4' "the denial is logged"
out=$(ns_c curl -sS --max-time 10 -x "$PROXY" -w '%{http_code}' http://origin.example/)
assert_match "$out" '^400$' "host-name authority -> 400"
assert_match "$out" 'hermes has no resolver' "the 400 says why (no resolver)"
connectc() { ns_c "$PY" "$TESTBIN/connectc.py" 10.77.1.2 15008 "$@"; }
assert_match "$(connectc 'GET http://10.77.1.3:99999/ HTTP/1.1\r\nHost: 10.77.1.3\r\n\r\n')" '^status 400' "port 99999 -> 400"
assert_match "$(connectc 'GET / HTTP/1.1\r\nHost: 10.77.1.3\r\n\r\n')" '^status 405' "origin-form GET -> 405"
out=$(ns_c curl -sS --max-time 10 -p -x "$PROXY" http://10.77.1.3/) || die "CONNECT on the same listener failed"
assert_eq "$NGINX_PAGE" "$out" "CONNECT still served on the listener"

assert_eq 8 "$(sstat hermes_http_forward_connections_total)" "forward connections counted (6 curl, 1 raw, 1 python)"
assert_ge 13 "$(sstat hermes_http_forward_requests_total)" "forward requests counted"
assert_eq 0 "$(sstat hermes_connections_active)" "nothing left open"
pass "explicit proxy requests on the tunnel listener: curl -x, keep-alive, 1 MiB, retries, 403, 400"
