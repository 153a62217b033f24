#!/bin/bash
# sigterm: SIGTERM makes hermesd drain (an open relayed connection finishes) and exit 0,
# leaving its links and pins in place: the deny rule stays enforced and the proxied
# destination goes direct. A restart on the same pin root swaps its programs into the
# same links: a loop of connections running across stop and restart never gets through
# the deny rule and never fails. With --detach-on-exit a stop detaches everything.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
start_hermesd
policy_add 10.77.1.2 proxy
policy_add 10.77.1.3 deny
expect_page "proxied" http://10.77.1.2/

# link_ids: "NAME=LINK_ID:PROG_ID ..." of the pinned links
link_ids() {
	local f
	for f in "$PINROOT"/links/hermes_*; do
		printf '%s=%s ' "${f##*/}" "$(bpftool link show pinned "$f" 2>/dev/null |
			awk 'NR == 1 { sub(":", "", $1); for (i = 1; i <= NF; i++) if ($i == "prog") p = $(i + 1); print $1 ":" p }')"
	done
}
before=$(link_ids)
say "links before: $before"

# an open connection whose data only comes 1.5 s later
bg slow-server s "$PY" "$TESTBIN/hnet.py" serve-slow 10.77.1.2 9300 --ready-file "$TMP/slow.ready" --delay 1.5 --bytes 1048576 --deadline 30
wait_until 10 test -f "$TMP/slow.ready" || die "slow server did not start"
bg slow-client app "$PY" "$TESTBIN/hnet.py" recv 10.77.1.2 9300 --expect 1048576 --timeout 20
client=$BG_PID
wait_origdst '10\.77\.1\.2:9300' 1 "the slow connection goes through hermesd"

# connections and denied connects in a loop, across the stop and the restart
bg loop app "$PY" "$TESTBIN/connloop.py" 10.77.1.2 80 10.77.1.3 80 --stop-file "$TMP/loop.stop" --deadline 60
loop=$BG_PID
# three more loops, so that connects are in flight at the moment the listener closes
loops=()
for k in 2 3 4; do
	bg "loop$k" app "$PY" "$TESTBIN/connloop.py" 10.77.1.2 80 10.77.1.3 80 --stop-file "$TMP/loop.stop" --deadline 60 --no-sleep
	loops+=("$k:$BG_PID")
done
sleep 0.5

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
say "slow client: $(tr '\n' ' ' <"$TMP/slow-client.log")"
assert_eq 0 "$rc" "hermesd exit status after SIGTERM"
[ $crc = 0 ] || die "the connection open at SIGTERM was not drained: the app did not get its 1 MiB (client status $crc: $(cat "$TMP/slow-client.log"))"
say "ok: open connection drained"

# ---- stopped: links and pins stay
assert_ge 11 "$(cg_prog_count)" "programs still attached under $CG after SIGTERM"
assert_eq "$before" "$(link_ids)" "the pinned links (and their programs) after SIGTERM"
expect_eperm "deny still enforced after SIGTERM" 10.77.1.3 80
out=$(in_app "$PY" "$TESTBIN/hnet.py" connect 10.77.1.2 80) || die "connect to the proxied destination after SIGTERM failed: $out"
assert_match "$out" "peer=10\.77\.1\.2:80 sock=10\.77\.1\.1:" "the proxied destination is reached directly (fail-open)"
expect_page "after SIGTERM: the page, directly" http://10.77.1.2/
expect_nginx_client 10.77.1.1 "direct from the client host"
assert_file_match "$HERMESD_LOG" 'links and pins stay' "the log says what stays"

# ---- restart: the same links take the new programs
n=$(origdst_count '10\.77\.1\.2:80')
start_hermesd
after=$(link_ids)
say "links after the restart: $after"
for l in $before; do
	name=${l%%=*} id=${l#*=}
	new=$(tr ' ' '\n' <<<"$after" | sed -n "s/^$name=//p")
	assert_eq "${id%%:*}" "${new%%:*}" "link $name kept its id across the restart"
	assert_ne "${id#*:}" "${new#*:}" "link $name runs the new hermesd's program"
done
wait_origdst '10\.77\.1\.2:80' $((n + 3)) "steering resumed after the restart (the loop's connections)"
sleep 0.3
touch "$TMP/loop.stop"
wait "$loop"
lrc=$?
say "connection loop: $(tr '\n' ' ' <"$TMP/loop.log")"
assert_eq 0 "$lrc" "the connection loop across stop and restart: no failure, no connect through the deny rule"
read -r _ rounds _ proxied _ direct _ _ _ denied _ <"$TMP/loop.log"
assert_ge 1 "$direct" "loop connections made directly while hermesd was down"
assert_ge 2 "$proxied" "loop connections through hermesd (before and after)"
assert_eq "$rounds" "$denied" "every denied connect in the loop got EPERM"
for kp in "${loops[@]}"; do
	wait "${kp#*:}"
	lrc=$?
	say "connection loop ${kp%%:*}: $(tr '\n' ' ' <"$TMP/loop${kp%%:*}.log")"
	assert_eq 0 "$lrc" "connection loop ${kp%%:*} (no pause between rounds): no failure, no connect through the deny rule"
done

# ---- --detach-on-exit: today's lab behaviour, everything detached
stop_hermesd TERM 15
assert_eq 0 "$HERMESD_RC" "exit status after the second SIGTERM"
start_hermesd --detach-on-exit
expect_eperm "deny enforced under --detach-on-exit" 10.77.1.3 80
stop_hermesd TERM 15
assert_eq 0 "$HERMESD_RC" "exit status with --detach-on-exit"
assert_no_progs "after SIGTERM with --detach-on-exit"
expect_connects app "with --detach-on-exit, the deny rule is gone with hermesd" 10.77.1.3 80
pass "SIGTERM: drained, exit 0, links kept (deny enforced, proxy fails open), restart with no gap; --detach-on-exit detaches"
