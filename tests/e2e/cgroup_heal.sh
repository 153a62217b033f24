#!/bin/bash
# cgroup_heal: the steered cgroup is removed (as systemd does when it restarts a unit) ->
# its links go defunct, /ready answers 503 with the reason, `hermesctl status` exits 1
# and shows them DEFUNCT; the cgroup made again -> hermesd attaches the links again
# within a few seconds (logged at warn, hermes_link_reattach_total), /ready 200, status
# exit 0, steering and deny work again. A link detached by someone else (bpftool link
# detach) is attached again too.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
start_hermesd
policy_add 10.77.1.2 proxy
policy_add 10.77.1.3 deny
expect_page "proxied" http://10.77.1.2/
expect_eperm "denied" 10.77.1.3 80
out=$(hermesctl status 2>&1)
assert_eq 0 "$?" "hermesctl status exit status while all is well"
assert_match "$out" "$CG/app \(id [0-9]+\)" "status shows the steered cgroup's path"
assert_eq 11 "$(stat_value hermes_links_attached)" "hermes_links_attached"
assert_eq 11 "$(stat_value hermes_links_expected)" "hermes_links_expected"
assert_eq 0 "$(stat_value hermes_link_reattach_total)" "hermes_link_reattach_total before"

# ---- the app cgroup goes (nothing runs in it between the clients)
rmdir "$CG/app" || die "cannot remove $CG/app"
wait_until 5 sh -c "[ \"\$(nsenter --net=/run/netns/$NS_C curl -s -o /dev/null -w '%{http_code}' --max-time 1 http://127.0.0.1:15000/ready)\" = 503 ]" ||
	die "/ready did not turn 503 within 5 s of the cgroup's removal"
body=$(admin_get /ready)
assert_match "$body" "cgroup $CG/app is gone" "/ready names the missing cgroup"
wait_until 5 sh -c "$HERMESCTL_BIN --pin-root $PINROOT status | grep -q DEFUNCT" || die "status never showed a DEFUNCT link"
out=$(hermesctl status 2>&1)
rc=$?
say "status while the cgroup is gone (rc $rc):"
printf '%s\n' "$out"
assert_eq 1 "$rc" "hermesctl status exit status while links are defunct"
assert_match "$out" "not ready .*cgroup $CG/app is gone" "status gives hermesd's reason"
defunct=$(hermesctl status --json | "$PY" -c 'import json, sys; print(" ".join(sorted(l["name"] for l in json.load(sys.stdin)["links"] if l["defunct"])))')
assert_eq "hermes_connect4 hermes_connect6 hermes_getpeername4 hermes_getpeername6 hermes_recvmsg4 hermes_recvmsg6 hermes_sendmsg4 hermes_sendmsg6 hermes_sockops" "$defunct" "status --json: the defunct links"
assert_le 9 "$(stat_value hermes_links_attached)" "hermes_links_attached while the cgroup is gone"
assert_file_match "$HERMESD_LOG" 'warn.*steering is not whole \(2 of 11 links attached\): cgroup .*/app is gone' "logged at warn"

# ---- made again: healed
t0=$(now_ms)
mkdir "$CG/app" || die "cannot make $CG/app again"
wait_until 5 sh -c "[ \"\$(nsenter --net=/run/netns/$NS_C curl -s -o /dev/null -w '%{http_code}' --max-time 1 http://127.0.0.1:15000/ready)\" = 200 ]" ||
	die "/ready not 200 within 5 s of the cgroup's return: $(admin_get /ready)"
say "healed $(($(now_ms) - t0)) ms after mkdir"
assert_file_match "$HERMESD_LOG" 'warn.*hermes_connect4 was defunct .*: attached it again to cgroup .*/app' "the re-attach is logged at warn"
assert_eq 9 "$(stat_value hermes_link_reattach_total)" "hermes_link_reattach_total after the heal"
assert_eq 11 "$(stat_value hermes_links_attached)" "hermes_links_attached after the heal"
n=$(origdst_count '10\.77\.1\.2:80')
expect_page "proxied again" http://10.77.1.2/
wait_origdst '10\.77\.1\.2:80' $((n + 1)) "steered again"
expect_eperm "denied again" 10.77.1.3 80
out=$(hermesctl status 2>&1)
assert_eq 0 "$?" "hermesctl status exit status after the heal"
assert_match "$out" "$CG/app \(id $(stat -c %i "$CG/app")\)" "status shows the new cgroup"

# ---- a link detached by someone else
bpftool link detach pinned "$PINROOT/links/hermes_connect4" || die "bpftool link detach failed"
wait_until 5 sh -c "[ \"\$(nsenter --net=/run/netns/$NS_C curl -s --max-time 1 http://127.0.0.1:15000/stats | awk '\$1 == \"hermes_link_reattach_total\" { print \$2 }')\" = 10 ]" ||
	die "the detached link was not attached again within 5 s"
expect_eperm "denied after the detached link came back" 10.77.1.3 80
pass "a removed and re-made cgroup is healed (reported until then); a detached link is attached again"
