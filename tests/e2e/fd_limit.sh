#!/bin/bash
# fd_limit: hermesd under a low descriptor limit (RLIMIT_NOFILE 456) and 400 concurrent
# flows through `proxy`, which need about 800. hermesd stops accepting while its
# descriptors run short, so the flows it took get their upstream sockets and the rest wait
# in the listen backlog: it neither fails flows for want of an upstream socket nor spins on
# EMFILE (its CPU time while every flow sits idle stays small), says so once in its log,
# counts hermes_accept_pauses_total, and serves the backlog as descriptors come back: all
# 400 flows echo byte-exact. Its admin endpoint answers meanwhile.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

N=400
LIMIT=456 # userspace/loop.c FD_RESERVE (256) + 200: the pauses begin near descriptor 200
require_cmd prlimit
topo_up
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
REAL_HERMESD=$HERMESD_BIN
HERMESD_BIN=$TMP/hermesd-limited
printf '#!/bin/sh\nexec prlimit --nofile=%s:%s %s "$@"\n' "$LIMIT" "$LIMIT" "$REAL_HERMESD" >"$HERMESD_BIN"
chmod +x "$HERMESD_BIN"
start_hermesd
assert_match "$(prlimit --pid "$HERMESD_PID" --nofile --noheadings --output SOFT,HARD)" "$LIMIT +$LIMIT" \
	"hermesd runs with RLIMIT_NOFILE $LIMIT"
policy_add 10.77.1.0/24 proxy
bg echo-server s "$PY" "$TESTBIN/hnet.py" serve-echo 10.77.1.2 9200 --deadline 200
wait_tcp "$NS_S" 10.77.1.2 9200 || die "echo server did not start"

ticks() { awk '{ print $14 + $15 }' "/proc/$HERMESD_PID/stat"; }
bg clients app "$PY" "$TESTBIN/hnet.py" concurrent 10.77.1.2 9200 "$N" --hold 4 --timeout 60
CLIENTS_PID=$BG_PID
paused() { [ "$(stat_value hermes_accept_pauses_total)" -ge 1 ] 2>/dev/null; }
wait_until 10 paused || die "hermesd never paused accepting with $N flows under RLIMIT_NOFILE $LIMIT"
say "ok: accepting paused ($(stat_value hermes_accept_pauses_total) pauses so far)"
# every flow is idle now (--hold): a hermesd spinning on EMFILE would burn a CPU here
t0=$(ticks)
sleep 2
used=$(($(ticks) - t0))
say "hermesd used $used clock ticks (of $((2 * $(getconf CLK_TCK)))) in 2 s while the flows were idle"
assert_le $((2 * $(getconf CLK_TCK) / 4)) "$used" "hermesd does not spin while its descriptors are short"
[ "$(admin_code /ready)" = 200 ] || die "the admin endpoint did not answer while the listener rested"
say "ok: the admin endpoint answers meanwhile"

wait "$CLIENTS_PID"
rc=$?
out=$(cat "$TMP/clients.log")
say "$out"
[ $rc = 0 ] || die "not every flow completed: $out"
assert_match "$out" "completed=$N " "all $N flows echoed byte-exact"
assert_eq 1 "$(grep -c 'resting 100 ms at a time' "$HERMESD_LOG")" "the pause is logged once"
assert_eq 0 "$(grep -c 'Too many open files' "$HERMESD_LOG")" "no flow failed for want of a descriptor"
pid_alive "$HERMESD_PID" || die "hermesd died"
pass "$N flows under RLIMIT_NOFILE $LIMIT"
