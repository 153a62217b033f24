#!/bin/bash
# iperf3_bulk: a non-blocking bulk sender (iperf3, 4 parallel streams each way) through
# `proxy` with hermesd's default settings completes without errors. It guards the
# default: with --sk-msg on, this kernel returns ENOMEM from send() to such senders once
# hermesd's receive memory is full (docs/architecture.md, Kernel acceleration). 3 s each
# way, 1 s against the sanitizer build (gigabytes either way: the memory fills at once).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

require_cmd iperf3
topo_up
start_hermesd
policy_add 10.77.1.2/32:5201 proxy
bg iperf3srv s iperf3 -s -B 10.77.1.2 -p 5201
wait_tcp "$NS_S" 10.77.1.2 5201 || die "iperf3 server did not start"
SECS=$(by_build 3 1)
for dir in "" "-R"; do
	in_app timeout 30 iperf3 -c 10.77.1.2 -p 5201 -t "$SECS" -P 4 $dir -J >"$TMP/iperf3.json" 2>&1
	rc=$?
	res=$("$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
if "error" in d:
    print("error: " + d["error"]); sys.exit(1)
print("%.2f Gb/s" % (d["end"]["sum_received"]["bits_per_second"] / 1e9))
' "$TMP/iperf3.json") || die "iperf3 ${dir:-upload} failed (exit $rc): $res"
	[ $rc = 0 ] || die "iperf3 ${dir:-upload} exit status $rc"
	say "ok: iperf3 ${dir:-upload} -P 4 through hermesd: $res"
done
assert_ge 8 "$(stat_value hermes_connections_accepted_total)" "iperf3's streams went through hermesd"
pass "iperf3 bulk (non-blocking sender) works through the default proxy settings"
