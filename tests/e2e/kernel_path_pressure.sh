#!/bin/bash
# kernel_path_pressure: the kernel path's bytes toward an app that reads while its socket
# is short of receive memory (tests/bin/kpath.py inflight-pressure: 16 MiB + 9 sent from
# right after connect and echoed, the app's receive buffer cut to 128 KiB). The echo must
# come back exactly, and hermesd's byte counts must match what the server echoed: the
# stream verdict and hermesd together move each of the upstream's bytes once. Found
# failing (issue 16, i16-kpfix): one or two 65160-byte skbs reached the app twice, and the
# access log said received = echoed + 65160 or + 130320; the same on the kernel path's
# own branch before the buffer-pool merge. Repeated, since it depends on timing. Until the
# fault is fixed the relay is refused without HERMES_EXPERIMENTAL_KERNEL_PATH=1 and this
# test is skipped unless HERMES_KPATH_KNOWN_FAULT=1 asks for the reproducer.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

[ "${HERMES_KPATH_KNOWN_FAULT:-}" = 1 ] ||
	skip "the kernel path's known fault (bytes delivered twice toward an app short of receive memory, docs/architecture.md \"The kernel path\") is not fixed; HERMES_KPATH_KNOWN_FAULT=1 runs the reproducer"
export HERMES_EXPERIMENTAL_KERNEL_PATH=1
SCENARIOS_PY=$TESTBIN/kpath.py
runs=$(by_build 16 10)
topo_up
start_hermesd --relay kernel
policy_add 10.77.1.2/32 proxy
for i in $(seq "$runs"); do
	close_scenarios 10.77.1.2 $((9630 + 2 * i)) "(run $i of $runs)" inflight-pressure
done
# every flow: sent = received = 16 MiB + 9 + the 200 64-byte exchanges
want=$((16 * 1024 * 1024 + 9 + 200 * 64))
bad=$(grep -c "access .*action=proxy" "$HERMESD_LOG" | tr -d ' ')
assert_eq "$runs" "$bad" "an access line per flow"
wrong=$(grep "access .*action=proxy" "$HERMESD_LOG" | grep -vc "sent=$want received=$want ")
assert_eq 0 "$wrong" "flows whose byte counts differ from what the server echoed"
say "held flows: $(stat_value hermes_kernel_path_held_total) of $runs"
pass "the echo came back exactly through the kernel path under receive-memory pressure ($runs flows)"
