#!/bin/bash
# tunnel_optimistic: optimistic data on a warm HTTP/2 tunnel (tunnel.optimistic_data). Across
# a wide-area link of 100 ms RTT (the delay line, wan_up), with the pooled h2c connection
# to the server host's hermesd already open, a request whose answer takes one round trip
# (curl GET to nginx on the far host) gets its first byte in under 1.6 RTT: its bytes
# went with the CONNECT. With the key off (a reload) the same request takes 2 RTT or more
# (the CONNECT's round trip, then the request's), which shows the measurement can tell.
# 90 flows that say nothing (a protocol whose server speaks first) hold no more buffer
# bytes with the key on than off: waiting for their first bytes costs no read buffer.
# Refusals: a CONNECT the far side denies (tunnel_access, 403) drops the optimistic bytes
# there, the would-be target sees no connection and no byte, and the app is reset; a
# CONNECT whose target refuses the dial (502) holds its bytes at the far side until it
# fails, then the flow's next attempt sends the same bytes again; they go back to the
# connection's window, so that refusals worth more than the far side's whole connection
# window (tunnel.conn_buffer_bytes 65535 there) leave the pooled connection working. A
# first peer (the relay host R, which cannot reach the target) that answers 502 after the
# bytes arrived hands the flow to the next peer with the same bytes: an echo comes back
# byte-exact. With no answer after the bytes went out (the far hermesd killed while they
# cross the line) the app is reset. hermes_tunnel_optimistic_total counts each outcome.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
topo_add_relay
RTT=100
wan_up "$RTT"
start_nginx "$NS_S" 10.77.1.3:80

# the would-be target of the denied CONNECTs: logs every connection and byte it gets
cat >"$TMP/target.py" <<'PY'
import socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(64)
print("listening", flush=True)
def serve(c):
    n = 0
    while True:
        b = c.recv(65536)
        if not b:
            break
        n += len(b)
    print("bytes", n, flush=True)
while True:
    c, a = s.accept()
    print("accepted", a, flush=True)
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
bg target s "$PY" "$TMP/target.py" 10.77.1.3 9700
wait_until 10 grep -q listening "$TMP/target.log" || die "the would-be target did not start"

# the app of the refusals: connects, sends BYTES at once, reads; prints how it ended
cat >"$TMP/app.py" <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.sendall(b"x" * int(sys.argv[3]))
try:
    b = s.recv(100)
    print("eof" if not b else "data")
except ConnectionResetError:
    print("reset")
except socket.timeout:
    print("timeout")
PY

cat >"$TMP/s.yaml" <<YAML
tunnel: {conn_buffer_bytes: 65535, stream_buffer_bytes: 16384}
tunnel_access:
  - {match: 10.77.1.3/32:9700, action: deny}
  - {match: 10.77.1.3/32, action: allow}
  - {match: 10.77.1.2/32:9701, action: allow}
YAML
start_peer_hermesd "$NS_S" s -c "$TMP/s.yaml" --tunnel-listen 10.77.1.2:15008
S_LOG=$PEER_LOG
S_PID=$PEER_PID

# R: a peer that cannot reach 10.77.1.2 (no route there): it answers 502 to what it is
# asked for there, after the optimistic bytes arrived
cat >"$TMP/r.yaml" <<YAML
tunnel_access:
  - {match: 10.77.1.2/32, action: allow}
YAML
start_peer_hermesd "$NS_R" r -c "$TMP/r.yaml" --tunnel-listen 10.77.2.2:15008

# the app's routes: 10.77.1.3 through S; 10.77.1.2 through R first (502), then S
cat >"$TMP/c.yaml" <<YAML
routes:
  - {name: wan, match: [10.77.1.3/32], protocol: h2c, peers: [10.77.1.2:15008]}
  - {name: failover, match: [10.77.1.2/32], protocol: h2c, peers: [10.77.2.2:15008, 10.77.1.2:15008]}
policy:
  - {match: 10.77.1.3/32, action: tunnel}
  - {match: 10.77.1.2/32, action: tunnel}
YAML
start_hermesd -c "$TMP/c.yaml"

# config_says TEXT: the running config (GET /config) contains TEXT
config_says() { admin_get /config | grep -qF "$1"; }

# ttfb N: the median of N curl GETs' time to first byte, in ms (curl's starttransfer)
ttfb() {
	local i t all=()
	for ((i = 0; i < $1; i++)); do
		t=$(in_app curl -sS -o /dev/null --max-time 5 -w '%{time_starttransfer}' http://10.77.1.3/) ||
			die "curl through the tunnel failed"
		all+=("$(awk -v t="$t" 'BEGIN { printf "%.0f", t * 1000 }')")
	done
	say "time to first byte (ms): ${all[*]}" >&2
	printf '%s\n' "${all[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# silent_buffers TAG: the buffer bytes hermesd holds (hermes_overload_buffer_bytes) while 90
# flows through the tunnel are open and have said nothing yet (the app of a protocol
# whose server speaks first), less what it held before
silent_buffers() {
	local before during
	before=$(stat_value hermes_overload_buffer_bytes)
	bg "silent$1" app "$PY" "$TESTBIN/hnet.py" concurrent 10.77.1.3 9702 90 --hold 1 --timeout 20
	for ((i = 0; i < 100; i++)); do
		[ "$(stat_value hermes_connections_active)" -ge 90 ] && break
		sleep 0.05
	done
	sleep 0.3 # every tunnel answered (1 RTT) and relaying
	during=$(stat_value hermes_overload_buffer_bytes)
	wait "$BG_PID" || die "the 90 silent flows failed: $(cat "$TMP/silent$1.log")"
	echo $((during - before))
}
bg echo2 s "$PY" "$TESTBIN/hnet.py" serve-echo 10.77.1.3 9702 --deadline 60
wait_tcp "$NS_S" 10.77.1.3 9702 || die "the echo server on 10.77.1.3:9702 did not start"

expect_page "the first request opens the pooled connection" http://10.77.1.3/
ON=$(ttfb 5)
assert_le $((RTT * 16 / 10 - 1)) "$ON" "optimistic data on a warm tunnel: the median time to first byte is under 1.6 RTT"
assert_ge 5 "$(stat_value hermes_tunnel_optimistic_total 'outcome="sent"')" "each request's bytes went before the answer"
assert_eq 1 "$(stat_value hermes_tunnel_sessions_opened_total)" "every request was a stream of the one warm connection"
SILENT_ON=$(silent_buffers on)

# the same with the key off (a reload: the next CONNECTs wait for the 200)
sed -i 's/^routes:/tunnel: {optimistic_data: false}\nroutes:/' "$TMP/c.yaml"
kill -HUP "$HERMESD_PID"
wait_until 5 config_says '"optimistic_data":false' ||
	die "the reload did not turn tunnel.optimistic_data off"
SENT=$(stat_value hermes_tunnel_optimistic_total 'outcome="sent"')
OFF=$(ttfb 5)
SILENT_OFF=$(silent_buffers off)
say "buffer bytes held for 90 silent flows: $SILENT_ON with optimistic data, $SILENT_OFF without"
assert_le $((SILENT_OFF + 90 * 4096)) "$SILENT_ON" "a silent flow waiting for optimistic bytes holds no read buffer (at most 4 KiB more per flow than without)"
assert_ge "$((RTT * 2))" "$OFF" "without optimistic data the time to first byte is 2 RTT or more"
assert_eq "$SENT" "$(stat_value hermes_tunnel_optimistic_total 'outcome="sent"')" "with the key off no bytes went before the answer"
say "ok: time to first byte at RTT $RTT ms: $ON ms with optimistic data, $OFF ms without"
sed -i '/optimistic_data: false/d' "$TMP/c.yaml"
kill -HUP "$HERMESD_PID"
wait_until 5 config_says '"optimistic_data":true' ||
	die "the reload did not turn tunnel.optimistic_data on again"

# a denied CONNECT: its bytes never reach the target, the app is reset
out=$(in_app "$PY" "$TMP/app.py" 10.77.1.3 9700 4000)
assert_eq reset "$out" "the app whose CONNECT was denied (403) is reset"
wait_until 5 grep -q 'CONNECT 10.77.1.3:9700 .* refused' "$S_LOG" || die "the far side did not log the denied CONNECT"
assert_file_nomatch "$TMP/target.log" '^accepted' "the would-be target of the denied CONNECT saw no connection"
assert_ge 1 "$(stat_value hermes_tunnel_optimistic_total 'outcome="refused"')" "the refusal of optimistic bytes is counted"

# 502s, each with 16 KiB that wait at the far side while it dials: 4 flows of 3 attempts
# each (connect_attempts; every attempt sends the same bytes again) are 3 times its
# connection window; the bytes go back to the window, so the next request still works
for i in $(seq 4); do
	out=$(in_app "$PY" "$TMP/app.py" 10.77.1.3 9 16384)
	assert_eq reset "$out" "refused dial $i: the app is reset"
done
assert_ge 13 "$(stat_value hermes_tunnel_optimistic_total 'outcome="refused"')" "each 502 counted as refused"
expect_page "after refusals worth 3 times the far side's connection window, the warm connection still carries requests" http://10.77.1.3/
assert_eq 1 "$(stat_value hermes_tunnel_sessions_opened_total)" "still the one pooled connection"
assert_eq 0 "$(stat_value hermes_tunnel_optimistic_total 'outcome="reset"')" "no optimistic bytes were lost without an answer"

# failover: R refuses (502) after the optimistic bytes arrived; the flow's next peer, S,
# gets the very same bytes with its CONNECT: the echo comes back byte-exact
bg echo s "$PY" "$TESTBIN/hnet.py" serve-echo 10.77.1.2 9701 --deadline 60
wait_tcp "$NS_S" 10.77.1.2 9701 || die "the echo server did not start"
REFUSED=$(stat_value hermes_tunnel_optimistic_total 'outcome="refused"')
out=$(in_app "$PY" -c '
import random, socket, sys
data = random.Random(7).randbytes(12000)
s = socket.create_connection(("10.77.1.2", 9701), timeout=10)
s.sendall(data)
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    got += b
print("byte-exact" if got == data else "got %d bytes, not the ones sent" % len(got))
' 2>&1)
assert_eq byte-exact "$out" "refused by R, the flow's bytes reached the target through S exactly once and in order"
assert_eq $((REFUSED + 1)) "$(stat_value hermes_tunnel_optimistic_total 'outcome="refused"')" "R's refusal of the optimistic bytes is counted"
assert_ge 1 "$(peer_stat "$NS_R" 127.0.0.1:15000 'hermes_tunnel_errors_total{status="502"}')" "R answered 502"

# no answer after the bytes went out (S killed while they cross the line): the flow is
# reset, not tried again (connect_attempts would have it retry), since S might have
# passed them on to the target
out=$(in_app "$PY" -c '
import os, signal, socket, sys
s = socket.create_connection(("10.77.1.3", 80), timeout=10)
s.sendall(b"y" * 3000)
os.kill(int(sys.argv[1]), signal.SIGKILL)
try:
    print("eof" if not s.recv(100) else "data")
except ConnectionResetError:
    print("reset")
' "$S_PID" 2>&1)
assert_eq reset "$out" "the app whose optimistic bytes got no answer is reset"
assert_eq 1 "$(stat_value hermes_tunnel_optimistic_total 'outcome="reset"')" "the lost answer is counted"
pass "optimistic data: 1 RTT less to the first byte on a warm tunnel ($ON ms against $OFF ms at RTT $RTT ms); refused CONNECTs drop their bytes at the far side"
