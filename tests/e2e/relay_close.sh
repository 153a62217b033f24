#!/bin/bash
# relay_close: how proxied flows end, for each relay engine (the runner repeats this
# test with --relay splice): a slow reader on either side with everything in flight
# loses nothing (backpressure), a reset from the server reaches the client and a reset
# from the client reaches the server, the upstream closing first and the client closing
# first both deliver every byte in both directions.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_hermesd
policy_add 10.77.1.2/32 proxy

close_scenarios 10.77.1.2 9500 "through hermesd" slow-reader slow-server server-rst client-rst upstream-first client-first
assert_eq 0 "$(stat_value hermes_connections_active)" "no flow left open in hermesd"
pass "slow readers, resets both ways and closes from either side keep every byte"
