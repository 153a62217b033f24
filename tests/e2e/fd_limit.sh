#!/bin/bash
# fd_limit: hermesd under a low descriptor limit (RLIMIT_NOFILE 456) and 400 concurrent
# flows through `proxy`, which need about 800. hermesd stops accepting while its
# descriptors run short, so the flows it took get their upstream sockets and the rest wait
# in the listen backlog: it neither fails flows for want of an upstream socket nor spins on
# EMFILE (its CPU time while every flow sits idle stays small), says so once in its log,
# counts hermes_accept_pauses_total, and serves the backlog as descriptors come back: all
# 400 flows echo byte-exact. Its admin endpoint answers meanwhile. Then the http action,
# whose requests wait for a descriptor rather than fail (see below).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

N=400
LIMIT=456 # a quarter (114) held in reserve (loop-t.h FD_RESERVE): the pauses begin near 342
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
# the listener's own rest may name EMFILE (its accept found none): that is no flow failing
assert_eq 0 "$(grep 'Too many open files' "$HERMESD_LOG" | grep -vc 'accept on .*: Too many open files: resting')" "no flow failed for want of a descriptor"
pid_alive "$HERMESD_PID" || die "hermesd died"
stop_hermesd

# The http action under RLIMIT_NOFILE 856: of 900 clients, each with a request in flight
# to an origin that answers after 0.5 s, hermesd accepts until all but its reserve (214)
# of descriptors are used, and those clients' upstream connections need as many more. The
# requests short of one wait (hermes_http_descriptor_waits_total) until pooled
# connections come back, and a rest of the listener closes idle pooled connections to take
# the backlog in (hermes_http_pool_trimmed_total), and so does closing the client connections
# idle between requests (hermes_http_idle_clients_trimmed_total: curl keeps a finished
# transfer's connection open while its next transfers wait in the backlog), instead of
# failing with 503 or leaving
# clients in the backlog: every client gets its 200. (Before, 180 got 503 and 330 timed
# out in the backlog.)
N2=900
LIMIT2=856
printf '#!/bin/sh\nexec prlimit --nofile=%s:%s %s "$@"\n' "$LIMIT2" "$LIMIT2" "$REAL_HERMESD" >"$HERMESD_BIN"
bg origin s "$PY" "$TESTBIN/flaky_origin.py" 10.77.1.2 9300
wait_tcp "$NS_S" 10.77.1.2 9300 || die "python origin did not start"
ns_c curl -sS --max-time 5 -o /dev/null "http://10.77.1.2:9300/__arm?n=100000&mode=delay&ms=500" || die "cannot arm the origin"
start_hermesd
policy_add 10.77.1.2/32:9300 http
# curl runs at most 300 transfers at once: three of them
cpids=()
for k in 1 2 3; do
	bg "curl$k" app curl -sS --parallel --parallel-immediate --parallel-max 300 --max-time 30 -o /dev/null \
		-w '%{http_code}\n' "http://10.77.1.2:9300/$k/[1-$((N2 / 3))]"
	cpids+=("$BG_PID")
done
for p in "${cpids[@]}"; do wait "$p"; done
grep -h '^[0-9][0-9][0-9]$' "$TMP"/curl[123].log >"$TMP/codes" # without the progress meters
codes=$(sort "$TMP/codes" | uniq -c | tr -s ' \n' ' ')
say "status codes (count code): $codes"
grep -h 'curl: (' "$TMP"/curl[123].log | sort | uniq -c | head -n 5
say "descriptor waits $(stat_value hermes_http_descriptor_waits_total), idle connections closed $(stat_value hermes_http_pool_trimmed_total), idle clients closed $(stat_value hermes_http_idle_clients_trimmed_total), accept pauses $(stat_value hermes_accept_pauses_total)"
assert_eq "$N2" "$(grep -c '^200$' "$TMP/codes")" "all $N2 requests got 200"
assert_ge 1 "$(($(stat_value hermes_http_descriptor_waits_total) + $(stat_value hermes_http_pool_trimmed_total)))" "requests waited for a descriptor, or idle pooled connections were closed to free some"
assert_eq 0 "$(grep 'Too many open files' "$HERMESD_LOG" | grep -vc 'accept on .*: Too many open files: resting')" "no request failed for want of a descriptor"
pid_alive "$HERMESD_PID" || die "hermesd died"
pass "$N flows (proxy) and $N2 HTTP requests (http) under low RLIMIT_NOFILE"
