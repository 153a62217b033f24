#!/bin/bash
# crash_reset: a hard kill of hermesd is visible as truncation. A close-delimited
# download (HTTP/1.0 head, no Content-Length, the body ends with the connection) through
# the proxy action: run to its end it still ends with a FIN (curl exit 0, every byte);
# with hermesd killed by SIGKILL in the middle the app's socket is reset (curl exit 56),
# where it used to get a FIN and take the short body for the whole one. The same with
# the http action (hermesd parses the response; the client's body ends with the
# connection). A tunnel flow killed before its peer answered is reset as well. The
# runner's splice pass runs it again with --relay splice.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

MB=24
WHOLE_MB=4 # the downloads run to their end (GET /whole): no kill to land in them

topo_up
# the origin: per connection, a head and then MB MiB (WHOLE_MB for GET /whole) paced at
# about 16 MiB/s, then close
bg origin s "$PY" -c '
import socket, sys, threading, time
mb, whole = int(sys.argv[1]), int(sys.argv[2])
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("10.77.1.2", 8080))
ls.listen(16)
chunk = b"x" * 65536
def serve(s):
    try:
        n = whole if b" /whole " in s.recv(65536) else mb
        s.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
        for i in range(n * 16):
            s.sendall(chunk)
            if i % 4 == 3:
                time.sleep(0.015)
        s.close()
    except OSError as e:
        print("origin: %s" % e, flush=True)
ls.settimeout(60)
while True:
    try:
        c, _ = ls.accept()
    except socket.timeout:
        break
    threading.Thread(target=serve, args=(c,), daemon=True).start()
' "$MB" "$WHOLE_MB"
wait_tcp "$NS_S" 10.77.1.2 8080 || die "the origin did not start on 10.77.1.2:8080"
start_hermesd
policy_add 10.77.1.2/32:8080 proxy

# 1. to its end: a clean end of stream, every byte
curl_app -o "$TMP/full.bin" -w '%{size_download}' http://10.77.1.2:8080/whole
assert_eq 0 "$CURL_RC" "curl exit code of a complete close-delimited download through hermesd"
assert_eq $((WHOLE_MB * 1048576)) "$(stat -c %s "$TMP/full.bin")" "bytes of the complete download"
wait_origdst '10\.77\.1\.2:8080' 1 "the download went through hermesd"

# kill_mid_download WHAT [PID]: hermesd (or the hermesd PID) killed in the middle of a
# download: the app must see a reset, not a clean short end
kill_mid_download() {
	local got rc
	rm -f "$TMP/cut.bin"
	bg dl app curl -sS --max-time 20 -o "$TMP/cut.bin" http://10.77.1.2:8080/
	DL_PID=$BG_PID
	wait_until 10 sh -c "[ \$(stat -c %s '$TMP/cut.bin' 2>/dev/null || echo 0) -ge 2097152 ]" ||
		die "$1: the download did not get going: $(cat "$TMP/dl.log")"
	say "killing hermesd (pid ${2:-$HERMESD_PID}) with SIGKILL after $(stat -c %s "$TMP/cut.bin") bytes"
	if [ -n "${2:-}" ]; then
		stop_pid "$2" KILL 5
	else
		stop_hermesd KILL 5
	fi
	wait "$DL_PID" # bounded by its --max-time
	rc=$?
	got=$(stat -c %s "$TMP/cut.bin")
	say "curl ended with status $rc after $got of $((MB * 1048576)) bytes: $(cat "$TMP/dl.log")"
	[ "$got" -lt $((MB * 1048576)) ] || die "$1: the download completed although hermesd was killed in the middle (make MB larger?)"
	assert_eq 56 "$rc" "$1: curl exit code when hermesd dies mid-download (56: connection reset, not 0: a clean but short end)"
	assert_match "$(cat "$TMP/dl.log")" "[Rr]eset" "$1: curl reports the reset"
}

# 2. the proxy action (the io_uring relay, or splice in the runner's splice pass)
kill_mid_download "proxy action"

# the http action and tunnels do not depend on the relay engine: once is enough
[ "${HERMES_EXPECT_ENGINE:-}" = splice ] && pass "crash_reset: a killed hermesd resets spliced flows; a complete one still ends with a FIN"

# 3. the http action: its client side while a close-delimited body is relayed; a
#    complete one still ends cleanly
start_hermesd
policy_add 10.77.1.2/32:8080 http
curl_app -o "$TMP/full.bin" http://10.77.1.2:8080/whole
assert_eq 0 "$CURL_RC" "curl exit code of a complete close-delimited download through the http action"
assert_eq $((WHOLE_MB * 1048576)) "$(stat -c %s "$TMP/full.bin")" "bytes of the complete download (http action)"
kill_mid_download "http action"

# 4. a tunnel flow (h2c to the server host's hermesd): the app's socket resets when the
#    client host's hermesd dies, and when the peer's does (the client host's hermesd
#    then resets the flow itself)
start_peer_hermesd "$NS_S" s --tunnel-listen 10.77.1.2:15008
S_PID=$PEER_PID
cat >"$TMP/client.yaml" <<YAML
routes:
  - name: to-server
    match: [10.77.1.2/32]
    protocol: h2c
    peers: [10.77.1.2:15008]
policy:
  - match: 10.77.1.2/32:8080
    action: tunnel
YAML
hermesctl policy del 10.77.1.2/32:8080 >/dev/null || die "cannot delete the http rule"
start_hermesd -c "$TMP/client.yaml"
curl_app -o "$TMP/full.bin" http://10.77.1.2:8080/whole
assert_eq 0 "$CURL_RC" "curl exit code of a complete close-delimited download through a tunnel"
assert_eq $((WHOLE_MB * 1048576)) "$(stat -c %s "$TMP/full.bin")" "bytes of the complete download (tunnel)"
wait_until 5 grep -q 'CONNECT 10.77.1.2:8080' "$PEER_LOG" || die "the download did not go through the peer"
kill_mid_download "tunnel, client host's hermesd killed"
start_hermesd -c "$TMP/client.yaml"
kill_mid_download "tunnel, the peer killed" "$S_PID"
stop_hermesd

# 5. a flow whose relay has not started yet (its tunnel peer never answers the CONNECT):
#    its socket is armed from the accept (the outbound listener's SO_LINGER 0 is
#    inherited), so the app sees a reset too, not an empty reply (curl 52)
bg silent s "$PY" -c '
import socket, time
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("10.77.1.2", 15009))
ls.listen(4)
c, _ = ls.accept()
print("accepted", flush=True)
time.sleep(30)
'
wait_tcp "$NS_S" 10.77.1.2 15009 || die "the silent peer did not start on 10.77.1.2:15009"
sed 's/10.77.1.2:15008/10.77.1.2:15009/' "$TMP/client.yaml" >"$TMP/silent.yaml"
start_hermesd -c "$TMP/silent.yaml"
bg early app curl -sS --max-time 20 -o /dev/null http://10.77.1.2:8080/
EARLY_PID=$BG_PID
wait_until 5 grep -q accepted "$TMP/silent.log" || die "hermesd did not connect to the silent peer"
sleep 0.3 # the CONNECT goes out; no answer ever comes
stop_hermesd KILL 5
wait "$EARLY_PID"
rc=$?
say "curl ended with status $rc: $(cat "$TMP/early.log")"
assert_eq 56 "$rc" "curl exit code when hermesd dies before the flow's tunnel answered (56: reset, not 52: an empty reply)"
pass "crash_reset: a killed hermesd resets relayed flows, also before the relay starts; a complete one still ends with a FIN"
