#!/bin/bash
# concurrent_1000: 1000 connections open at the same time through `proxy` (python asyncio
# client in the app cgroup, asyncio echo server on the server host): all complete.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

N=${CONC_N:-1000}
topo_up
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
say "fd limit $(ulimit -n)"
start_hermesd
policy_add 10.77.1.0/24 proxy

bg echo-server s "$PY" "$TESTBIN/hnet.py" serve-echo 10.77.1.2 9200 --deadline 200
wait_tcp "$NS_S" 10.77.1.2 9200 || die "echo server did not start"

t0=$(now_ms)
out=$(in_app timeout 150 "$PY" "$TESTBIN/hnet.py" concurrent 10.77.1.2 9200 "$N" --timeout 60 2>&1)
rc=$?
say "$out ($(($(now_ms) - t0)) ms)"
[ $rc = 0 ] || die "expected all $N concurrent connections through hermesd to complete: $out"
assert_ge "$N" "$(stat_value hermes_connections_accepted_total)" "hermes_connections_accepted_total"
wait_origdst '10\.77\.1\.2:9200' "$N" "hermesd relayed every connection"
active_is_zero() { [ "$(stat_value hermes_connections_active)" = 0 ]; }
wait_until 10 active_is_zero || die "hermes_connections_active still $(stat_value hermes_connections_active) 10 s after all $N connections closed"
say "ok: hermes_connections_active back to 0"
pid_alive "$HERMESD_PID" || die "hermesd died"
pass "$N concurrent connections through proxy"
