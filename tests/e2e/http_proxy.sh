#!/bin/bash
# http_proxy: the `http` action proxies HTTP/1.1 for real clients. curl from the app cgroup
# gets nginx's page and a byte-exact 1 MiB body through hermesd (nginx logs hermesd's host
# address, the response carries Via: 1.1 hermes); curl reuses one connection for two
# requests (keep-alive) and hermesd reuses its pooled upstream connection; HTTP/1.0 works;
# python pipelines 5 requests on one connection and gets 5 chunked responses in order;
# curl uploads a chunked body with trailers and a 100-continue body, echoed byte-exact by
# a python origin; a chunked response with a trailer reaches curl whole; a route's
# add_headers/remove_headers reach the origin; /stats counts requests and responses.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
bg origin s "$PY" "$TESTBIN/flaky_origin.py" 0.0.0.0 8080
wait_tcp "$NS_S" 10.77.1.2 8080 || die "python origin did not start"
cat >"$TMP/hermes.yaml" <<YAML
http_routes:
  - name: edit
    match: {host: edit.test, headers: {user: alice}}
    endpoints: [10.77.1.3:8080]
    add_headers: {x-hermes: "added"}
    remove_headers: [x-internal]
YAML
start_hermesd -c "$TMP/hermes.yaml"
policy_add 10.77.1.0/24 http

expect_page "curl through the http action" http://10.77.1.2/
expect_nginx_client 10.77.1.1 "nginx saw hermesd's host address"
wait_origdst '10\.77\.1\.2:80' 1 "hermesd took the flow"

curl_app -sS -D "$TMP/h.txt" -o "$TMP/1m.got" http://10.77.1.2/1m.bin
[ "$CURL_RC" = 0 ] || die "1 MiB GET failed: $CURL_ERR"
cmp -s "$TMP/1m.got" "$TMP/nginx/www/1m.bin" || die "1 MiB body through the http action differs"
say "ok: 1 MiB body byte-exact"
assert_file_match "$TMP/h.txt" '^Via: 1.1 hermes' "the response carries Via"

# keep-alive: two requests, one client connection (curl says it re-uses it)
in_app curl -sv --max-time 10 -o /dev/null -o /dev/null http://10.77.1.2/ http://10.77.1.2/index.html \
	>"$TMP/ka.txt" 2>&1 || die "keep-alive curl failed: $(tail -n 5 "$TMP/ka.txt")"
assert_file_match "$TMP/ka.txt" '(Re-using|Reusing) existing connection' "curl kept its connection alive"
assert_ge 1 "$(stat_value hermes_http_upstream_connections_total 'pool="reused"')" "an upstream connection came from the pool"

# HTTP/1.0 client
curl_app --http1.0 http://10.77.1.2/
[ "$CURL_OUT" = "$NGINX_PAGE" ] || die "HTTP/1.0 request: got '$CURL_OUT'"
say "ok: HTTP/1.0 request"

# pipelining: 5 requests in one send, chunked responses, in order
out=$(in_app timeout 20 "$PY" "$TESTBIN/hclient.py" pipeline 10.77.1.2 8080 5 2>&1)
assert_eq OK "$out" "5 pipelined requests answered in order"

# chunked response with a trailer, to curl
curl_app --raw http://10.77.1.2:8080/chunked?n=4
assert_match "$CURL_OUT" 'X-Trailer: done' "the chunked response's trailer reached curl"
curl_app http://10.77.1.2:8080/chunked?n=4
assert_eq "$(printf 'line 0\nline 1\nline 2\nline 3')" "$CURL_OUT" "chunked response body"

# chunked upload with a trailer, echoed byte-exact
head -c 200000 /dev/urandom >"$TMP/up.bin"
in_app curl -sS --max-time 20 -H 'Transfer-Encoding: chunked' -H 'Trailer: X-T' --data-binary @"$TMP/up.bin" \
	-o "$TMP/up.got" http://10.77.1.2:8080/echo || die "chunked upload failed"
cmp -s "$TMP/up.bin" "$TMP/up.got" || die "chunked upload echoed differently"
say "ok: 200 kB chunked upload echoed byte-exact"
head -c 3000 /dev/urandom >"$TMP/small.bin"
in_app curl -sS --max-time 20 -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/small.bin" \
	-o "$TMP/small.got" http://10.77.1.2:8080/echo || die "small chunked upload failed"
cmp -s "$TMP/small.bin" "$TMP/small.got" || die "small chunked upload (buffered) echoed differently"
say "ok: small chunked upload (buffered whole) echoed byte-exact"

# 100-continue: curl waits for the 100 before sending its body
in_app curl -sS -v --max-time 20 -H 'Expect: 100-continue' --data-binary @"$TMP/up.bin" \
	-o "$TMP/c.got" http://10.77.1.2:8080/echo 2>"$TMP/c.err" || die "100-continue upload failed"
cmp -s "$TMP/up.bin" "$TMP/c.got" || die "100-continue upload echoed differently"
assert_file_match "$TMP/c.err" 'HTTP/1.1 100 Continue' "curl got 100 Continue"

# route header edits
curl_app -H 'Host: edit.test' -H 'user: alice' -H 'x-internal: secret' http://10.77.1.2:8080/headers
assert_match "$CURL_OUT" '^x-hermes: added$' "add_headers reached the origin"
assert_match "$CURL_OUT" '^Via: 1.1 hermes$' "Via reached the origin"
printf '%s\n' "$CURL_OUT" | grep -qi '^x-internal' && die "remove_headers: x-internal reached the origin"
say "ok: remove_headers dropped x-internal"

assert_ge 12 "$(stat_value hermes_http_requests_total)" "hermes_http_requests_total"
assert_ge 10 "$(stat_value hermes_http_responses_total 'code="2xx"')" "hermes_http_responses_total{code=\"2xx\"}"
assert_ge 10 "$(stat_value hermes_http_request_seconds_count)" "hermes_http_request_seconds_count"
pass "http action: keep-alive, pipelining, chunked bodies and trailers, 100-continue, header edits"
