#!/bin/bash
# udp_ipv6: the UDP `proxy` action for IPv6 destinations. hermesd makes its IPv6 slot
# addresses (fd48:72::3a99:0/112 for port 15001) local with a `local` route on lo at start (proto 72) and
# removes it at exit. Unmodified applications in the app cgroup: dig to dnsmasq on
# [fd77:1::2]:53 gets its answer through the relay; ONE unconnected socket sending to
# [fd77:1::2]:7001 and [fd77:1::3]:7001 gets each reply from the right address, and the
# server sees hermesd's socket; a connected socket's getpeername and recvfrom name the
# original destination; /flows and the access log show the flows with their IPv6
# destinations. With udp.ipv6: false there is no route and IPv6 UDP proxy rules fail open.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

require_cmd dig dnsmasq
topo_up
UDPAPP=$TESTBIN/udpapp.py
ip -n "$NS_S" addr add fd77:1::3/64 dev eth0 nodad || die "cannot add fd77:1::3 to the server host"

bg dnsmasq s dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts --user=root --pid-file= \
	--listen-address=fd77:1::2 --bind-interfaces --port=53 --address=/steer.test/10.9.9.9
bg udpserve s "$PY" "$UDPAPP" --deadline 60 serve fd77:1::2,fd77:1::3 7001
wait_until 5 grep -q serving "$TMP/udpserve.log" || die "the UDP echo server did not start: $(cat "$TMP/udpserve.log")"
printf 'policy:\n  - {match: "fd77:1::/64", action: proxy, protocol: udp}\n' >"$TMP/hermes.yaml"
start_hermesd -c "$TMP/hermes.yaml"

route() { ip -n "$NS_C" -6 route show table local proto 72; }
assert_match "$(route)" '^local fd48:72::3a99:0/112 dev lo ' "hermesd made the IPv6 slot addresses of port 15001 local"

# dig: its answer comes through the relay
out=$(in_app dig +tries=1 +time=2 +short @fd77:1::2 steer.test A 2>&1)
assert_eq 10.9.9.9 "$out" "dig answer over IPv6 through the UDP relay"
assert_eq 1 "$(stat_value hermes_udp_datagrams_total 'direction="upstream_to_app"')" "the answer came back through the relay"

# one unconnected socket, two IPv6 destinations: each reply from its own address
out=$(in_app "$PY" "$UDPAPP" multi 7001 fd77:1::2 fd77:1::3)
rc=$?
say "multi: $(tr '\n' ' ' <<<"$out")"
assert_eq 0 "$rc" "one socket to two IPv6 destinations gets each reply from the right address"
own=$(sed -n 's/.*own port \([0-9]*\)).*/\1/p' <<<"$out" | head -n1)
seen=$(sed -n 's/^reply from [^ ]*: [^ ]* fd77:1::1 \([0-9]*\) .*/\1/p' <<<"$out" | head -n1)
[ -n "$seen" ] || die "the server did not see the client host's address fd77:1::1: $out"
assert_ne "$own" "$seen" "the server saw hermesd's socket (port $seen), not the app's (port $own)"

# a connected socket: getpeername and recvfrom name the original destination
out=$(in_app "$PY" "$UDPAPP" connected fd77:1::3 7001)
assert_eq 0 "$?" "connected IPv6 UDP socket exchange: $out"
assert_match "$out" 'peer fd77:1::3 7001' "getpeername shows the original IPv6 destination"
assert_match "$out" 'from fd77:1::3 7001' "recvfrom shows the original IPv6 destination"

admin_get /flows | "$PY" -c '
import json, sys
f = [x for x in json.load(sys.stdin)["flows"] if x.get("protocol") == "udp"]
d = sorted(x["orig_dst"] for x in f)
assert d == ["[fd77:1::2]:53", "[fd77:1::2]:7001", "[fd77:1::3]:7001", "[fd77:1::3]:7001"], d
assert all(x["client"].startswith("[fd77:1::1]:") for x in f), f
' || die "/flows does not show the four IPv6 UDP flows: $(admin_get /flows)"
assert_eq 4 "$(stat_value hermes_udp_flows_total)" "four IPv6 flows"

stop_hermesd
assert_file_match "$HERMESD_LOG" 'access .* dst=\[fd77:1::3\]:7001 action=proxy protocol=udp .* datagrams_sent=1 datagrams_received=1 drops=0 .*result=shutdown$' \
	"the access log names the IPv6 destination"
assert_eq "" "$(route)" "the route is gone once hermesd stopped"

# udp.ipv6: false: no route, no IPv6 relay socket; IPv6 UDP proxy rules fail open
printf 'udp: {ipv6: false}\n' >>"$TMP/hermes.yaml"
start_hermesd -c "$TMP/hermes.yaml"
assert_eq "" "$(route)" "udp.ipv6: false adds no route"
out=$(in_app dig +tries=1 +time=2 +short @fd77:1::2 steer.test A 2>&1)
assert_eq 10.9.9.9 "$out" "dig goes direct with udp.ipv6: false"
assert_eq 1 "$(stat_value hermes_bpf_udp_decisions_total 'action="fail_open"')" "counted as fail_open"
assert_eq 0 "$(stat_value hermes_udp_flows_total)" "no flow relayed"
pass "udp_ipv6: dig, one socket to two IPv6 destinations, a connected socket through the UDP relay"
