#!/bin/bash
# upstream_reset: the upstream port is closed -> after its connect attempts hermesd resets the
# client connection: curl fails fast with "Connection reset by peer" (exit 56) or an empty
# reply (52), not with a timeout; failures are counted in /stats.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
start_hermesd
policy_add 10.77.1.0/24 proxy

f0=$(stat_value hermes_upstream_connect_failures_total)
CURL_MAX_TIME=30 curl_app http://10.77.1.2:81/
case $CURL_RC in
56 | 52) say "ok: curl exit $CURL_RC ($CURL_ERR)" ;;
28) die "upstream closed: curl timed out (exit 28) after $CURL_MS ms; expected a reset (exit 56/52)" ;;
*) die "upstream closed: expected curl exit 56 (reset) or 52 (empty reply), got $CURL_RC: $CURL_ERR" ;;
esac
assert_le 10000 "$CURL_MS" "upstream closed: curl failed fast (ms)"
wait_origdst '10\.77\.1\.2:81' 1 "hermesd accepted the flow for 10.77.1.2:81"
assert_ge $((${f0:-0} + 1)) "$(stat_value hermes_upstream_connect_failures_total)" "hermes_upstream_connect_failures_total"

# the same through a raw socket: the app sees ECONNRESET (or EOF), never a hang
out=$(in_app "$PY" - <<'PY' 2>&1
import socket, time
s = socket.create_connection(("10.77.1.2", 81), timeout=20)
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
t0 = time.monotonic()
try:
    d = s.recv(100)
    print(f"EOF after {time.monotonic() - t0:.2f}s data={d!r}")
except ConnectionResetError:
    print(f"RESET after {time.monotonic() - t0:.2f}s")
except socket.timeout:
    print("TIMEOUT")
PY
)
say "raw socket: $out"
assert_match "$out" "^(RESET|EOF after [0-9.]+s data=b'')" "raw socket sees a reset or EOF, not a hang"

# a working port still works afterwards
expect_page "port 80 still proxied" http://10.77.1.2/
pass "upstream closed: client reset fast"
