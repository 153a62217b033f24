#!/bin/bash
# http_h1tls: HTTP/1.1 over TLS to origins (`upstream_tls: true` with upstream_protocol
# h1), and https:// targets in explicit proxy requests on the tunnel listener.
# Certificates from `hermesctl certs init` (one with an IP SAN). Origins: nginx serving
# HTTPS with HTTP/1.1 only (ALPN http/1.1), and the python test origin over TLS without
# ALPN (chunked bodies both ways, close-delimited bodies, resets, 503s).
#  - steered curl -> hermesd -> nginx over TLS: the page, 1 MiB three times and a gzip
#    (chunked) 1 MiB byte-exact; every request on ONE TLS connection (nginx $connection
#    and hermes_http_upstream_tls_handshakes_total); no tls_name: the chain alone
#  - the python origin: a 1 MiB chunked upload echoed byte-exact, a chunked download,
#    kept-alive TLS connections (its accept count), a close-delimited body that ends
#    with close_notify (passed on) or with a bare TCP close (a possible truncation: the
#    client is reset), a reset and two 503s retried over TLS
#  - an endpoint whose certificate comes from another CA fails the TLS handshake and the
#    request is retried on the route's second endpoint (connect-failure class); alone,
#    it gets 502 with a log line naming the reason; so does a tls_name the certificate
#    does not carry, and an origin that accepts TCP but never answers the ClientHello
#    (after connect_timeout_ms)
#  - explicit proxy: `GET https://10.77.1.3:4443/ HTTP/1.1` (curl --request-target, and
#    python http.client on one kept-alive connection mixing https:// and http:// targets
#    on one TLS connection to the origin); the certificate is checked against the
#    target's IP (a DNS-only certificate gets 502), tunnel_access applies per target
#    (403), a host name gets 400.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
"$HERMESCTL_BIN" certs init "$TMP/pki" --hosts origin,hermes,10.77.1.3 >/dev/null || die "hermesctl certs init failed"
"$HERMESCTL_BIN" certs init "$TMP/other" --hosts origin >/dev/null || die "hermesctl certs init (other CA) failed"
assert_match "$(openssl x509 -in "$TMP/pki/10.77.1.3.crt" -noout -ext subjectAltName)" 'IP Address:10\.77\.1\.3' \
	"certs init gives an IP host an IP SAN"

# the same document root over HTTPS, HTTP/1.1 only: :443 a DNS:origin certificate,
# :4443 the IP SAN one, :8443 another CA's; gzip for a chunked response (Via makes
# the request a proxied one for nginx); the TLS servers log their connection number
NGX3_LOG=$TMP/ngx-tls.log
tls_server() {
	printf '    server { listen 10.77.1.3:%s ssl; ssl_certificate %s.crt; ssl_certificate_key %s.key; root %s;
             access_log %s tls; keepalive_timeout 60; keepalive_requests 10000; }\n' \
		"$1" "$2" "$2" "$TMP/nginx/www" "$NGX3_LOG"
}
NGINX_HTTP_EXTRA="    log_format tls '\$connection \$server_port \$ssl_protocol \"\$request\" \$status \$body_bytes_sent';
    ssl_protocols TLSv1.3;
    gzip on; gzip_types application/octet-stream; gzip_min_length 1; gzip_proxied any;
$(tls_server 443 "$TMP/pki/origin")
$(tls_server 4443 "$TMP/pki/10.77.1.3")
$(tls_server 8443 "$TMP/other/origin")"
start_nginx "$NS_S" 10.77.1.2:80
wait_tcp "$NS_S" 10.77.1.3 443 || die "nginx does not serve HTTPS: $(tail -n 5 "$TMP/nginx/error.log")"
bg origin s "$PY" "$TESTBIN/flaky_origin.py" 10.77.1.3 9443 --tls "$TMP/pki/origin.crt" "$TMP/pki/origin.key"
wait_tcp "$NS_S" 10.77.1.3 9443 || die "python TLS origin did not start: $(cat "$TMP/origin.log")"
# a listener that never accepts: TCP connects, the ClientHello is never answered
bg stall s "$PY" -c 'import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.77.1.3", 9445))
s.listen(64)
time.sleep(600)'
wait_tcp "$NS_S" 10.77.1.3 9445 || die "the stalling listener did not start"
# the python origin's control paths, straight from the server host over TLS
pyctl() { ns_s curl -sS --max-time 5 --cacert "$TMP/pki/ca.crt" --resolve origin:9443:10.77.1.3 "https://origin:9443$1"; }
pyconns() { pyctl /__stats | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["conns"])'; }
pyseen() { pyctl /__stats | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["seen"])'; }
# distinct nginx connections that served port $1
ngx_conns() { awk -v p="$1" '$2 == p { print $1 }' "$NGX3_LOG" | sort -u | wc -l; }

cat >"$TMP/hermes.yaml" <<YAML
tls: {cert: $TMP/pki/hermes.crt, key: $TMP/pki/hermes.key, ca: $TMP/pki/ca.crt}
tunnel: {allow_cleartext: true} # curl -x http:// (explicit proxy requests in clear text)
proxy: {connect_timeout_ms: 1000}
tunnel_access:
  - {match: 10.77.1.3/32:8443, action: deny}
  - {match: 0.0.0.0/0, action: allow}
http_routes:
  - {name: tls, match: {host: origin}, endpoints: [10.77.1.3:443], upstream_tls: true, tls_name: origin}
  - {name: noname, match: {host: noname}, endpoints: [10.77.1.3:443], upstream_protocol: h1, upstream_tls: true}
  - {name: py, match: {host: py}, endpoints: [10.77.1.3:9443], upstream_tls: true, tls_name: origin,
     retry: {retry_on: [reset, 5xx], num_retries: 2, backoff_base_ms: 5, backoff_max_ms: 20}}
  - {name: failover, match: {host: failover}, endpoints: [10.77.1.3:8443, 10.77.1.3:443], upstream_tls: true,
     tls_name: origin, retry: {retry_on: [connect-failure], num_retries: 1, backoff_base_ms: 1, backoff_max_ms: 2}}
  - {name: badca, match: {host: badca}, endpoints: [10.77.1.3:8443], upstream_tls: true, tls_name: origin}
  - {name: badname, match: {host: badname}, endpoints: [10.77.1.3:443], upstream_tls: true, tls_name: nothere}
  - {name: stall, match: {host: stall}, endpoints: [10.77.1.3:9445], upstream_tls: true}
YAML
start_hermesd -c "$TMP/hermes.yaml" --tunnel-listen 10.77.1.1:15008
policy_add 10.77.1.3/32 http

# --- nginx over TLS: the page, byte-exact bodies, one pooled TLS connection
curl_app -D "$TMP/h1.txt" -H 'Host: origin' http://10.77.1.3/
assert_eq "$NGINX_PAGE" "$CURL_OUT" "h1 over TLS: the page"
assert_file_match "$TMP/h1.txt" '^HTTP/1.1 200 OK' "status line back"
assert_file_match "$NGX3_LOG" ' 443 TLSv1\.3 "GET / HTTP/1\.1" 200' "nginx served it over TLS 1.3, HTTP/1.1"
assert_file_match "$HERMESD_LOG" 'TLS to origin 10\.77\.1\.3:443 \(origin\): TLSv1\.3, ALPN http/1\.1' \
	"the handshake is logged with ALPN http/1.1"
for i in 1 2 3; do
	curl_app -o "$TMP/1m.got" -H 'Host: origin' http://10.77.1.3/1m.bin
	[ "$CURL_RC" = 0 ] && cmp -s "$TMP/1m.got" "$TMP/nginx/www/1m.bin" || die "1 MiB over TLS differs ($CURL_ERR)"
done
say "ok: 1 MiB byte-exact, 3 times"
curl_app -D "$TMP/gz.txt" -o "$TMP/1m.gz" -H 'Host: origin' -H 'Accept-Encoding: gzip' http://10.77.1.3/1m.bin
assert_eq 0 "$CURL_RC" "gzip download"
assert_file_match "$TMP/gz.txt" '^Transfer-Encoding: chunked' "nginx's gzip response came chunked"
gunzip -c "$TMP/1m.gz" | cmp -s - "$TMP/nginx/www/1m.bin" || die "the chunked gzip body does not decompress to 1m.bin"
say "ok: chunked (gzip) 1 MiB byte-exact"
assert_eq 1 "$(ngx_conns 443)" "nginx served the 5 requests on one connection"
assert_eq 1 "$(stat_value hermes_http_upstream_tls_handshakes_total)" "one TLS handshake for 5 requests"
assert_ge 4 "$(stat_value hermes_http_upstream_connections_total 'pool="reused"')" "the pooled TLS connection was reused"

curl_app -H 'Host: noname' http://10.77.1.3/
assert_eq "$NGINX_PAGE" "$CURL_OUT" "no tls_name: the chain alone is verified"
assert_eq 2 "$(stat_value hermes_http_upstream_tls_handshakes_total)" \
	"another name, another TLS connection (a pooled connection serves only its own name)"

# --- the python origin: TLS without ALPN, chunked both ways, closes, retries
c0=$(pyconns)
head -c 1048576 /dev/urandom >"$TMP/up.bin"
curl_app -o "$TMP/echo.got" -H 'Host: py' -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/octet-stream' \
	--data-binary @"$TMP/up.bin" http://10.77.1.3/echo
[ "$CURL_RC" = 0 ] && cmp -s "$TMP/echo.got" "$TMP/up.bin" || die "1 MiB chunked upload over TLS not echoed byte-exact ($CURL_ERR)"
say "ok: 1 MiB chunked upload echoed byte-exact"
assert_file_match "$HERMESD_LOG" 'TLS to origin 10\.77\.1\.3:9443 \(origin\): TLSv1\.3, ALPN none' \
	"an origin without ALPN is HTTP/1.1"
curl_app -D "$TMP/ck.txt" -H 'Host: py' 'http://10.77.1.3/chunked?n=2000'
assert_file_match "$TMP/ck.txt" '^Transfer-Encoding: chunked' "a chunked response passed on chunked"
assert_eq "$(seq 0 1999 | sed 's/^/line /')" "$CURL_OUT" "the chunked body, whole"
for i in 1 2 3; do
	curl_app -H 'Host: py' http://10.77.1.3/x
	assert_match "$CURL_OUT" '^ok ' "request $i to the python origin"
done
# (each pyconns call is a connection of its own)
assert_eq 1 "$(($(pyconns) - c0 - 1))" "5 requests on one TLS connection to the python origin"

curl_app -H 'Host: py' 'http://10.77.1.3/until-close?clean=1'
assert_eq 0 "$CURL_RC" "a close-delimited body ended by close_notify"
assert_eq "body until the close" "$CURL_OUT" "its body"
curl_app -H 'Host: py' 'http://10.77.1.3/until-close?clean=0'
assert_ne 0 "$CURL_RC" "a close-delimited body ended by a bare TCP close: the client sees an error"
assert_file_match "$HERMESD_LOG" 'upstream closed mid-body \(TLS without close_notify: maybe truncated\): reset' \
	"the truncation is logged"

pyctl '/__arm?n=1&mode=reset' >/dev/null || die "cannot arm the python origin"
curl_app -o /dev/null -w '%{http_code}' -H 'Host: py' http://10.77.1.3/r
assert_eq 200 "$CURL_OUT" "a reset over TLS retried"
assert_eq 2 "$(pyseen)" "the origin saw 2 attempts"
pyctl '/__arm?n=2&mode=503' >/dev/null || die "cannot arm the python origin"
curl_app -o /dev/null -w '%{http_code}' -H 'Host: py' http://10.77.1.3/s
assert_eq 200 "$CURL_OUT" "two 503s over TLS retried"
assert_eq 3 "$(pyseen)" "the origin saw 3 attempts"

# --- TLS failures: retried like a connect failure, else 502 with the reason
curl_app -o /dev/null -w '%{http_code}' -H 'Host: failover' http://10.77.1.3/
assert_eq 200 "$CURL_OUT" "an endpoint failing TLS is replaced by the route's next one"
assert_file_match "$HERMESD_LOG" 'TLS to origin 10\.77\.1\.3:8443 \(origin\) failed: certificate verify failed: unable to get local issuer certificate' \
	"the failed handshake is logged with its reason"
assert_file_match "$HERMESD_LOG" 'GET /: TLS handshake failed \(Protocol error\); retry 1 of 1' "and retried"
curl_app -o /dev/null -w '%{http_code}' -H 'Host: badca' http://10.77.1.3/
assert_eq 502 "$CURL_OUT" "an origin certificate from another CA -> 502"
curl_app -o /dev/null -w '%{http_code}' -H 'Host: badname' http://10.77.1.3/
assert_eq 502 "$CURL_OUT" "a certificate without the route's tls_name -> 502"
assert_file_match "$HERMESD_LOG" 'TLS to origin 10\.77\.1\.3:443 \(nothere\) failed: certificate verify failed: [Hh]ostname mismatch' \
	"the log names the TLS reason (hostname mismatch)"
curl_app -o /dev/null -w '%{http_code}' -H 'Host: stall' http://10.77.1.3/
assert_eq 502 "$CURL_OUT" "an origin that never answers the ClientHello -> 502"
assert_le 6000 "$CURL_MS" "... within connect_timeout_ms (1 s, checked each second) and margin"
assert_file_match "$HERMESD_LOG" 'TLS to origin 10\.77\.1\.3:9445 failed: no handshake within 1000 ms \(connect_timeout_ms\)' \
	"the log says the handshake timed out"
assert_ge 4 "$(stat_value hermes_http_upstream_failures_total 'kind="tls"')" "TLS failures counted"
assert_ge 4 "$(stat_value hermes_http_upstream_tls_failures_total)" "failed handshakes counted"

# --- https:// targets in explicit proxy requests
PROXY=http://10.77.1.1:15008
out=$(ns_c curl -sS --max-time 10 -x "$PROXY" --request-target https://10.77.1.3:4443/ http://10.77.1.3:4443/) ||
	die "GET https://10.77.1.3:4443/ through the proxy failed"
assert_eq "$NGINX_PAGE" "$out" "an https:// target through the explicit proxy"
assert_file_match "$NGX3_LOG" ' 4443 TLSv1\.3 "GET / HTTP/1\.1" 200' "nginx got it over TLS in origin form"
# python http.client: https:// and http:// targets on one kept-alive connection
out=$(ns_c "$PY" "$TESTBIN/pyclients.py" onconn 10.77.1.1 15008 "https://10.77.1.3:4443/=200:$TMP/nginx/www/index.html" \
	"https://10.77.1.3:4443/1m.bin=200:$TMP/nginx/www/1m.bin" "http://10.77.1.2/=200:$TMP/nginx/www/index.html" \
	"https://10.77.1.3:4443=200:$TMP/nginx/www/index.html" "https://10.77.1.3:4443/missing=404") || die "http.client: $out"
say "$out"
assert_eq 1 "$(ngx_conns 4443)" "the https:// requests shared one TLS connection to the origin"
assert_file_match "$HERMESD_LOG" 'TLS to origin 10\.77\.1\.3:4443 \(10\.77\.1\.3\): TLSv1\.3, ALPN http/1\.1' \
	"the target's certificate checked against its IP"
out=$(ns_c curl -sS --max-time 10 -x "$PROXY" -w '%{http_code}' -o /dev/null --request-target https://10.77.1.3/ http://10.77.1.3/)
assert_eq 502 "$out" "an https:// target whose certificate does not name its IP -> 502"
assert_file_match "$HERMESD_LOG" 'TLS to origin 10\.77\.1\.3:443 \(10\.77\.1\.3\) failed: certificate verify failed: IP address mismatch' \
	"the log names the TLS reason (IP address mismatch)"
lines=$(wc -l <"$NGX3_LOG")
out=$(ns_c curl -sS --max-time 10 -x "$PROXY" -w '%{http_code}' -o /dev/null --request-target https://10.77.1.3:8443/ http://10.77.1.3:8443/)
assert_eq 403 "$out" "an https:// target tunnel_access denies -> 403"
assert_eq "$lines" "$(wc -l <"$NGX3_LOG")" "the denied target saw nothing"
out=$(ns_c curl -sS --max-time 10 -x "$PROXY" -w '%{http_code}' --request-target https://origin/ http://origin/)
assert_match "$out" '400$' "an https:// host name -> 400"
assert_match "$out" 'hermes has no resolver' "the 400 says why"

assert_eq 0 "$(stat_value hermes_connections_active)" "nothing left open"
pass "HTTP/1.1 over TLS to origins: pooled, byte-exact, retried, verified; https:// proxy targets"
