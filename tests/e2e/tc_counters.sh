#!/bin/bash
# tc_counters: with --tc-iface, TC programs count every packet and byte on the client
# host's interface, including flows that never touch hermesd (policy pass): a direct
# 16 MiB download shows up in hermes_interface_bytes_total within a few percent of the
# kernel's own interface counters; SIGTERM removes the filters and the clsact qdisc.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
head -c $((16 << 20)) /dev/urandom >"$TMP/nginx/www/16m.bin"
chmod 644 "$TMP/nginx/www/16m.bin"
start_hermesd --tc-iface eth0
tc_shown=$(ns_c tc filter show dev eth0 ingress)
assert_match "$tc_shown" 'handle 0x484d hermes_tc_ingre' "ingress counter attached to eth0"

rx_kernel() { ns_c awk '$1 == "eth0:" { print $2 }' /proc/net/dev; }
k0=$(rx_kernel)
b0=$(stat_value hermes_interface_bytes_total 'direction="rx"')
curl_app -o "$TMP/16m.out" http://10.77.1.2/16m.bin   # no rule: pass, direct
[ "$CURL_RC" = 0 ] && cmp -s "$TMP/16m.out" "$TMP/nginx/www/16m.bin" || die "direct download failed"
[ "$(stat_value hermes_connections_accepted_total)" = 0 ] || die "the pass flow went through hermesd"
k1=$(rx_kernel)
b1=$(stat_value hermes_interface_bytes_total 'direction="rx"')
kd=$((k1 - k0))
bd=$((b1 - b0))
say "eth0 rx bytes: kernel counters $kd, hermes TC counters $bd"
assert_ge $((16 << 20)) "$bd" "TC counted at least the payload"
# both count the same packets; TC sees them without the 14-byte Ethernet header
assert_le $((kd + kd / 50)) "$bd" "TC bytes within 2% of the kernel's"
assert_ge $((kd - kd / 20)) "$bd" "TC bytes within 5% of the kernel's (no Ethernet headers)"
assert_ge 1 "$(stat_value hermes_interface_packets_total 'direction="tx"')" "TC counted transmitted packets"

stop_hermesd TERM
assert_eq 0 "$HERMESD_RC" "hermesd exit status"
left=$(ns_c tc qdisc show dev eth0 | grep -c clsact)
assert_eq 0 "$left" "clsact qdisc removed on SIGTERM"
pass "TC counters on eth0 count direct flows; removed on stop"
