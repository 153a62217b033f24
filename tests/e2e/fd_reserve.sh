#!/bin/bash
# fd_reserve: a burst of flows larger than the descriptors left, taken in at once, under
# RLIMIT_NOFILE 4600 (where accepting may batch). hermesd is stopped (SIGSTOP) while 2400
# clients connect through `proxy`, so that all of them sit in the listen backlog when it
# goes on (SIGCONT): 2400 flows need 4800 descriptors. hermesd takes in only as many as its
# descriptors serve with one upstream socket each; the rest wait in the backlog and are
# served as the first flows end. No flow is reset for want of an upstream descriptor
# (hermes_upstream_descriptor_failures_total stays 0, nothing says "Too many open files"),
# the flows accepted as descriptors ran out took theirs from the reserve
# (hermes_descriptor_reserve_used_total), and all 2400 echo byte-exact. (Before, one multishot accept took the whole backlog in
# before hermesd saw the first of it, and about 150 flows found no upstream descriptor.)
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

N=2400
LIMIT=4600
require_cmd prlimit
topo_up
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
REAL_HERMESD=$HERMESD_BIN
HERMESD_BIN=$TMP/hermesd-limited
printf '#!/bin/sh\nexec prlimit --nofile=%s:%s %s "$@"\n' "$LIMIT" "$LIMIT" "$REAL_HERMESD" >"$HERMESD_BIN"
chmod +x "$HERMESD_BIN"
start_hermesd
policy_add 10.77.1.0/24 proxy
bg echo-server s "$PY" "$TESTBIN/hnet.py" serve-echo 10.77.1.2 9200 --deadline 120
wait_tcp "$NS_S" 10.77.1.2 9200 || die "echo server did not start"

# the clients' ends (steered to the outbound listener, 15001)
established() { ns_c ss -Htn state established "( dport = :15001 )" | wc -l; }
kill -STOP "$HERMESD_PID"
bg clients app "$PY" "$TESTBIN/hnet.py" concurrent 10.77.1.2 9200 "$N" --hold 2 --timeout 40
CLIENTS_PID=$BG_PID
all_queued() { [ "$(established)" -ge "$N" ]; }
wait_until 20 all_queued || { kill -CONT "$HERMESD_PID"; die "only $(established) of $N clients connected to the backlog"; }
say "ok: $N clients wait in the backlog of the stopped hermesd"
kill -CONT "$HERMESD_PID"

wait "$CLIENTS_PID"
rc=$?
out=$(cat "$TMP/clients.log")
say "$out"
say "accept pauses $(stat_value hermes_accept_pauses_total), upstream sockets from the reserve $(stat_value hermes_descriptor_reserve_used_total), upstream descriptor failures $(stat_value hermes_upstream_descriptor_failures_total)"
grep -m3 'Too many open files' "$HERMESD_LOG"
assert_eq 0 "$(grep -c 'Too many open files' "$HERMESD_LOG")" "no flow failed for want of an upstream descriptor"
assert_eq 0 "$(stat_value hermes_upstream_descriptor_failures_total)" "hermes_upstream_descriptor_failures_total stays 0"
assert_ge 1 "$(stat_value hermes_descriptor_reserve_used_total)" "the burst reached the descriptor reserve (the race was exercised)"
[ $rc = 0 ] || die "not every flow completed: $out"
assert_match "$out" "completed=$N " "all $N flows echoed byte-exact"
pid_alive "$HERMESD_PID" || die "hermesd died"
pass "a backlog of $N flows under RLIMIT_NOFILE $LIMIT: none reset for want of a descriptor"
