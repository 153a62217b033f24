#!/bin/bash
# tunnel_squid: interop of the `tunnel` action with a third-party HTTP/1.1 CONNECT proxy.
# The client host's hermesd carries an unmodified curl's connection in a CONNECT to squid on
# the server host (the route's peer), which dials nginx: the page and 1 MiB arrive
# byte-exact, squid's access log shows the CONNECT 10.77.1.3:80 from the client host with
# the app's comm in the Hermes-Comm header, nginx sees squid's address (not the client's),
# and a CONNECT squid refuses (403, port not allowed) resets the app at once.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

require_cmd /usr/sbin/squid
topo_up
start_nginx

# squid in the server netns, foreground (-N), everything under $SQ. Started as root it
# binds its port, then runs as cache_effective_user: that user must write its logs.
SQ=$TMP/squid
mkdir -p "$SQ"
chown proxy:proxy "$SQ" 2>/dev/null || die "cannot chown $SQ to the proxy user (squid's cache_effective_user)"
cat >"$SQ/squid.conf" <<EOF
http_port 10.77.1.2:3128
visible_hostname hermes-test-squid
cache_effective_user proxy
cache_effective_group proxy
pid_filename $SQ/squid.pid
cache_log $SQ/cache.log
logformat hermes %>a %Ss/%03>Hs %<st %rm %ru comm=%{Hermes-Comm}>h
access_log stdio:$SQ/access.log hermes
cache_store_log none
netdb_filename none
coredump_dir $SQ
pinger_enable off
cache deny all
cache_mem 8 MB
# a SIGTERM stops squid after 1 s instead of waiting 30 s for clients
shutdown_lifetime 1 seconds
# squid's address towards the origin, so that nginx's log tells who dialled it
tcp_outgoing_address 10.77.1.2
acl lan src 10.77.1.0/24
acl web_port port 80
acl connect_method method CONNECT
http_access allow connect_method lan web_port
http_access deny all
EOF
my_cleanup() {
	local rc=$?
	# squid first, by PID (cleanup would too, but this shows how it stopped)
	pid_alive "$SQUID_PID" && stop_pid "$SQUID_PID" TERM 10
	rm -f /dev/shm/"$SQ_SVC"-*
	(exit $rc)
	cleanup
}
# squid keeps shared-memory segments in /dev/shm named after its service name (-n): a
# name of our own keeps them apart from any other squid and lets the trap remove them.
SQ_SVC=hermes${ID//[^a-zA-Z0-9]/}
# Started with nsenter directly, not with bg: bg's PID is a subshell whose TERM would
# orphan squid instead of stopping it.
nsenter --net="/run/netns/$NS_S" /usr/sbin/squid -N -n "$SQ_SVC" -f "$SQ/squid.conf" \
	>"$TMP/squid.log" 2>&1 </dev/null &
SQUID_PID=$!
PIDS+=("$SQUID_PID")
trap my_cleanup EXIT
if ! wait_tcp "$NS_S" 10.77.1.2 3128; then
	tail -n 20 "$TMP/squid.log" "$SQ/cache.log" 2>/dev/null
	die "squid did not start listening on 10.77.1.2:3128"
fi
say "squid (pid $SQUID_PID) in $NS_S on 10.77.1.2:3128"

cat >"$TMP/client.yaml" <<YAML
routes:
  - name: via-squid
    match: [10.77.1.3/32]
    peers: [10.77.1.2:3128]
policy:
  - match: 10.77.1.3/32:80
    action: tunnel
  - match: 10.77.1.3/32:8080
    action: tunnel
YAML
start_hermesd -c "$TMP/client.yaml"

expect_page "curl through squid" http://10.77.1.3/
expect_nginx_client 10.77.1.2 "nginx saw squid's address, not the client host"
curl_app -o "$TMP/1m.out" http://10.77.1.3/1m.bin
[ "$CURL_RC" = 0 ] && cmp -s "$TMP/1m.out" "$TMP/nginx/www/1m.bin" || die "1 MiB through squid is not byte-exact"
say "ok: 1 MiB byte-exact through squid"
assert_ge 2 "$(stat_value hermes_bpf_decisions_total 'action="tunnel"')" "both flows took the tunnel action"

# squid logs a tunnel when it closes
tunnel_logged() { [ "$(grep -cE '^10\.77\.1\.1 TCP_TUNNEL/200 [0-9]+ CONNECT 10\.77\.1\.3:80 comm=curl$' "$SQ/access.log")" -ge 2 ]; }
wait_until 5 tunnel_logged || { cat "$SQ/access.log"; die "squid's access log lacks the two CONNECT 10.77.1.3:80 from 10.77.1.1 (comm=curl)"; }
say "ok: squid logged: $(grep 'CONNECT 10.77.1.3:80' "$SQ/access.log" | tail -n 1)"
big=$(awk '$4 == "CONNECT" && $3 > 1048576 { n++ } END { print n + 0 }' "$SQ/access.log")
assert_ge 1 "$big" "squid counted the 1 MiB tunnel's bytes"

# squid refuses CONNECT to port 8080 (403): hermesd has no other peer, so the app is reset
curl_app http://10.77.1.3:8080/
case $CURL_RC in 7 | 52 | 56) ;; *) die "squid's 403: expected a reset (curl 7, 52 or 56), got $CURL_RC" ;; esac
assert_le 2000 "$CURL_MS" "squid's 403: the app is reset at once"
wait_until 5 grep -qE '^10\.77\.1\.1 TCP_DENIED/403 [0-9]+ CONNECT 10\.77\.1\.3:8080 ' "$SQ/access.log" ||
	{ cat "$SQ/access.log"; die "squid did not log the denied CONNECT 10.77.1.3:8080"; }
say "ok: squid logged: $(grep 'CONNECT 10.77.1.3:8080' "$SQ/access.log" | tail -n 1)"
assert_file_match "$HERMESD_LOG" 'tunnel peer answered 403 to CONNECT' "hermesd logged squid's 403"

stop_pid "$SQUID_PID" TERM 10
say "squid (pid $SQUID_PID) stopped: status $STOP_RC"
assert_eq 0 "$STOP_RC" "squid exited cleanly on SIGTERM"
assert_eq "" "$(find /dev/shm -maxdepth 1 -name "$SQ_SVC-*")" "squid removed its shared memory"
assert_file_nomatch "$SQ/cache.log" 'FATAL|assertion failed' "squid logged no fatal error"
pass "tunnel action through squid: page and 1 MiB byte-exact, CONNECT and identity in squid's log, 403 resets the app"
