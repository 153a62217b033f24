#!/bin/bash
# deny: a `deny` rule makes curl from the app cgroup fail at once (EPERM from connect,
# curl exit 7) for IPv4 and IPv6; nginx sees nothing.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
start_hermesd
policy_add 10.77.1.2/32 deny
policy_add fd77:1::/64 deny

curl_app http://10.77.1.2/
# (exit 7 is the refusal itself: a dropped or hung connect ends in 28 at curl's deadline;
# how soon it came is printed by curl_app, not checked: a loaded machine stretches it)
assert_eq 7 "$CURL_RC" "curl exit code under deny (IPv4)"

curl_app -g 'http://[fd77:1::2]/'
assert_eq 7 "$CURL_RC" "curl exit code under deny (IPv6)"

expect_eperm "python connect() under deny raises PermissionError" 10.77.1.2 80
[ ! -s "$NGINX_ACCESS_LOG" ] || die "nginx logged requests although every connection was denied: $(cat "$NGINX_ACCESS_LOG")"
say "ok: nginx saw no request"

# other addresses are untouched
expect_page "10.77.1.3 (no rule) still reachable" http://10.77.1.3/
pass "deny: connections refused in BPF with EPERM, immediately"
