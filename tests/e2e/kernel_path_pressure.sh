#!/bin/bash
# kernel_path_pressure: the kernel path's bytes toward an app that reads while its socket
# is short of receive memory (tests/bin/kpath.py inflight-pressure: 16 MiB + 9 sent from
# right after connect and echoed, the app's receive buffer cut to 128 KiB). The echo must
# come back exactly, and hermesd's byte counts must match what the server echoed: the
# stream verdict and hermesd together move each of the upstream's bytes once. Under this
# load the server retransmits skbs whose head hermesd's socket already received; TCP
# queues them whole and the verdict gets them whole (tcp_read_skb), so before the verdict
# cut such repeats off (bpf/lib/kpath.h: kpath_trim_repeat) one or two 65160-byte skbs
# reached the app twice in about one test run of three. Repeated, since it depends on
# timing; the repeats met are printed (hermes_kernel_path_repeated_bytes_total).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

SCENARIOS_PY=$TESTBIN/kpath.py
runs=$(by_build 12 8)
topo_up
start_hermesd --relay kernel
policy_add 10.77.1.2/32 proxy
for i in $(seq "$runs"); do
	close_scenarios 10.77.1.2 $((9630 + 2 * i)) "(run $i of $runs)" inflight-pressure
done
# every flow: sent = received = 16 MiB + 9 + the 200 64-byte exchanges
want=$((16 * 1024 * 1024 + 9 + 200 * 64))
lines=$(grep -c "access .*action=proxy" "$HERMESD_LOG" | tr -d ' ')
assert_eq "$runs" "$lines" "an access line per flow"
wrong=$(grep "access .*action=proxy" "$HERMESD_LOG" | grep -vc "sent=$want received=$want ")
assert_eq 0 "$wrong" "flows whose byte counts differ from what the server echoed"
assert_eq 0 "$(stat_value hermes_kernel_path_broken_total)" "flows reset for a repeat that could not be cut off"
repeats=$(stat_value hermes_kernel_path_repeated_bytes_total)
say "held flows: $(stat_value hermes_kernel_path_held_total) of $runs; repeated upstream bytes cut off: $repeats"
pass "the echo came back exactly through the kernel path under receive-memory pressure ($runs flows, $repeats repeated bytes cut off)"
