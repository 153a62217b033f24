#!/bin/bash
# http_parent: an http route whose endpoints are HTTP proxies (`upstream_proxy: true`), as
# a chain of caching proxies needs: the client host's hermesd (http action on a steered
# curl) sends each request on to the next hermesd's tunnel listener, which serves it as an
# explicit proxy request and routes, retries and forwards it itself. Over HTTP/2 + mTLS
# (`upstream_protocol: h2`: :scheme http and the target's :authority, the listener asking
# for the client certificate) and over clear-text HTTP/1.1 (absolute form). Checked: the
# page and 1 MiB byte-exact, nginx gets origin form from the second hop, the far hop's
# own route retries two 503s (one client request), both hops' Via, the far hop's metrics;
# without upstream_proxy the same routes fail (HTTP/1.1: the listener's 405, origin form
# is not a proxy request; HTTP/2: :scheme https, so the far hop dials port 443),
# so the option is what makes the chain work.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
"$HERMESCTL_BIN" certs init "$TMP/pki" --hosts server,client >/dev/null || die "hermesctl certs init failed"
start_nginx
bg origin s "$PY" "$TESTBIN/flaky_origin.py" 10.77.1.3 8080
wait_tcp "$NS_S" 10.77.1.3 8080 || die "python origin did not start"

# the far hop: explicit proxy requests over h2/mTLS and clear-text h1, its own route
# (with retries) for the python origin
cat >"$TMP/far.yaml" <<YAML
tls: {cert: $TMP/pki/server.crt, key: $TMP/pki/server.key, ca: $TMP/pki/ca.crt}
tunnel: {allow_cleartext: true}
tunnel_access:
  - {match: 10.77.1.3/32, action: allow}
http_routes:
  - {name: flaky, match: {host: "10.77.1.3:8080"}, endpoints: [10.77.1.3:8080],
     retry: {retry_on: [5xx], num_retries: 2, backoff_base_ms: 10, backoff_max_ms: 40}}
YAML
S_ADMIN=127.0.0.1:15000
start_peer_hermesd "$NS_S" s -c "$TMP/far.yaml" --tunnel-listen 10.77.1.2:15008
sstat() { peer_stat "$NS_S" "$S_ADMIN" "$1"; }

# the near hop: nginx's address through the far hop over h2/mTLS, the python origin's
# over clear-text h1; no retries here, so a retry seen is the far hop's
near() {
	cat <<YAML
tls: {cert: $TMP/pki/client.crt, key: $TMP/pki/client.key, ca: $TMP/pki/ca.crt}
http_routes:
  - {name: via-h1, match: {host: "10.77.1.3:8080"}, endpoints: [10.77.1.2:15008]$1,
     retry: {num_retries: 0}}
  - {name: via-h2, match: {host: "10.77.1.3"}, endpoints: [10.77.1.2:15008], upstream_protocol: h2,
     tls_name: server$1, retry: {num_retries: 0}}
YAML
}
near ", upstream_proxy: true" >"$TMP/near.yaml"
start_hermesd -c "$TMP/near.yaml"
policy_add 10.77.1.3/32 http

expect_page "through two hops, h2 + mTLS between them" http://10.77.1.3/
assert_match "$(tail -n 1 "$NGINX_ACCESS_LOG")" '"GET / HTTP/1\.1" 200' "nginx got origin form from the far hop"
curl_app -o "$TMP/1m.got" http://10.77.1.3/1m.bin
[ "$CURL_RC" = 0 ] && cmp -s "$TMP/1m.got" "$TMP/nginx/www/1m.bin" || die "1 MiB through two hops differs ($CURL_ERR)"
say "ok: 1 MiB byte-exact through two hops"
assert_eq 2 "$(sstat hermes_http_h2_client_streams_total)" "the far hop served two HTTP/2 proxy requests"
assert_eq 1 "$(sstat hermes_http_forward_connections_total)" "on one mTLS session"

# clear-text h1 (absolute form) to the far hop, whose own route retries the origin's 503s
ns_c curl -sS --max-time 5 -o /dev/null "http://10.77.1.3:8080/__arm?n=2&mode=503" || die "cannot arm the origin"
curl_app -o /dev/null -w '%{http_code}' http://10.77.1.3:8080/x
assert_eq 200 "$CURL_OUT" "two 503s retried by the far hop"
assert_eq 0 "$(stat_value hermes_http_retries_total)" "the near hop retried nothing"
assert_eq 2 "$(sstat hermes_http_retries_total)" "the far hop retried twice"
curl_app http://10.77.1.3:8080/headers
assert_eq 2 "$(printf '%s\n' "$CURL_OUT" | grep -i '^via:' | grep -o '1\.1 hermes' | wc -l)" "both hops' Via reached the origin"
assert_match "$CURL_OUT" '^[Hh]ost: 10\.77\.1\.3:8080$' "Host kept through the chain"
assert_ge 3 "$(sstat hermes_http_forward_requests_total)" "the far hop counted the h1 proxy requests"

# without upstream_proxy the same routes send origin form, which a proxy listener refuses
stop_hermesd
near "" >"$TMP/near.yaml"
start_hermesd -c "$TMP/near.yaml"
curl_app -o /dev/null -w '%{http_code}' http://10.77.1.3:8080/x
assert_eq 405 "$CURL_OUT" "h1 without upstream_proxy: the listener answers 405 (origin form)"
# over h2 the far hop takes the connection's scheme, https, and dials 10.77.1.3:443
curl_app -o /dev/null -w '%{http_code}' http://10.77.1.3/
assert_eq 503 "$CURL_OUT" "h2 without upstream_proxy: :scheme https, the far hop finds nothing on port 443"
pass "upstream_proxy: a chain of two hermesd over h2/mTLS and clear-text h1, retries at the far hop"
