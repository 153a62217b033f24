#!/bin/bash
# skmsg_preexisting: sockets established before hermesd (and its sockops/sk_msg
# programs) start are never put in the sockhash and keep working through the normal
# stack: a long flow opened before hermesd starts, spanning a hermesd start and a
# restart, completes byte-exact; new flows started afterwards are accelerated.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
# the server waits 4 s after accepting, then sends 8 MiB: the flow spans the restarts
bg slowsrv s "$PY" "$TESTBIN/hnet.py" serve-slow 10.77.1.2 9400 --bytes 8388608 --delay 4 --deadline 30 \
	--ready-file "$TMP/slow.ready"
wait_until 10 test -e "$TMP/slow.ready" || die "slow server did not start"
bg longflow app "$PY" "$TESTBIN/hnet.py" recv 10.77.1.2 9400 --expect 8388608 --timeout 30
LONG_PID=$BG_PID
# established before hermesd starts (a fixed 0.5 s let a loaded machine connect it after)
wait_until 10 grep -q '^connected' "$TMP/longflow.log" || die "the long flow did not connect: $(cat "$TMP/longflow.log")"

start_hermesd --sk-msg on
policy_add 10.77.1.0/24 proxy
expect_page "a new flow is proxied" http://10.77.1.2/
stop_hermesd TERM
start_hermesd --sk-msg on
expect_page "a new flow is proxied after the restart" http://10.77.1.2/
assert_ge 2 "$(stat_value hermes_sk_msg_path_total 'path="redirect"')" "new flows took the sk_msg path"

wait "$LONG_PID"
rc=$?
say "long flow: $(tr '\n' ' ' <"$TMP/longflow.log")"
assert_eq 0 "$rc" "the flow established before hermesd started received all 8 MiB intact"
pass "pre-existing sockets keep working through the normal stack across hermesd start and restart"
