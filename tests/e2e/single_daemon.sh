#!/bin/bash
# single_daemon: one hermesd per pin root. A second hermesd on the same pin root (with a
# bad --user, with a good one, steering another cgroup) is refused at once with exit 2 and
# "pin root DIR is held by pid N", touching nothing: the same links with the same
# programs, the same policy; the first keeps enforcing deny and steering, /ready 200.
# --check is not refused (it attaches nothing).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
start_hermesd
policy_add 10.77.1.2 proxy
policy_add 10.77.1.3 deny
expect_page "proxied by the first hermesd" http://10.77.1.2/

# state: the pinned links with their program ids, and the policy
state() {
	for f in "$PINROOT"/links/*; do
		printf '%s %s\n' "${f##*/}" "$(bpftool link show pinned "$f" 2>/dev/null | head -n 1)"
	done
	hermesctl policy list
}
before=$(state)
mkdir -p "$CG/app2"

# second ARGS...: another hermesd on the same pin root, in the client netns and hermesd's
# cgroup, on its own ports (so nothing but the lock can stop it); sets RC, OUT, MS
# shellcheck disable=SC2016 # the sh -c script expands in the inner shell
second() {
	local t0
	t0=$(now_ms)
	OUT=$(nsenter --net="/run/netns/$NS_C" sh -c 'echo $$ > "$0" && exec "$@"' "$CG/hermesd/cgroup.procs" \
		timeout 10 "$HERMESD_BIN" --pin-root "$PINROOT" --listen 127.0.0.1:25001 --listen6 off \
		--admin 127.0.0.1:25000 "$@" 2>&1 </dev/null)
	RC=$?
	MS=$(($(now_ms) - t0))
	say "second hermesd $* -> status $RC in $MS ms: $OUT"
}

for args in "--cgroup $CG/app --user no-such-user-hermes" "--cgroup $CG/app" "--cgroup $CG/app2 --user nobody"; do
	# shellcheck disable=SC2086 # args is a list of words
	second $args
	# (2, not timeout's 124: refused, not hung; its time is printed by second, not checked)
	assert_eq 2 "$RC" "exit status of a second hermesd ($args)"
	assert_match "$OUT" "pin root $PINROOT is held by pid $HERMESD_PID" "the message names the pin root and the first hermesd's pid"
	assert_eq "$before" "$(state)" "links, programs and policy untouched ($args)"
done
# programs attached to one cgroup itself
cg_progs() { bpftool cgroup show "$1" 2>/dev/null | grep -c hermes_; }
assert_ge 5 "$(cg_progs "$CG/app")" "the first one's programs on $CG/app (the count works)"
assert_eq 0 "$(cg_progs "$CG/app2")" "nothing attached to the second one's cgroup"

# --check attaches nothing and takes no lock
out=$("$HERMESD_BIN" --check --cgroup "$CG/app" --pin-root "$PINROOT" 2>&1)
assert_eq 0 "$?" "hermesd --check on a held pin root: $out"

# the first keeps working
assert_eq 200 "$(admin_code /ready)" "/ready of the first hermesd"
n=$(origdst_count '10\.77\.1\.2:80')
expect_page "still proxied by the first hermesd" http://10.77.1.2/
wait_origdst '10\.77\.1\.2:80' $((n + 1)) "the first hermesd still steers"
expect_eperm "deny still enforced" 10.77.1.3 80
pid_alive "$HERMESD_PID" || die "the first hermesd died"

# a bad --user with no hermesd running: exit 2 before anything is attached
stop_hermesd TERM 15
hermesctl disable >/dev/null || die "hermesctl disable failed"
second --cgroup "$CG/app" --user no-such-user-hermes
assert_eq 2 "$RC" "exit status for an unknown --user"
assert_match "$OUT" "user 'no-such-user-hermes'.*no such user" "the message names the user"
assert_no_progs "unknown --user: nothing attached"
[ ! -e "$PINROOT" ] || die "unknown --user: $PINROOT was created: $(find "$PINROOT" | tr '\n' ' ')"
pass "one hermesd per pin root: a second is refused with exit 2, touching nothing"
