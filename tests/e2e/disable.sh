#!/bin/bash
# disable: `hermesctl disable` detaches every Hermes program (bpftool cgroup tree shows none
# on the test cgroups) and removes the pins; the app's connections go direct afterwards. A
# running hermesd leaves the disabled links alone and reports it (/ready 503, status exit 1);
# a second disable exits 0; disable removes what a stopped hermesd left attached.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
start_hermesd
policy_add 10.77.1.0/24 proxy
expect_page "proxied before disable" http://10.77.1.2/
wait_origdst '10\.77\.1\.2:80' 1 "steered before disable"

n=$(cg_prog_count)
say "attached before disable:"
bpftool cgroup tree "$CG"
assert_ge 1 "$n" "programs attached under $CG while hermesd runs"
[ -d "$PINROOT" ] || die "pin root $PINROOT does not exist while hermesd runs"
say "pins: $(find "$PINROOT" | tr '\n' ' ')"

out=$(hermesctl disable 2>&1)
rc=$?
say "hermesctl disable (rc $rc): $out"
assert_eq 0 "$rc" "hermesctl disable exit status"
assert_no_progs "after hermesctl disable"
[ ! -e "$PINROOT" ] || die "after hermesctl disable: expected no pin root, $PINROOT still has: $(find "$PINROOT" | tr '\n' ' ')"
say "ok: pin root $PINROOT removed"

c=$(origdst_count '.*')
expect_page "after disable: connection works" http://10.77.1.2/
expect_nginx_client 10.77.1.1 "after disable: direct from the client host"
sleep 0.3
assert_eq "$c" "$(origdst_count '.*')" "after disable: hermesd saw no new flow"
expect_connects app "after disable: connect() is direct" 10.77.1.2 80

# the running hermesd does not attach its links again (their pins are gone) and says so
sleep 1.2
assert_no_progs "hermesd left the disabled links alone"
assert_eq 503 "$(admin_code /ready)" "/ready after disable"
assert_match "$(admin_get /ready)" "no longer pinned" "/ready says why"
hermesctl status >"$TMP/status.out" 2>&1
assert_eq 1 "$?" "hermesctl status exit status after disable"

stop_hermesd TERM 15
say "hermesd exit status after disable + SIGTERM: $HERMESD_RC"
assert_no_progs "after hermesd exited"
[ ! -e "$PINROOT" ] || die "hermesd re-created $PINROOT on exit after disable: $(find "$PINROOT" | tr '\n' ' ')"
assert_eq 0 "$HERMESD_RC" "hermesd exit status after disable then SIGTERM"

# idempotent: nothing left is success
out=$(hermesctl disable 2>&1)
assert_eq 0 "$?" "a second hermesctl disable exit status"
assert_match "$out" "nothing to disable" "a second disable says there is nothing to do"

# the usual case: hermesd stopped (its links stay, deny enforced), then disable
start_hermesd
policy_add 10.77.1.3 deny
stop_hermesd TERM 15
expect_eperm "deny enforced after hermesd stopped" 10.77.1.3 80
out=$(hermesctl disable 2>&1)
rc=$?
say "hermesctl disable (rc $rc): $out"
assert_eq 0 "$rc" "hermesctl disable after a stop"
assert_no_progs "after disable of a stopped hermesd"
[ ! -e "$PINROOT" ] || die "after hermesctl disable: $PINROOT still has: $(find "$PINROOT" | tr '\n' ' ')"
expect_connects app "after disable: the deny rule is gone" 10.77.1.3 80
pass "disable: nothing attached, no pins; idempotent; removes what a stopped hermesd left"
