#!/bin/bash
# pass: a `pass` rule (and no rule at all) leaves the connection alone: it goes straight to
# nginx from 10.77.1.1, hermesd never sees it.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
start_hermesd
policy_add 10.77.1.0/24 proxy
policy_add 10.77.1.2/32 pass

expect_page "curl under a pass rule" http://10.77.1.2/
expect_nginx_client 10.77.1.1 "nginx saw the client host directly"
expect_page "curl with no matching rule (IPv6)" -g 'http://[fd77:1::2]/'
expect_nginx_client fd77:1::1 "nginx saw the client host directly (IPv6)"
sleep 0.3
assert_eq 0 "$(origdst_count '.*')" "hermesd saw no flow"
assert_eq 0 "$(stat_value hermes_connections_accepted_total)" "hermes_connections_accepted_total"
assert_ge 1 "$(stat_value hermes_bpf_decisions_total 'action="pass"')" "hermes_bpf_decisions_total{action=\"pass\"}"

# the peer address the app sees is the real one, and its local address is the host's
out=$(in_app "$PY" "$TESTBIN/hnet.py" connect 10.77.1.2 80) || die "connect under pass failed: $out"
assert_match "$out" "peer=10\.77\.1\.2:80 sock=10\.77\.1\.1:" "direct socket addresses under pass"

# control: the proxy rule for the rest of the /24 does steer
expect_page "curl to 10.77.1.3 (proxy rule)" http://10.77.1.3/
wait_origdst '10\.77\.1\.3:80' 1 "the /24 proxy rule steers 10.77.1.3"
pass "pass: untouched connections"
