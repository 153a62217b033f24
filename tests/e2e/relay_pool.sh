#!/bin/bash
# relay_pool: the relay's buffer pool, shared by every flow, is not taken by a few flows
# whose peer does not read, and a read that finds it empty waits without losing a byte.
# With a tiny pool (proxy.relay_buffers 64, at most 4 a socket):
#  - first, a request/response flow (500 exchanges of 64 bytes) keeps one multishot
#    receive armed on each socket instead of arming a receive per message: far fewer
#    receives armed than messages (hermes_relay_recvs_armed_total);
#  - 15 flows push 1 MiB each into a sink that accepts and never reads: they take the
#    pool down to its last few buffers (each stops at its cap, 4, or at 1 once fewer
#    than an eighth of the pool is free), and yet 16 echo flows of 256 KiB each, beside
#    them, complete with every byte back in order;
#  - 10 more such flows find the pool empty: the exhaustion counter moves (the echo
#    flows may have moved it already, finding the last buffers taken);
#  - then the sink reads: each of the 25 stalled flows delivers its 1 MiB intact (those
#    that waited for a buffer read again as buffers came back), and the pool is all
#    given back (no buffer held, the buffer bytes counted back at rest).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
STALLED=15
MORE=10
ECHO=16
# small socket buffers on hermesd's side: what the sink does not take stays in the pool
ns_c sysctl -qw net.ipv4.tcp_wmem="4096 16384 65536" || die "cannot set tcp_wmem in $NS_C"
echo "proxy: {relay_buffers: 64, buffers_per_socket: 4}" >"$TMP/c.yaml"
start_hermesd -c "$TMP/c.yaml"
policy_add 10.77.1.2/32 proxy
held_bufs() { echo $(($(stat_value hermes_relay_buffer_pool_held_bytes) / 16384)); }
exhausted() { stat_value hermes_relay_buffer_pool_exhausted_total; }
state() { echo "$(held_bufs) buffers held, $(exhausted) reads found the pool empty"; }
base=$(stat_value hermes_overload_buffer_bytes)

bg sink s "$PY" "$TESTBIN/poolpush.py" sink 10.77.1.2 9300 "$TMP/go" $((STALLED + MORE)) $((1 << 20))
wait_tcp "$NS_S" 10.77.1.2 9300 || die "the sink did not start"
bg echo s "$PY" "$TESTBIN/hnet.py" serve-echo 10.77.1.2 9200 --deadline 60
wait_tcp "$NS_S" 10.77.1.2 9200 || die "the echo server did not start"
# ping-pong: 500 exchanges of 64 bytes, 1000 messages read by hermesd (one socket each way)
recvs0=$(stat_value hermes_relay_recvs_armed_total)
out=$(in_app timeout 30 "$PY" -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for i in range(500):
    m = b"%063d\n" % i
    s.sendall(m)
    got = b""
    while len(got) < len(m):
        c = s.recv(len(m) - len(got))
        if not c:
            sys.exit("closed at exchange %d" % i)
        got += c
    if got != m:
        sys.exit("exchange %d came back as %r" % (i, got))
print("pingpong ok 500")
' 10.77.1.2 9200 2>&1)
assert_match "$out" "^pingpong ok 500" "500 ping-pong exchanges of 64 bytes"
recvs=$(($(stat_value hermes_relay_recvs_armed_total) - recvs0))
say "500 exchanges: $recvs receives armed"
# 500 x 64 B is 31 KiB each way: a multishot per socket, re-armed after each 16 KiB (a
# handful), where a receive armed per message makes 1000
# (Linux 6.17 and later: before, the multishot's byte limit is refused and hermesd uses
# single recvs, the path the rest of this test covers)
kver=$(uname -r | awk -F. '{ print $1 * 100 + $2 }')
if [ "$kver" -ge 617 ]; then
	assert_le 50 "$recvs" "a request/response flow keeps its receives armed (not one armed per message)"
else
	say "kernel $(uname -r) has no byte limit for multishot recvs: one recv a message, not checked"
fi

bg push app "$PY" "$TESTBIN/poolpush.py" push 10.77.1.2 9300 "$STALLED" $((1 << 20))
PUSH_PID=$BG_PID
# shellcheck disable=SC2317 # called through wait_until
pool_low() { [ "$(held_bufs)" -ge 52 ]; }
wait_until 10 pool_low || die "the stalled flows did not take the pool down to its last buffers: $(state)"
sleep 1.2 # a tick more: all they take
held=$(held_bufs)
say "stalled: $(state)"
assert_le $((STALLED * 4)) "$held" "the stalled flows hold at most 4 buffers each"

out=$(in_app timeout 30 "$PY" "$TESTBIN/poolpush.py" echo 10.77.1.2 9200 "$ECHO" $((256 << 10)) 2>&1)
assert_match "$out" "^echo ok $ECHO" "$ECHO echo flows of 256 KiB complete beside the stalled ones, every byte back in order"
say "after the echo flows: $(state)"

dry0=$(exhausted)
bg push2 app "$PY" "$TESTBIN/poolpush.py" push 10.77.1.2 9300 "$MORE" $((1 << 20))
PUSH2_PID=$BG_PID
# shellcheck disable=SC2317 # called through wait_until
counted() { [ "$(exhausted)" -gt "$dry0" ]; }
wait_until 10 counted || die "$MORE more stalled flows did not find the pool empty: $(state)"
say "with $MORE more: $(state)"
pid_alive "$PUSH_PID" && pid_alive "$PUSH2_PID" || die "the stalled flows ended before the sink read"

touch "$TMP/go"
wait_until 20 grep -q "^sink " "$TMP/sink.log" || die "the sink did not finish reading: $(state)"
assert_match "$(cat "$TMP/sink.log")" "sink ok $((STALLED + MORE))" \
	"each stalled flow delivered its 1 MiB intact once read (those that waited for a buffer too)"
wait_until 10 grep -q "^pushed" "$TMP/push.log" || die "the first pushing clients did not finish"
wait_until 10 grep -q "^pushed" "$TMP/push2.log" || die "the second pushing clients did not finish"
# shellcheck disable=SC2317 # called through wait_until
given_back() { [ "$(held_bufs)" = 0 ] && [ "$(stat_value hermes_overload_buffer_bytes)" -le "$base" ]; }
wait_until 5 given_back ||
	die "the pool was not given back: $(state), $(stat_value hermes_overload_buffer_bytes) buffer bytes counted (at rest $base)"
pass "a 64-buffer pool: $STALLED stalled flows held $held, $ECHO echo flows got through beside them, $(exhausted) reads found it empty, no byte lost"
