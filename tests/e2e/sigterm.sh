#!/bin/bash
# sigterm: SIGTERM makes hermesd drain (an open relayed connection finishes), detach and exit
# 0, leaving no program attached; new connections then go direct.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
start_hermesd
policy_add 10.77.1.0/24 proxy
expect_page "proxied" http://10.77.1.2/

# an open connection whose data only comes 1.5 s later
bg slow-server s "$PY" "$TESTBIN/hnet.py" serve-slow 10.77.1.2 9300 --ready-file "$TMP/slow.ready" --delay 1.5 --bytes 1048576 --deadline 30
wait_until 10 test -f "$TMP/slow.ready" || die "slow server did not start"
bg slow-client app "$PY" "$TESTBIN/hnet.py" recv 10.77.1.2 9300 --expect 1048576 --timeout 20
client=$BG_PID
wait_origdst '10\.77\.1\.2:9300' 1 "the slow connection goes through hermesd"

t0=$(now_ms)
pid=$HERMESD_PID
kill -TERM "$pid"
for ((i = 0; i < 150; i++)); do pid_alive "$pid" || break; sleep 0.1; done
ms=$(($(now_ms) - t0))
pid_alive "$pid" && die "hermesd still running 15 s after SIGTERM"
wait "$pid" 2>/dev/null
rc=$?
HERMESD_PID=
say "hermesd exited $ms ms after SIGTERM with status $rc"
wait "$client" 2>/dev/null
crc=$?
say "slow client: $(cat "$TMP/slow-client.log" | tr '\n' ' ')"
assert_eq 0 "$rc" "hermesd exit status after SIGTERM"
[ $crc = 0 ] || die "the connection open at SIGTERM was not drained: the app did not get its 1 MiB (client status $crc: $(cat "$TMP/slow-client.log"))"
say "ok: open connection drained"
assert_no_progs "after SIGTERM"
if [ -e "$PINROOT" ]; then say "pins left after SIGTERM: $(find "$PINROOT" | tr '\n' ' ')"; fi

c=$(origdst_count '.*')
expect_page "after hermesd exited: direct" http://10.77.1.2/
expect_nginx_client 10.77.1.1 "direct from the client host"
expect_connects app "connect() after exit is direct" 10.77.1.2 80
pass "SIGTERM: drained, detached, exit 0"
