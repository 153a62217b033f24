#!/bin/bash
# kernel_path: with --relay kernel, a proxied flow's bytes go between the app's socket and
# the upstream socket in the kernel (sk_msg to the upstream's egress, a stream verdict
# into the app's socket): byte-exact both ways with odd sizes, a slow reader on either
# side (backpressure), half-closes from either side, resets from either side, and bytes
# sent before the switch (in flight while hermesd dials) followed by exchanges on the
# kernel path (tests/bin/kpath.py). The loopback hop between the app and hermesd carries
# no payload: lo counts packets for the same 14 MiB flow against --relay uring. An app
# that does not keep up has its upstream's bytes relayed by hermesd once its socket's
# backlog passed its limit (slow-reader): still exact, and counted. An app short of
# receive memory, where the upstream's retransmits repeat bytes, is kernel_path_pressure.sh.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

SCENARIOS_PY=$TESTBIN/kpath.py
topo_up
lo_tx() { ns_c awk '$1 == "lo:" { print $11 }' /proc/net/dev; }

start_hermesd --relay kernel
policy_add 10.77.1.2/32 proxy
before=$(lo_tx)
close_scenarios 10.77.1.2 9600 "on the kernel path" upload-download
kernel_lo=$(($(lo_tx) - before))
# one at a time (close_scenarios plays its scenarios side by side): their sends race
# hermesd's switch to the kernel path (below), and other flows at once would change the odds
i=0
for sc in both slow-reader slow-server upstream-first server-rst client-rst inflight; do
	close_scenarios 10.77.1.2 $((9610 + i)) "on the kernel path" "$sc"
	i=$((i + 1))
done

assert_eq 8 "$(stat_value hermes_kernel_path_flows_total)" "every flow went on the kernel path"
assert_eq 0 "$(stat_value hermes_kernel_path_fallbacks_total)" "no flow fell back to io_uring alone"
# upload-download, both, slow-server, upstream-first, client-rst and inflight send after
# the switch (the others too when the upstream was connected before the app sent its
# hello); all but upload-download race it (their sends start as soon as the hello's answer
# is in, which on a loaded machine can be before hermesd published that it relayed the
# hello: that flow's bytes then all go through hermesd), and one of them lost it once
assert_ge 5 "$(stat_value hermes_sk_msg_path_total 'path="kernel"')" "the app's sends took the kernel path"
assert_ge 1 "$(stat_value hermes_kernel_path_held_total)" "the slow reader's bytes came through hermesd"
assert_eq 0 "$(stat_value hermes_kernel_path_broken_total)" "no flow reset for a repeat it could not cut off"
assert_eq 0 "$(stat_value hermes_connections_active)" "no flow left open in hermesd"
stop_hermesd

start_hermesd --relay uring
before=$(lo_tx)
close_scenarios 10.77.1.2 9620 "through io_uring" upload-download
uring_lo=$(($(lo_tx) - before))
say "lo packets for 6 MiB up, then 8 MiB down: $kernel_lo on the kernel path, $uring_lo through io_uring"
assert_le 60 "$kernel_lo" "lo packets on the kernel path (handshake, hello, FINs)"
assert_ge 200 "$uring_lo" "lo packets through io_uring"
pass "the kernel carries proxied flows exactly, and the loopback hop sees no payload ($kernel_lo vs $uring_lo packets on lo)"
