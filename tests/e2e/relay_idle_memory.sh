#!/bin/bash
# relay_idle_memory: an idle proxied flow costs hermesd its two sockets and a small
# struct, not buffers. 2000 flows (500 in the SAN build) through `proxy`, each after one
# 64-byte exchange with an echo server, are held open and idle; hermesd's resident
# memory grows by less than 12 KiB a flow (48 KiB in the SAN build, whose allocator adds
# red zones). Each relaying socket had a provided-buffer ring and 128 KiB of buffers of
# its own before, about 24 KiB resident a flow once one exchange had touched them; the
# buffers now come from the loop's pool (proxy.relay_buffers) and go back once sent.
# The breakdown (/proc/PID/smaps_rollup, the pool's gauges) is in the log.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
# (RELAY_IDLE_N: another count, for a measurement)
N=${RELAY_IDLE_N:-$(by_build 2000 500)}
MAX_KIB=$(by_build 12 48)
ulimit -n $((2 * N + 4000)) 2>/dev/null || ulimit -n "$(ulimit -Hn)"
start_hermesd
policy_add 10.77.1.2/32:9200 proxy
bg echo s "$PY" "$TESTBIN/hnet.py" serve-echo 10.77.1.2 9200 --deadline 120
wait_tcp "$NS_S" 10.77.1.2 9200 || die "echo server did not start"

# hold N flows open after one exchange each; "idle N" once they all are
IDLE_PY='
import socket, sys, time
n = int(sys.argv[1])
msg = b"x" * 64
socks = []
for i in range(n):
    s = socket.create_connection(("10.77.1.2", 9200), timeout=10)
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        d = s.recv(64 - len(got))
        if not d:
            sys.exit("flow %d closed before its echo" % i)
        got += d
    socks.append(s)
print("idle", n, flush=True)
time.sleep(60)
'
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$HERMESD_PID/status"; }
active_is() { [ "$(stat_value hermes_connections_active)" = "$1" ]; }

# a first round opens and closes the allocator's and the kernel's first growth
bg warm app "$PY" -c "$IDLE_PY" 200
wait_until 20 grep -q "^idle" "$TMP/warm.log" || die "the warm-up flows did not all echo: $(cat "$TMP/warm.log")"
stop_pid "$BG_PID" TERM 2
wait_until 10 active_is 0 || die "the warm-up flows did not end: $(stat_value hermes_connections_active) active"
sleep 0.3
before=$(rss_kib)
bg idle app "$PY" -c "$IDLE_PY" "$N"
IDLE_PID=$BG_PID
wait_until 60 grep -q "^idle" "$TMP/idle.log" || die "the $N flows did not all echo: $(tail -n 3 "$TMP/idle.log")"
wait_until 10 active_is "$N" || die "hermesd relays $(stat_value hermes_connections_active) flows, not $N"
sleep 0.5
after=$(rss_kib)
say "hermesd RSS $before -> $after KiB with $N idle flows; smaps_rollup:"
grep -E '^(Rss|Anonymous|Private_Dirty)' "/proc/$HERMESD_PID/smaps_rollup"
say "pool: $(stat_value hermes_relay_buffer_pool_held_bytes) bytes held, $(stat_value hermes_relay_buffer_pool_resident_bytes) resident; buffer bytes counted $(stat_value hermes_overload_buffer_bytes)"
per=$(((after - before) * 1024 / N))
say "$per bytes a flow"
assert_le $((MAX_KIB * 1024)) "$per" "hermesd's RSS grows by less than $MAX_KIB KiB an idle flow ($per bytes)"
stop_pid "$IDLE_PID" TERM 2
wait_until 10 active_is 0 || die "the idle flows did not end: $(stat_value hermes_connections_active) active"
pass "$N idle proxied flows: $per bytes of hermesd RSS each ($before -> $after KiB)"
