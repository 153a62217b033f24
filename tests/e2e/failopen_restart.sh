#!/bin/bash
# failopen_restart: hermesd killed with SIGKILL -> new connections from the app go direct
# (fail-open) and the policy stays in the pinned map; hermesd restarted with the same pin
# root -> steering resumes with the same policy. A deny rule keeps denying throughout.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
start_hermesd
policy_add 10.77.1.2/32 proxy
policy_add 10.77.1.3/32 deny
before=$(hermesctl policy list 2>&1) || die "hermesctl policy list failed: $before"
say "policy before: $(tr '\n' ';' <<<"$before")"

expect_page "proxied before the kill" http://10.77.1.2/
wait_origdst '10\.77\.1\.2:80' 1 "steered before the kill"

old_pid=$HERMESD_PID
stop_hermesd KILL 5
pid_alive "$old_pid" && die "hermesd still alive after SIGKILL"

# ---- fail-open
expect_page "after SIGKILL: new connection goes direct (fail-open)" http://10.77.1.2/
expect_nginx_client 10.77.1.1 "fail-open connection reached nginx from the client host"
assert_le 3000 "$CURL_MS" "fail-open connection did not wait for a timeout (ms)"
out=$(in_app "$PY" "$TESTBIN/hnet.py" connect 10.77.1.2 80) || die "connect after SIGKILL failed: $out"
assert_match "$out" "peer=10\.77\.1\.2:80 sock=10\.77\.1\.1:" "fail-open socket is a direct one"
expect_eperm "deny still enforced without hermesd" 10.77.1.3 80
[ -d "$PINROOT" ] || die "pin root $PINROOT vanished after SIGKILL"
during=$(hermesctl policy list 2>&1) || die "hermesctl policy list failed while hermesd is dead: $during"
assert_eq "$before" "$during" "policy list while hermesd is dead (pinned map kept)"

# ---- restart with the same pin root
n=$(origdst_count '10\.77\.1\.2:80')
start_hermesd
after=$(hermesctl policy list 2>&1) || die "hermesctl policy list failed after restart: $after"
assert_eq "$before" "$after" "policy list after restart"
expect_page "after restart: proxied again" http://10.77.1.2/
wait_origdst '10\.77\.1\.2:80' $((n + 1)) "steering resumed after restart"
expect_nginx_client 10.77.1.1 "proxied connection from the client host"
expect_eperm "deny still enforced after restart" 10.77.1.3 80
# the decision counters live in the pinned stats map: the fail-open connect was counted
fo=$(stat_value hermes_bpf_decisions_total 'action="failopen"')
[ -n "$fo" ] || fo=$(stat_value hermes_bpf_decisions_total 'action="fail_open"')
assert_ge 1 "${fo:-0}" "hermes_bpf_decisions_total{action=\"failopen\"} counts the fail-open connect"

stop_hermesd TERM 15
assert_eq 0 "$HERMESD_RC" "hermesd exit status after SIGTERM"
pass "fail-open after SIGKILL, steering resumed after restart with the same policy"
