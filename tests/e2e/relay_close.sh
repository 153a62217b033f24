#!/bin/bash
# relay_close: how proxied flows end, for each relay engine (the runner repeats this
# test with --relay splice): a slow reader on either side with everything in flight
# loses nothing (backpressure), a reset from the server reaches the client and a reset
# from the client reaches the server, the upstream closing first and the client closing
# first both deliver every byte in both directions.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_hermesd
policy_add 10.77.1.2/32 proxy

port=9500
for sc in slow-reader slow-server server-rst client-rst upstream-first client-first; do
	port=$((port + 1))
	bg "srv-$sc" s "$PY" "$TESTBIN/closes.py" server 10.77.1.2 "$port" "$sc"
	srv=$BG_PID
	wait_until 10 grep -q listening "$TMP/srv-$sc.log" || die "$sc: server did not start"
	in_app timeout 60 "$PY" "$TESTBIN/closes.py" client 10.77.1.2 "$port" "$sc" >"$TMP/cli-$sc.log" 2>&1
	crc=$?
	wait "$srv"
	src=$?
	say "$sc: $(tr '\n' ' ' <"$TMP/cli-$sc.log")| $(grep -v listening "$TMP/srv-$sc.log" | tr '\n' ' ')"
	[ $crc = 0 ] && [ $src = 0 ] || die "$sc: client exit $crc, server exit $src"
	say "ok: $sc"
done
assert_eq 0 "$(stat_value hermes_connections_active)" "no flow left open in hermesd"
pass "slow readers, resets both ways and closes from either side keep every byte"
