#!/bin/bash
# tunnel_squid: interop of the `tunnel` action with a third-party HTTP/1.1 CONNECT proxy.
# The client host's hermesd carries an unmodified curl's connection in a CONNECT to squid on
# the server host (the route's peer), which dials nginx: the page and 1 MiB arrive
# byte-exact, squid's access log shows the CONNECT 10.77.1.3:80 from the client host with
# the app's comm in the Hermes-Comm header, nginx sees squid's address (not the client's),
# and a CONNECT squid refuses (403, port not allowed) resets the app at once.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

# shellcheck source-path=SCRIPTDIR source=../lib/squid.sh
. "$(dirname "$0")/../lib/squid.sh"

require_cmd /usr/sbin/squid
topo_up
start_nginx
start_squid 10.77.1.2 3128
my_cleanup() {
	local rc=$?
	stop_squid
	(exit $rc)
	cleanup
}
trap my_cleanup EXIT

cat >"$TMP/client.yaml" <<YAML
routes:
  - name: via-squid
    match: [10.77.1.3/32]
    protocol: h1
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
tunnel_logged() { [ "$(grep -cE '^10\.77\.1\.1 TCP_TUNNEL/200 [0-9]+ CONNECT 10\.77\.1\.3:80 comm=curl$' "$SQUID_ACCESS_LOG")" -ge 2 ]; }
wait_until 5 tunnel_logged || { cat "$SQUID_ACCESS_LOG"; die "squid's access log lacks the two CONNECT 10.77.1.3:80 from 10.77.1.1 (comm=curl)"; }
say "ok: squid logged: $(grep 'CONNECT 10.77.1.3:80' "$SQUID_ACCESS_LOG" | tail -n 1)"
big=$(awk '$4 == "CONNECT" && $3 > 1048576 { n++ } END { print n + 0 }' "$SQUID_ACCESS_LOG")
assert_ge 1 "$big" "squid counted the 1 MiB tunnel's bytes"

# squid refuses CONNECT to port 8080 (403): hermesd has no other peer, so the app is reset
# (a reset's exit code, not curl's deadline 28, shows it came at once; the time is printed)
curl_app http://10.77.1.3:8080/
case $CURL_RC in 7 | 52 | 55 | 56) ;; *) die "squid's 403: expected a reset (curl 7, 52, 55 or 56), got $CURL_RC" ;; esac
wait_until 5 grep -qE '^10\.77\.1\.1 TCP_DENIED/403 [0-9]+ CONNECT 10\.77\.1\.3:8080 ' "$SQUID_ACCESS_LOG" ||
	{ cat "$SQUID_ACCESS_LOG"; die "squid did not log the denied CONNECT 10.77.1.3:8080"; }
say "ok: squid logged: $(grep 'CONNECT 10.77.1.3:8080' "$SQUID_ACCESS_LOG" | tail -n 1)"
assert_file_match "$HERMESD_LOG" 'tunnel peer answered 403 to CONNECT' "hermesd logged squid's 403"

stop_squid
assert_eq 0 "$STOP_RC" "squid exited cleanly on SIGTERM"
assert_file_nomatch "$SQUID_DIR/cache.log" 'FATAL|assertion failed' "squid logged no fatal error"
pass "tunnel action through squid: page and 1 MiB byte-exact, CONNECT and identity in squid's log, 403 resets the app"
