#!/bin/bash
# half_close: the app sends 1 MiB then shutdown(SHUT_WR); the server reads to EOF while
# already sending, then keeps sending after the client's FIN: all 8 MiB reach the app and
# the server saw exactly the 1 MiB and a clean EOF. IPv4 and IPv6, through `proxy`.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_hermesd
policy_add 10.77.1.0/24 proxy
policy_add fd77:1::/64 proxy

for dst in 10.77.1.2 fd77:1::2; do
	rf=$TMP/hc-$dst.ready
	bg "hc-server-$dst" s "$PY" "$TESTBIN/hnet.py" serve-halfclose "$dst" 9100 --ready-file "$rf" --deadline 60 --delay 1
	wait_until 10 test -f "$rf" || die "half-close server on $dst did not start"
	out=$(in_app "$PY" "$TESTBIN/hnet.py" halfclose-client "$dst" 9100 --timeout 30 2>&1)
	rc=$?
	say "$out"
	wait_until 10 grep -q 'server sent' "$TMP/hc-server-$dst.log"
	cat "$TMP/hc-server-$dst.log"
	[ $rc = 0 ] || die "half-close via $dst: the app did not receive the 8 MiB sent after its shutdown(SHUT_WR): $out"
	assert_file_match "$TMP/hc-server-$dst.log" "server got EOF after 1048576 bytes" "server saw the client's 1 MiB then EOF ($dst)"
	sent_sha=$(sed -n 's/^client sent .* sha256 \([0-9a-f]*\) .*/\1/p' <<<"$out")
	assert_file_match "$TMP/hc-server-$dst.log" "sha256 $sent_sha" "server got the client's bytes intact ($dst)"
done
wait_origdst '10\.77\.1\.2:9100' 1 "IPv4 half-close went through hermesd"
wait_origdst '\[?fd77:1::2\]?:9100' 1 "IPv6 half-close went through hermesd"
pass "half-close: data after the client's FIN all arrive"
