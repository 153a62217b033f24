#!/bin/bash
# http_translate: the http action translates between HTTP/1.1 and HTTP/2 (h2c). curl
# (HTTP/1.1) through hermesd reaches an h2c nginx and a python3-h2 origin (routes with
# upstream_protocol: h2c): byte-exact bodies, a DATA-only body arriving chunked, a chunked
# upload with a trailer echoed back with the origin's response trailers; curl
# --http2-prior-knowledge through hermesd reaches nginx over HTTP/1.1 byte-exact (GET,
# upload, 1 MiB) and the python origin over h2c; nghttp sees response trailers mapped from
# an HTTP/1.1 chunked response; refused-stream retries a REFUSED_STREAM; h2load
# -n 10000 -c 1000 through the http action completes with 0 errors (h2c client -> h1
# nginx, then h2c -> h2c nginx); /stats counts h2 streams both ways.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

require_cmd h2load
require_cmd nghttp
"$PY" -c 'import h2' 2>/dev/null || skip "python3-h2 is not installed for $PY"

topo_up
start_nginx "$NS_S" 10.77.1.2:80 10.77.1.3:80
# the same nginx document root over h2c (prior knowledge) on a second nginx
mkdir -p "$TMP/ngx2/tmp"
sed -e "s|listen 10.77.1.2:80;|listen 10.77.1.2:8081 http2;|" -e "/listen 10.77.1.3:80;/d" \
	-e "s|$TMP/nginx/nginx.pid|$TMP/ngx2/nginx.pid|" -e "s|$TMP/nginx/tmp|$TMP/ngx2/tmp|g" \
	-e "s|access_log [^;]*;|access_log $TMP/ngx2/access.log hermes;|" \
	-e "s|keepalive_timeout 5;|keepalive_timeout 60; keepalive_requests 1000000; http2_max_concurrent_streams 256;|" \
	"$TMP/nginx/nginx.conf" >"$TMP/ngx2/nginx.conf"
bg ngx2 s /usr/sbin/nginx -e "$TMP/ngx2/error.log" -p "$TMP/ngx2" -c "$TMP/ngx2/nginx.conf"
wait_tcp "$NS_S" 10.77.1.2 8081 || die "h2c nginx did not start: $(tail -n 5 "$TMP/ngx2/error.log" "$TMP/ngx2.log")"
bg h2origin s "$PY" "$TESTBIN/h2_origin.py" 0.0.0.0 8443
wait_tcp "$NS_S" 10.77.1.2 8443 || die "python h2 origin did not start"

cat >"$TMP/hermes.yaml" <<YAML
http_routes:
  - {name: ngx-h2c, match: {host: ngx.h2c}, endpoints: [10.77.1.2:8081], upstream_protocol: h2c}
  - {name: py-h2c, match: {host: py.h2c}, endpoints: [10.77.1.3:8443], upstream_protocol: h2c,
     retry: {retry_on: [refused-stream], num_retries: 2, backoff_base_ms: 5, backoff_max_ms: 10}}
  - {name: py-noretry, match: {host: noretry.h2c}, endpoints: [10.77.1.3:8443], upstream_protocol: h2c}
YAML
start_hermesd -c "$TMP/hermes.yaml"
policy_add 10.77.1.0/24 http

# ---- HTTP/1.1 client -> h2c upstream
curl_app -D "$TMP/h1.txt" -H 'Host: ngx.h2c' http://10.77.1.2/
assert_eq "$NGINX_PAGE" "$CURL_OUT" "h1 -> h2c nginx: the page"
assert_file_match "$TMP/h1.txt" '^HTTP/1.1 200 OK' "h1 -> h2c: an HTTP/1.1 status line with its reason"
grep -q '"GET / HTTP/2.0" 200' "$TMP/ngx2/access.log" || die "nginx did not see an HTTP/2 request: $(cat "$TMP/ngx2/access.log")"
say "ok: nginx served it over HTTP/2"

curl_app -o "$TMP/1m.got" -H 'Host: ngx.h2c' http://10.77.1.2/1m.bin
[ "$CURL_RC" = 0 ] && cmp -s "$TMP/1m.got" "$TMP/nginx/www/1m.bin" || die "h1 -> h2c: 1 MiB body differs ($CURL_ERR)"
say "ok: h1 -> h2c nginx: 1 MiB byte-exact"

"$PY" -c 'import sys; n=int(sys.argv[1]); b=bytes(i % 251 for i in range(251*64)); sys.stdout.buffer.write((b*(n//len(b)+1))[:n])' 3000000 >"$TMP/pat.want"
curl_app -D "$TMP/h2.txt" -o "$TMP/pat.got" -H 'Host: py.h2c' 'http://10.77.1.3:8443/data?n=3000000'
cmp -s "$TMP/pat.got" "$TMP/pat.want" || die "h1 -> h2c python: 3 MB DATA-only body differs ($CURL_ERR)"
assert_file_match "$TMP/h2.txt" '^[Tt]ransfer-[Ee]ncoding: chunked' "a body without content-length reaches HTTP/1.1 chunked"
say "ok: h1 -> h2c python: 3 MB byte-exact, chunked"

head -c 200000 /dev/urandom >"$TMP/up.bin"
curl_app -D "$TMP/h3.txt" -o "$TMP/up.got" -H 'Host: py.h2c' -H 'Transfer-Encoding: chunked' \
	-H 'Trailer: x-trailer' --data-binary @"$TMP/up.bin" http://10.77.1.3:8443/echo
cmp -s "$TMP/up.got" "$TMP/up.bin" || die "h1 chunked upload -> h2c echo differs ($CURL_ERR)"
assert_file_match "$TMP/h3.txt" '^x-body-len: 200000' "the origin's trailers reach the HTTP/1.1 client as chunked trailers"
assert_file_match "$TMP/h3.txt" '^x-saw-authority: py.h2c' ":authority from Host"
assert_file_match "$TMP/h3.txt" '^x-saw-length: -' "a chunked upload goes as DATA without content-length"
# a request trailer: raw HTTP/1.1 from python in the app cgroup
in_app "$PY" - >"$TMP/tr.txt" 2>&1 <<'PYEOF' || die "raw chunked request with a trailer failed: $(cat "$TMP/tr.txt")"
import socket
s = socket.create_connection(("10.77.1.3", 8443), timeout=10)
s.sendall(b"POST /echo HTTP/1.1\r\nHost: py.h2c\r\nTransfer-Encoding: chunked\r\n\r\n"
          b"5\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: sent-by-client\r\n\r\n")
buf = b""
while not buf.endswith(b"\r\n\r\n") or b"\r\n0\r\n" not in buf:
    d = s.recv(65536)
    if not d:
        break
    buf += d
print(buf.decode())
PYEOF
assert_file_match "$TMP/tr.txt" 'hello world' "the chunked body, de-chunked and re-chunked"
assert_file_match "$TMP/tr.txt" 'x-echo-trailer: sent-by-client' "a request trailer reaches the h2 origin as trailing HEADERS"

# ---- HTTP/2 (h2c prior knowledge) client -> HTTP/1.1 nginx
curl_app --http2-prior-knowledge -D "$TMP/h4.txt" http://10.77.1.2/
assert_eq "$NGINX_PAGE" "$CURL_OUT" "h2c client -> h1 nginx: the page"
assert_file_match "$TMP/h4.txt" '^HTTP/2 200' "the client spoke HTTP/2"
tail -n 1 "$NGINX_ACCESS_LOG" | grep -q 'HTTP/1.1" 200' || die "nginx did not see HTTP/1.1: $(tail -n 1 "$NGINX_ACCESS_LOG")"
curl_app --http2-prior-knowledge -o "$TMP/1m2.got" http://10.77.1.2/1m.bin
cmp -s "$TMP/1m2.got" "$TMP/nginx/www/1m.bin" || die "h2c client -> h1 nginx: 1 MiB differs ($CURL_ERR)"
say "ok: h2c client -> h1 nginx: 1 MiB byte-exact"
curl_app --http2-prior-knowledge -o "$TMP/up2.got" -H 'Host: py.h2c' --data-binary @"$TMP/up.bin" http://10.77.1.3:8443/echo
cmp -s "$TMP/up2.got" "$TMP/up.bin" || die "h2c upload -> h2c echo differs ($CURL_ERR)"
say "ok: h2c client -> h2c python: 200 kB upload echoed byte-exact"
# response trailers of an HTTP/1.1 chunked origin, seen by an HTTP/2 client
bg h1origin s "$PY" "$TESTBIN/flaky_origin.py" 10.77.1.2 8080
wait_tcp "$NS_S" 10.77.1.2 8080 || die "python h1 origin did not start"
in_app nghttp -v 'http://10.77.1.2:8080/chunked?n=50' >"$TMP/ng.txt" 2>&1 || die "nghttp failed: $(tail -n 5 "$TMP/ng.txt")"
assert_file_match "$TMP/ng.txt" 'x-trailer: done' "an HTTP/1.1 chunked trailer reaches the h2 client as trailing HEADERS"

# ---- refused-stream
ns_c curl -sS --http2-prior-knowledge --max-time 5 -o /dev/null 'http://10.77.1.3:8443/__refuse?n=2' || die "cannot arm the origin"
curl_app -o /dev/null -w '%{http_code}' -H 'Host: py.h2c' http://10.77.1.3:8443/x
assert_eq 200 "$CURL_OUT" "refused-stream: two REFUSED_STREAM resets retried, the client gets 200"
assert_ge 2 "$(stat_value hermes_http_h2_upstream_refused_total)" "hermes_http_h2_upstream_refused_total"
ns_c curl -sS --http2-prior-knowledge --max-time 5 -o /dev/null 'http://10.77.1.3:8443/__refuse?n=1' || die "cannot arm the origin"
curl_app -o /dev/null -w '%{http_code}' -H 'Host: noretry.h2c' http://10.77.1.3:8443/x
assert_eq 503 "$CURL_OUT" "without refused-stream in retry_on the client sees 503"

# ---- load: h2load, 1000 connections
n_fd=$(ulimit -n)
[ "$n_fd" -ge 8192 ] || skip "ulimit -n is $n_fd: h2load -c 1000 through hermesd needs about 4000 descriptors"
for target in "http://10.77.1.2/" "http://10.77.1.2:8081/"; do
	if [ "$target" = "http://10.77.1.2:8081/" ]; then
		host_hdr=(-H 'host: ngx.h2c')
	else
		host_hdr=()
	fi
	in_app h2load -n 10000 -c 1000 "${host_hdr[@]}" "$target" >"$TMP/h2load.txt" 2>&1
	say "h2load $target: $(grep -E '^requests:' "$TMP/h2load.txt")"
	grep -qE '^requests: 10000 total, 10000 started, 10000 done, 10000 succeeded, 0 failed, 0 errored' "$TMP/h2load.txt" ||
		die "h2load through the http action to $target: $(grep -E '^(requests|status codes)' "$TMP/h2load.txt")"
	grep -qE '^status codes: 10000 2xx' "$TMP/h2load.txt" || die "h2load: not all 2xx: $(grep '^status codes' "$TMP/h2load.txt")"
done
assert_ge 20000 "$(stat_value hermes_http_h2_client_streams_total)" "hermes_http_h2_client_streams_total"
assert_ge 10000 "$(stat_value hermes_http_h2_upstream_streams_total)" "hermes_http_h2_upstream_streams_total"
pass
