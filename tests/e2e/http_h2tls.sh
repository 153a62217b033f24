#!/bin/bash
# http_h2tls: `upstream_protocol: h2` (HTTP/2 over TLS 1.3 to the origin, ALPN h2). curl
# (HTTP/1.1) through the http action reaches nginx serving HTTPS + HTTP/2 with a
# certificate from `hermesctl certs init`: the page and 1 MiB byte-exact, nginx logs
# HTTP/2.0 requests, several requests share one TLS connection; a route with a tls_name
# the certificate does not carry, and then a hermesd whose tls.ca is another CA, get 502
# with a log line naming the TLS reason; a route without tls_name checks the chain only.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
"$HERMESCTL_BIN" certs init "$TMP/pki" --hosts origin,hermes >/dev/null || die "hermesctl certs init failed"
"$HERMESCTL_BIN" certs init "$TMP/other" --hosts hermes >/dev/null || die "hermesctl certs init (other CA) failed"
start_nginx "$NS_S" 10.77.1.2:80
# the same document root over HTTPS + HTTP/2 on 10.77.1.3:443
mkdir -p "$TMP/ngx3/tmp"
sed -e "s|listen 10.77.1.2:80;|listen 10.77.1.3:443 ssl http2; ssl_certificate $TMP/pki/origin.crt; ssl_certificate_key $TMP/pki/origin.key; ssl_protocols TLSv1.3;|" \
	-e "s|$TMP/nginx/nginx.pid|$TMP/ngx3/nginx.pid|" -e "s|$TMP/nginx/tmp|$TMP/ngx3/tmp|g" \
	-e "s|access_log [^;]*;|access_log $TMP/ngx3/access.log hermes;|" \
	-e "s|keepalive_timeout 5;|keepalive_timeout 60;|" \
	"$TMP/nginx/nginx.conf" >"$TMP/ngx3/nginx.conf"
bg ngx3 s /usr/sbin/nginx -e "$TMP/ngx3/error.log" -p "$TMP/ngx3" -c "$TMP/ngx3/nginx.conf"
wait_tcp "$NS_S" 10.77.1.3 443 || die "HTTPS nginx did not start: $(tail -n 5 "$TMP/ngx3/error.log" "$TMP/ngx3.log")"

routes() {
	cat <<YAML
tls: {cert: $TMP/pki/hermes.crt, key: $TMP/pki/hermes.key, ca: $1}
http_routes:
  - {name: h2tls, match: {host: origin}, endpoints: [10.77.1.3:443], upstream_protocol: h2, tls_name: origin}
  - {name: noname, match: {host: noname}, endpoints: [10.77.1.3:443], upstream_protocol: h2}
  - {name: badname, match: {host: badname}, endpoints: [10.77.1.3:443], upstream_protocol: h2, tls_name: nothere}
YAML
}
routes "$TMP/pki/ca.crt" >"$TMP/hermes.yaml"
start_hermesd -c "$TMP/hermes.yaml"
policy_add 10.77.1.3/32 http

curl_app -D "$TMP/h1.txt" -H 'Host: origin' http://10.77.1.3/
assert_eq "$NGINX_PAGE" "$CURL_OUT" "h1 -> h2 over TLS: the page"
assert_file_match "$TMP/h1.txt" '^HTTP/1.1 200 OK' "an HTTP/1.1 status line back"
grep -q '"GET / HTTP/2.0" 200' "$TMP/ngx3/access.log" || die "nginx did not see an HTTP/2 request: $(cat "$TMP/ngx3/access.log")"
say "ok: nginx served it over HTTP/2 + TLS"
for i in 1 2 3; do
	curl_app -o "$TMP/1m.got" -H 'Host: origin' http://10.77.1.3/1m.bin
	[ "$CURL_RC" = 0 ] && cmp -s "$TMP/1m.got" "$TMP/nginx/www/1m.bin" || die "h1 -> h2 TLS: 1 MiB body differs ($CURL_ERR)"
done
say "ok: 1 MiB byte-exact, 3 times"
assert_eq 1 "$(stat_value hermes_http_h2_upstream_connections_total)" "four requests, one TLS connection"
assert_file_match "$HERMESD_LOG" 'TLS to origin 10\.77\.1\.3:443 \(origin\): TLSv1\.3, ALPN h2' "TLS 1.3 with ALPN h2"

curl_app -H 'Host: noname' http://10.77.1.3/
assert_eq "$NGINX_PAGE" "$CURL_OUT" "no tls_name: the chain alone is verified"

curl_app -o /dev/null -w '%{http_code}' -H 'Host: badname' http://10.77.1.3/
assert_eq 502 "$CURL_OUT" "a certificate without the route's tls_name -> 502"
assert_file_match "$HERMESD_LOG" 'TLS to origin 10\.77\.1\.3:443 \(nothere\) failed: certificate verify failed: [Hh]ostname mismatch' \
	"the log names the TLS reason (hostname mismatch)"

stop_hermesd
routes "$TMP/other/ca.crt" >"$TMP/hermes.yaml"
start_hermesd -c "$TMP/hermes.yaml"
curl_app -o /dev/null -w '%{http_code}' -H 'Host: origin' http://10.77.1.3/
assert_eq 502 "$CURL_OUT" "an origin certificate from another CA -> 502"
assert_file_match "$HERMESD_LOG" 'TLS to origin 10\.77\.1\.3:443 \(origin\) failed: certificate verify failed: unable to get local issuer certificate' \
	"the log names the TLS reason (unknown issuer)"
pass "upstream_protocol h2: HTTP/2 over TLS 1.3 to nginx, verified; bad name and bad CA refused"
