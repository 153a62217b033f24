#!/bin/bash
# http_cache: the http action's HTTP cache (section cache) in front of nginx. A response
# with max-age (nginx `expires 60s`) is stored on the first GET; the second GET and a
# HEAD are answered from the store, to HTTP/1.1 and HTTP/2 clients (nginx logs one
# request; the hit carries Age, its body byte-exact), If-None-Match requests (304 for
# its ETag, 200 for another) and two Range requests as 206 slices of it. A request with Cache-Control: no-cache goes to nginx with the stored
# ETag, and nginx's 304 refreshes the stored response, which answers. A private response is never answered from the store; a Vary
# response is stored per value of the field it names; a POST answered 204 invalidates
# the URL's stored response. A stale response with stale-if-error answers in place of
# nginx's 503 (and of a refused connection once nginx is gone); one without lets the 503
# pass. An object over max_object_kb is passed on and not stored. A request to another
# address with the Host of a stored response is not answered from it. A response through
# a route to an h2c upstream is stored and served too, and so is an explicit proxy
# request (absolute form) on a second hermesd's tunnel listener. hermesctl cache purge
# removes a URL's stored responses (all Vary variants; 0 the second time; a bad URL and
# a hermesd with the cache off or not running refused with their reasons). /stats counts hits,
# misses, revalidations, stale-if-error answers, invalidations and the objects held.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
# port 8081: the same files, with freshness, and paths that are private, vary, accept a
# POST or fail on demand
NGINX_HTTP_EXTRA="    server {
        listen 10.77.1.2:8081;
        root $TMP/nginx/www;
        location / { expires 60s; }
        location /private/ { add_header Cache-Control private; expires 60s; }
        location /vary/ { add_header Vary Accept-Language; expires 60s; }
        location /inv/ { expires 60s; if (\$request_method = POST) { return 204; } }
        location /sie/ {
            add_header Cache-Control \"max-age=1, stale-if-error=60\";
            if (-f \$document_root/down) { return 503; }
        }
        location /nosie/ {
            add_header Cache-Control max-age=1;
            if (-f \$document_root/down) { return 503; }
        }
    }
    server {
        listen 10.77.1.2:8082 http2;
        root $TMP/nginx/www;
        location / { expires 60s; }
    }"
start_nginx
mkdir -p "$TMP/nginx/www/private" "$TMP/nginx/www/vary" "$TMP/nginx/www/inv" "$TMP/nginx/www/sie" \
	"$TMP/nginx/www/nosie"
echo "sie page" >"$TMP/nginx/www/sie/s.html"
echo "nosie page" >"$TMP/nginx/www/nosie/n.html"
echo "vary page" >"$TMP/nginx/www/vary/v.html"
echo "inv page" >"$TMP/nginx/www/inv/i.html"
head -c 300000 /dev/urandom >"$TMP/nginx/www/300k.bin"
echo "private page" >"$TMP/nginx/www/private/p.html"
chmod -R 755 "$TMP/nginx/www"
cat >"$TMP/hermes.yaml" <<YAML
cache: {enabled: true, max_size_mb: 8, max_object_kb: 512}
http_routes:
  - {name: h2c-cache, match: {host: h2c.cache}, endpoints: [10.77.1.2:8082], upstream_protocol: h2c}
YAML
start_hermesd -c "$TMP/hermes.yaml"
policy_add 10.77.1.0/24 http

# nginx's access-log lines for a path
origin_gets() { grep -c "\"$1 $2 " "$NGINX_ACCESS_LOG" 2>/dev/null; }
# origin_saw METHOD PATH N: nginx logged N such requests (its log is written after the answer)
# shellcheck disable=SC2317 # called through wait_until
origin_saw() { [ "$(origin_gets "$1" "$2")" = "$3" ]; }

in_app curl -sS --max-time 10 -D "$TMP/h1.txt" -o "$TMP/a.got" http://10.77.1.2:8081/300k.bin ||
	die "first GET failed"
in_app curl -sS --max-time 10 -D "$TMP/h2.txt" -o "$TMP/b.got" http://10.77.1.2:8081/300k.bin ||
	die "second GET failed"
cmp -s "$TMP/a.got" "$TMP/nginx/www/300k.bin" || die "the miss's body differs from nginx's file"
cmp -s "$TMP/b.got" "$TMP/nginx/www/300k.bin" || die "the hit's body differs from nginx's file"
wait_until 5 origin_saw GET /300k.bin 1 || die "nginx saw $(origin_gets GET /300k.bin) GETs of /300k.bin, want 1"
assert_file_match "$TMP/h2.txt" '^Age: [0-9]+' "the hit carries Age"
assert_file_match "$TMP/h2.txt" '^Content-Length: 300000' "the hit's Content-Length"
assert_file_match "$TMP/h2.txt" '^ETag: ' "the stored fields are served"
say "ok: second GET answered from the cache, byte-exact, with Age"

in_app curl -sS --max-time 10 --http2-prior-knowledge -D "$TMP/h2c.txt" -o "$TMP/c.got" \
	http://10.77.1.2:8081/300k.bin || die "HTTP/2 GET failed"
cmp -s "$TMP/c.got" "$TMP/nginx/www/300k.bin" || die "the HTTP/2 hit's body differs from nginx's file"
assert_file_match "$TMP/h2c.txt" '^HTTP/2 200' "an HTTP/2 client"
assert_file_match "$TMP/h2c.txt" '^age: [0-9]+' "the HTTP/2 hit carries age"

in_app curl -sS --max-time 10 -I -o "$TMP/head.txt" http://10.77.1.2:8081/300k.bin || die "HEAD failed"
assert_file_match "$TMP/head.txt" '^Age: ' "a HEAD answered from the stored GET"
[ "$(origin_gets HEAD /300k.bin)" = 0 ] || die "the HEAD reached nginx"

# the client's own conditional: a 304 from the store when it holds
etag=$(tr -d '\r' <"$TMP/h2.txt" | sed -n 's/^ETag: //p')
curl_app -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" http://10.77.1.2:8081/300k.bin
assert_eq 304 "$CURL_OUT" "If-None-Match of the stored ETag"
curl_app -o /dev/null -w '%{http_code}' -H 'If-None-Match: "other"' http://10.77.1.2:8081/300k.bin
assert_eq 200 "$CURL_OUT" "If-None-Match of another ETag"
[ "$(origin_gets GET /300k.bin)" = 1 ] || die "a conditional request reached nginx"

# Range: a slice of the stored 200 as a 206
in_app curl -sS --max-time 10 -r 100-199 -D "$TMP/r.txt" -o "$TMP/r.got" http://10.77.1.2:8081/300k.bin ||
	die "Range GET failed"
assert_file_match "$TMP/r.txt" '^HTTP/1.1 206' "a Range request answered 206 from the store"
assert_file_match "$TMP/r.txt" '^Content-Range: bytes 100-199/300000' "its Content-Range"
cmp -s "$TMP/r.got" <(tail -c +101 "$TMP/nginx/www/300k.bin" | head -c 100) || die "the 206's bytes differ"
in_app curl -sS --max-time 10 -r -50 -o "$TMP/r2.got" http://10.77.1.2:8081/300k.bin || die "suffix Range GET failed"
cmp -s "$TMP/r2.got" <(tail -c 50 "$TMP/nginx/www/300k.bin") || die "the suffix range's bytes differ"
[ "$(origin_gets GET /300k.bin)" = 1 ] || die "a Range request reached nginx"
say "ok: Range requests served from the stored response"

# no-cache: validated with the origin, which answers 304 to the stored ETag; the client
# gets the stored response, refreshed, whole
in_app curl -sS --max-time 10 -D "$TMP/h3.txt" -o "$TMP/d.got" -H 'Cache-Control: no-cache' \
	http://10.77.1.2:8081/300k.bin || die "no-cache GET failed"
wait_until 5 origin_saw GET /300k.bin 2 || die "a no-cache request did not reach nginx"
grep '"GET /300k.bin ' "$NGINX_ACCESS_LOG" | tail -n 1 | grep -q '" 304 ' ||
	die "the no-cache request was not conditional: nginx logged $(grep '"GET /300k.bin ' "$NGINX_ACCESS_LOG" | tail -n 1)"
cmp -s "$TMP/d.got" "$TMP/nginx/www/300k.bin" || die "the revalidated response's body differs"
assert_file_match "$TMP/h3.txt" '^HTTP/1.1 200' "the client gets 200, not the origin's 304"
assert_eq 1 "$(stat_value hermes_http_cache_revalidations_total)" "revalidations"
say "ok: Cache-Control: no-cache revalidates with the origin (304), the stored body answers"

for _ in 1 2; do
	curl_app http://10.77.1.2:8081/private/p.html
	assert_eq "private page" "$CURL_OUT" "private page"
done
wait_until 5 origin_saw GET /private/p.html 2 || die "a private response was answered from the cache"
say "ok: private is not stored"

# Vary: one stored response per Accept-Language
for lang in en en fr en fr; do
	curl_app -H "Accept-Language: $lang" http://10.77.1.2:8081/vary/v.html
	assert_eq "vary page" "$CURL_OUT" "Accept-Language: $lang"
done
wait_until 5 origin_saw GET /vary/v.html 2 || die "nginx saw $(origin_gets GET /vary/v.html) GETs of a Vary page, want 2 (en, fr)"
say "ok: Vary: one stored response per Accept-Language value"

# a non-error answer to an unsafe request invalidates the URL's stored response
curl_app http://10.77.1.2:8081/inv/i.html
curl_app http://10.77.1.2:8081/inv/i.html
wait_until 5 origin_saw GET /inv/i.html 1 || die "the second GET of /inv/i.html reached nginx"
curl_app -X POST -d x http://10.77.1.2:8081/inv/i.html
curl_app http://10.77.1.2:8081/inv/i.html
assert_eq "inv page" "$CURL_OUT" "GET after the POST"
wait_until 5 origin_saw GET /inv/i.html 2 || die "a GET after a POST answered 204 was answered from the cache"
assert_eq 1 "$(stat_value hermes_http_cache_invalidations_total)" "invalidations"
say "ok: POST invalidated the stored response"

# purge by URL (hermesctl cache purge, POST /cache/purge): the stored response goes, the
# next GET reaches nginx (and is stored again); every Vary variant of a URL goes at once;
# a URL with nothing stored purges 0; a URL the cache cannot key is refused
out=$(hermesctl cache purge 'HTTP://10.77.1.2:8081/inv/i.html#frag' 2>&1) || die "cache purge failed: $out"
assert_eq "HTTP://10.77.1.2:8081/inv/i.html#frag: 1 purged" "$out" "cache purge of a stored URL (normalised)"
out=$(hermesctl cache purge --json http://10.77.1.2:8081/inv/i.html 2>&1) || die "second cache purge failed: $out"
assert_eq '[{"url": "http://10.77.1.2:8081/inv/i.html", "purged": 0}]' "$out" "a second purge"
curl_app http://10.77.1.2:8081/inv/i.html
assert_eq "inv page" "$CURL_OUT" "GET after the purge"
wait_until 5 origin_saw GET /inv/i.html 3 || die "a GET after cache purge was answered from the cache"
out=$(hermesctl cache purge http://10.77.1.2:8081/vary/v.html 2>&1) || die "cache purge of a Vary URL failed: $out"
assert_eq "http://10.77.1.2:8081/vary/v.html: 2 purged" "$out" "both Vary variants purged"
for lang in en fr; do curl_app -H "Accept-Language: $lang" http://10.77.1.2:8081/vary/v.html; done
wait_until 5 origin_saw GET /vary/v.html 4 || die "a GET of a purged Vary variant was answered from the cache"
rc=0
out=$(hermesctl cache purge 'ftp://10.77.1.2/x' 2>&1) || rc=$?
assert_eq 2 "$rc" "cache purge of a URL the cache cannot key: exit status ($out)"
assert_match "$out" "not an absolute http" "cache purge of a bad URL: hermesd's reason"
assert_eq 3 "$(stat_value hermes_http_cache_purged_total)" "purged"
out=$(hermesctl cache stats) || die "cache stats failed: $out"
assert_match "$out" "purged +3" "cache stats shows the purges"
rc=0
out=$(hermesctl --admin 127.0.0.1:1 cache purge http://10.77.1.2:8081/inv/i.html 2>&1) || rc=$?
assert_eq 1 "$rc" "cache purge with no hermesd: exit status"
assert_match "$out" "hermesd not reachable at 127.0.0.1:1" "cache purge with no hermesd: the message"
say "ok: cache purge by URL (every variant), 0 when nothing stored, bad URL refused"

# stale-if-error: max-age=1 responses, stale 2 s later, when nginx answers 503: the one
# with stale-if-error=60 is answered from the store, the other gets the 503
curl_app http://10.77.1.2:8081/sie/s.html
curl_app http://10.77.1.2:8081/nosie/n.html
sleep 2
touch "$TMP/nginx/www/down"
curl_app http://10.77.1.2:8081/sie/s.html
assert_eq "sie page" "$CURL_OUT" "a stale response in its stale-if-error window answers a 503"
wait_until 5 origin_saw GET /sie/s.html 2 || die "the stale request did not reach nginx"
grep '"GET /sie/s.html ' "$NGINX_ACCESS_LOG" | tail -n 1 | grep -q '" 503 ' || die "nginx did not answer 503"
curl_app -o /dev/null -w '%{http_code}' http://10.77.1.2:8081/nosie/n.html
assert_eq 503 "$CURL_OUT" "without stale-if-error the origin's 503 passes"
assert_eq 1 "$(stat_value hermes_http_cache_stale_if_error_total)" "stale-if-error answers"
rm -f "$TMP/nginx/www/down"

for _ in 1 2; do
	in_app curl -sS --max-time 10 -o "$TMP/big.got" http://10.77.1.2:8081/1m.bin || die "1 MiB GET failed"
	cmp -s "$TMP/big.got" "$TMP/nginx/www/1m.bin" || die "1 MiB body differs"
done
wait_until 5 origin_saw GET /1m.bin 2 || die "an object over max_object_kb was stored"
say "ok: 1 MiB over max_object_kb passed on, not stored"

# the key holds where the request goes: a Host naming a stored origin, sent to another
# address, is not answered from the store (nor could its answer be stored for others)
in_app curl -sS --max-time 10 -o /dev/null -H 'Host: 10.77.1.2:8081' http://10.77.1.3/300k.bin ||
	die "GET with another Host failed"
# shellcheck disable=SC2317 # called through wait_until
other_dst_seen() { grep -q '10.77.1.3:80 "GET /300k.bin ' "$NGINX_ACCESS_LOG"; }
wait_until 5 other_dst_seen || die "a request to 10.77.1.3 with the Host of a stored response was answered from it"
say "ok: the original destination is part of the key"

# through a route to an HTTP/2 (h2c) upstream: stored from the first answer, the second
# from the store
for _ in 1 2; do
	in_app curl -sS --max-time 10 -o "$TMP/h2up.got" -H 'Host: h2c.cache' http://10.77.1.2/300k.bin ||
		die "GET through the h2c route failed"
	cmp -s "$TMP/h2up.got" "$TMP/nginx/www/300k.bin" || die "the h2c route's body differs"
done
# shellcheck disable=SC2317 # called through wait_until
h2c_gets() { [ "$(grep -c '10.77.1.2:8082 "GET /300k.bin ' "$NGINX_ACCESS_LOG")" = "$1" ]; }
wait_until 5 h2c_gets 1 || die "nginx saw $(grep -c '10.77.1.2:8082 "GET /300k.bin ' "$NGINX_ACCESS_LOG") h2c GETs, want 1"
say "ok: a response from an h2c upstream stored and served"

# explicit proxy requests (absolute form) on a second hermesd's tunnel listener, in the
# server's namespace: the second request is answered from its store
head -c 5000 /dev/urandom >"$TMP/nginx/www/fwd.bin"
chmod 644 "$TMP/nginx/www/fwd.bin"
cat >"$TMP/fwd.yaml" <<YAML
tunnel_access:
  - {match: 10.77.1.2/32, action: allow}
cache: {enabled: true}
YAML
start_peer_hermesd "$NS_S" s -c "$TMP/fwd.yaml" --tunnel-listen 10.77.1.2:15008
for _ in 1 2; do
	ns_c curl -sS --max-time 10 -x http://10.77.1.2:15008 -o "$TMP/fwd.got" http://10.77.1.2:8081/fwd.bin ||
		die "GET through the explicit proxy failed"
	cmp -s "$TMP/fwd.got" "$TMP/nginx/www/fwd.bin" || die "the explicit proxy's body differs"
done
wait_until 5 origin_saw GET /fwd.bin 1 || die "nginx saw $(origin_gets GET /fwd.bin) GETs through the explicit proxy, want 1"
assert_eq 1 "$(peer_stat "$NS_S" 127.0.0.1:15000 'hermes_http_cache_lookups_total{result="hit"}')" \
	"the proxy's cache hit"
say "ok: explicit proxy requests answered from the cache"

# a hermesd whose cache is off says so to cache purge (in the proxy's place)
stop_pid "$PEER_PID" TERM 15
start_peer_hermesd "$NS_S" off
rc=0
out=$(ns_s "$HERMESCTL_BIN" cache purge http://10.77.1.2:8081/x 2>&1) || rc=$?
assert_eq 1 "$rc" "cache purge with the cache off: exit status ($out)"
assert_match "$out" "the HTTP cache is off" "cache purge with the cache off: the message"

# nginx gone: the connection refused, the stale response answers all the same
kill "$NGINX_PID"
# shellcheck disable=SC2317 # called through wait_until
nginx_gone() { ! ip netns exec "$NS_S" ss -ltn | grep -q '10.77.1.2:8081 '; }
wait_until 5 nginx_gone || die "nginx still listens after TERM"
curl_app http://10.77.1.2:8081/sie/s.html
assert_eq "sie page" "$CURL_OUT" "a stale response in its stale-if-error window answers a refused connection"
assert_eq 2 "$(stat_value hermes_http_cache_stale_if_error_total)" "stale-if-error answers"

assert_ge 3 "$(stat_value hermes_http_cache_lookups_total 'result="hit"')" "cache hits"
assert_ge 4 "$(stat_value hermes_http_cache_lookups_total 'result="miss"')" "cache misses"
assert_eq 8 "$(stat_value hermes_http_cache_objects)" \
	"objects held (300k.bin twice, vary en and fr, inv, sie, nosie; 300k.bin from port 80: stale on arrival, kept for its validators)"
assert_ge 300000 "$(stat_value hermes_http_cache_bytes)" "bytes held"
pass "http cache: hit with Age (HTTP/1.1, HTTP/2), HEAD, If-None-Match and Range from the store, no-cache revalidated (304), private, Vary, invalidation, purge, stale-if-error, max_object_kb, metrics"
