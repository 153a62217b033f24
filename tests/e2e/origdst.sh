#!/bin/bash
# origdst: for a proxied connection, getpeername() in the app returns the address it dialled
# (10.77.1.2:80, [fd77:1::2]:80), not hermesd's listener, and hermesd learns the same address
# through SO_ORIGINAL_DST (its debug log line names the app's own port). hermesd's upstream
# socket carries its SO_MARK.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
start_hermesd
policy_add 10.77.1.0/24 proxy
policy_add fd77:1::/64 proxy

check_family() { # DST_HOST DST_PEER_FORMAT DST_ERE
	local host=$1 peer_want=$2 ere=$3 out peer sock port
	out=$(in_app "$PY" "$TESTBIN/hnet.py" http-get "$host" 80 2>&1) || die "GET via $host failed: $out"
	peer=$(sed -n 's/^peer //p' <<<"$out")
	sock=$(sed -n 's/^sock //p' <<<"$out")
	say "app: getpeername=$peer getsockname=$sock"
	assert_eq "$peer_want" "$peer" "getpeername() in the app for a proxied connection to $host"
	port=${sock##*:}
	[ -n "$port" ] || die "no local port in: $out"
	wait_origdst "$ere" 1 "hermesd: SO_ORIGINAL_DST of the app's connection from port $port is $peer_want" "[^ ]*:$port"
	grep -E "origdst [^ ]*:$port -> " "$HERMESD_LOG" | tail -n 1
}
check_family 10.77.1.2 10.77.1.2:80 '10\.77\.1\.2:80'
check_family fd77:1::2 '[fd77:1::2]:80' '\[fd77:1::2\]:80'

# SO_MARK on the upstream socket: hold a connection open and look at it with ss
bg held app "$PY" "$TESTBIN/hnet.py" http-get 10.77.1.2 80 --hold 3
held=$BG_PID
upstream_seen() { ns_c ss -Htn state established dst 10.77.1.2 dport = :80 | grep -q .; }
wait_until 3 upstream_seen || die "no upstream connection to 10.77.1.2:80 visible in the client netns"
ss_out=$(ns_c ss -Htnie state established dst 10.77.1.2 dport = :80)
say "upstream socket: $ss_out"
mark=$(grep -o 'fwmark:0x[0-9a-f]*' <<<"$ss_out" | head -n 1)
if [ -n "$mark" ]; then
	assert_ne "fwmark:0x0" "$mark" "hermesd's upstream socket carries a SO_MARK"
else
	die "hermesd's upstream socket to 10.77.1.2:80 shows no fwmark in 'ss -e' (expected SO_MARK, default 0x484d): $ss_out"
fi
wait "$held" 2>/dev/null || die "held connection failed: $(cat "$TMP/held.log")"
pass "getpeername and SO_ORIGINAL_DST report the dialled address"
