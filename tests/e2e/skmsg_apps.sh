#!/bin/bash
# skmsg_apps: real applications through the sk_msg-accelerated hop must never stall
# (guard for the kernel regression where sockets in a sockhash report FIONREAD 0 and
# lose epoll wake-ups): curl, python3 http.client (keep-alive) and asyncio, nginx acting
# as a client (proxy_pass from inside the steered cgroup) and wrk, each bounded in time
# and checked for complete bodies; the flows must really have taken the redirect path.
# test: serial (its count of sockets on the redirect path fell short under load: 396 of 400)
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

require_cmd wrk
topo_up
start_nginx
start_hermesd --sk-msg on
policy_add 10.77.1.0/24:80 proxy
redir0=$(stat_value hermes_sk_msg_path_total 'path="redirect"')

# curl: 20 fetches of 1 MiB, and 20 URLs over one keep-alive connection
for i in $(seq 20); do
	curl_app -o "$TMP/c.bin" http://10.77.1.2/1m.bin >/dev/null
	[ "$CURL_RC" = 0 ] && cmp -s "$TMP/c.bin" "$TMP/nginx/www/1m.bin" || die "curl fetch $i: rc $CURL_RC, body differs"
done
say "ok: curl, 20 x 1 MiB byte-exact"
urls=()
for i in $(seq 20); do urls+=(-o /dev/null http://10.77.1.2/1m.bin); done
in_app curl -sS --max-time 20 -w '%{size_download} %{num_connects}\n' "${urls[@]}" >"$TMP/ka.out" ||
	die "curl keep-alive run failed"
[ "$(awk '$1 == 1048576' "$TMP/ka.out" | wc -l)" = 20 ] || die "curl keep-alive: $(tr '\n' ' ' <"$TMP/ka.out")"
[ "$(awk '{ n += $2 } END { print n }' "$TMP/ka.out")" = 1 ] || die "curl did not reuse its connection: $(tr '\n' ' ' <"$TMP/ka.out")"
say "ok: curl keep-alive, 20 x 1 MiB on one connection"

# python3: http.client keep-alive and asyncio
out=$(in_app timeout 30 "$PY" "$TESTBIN/pyclients.py" httpclient 10.77.1.2 80 /1m.bin 50) || die "http.client: $out"
say "ok: python http.client: $out"
out=$(in_app timeout 40 "$PY" "$TESTBIN/pyclients.py" asyncio 10.77.1.2 80 /1m.bin 100) || die "asyncio: $out"
say "ok: python asyncio: $out"

# nginx as a client: a reverse proxy inside the app cgroup; curl from outside the cgroup
mkdir -p "$TMP/rp/tmp"
cat >"$TMP/rp/nginx.conf" <<NGX
daemon off;
worker_processes 1;
pid $TMP/rp/nginx.pid;
error_log $TMP/rp/error.log info;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $TMP/rp/tmp/body;
    proxy_temp_path $TMP/rp/tmp/proxy;
    fastcgi_temp_path $TMP/rp/tmp/fastcgi;
    uwsgi_temp_path $TMP/rp/tmp/uwsgi;
    scgi_temp_path $TMP/rp/tmp/scgi;
    upstream origin { server 10.77.1.2:80; keepalive 8; }
    server {
        listen 127.0.0.1:8080;
        location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
}
NGX
bg rp app /usr/sbin/nginx -e "$TMP/rp/error.log" -p "$TMP/rp" -c "$TMP/rp/nginx.conf"
wait_tcp "$NS_C" 127.0.0.1 8080 || die "reverse-proxy nginx did not start: $(cat "$TMP/rp/error.log")"
for i in $(seq 20); do
	ns_c curl -sS --max-time 10 -o "$TMP/rp.bin" http://127.0.0.1:8080/1m.bin || die "nginx-as-client fetch $i failed"
	cmp -s "$TMP/rp.bin" "$TMP/nginx/www/1m.bin" || die "nginx-as-client fetch $i: body differs"
done
say "ok: nginx proxy_pass from the steered cgroup, 20 x 1 MiB byte-exact"

# wrk: 50 connections for 3 s
in_app timeout 20 wrk -t2 -c50 -d3s --timeout 2s http://10.77.1.2/ >"$TMP/wrk.out" 2>&1 || die "wrk failed: $(cat "$TMP/wrk.out")"
cat "$TMP/wrk.out"
reqs=$(awk '/requests in/ { print $1 }' "$TMP/wrk.out")
assert_ge 1000 "${reqs:-0}" "wrk requests completed in 3 s"
if grep -q 'Socket errors' "$TMP/wrk.out"; then die "wrk saw socket errors: $(grep 'Socket errors' "$TMP/wrk.out")"; fi
if grep -q 'Non-2xx' "$TMP/wrk.out"; then die "wrk saw non-2xx responses"; fi
say "ok: wrk, no socket errors or timeouts"

redir=$(($(stat_value hermes_sk_msg_path_total 'path="redirect"') - redir0))
tcp=$(stat_value hermes_sk_msg_path_total 'path="tcp"')
say "sockets on the redirect path: $redir, on TCP: $tcp"
assert_ge 400 "$redir" "hop sockets that used the sk_msg redirect path"
pass "curl, python, nginx and wrk work through the sk_msg hop without stalls"
