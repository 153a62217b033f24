#!/bin/bash
# proxy_ipv6: the proxy case over IPv6: curl to [fd77:1::2] from the app cgroup through a
# `proxy` rule gets the page (and a 1 MiB body byte-exact); nginx logs fd77:1::1; hermesd
# logs the flow.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
start_hermesd
policy_add fd77:1::/64 proxy

expect_page "curl through proxy over IPv6" -g 'http://[fd77:1::2]/'
expect_nginx_client fd77:1::1 "nginx saw the client host's IPv6 address"
wait_origdst '\[fd77:1::2\]:80' 1 "hermesd relayed the IPv6 flow"
in_app curl -sS --max-time 20 -g -o "$TMP/1m.got" 'http://[fd77:1::2]/1m.bin' || die "curl of /1m.bin over IPv6 through proxy failed"
cmp -s "$TMP/1m.got" "$TMP/nginx/www/1m.bin" || die "1 MiB body through the IPv6 proxy differs from the original"
say "ok: 1 MiB over IPv6 through proxy is byte-exact"
expect_nginx_client fd77:1::1 "nginx saw fd77:1::1 again"
# IPv4 to the same host is not covered by the IPv6 rule
c=$(origdst_count '.*')
expect_page "IPv4 (no rule) goes direct" http://10.77.1.2/
sleep 0.3
assert_eq "$c" "$(origdst_count '.*')" "IPv4 without a rule not steered"
pass "proxy over IPv6"
