#!/bin/bash
# http_cache_route: the HTTP cache's per-route settings, stale-while-revalidate in the
# background, HEAD freshening and any 3-digit status, in front of nginx. The cache
# section is off (no store at start): a route with `cache: {max_object_kb: 4,
# store_set_cookie: false}` makes the store on its first request and stores a small
# response (nginx sees one GET of two), but not one over its 4 KiB nor one with
# Set-Cookie; a route with `cache: false` stores nothing until a reload turns its cache
# on, and neither does a request no route matches (the cache section's setting). A response with max-age=2, stale-while-revalidate=60 that has gone stale is served
# from the store at once and revalidated once in the background (nginx logs a 304 to
# the stored ETag; the next request is a fresh hit). A HEAD that validates a stale
# stored GET response and gets a 200 freshens it (the next GET is a hit), and so does
# the 304 that answers a client's own If-None-Match on a stale one. nginx's
# `return 999` reaches the client as 999, not 502, and is not stored. A response with a
# transfer coding hermesd does not decode (a python origin's Transfer-Encoding: x-test)
# reaches an HTTP/1.1 client as it is and is not stored; an HTTP/2 client gets 502.
# Last, a reload puts hermesd over its memory budget's first stage: responses are passed
# on unstored (hermes_overload_actions_total{action="cache_fill"}), requests answered.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
NGINX_HTTP_EXTRA="    server {
        listen 10.77.1.2:8081;
        root $TMP/nginx/www;
        location / { expires 60s; }
        location /on/c/ { add_header Set-Cookie \"s=1\"; expires 60s; }
        location /swr/ { add_header Cache-Control \"max-age=2, stale-while-revalidate=60\"; }
        location /head/ { add_header Cache-Control \"max-age=2\"; return 200 \"head page\\n\"; }
        location /odd/ { return 999 \"odd\\n\"; }
    }"
start_nginx
mkdir -p "$TMP/nginx/www/on/c" "$TMP/nginx/www/off" "$TMP/nginx/www/swr" "$TMP/nginx/www/head" \
	"$TMP/nginx/www/odd"
echo "small page" >"$TMP/nginx/www/on/a.html"
head -c 8000 /dev/urandom >"$TMP/nginx/www/on/big.bin"
echo "cookie page" >"$TMP/nginx/www/on/c/c.html"
echo "off page" >"$TMP/nginx/www/off/a.html"
mkdir -p "$TMP/nginx/www/plain"
echo "plain page" >"$TMP/nginx/www/plain/a.html"
echo "swr page" >"$TMP/nginx/www/swr/s.html"
echo "cond page" >"$TMP/nginx/www/swr/c.html"
echo "overload page" >"$TMP/nginx/www/swr/o.html"
echo "head page" >"$TMP/nginx/www/head/h.html"
chmod -R 755 "$TMP/nginx/www"
# /coded: a response with Transfer-Encoding: x-test, delimited by the close
bg origin s "$PY" "$TESTBIN/flaky_origin.py" 10.77.1.3 8080
wait_tcp "$NS_S" 10.77.1.3 8080 || die "python origin did not start"
# write_cfg OFF_CACHE [OVERLOAD]: the config, the route "off"'s cache setting as given
write_cfg() {
	cat >"$TMP/hermes.yaml" <<YAML
${2:-}
cache: {enabled: false, max_size_mb: 8, max_object_kb: 512}
http_routes:
  - {name: on, match: {path_prefix: /on/}, endpoints: [10.77.1.2:8081],
     cache: {max_object_kb: 4, store_set_cookie: false}}
  - {name: off, match: {path_prefix: /off/}, endpoints: [10.77.1.2:8081], cache: $1}
  - {name: swr, match: {path_prefix: /swr/}, endpoints: [10.77.1.2:8081], cache: true}
  - {name: head, match: {path_prefix: /head/}, endpoints: [10.77.1.2:8081], cache: true}
  - {name: odd, match: {path_prefix: /odd/}, endpoints: [10.77.1.2:8081], cache: true}
  - {name: coded, match: {path_prefix: /coded}, endpoints: [10.77.1.3:8080], cache: true}
YAML
}
write_cfg false
start_hermesd -c "$TMP/hermes.yaml"
policy_add 10.77.1.0/24 http

origin_gets() { grep -c "\"$1 $2 " "$NGINX_ACCESS_LOG" 2>/dev/null; }
# shellcheck disable=SC2317 # called through wait_until
origin_saw() { [ "$(origin_gets "$1" "$2")" = "$3" ]; }
# fresh_hit PATH N WHAT: a GET of PATH is answered fresh from the store (Age 0 or 1)
# and nginx still logged N GETs of it
fresh_hit() {
	curl_app -D "$TMP/hit.txt" -o /dev/null "http://10.77.1.2:8081$1"
	assert_file_match "$TMP/hit.txt" '^Age: [01]' "$3"
	sleep 0.3
	[ "$(origin_gets GET "$1")" = "$2" ] || die "$3: nginx saw $(origin_gets GET "$1") GETs of $1, want $2"
}
# get2 PATH: two GETs of PATH, both 200
get2() {
	local i
	for i in 1 2; do
		curl_app -o /dev/null -w '%{http_code}' "http://10.77.1.2:8081$1"
		assert_eq 200 "$CURL_OUT" "GET $1 ($i)"
	done
}

# stored now, stale (max-age=2) by the time the per-route checks are done
curl_app -o /dev/null http://10.77.1.2:8081/swr/s.html
curl_app -o /dev/null http://10.77.1.2:8081/head/h.html
curl_app -D "$TMP/c1.txt" -o /dev/null http://10.77.1.2:8081/swr/c.html
wait_until 5 origin_saw GET /swr/c.html 1 || die "the first GET of /swr/c.html did not reach nginx"
wait_until 5 origin_saw GET /swr/s.html 1 || die "the first GET of /swr/s.html did not reach nginx"
wait_until 5 origin_saw GET /head/h.html 1 || die "the first GET of /head/h.html did not reach nginx"
T_STORED=$(now_ms)
# wait_stale: until 3.1 s after they were stored
wait_stale() {
	local left=$((T_STORED + 3100 - $(now_ms)))
	[ "$left" -le 0 ] || sleep "$((left / 1000)).$(printf '%03d' $((left % 1000)))"
}

get2 /on/a.html
wait_until 5 origin_saw GET /on/a.html 1 || die "nginx saw $(origin_gets GET /on/a.html) GETs of /on/a.html, want 1"
get2 /on/big.bin
wait_until 5 origin_saw GET /on/big.bin 2 || die "a response over the route's max_object_kb was stored"
get2 /on/c/c.html
wait_until 5 origin_saw GET /on/c/c.html 2 || die "a response with Set-Cookie was stored (store_set_cookie: false)"
get2 /off/a.html
wait_until 5 origin_saw GET /off/a.html 2 || die "a route with cache: false stored a response"
get2 /plain/a.html
wait_until 5 origin_saw GET /plain/a.html 2 || die "a request no route matches used the cache (section cache is off)"
say "ok: per-route cache settings (store made on demand, max_object_kb, store_set_cookie, cache: false, no route)"

write_cfg true
kill -HUP "$HERMESD_PID"
wait_until 5 grep -q 'SIGHUP: reloaded' "$HERMESD_LOG" || die "the reload was not applied"
get2 /off/a.html
sleep 0.3
[ "$(origin_gets GET /off/a.html)" = 3 ] || die "after the reload turned its cache on, nginx saw $(origin_gets GET /off/a.html) GETs, want 3"
say "ok: a reload turns a route's cache on"

# stale-while-revalidate: stale after 2 s, served at once, revalidated in the background
wait_stale
curl_app -D "$TMP/swr.txt" -o "$TMP/swr.got" http://10.77.1.2:8081/swr/s.html
assert_file_match "$TMP/swr.txt" '^HTTP/1.1 200' "the stale response answers"
assert_file_match "$TMP/swr.txt" '^Age: [3-9]' "served stale from the store (Age over max-age=2)"
cmp -s "$TMP/swr.got" "$TMP/nginx/www/swr/s.html" || die "the stale answer's body differs"
wait_until 5 origin_saw GET /swr/s.html 2 || die "no background revalidation reached nginx"
grep '"GET /swr/s.html ' "$NGINX_ACCESS_LOG" | tail -n 1 | grep -q '" 304 ' ||
	die "the background revalidation was not conditional: $(grep '"GET /swr/s.html ' "$NGINX_ACCESS_LOG" | tail -n 1)"
assert_eq 1 "$(stat_value hermes_http_cache_stale_while_revalidate_total)" "stale-while-revalidate answers"
assert_eq 1 "$(stat_value hermes_http_cache_background_revalidations_total)" "background revalidations"
fresh_hit /swr/s.html 2 "the refreshed response answers the next request"
say "ok: stale-while-revalidate: stale served at once, one background revalidation (304), then fresh"

# HEAD freshening: a stale stored GET response without validators (nginx's return has
# none), a HEAD validates it and gets a 200 of the same length
curl_app -I -o /dev/null -w '%{http_code}' http://10.77.1.2:8081/head/h.html
assert_eq 200 "$CURL_OUT" "the validating HEAD"
wait_until 5 origin_saw HEAD /head/h.html 1 || die "the HEAD on a stale response did not reach nginx"
fresh_hit /head/h.html 1 "the GET after the HEAD is a hit, freshened"
say "ok: a HEAD's answer freshens the stored GET response"

# a client's own If-None-Match on a stale response (with its request's max-age=0 no
# stale-while-revalidate): nginx's 304 goes to the client and freshens the stored one
etag=$(tr -d '\r' <"$TMP/c1.txt" | sed -n 's/^ETag: //p')
curl_app -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" -H 'Cache-Control: max-age=0' \
	http://10.77.1.2:8081/swr/c.html
assert_eq 304 "$CURL_OUT" "the client's conditional on a stale response"
wait_until 5 origin_saw GET /swr/c.html 2 || die "the client's conditional did not reach nginx"
fresh_hit /swr/c.html 2 "the next GET is a hit on the freshened response"
say "ok: a 304 to a client's own conditional freshens the stored response"

curl_app -o "$TMP/odd.got" -w '%{http_code}' http://10.77.1.2:8081/odd/x
assert_eq 999 "$CURL_OUT" "status 999 passed on"
curl_app -o /dev/null -w '%{http_code}' http://10.77.1.2:8081/odd/x
assert_eq 999 "$CURL_OUT" "status 999 again"
sleep 0.3
[ "$(origin_gets GET /odd/x)" = 2 ] || die "a 999 without an explicit lifetime was stored"
say "ok: an unknown status (999) is passed on, not stored"

# a transfer coding hermesd does not decode: passed on with its Transfer-Encoding to an
# HTTP/1.1 client, to the close, never stored; an HTTP/2 client cannot be sent it
for i in 1 2; do
	curl_app --raw -D "$TMP/coded.txt" -o "$TMP/coded.got" http://10.77.1.2:8081/coded
	assert_file_match "$TMP/coded.txt" '^HTTP/1.1 200' "a response with Transfer-Encoding: x-test ($i)"
	assert_file_match "$TMP/coded.txt" '^Transfer-Encoding: x-test' "its Transfer-Encoding passed on ($i)"
	assert_file_match "$TMP/coded.txt" "^X-Seen: $i" "from the origin, not stored ($i)"
	assert_eq "coded body until the close" "$(cat "$TMP/coded.got")" "its body to the close ($i)"
done
curl_app --http2-prior-knowledge -o /dev/null -w '%{http_code}' http://10.77.1.2:8081/coded
assert_eq 502 "$CURL_OUT" "the same to an HTTP/2 client"
say "ok: an undecoded transfer coding passes to HTTP/1.1 clients, unstored; 502 for HTTP/2"

# the memory budget's first stage from the start (1% of 1 MiB): responses pass unstored,
# requests are still answered
write_cfg true "overload: {max_buffer_mb: 1, stop_reading_percent: 1, refuse_streams_percent: 100,
  refuse_connections_percent: 100}"
kill -HUP "$HERMESD_PID"
# (the count is read again at every try: a function, not an expansion done once here)
reloads_are() { [ "$(grep -c 'SIGHUP: reloaded' "$HERMESD_LOG")" = "$1" ]; }
wait_until 5 reloads_are 2 || die "the overload reload was not applied"
get2 /swr/o.html
wait_until 5 origin_saw GET /swr/o.html 2 || die "over the memory budget's first stage a response was stored"
assert_ge 1 "$(stat_value hermes_overload_actions_total 'action="cache_fill"')" "cache fills shed"
say "ok: over the memory budget's first stage cache fills are shed, requests answered"
pass
