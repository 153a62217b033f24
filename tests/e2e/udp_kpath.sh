#!/bin/bash
# udp_kpath: the kernel path of UDP proxy flows (udp.kernel_path: true). The datagrams go
# straight from the application's own socket (the server sees the app's port) and the
# replies straight back, for a connected socket (getpeername, recvfrom) and for ONE
# unconnected socket sending to two destinations (each reply from its own address). The
# socket carries hermesd's mark, and the datagrams are routed by it: in the app's host,
# 10.77.1.3 is reachable only by a route in a table that `ip rule fwmark` gives marked
# packets. A deny rule still fails a send with EPERM on a socket the kernel path marked.
# /flows and hermes-top list the flows (state kernel) with bytes both ways; the metrics count them; a
# flow idle for udp.idle_timeout_ms leaves /flows with its access line (datagrams both
# ways), and a connected socket that sends again afterwards is a new flow. IPv6 too. A
# restart with the key off removes the kernel path's links: the relay carries the flows.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
UDPAPP=$TESTBIN/udpapp.py

bg udpserve s "$PY" "$UDPAPP" --deadline 60 serve 10.77.1.2,10.77.1.3,fd77:1::2 7001
wait_until 5 grep -q serving "$TMP/udpserve.log" || die "the UDP echo server did not start: $(cat "$TMP/udpserve.log")"
# 10.77.1.3 only for packets with hermesd's mark (0x484d, the default `mark:`)
ip -n "$NS_C" rule add fwmark 0x484d lookup 77 prio 77 || die "ip rule add failed"
ip -n "$NS_C" route add 10.77.1.3/32 dev eth0 table 77 || die "ip route add (table 77) failed"
ip -n "$NS_C" route add unreachable 10.77.1.3/32 || die "ip route add unreachable failed"
out=$(in_app "$PY" "$UDPAPP" --timeout 1 send 10.77.1.3 7001 2>&1)
assert_match "$out" 'EHOSTUNREACH' "without a rule an unmarked datagram to 10.77.1.3 has no route"

CONF=$TMP/hermes.yaml
cat >"$CONF" <<YAML
udp:
  kernel_path: true
  idle_timeout_ms: 2000
policy:
  - {match: 10.77.1.3/32:7001, action: proxy, protocol: udp}
  - {match: 10.77.1.2/32:7001, action: proxy, protocol: udp}
  - {match: 10.77.1.2/32:7002, action: deny, protocol: udp}
  - {match: "fd77:1::2/128", action: proxy, protocol: udp}
YAML
start_hermesd -c "$CONF"

# a connected socket that sends again after its flow ended idle (runs meanwhile)
bg again app "$PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.connect(("10.77.1.3", 7001))
for i in range(2):
    s.send(b"again")
    print("got", s.recv(100).decode(), "own", s.getsockname()[1], flush=True)
    if i == 0:
        time.sleep(4.5)
'

# ---- a connected socket: straight to the server from its own port, marked
out=$(in_app "$PY" "$UDPAPP" connected 10.77.1.3 7001)
assert_eq 0 "$?" "connected UDP socket exchange on the kernel path: $out"
assert_match "$out" 'peer 10\.77\.1\.3 7001' "getpeername shows the destination"
assert_match "$out" 'from 10\.77\.1\.3 7001' "recvfrom shows the destination"
assert_match "$out" 'mark 0x484d' "the socket carries hermesd's mark"
own=$(sed -n 's/^own //p' <<<"$out")
assert_match "$out" "seen 10\\.77\\.1\\.1 $own" "the server saw the app's own socket (port $own)"

# ---- ONE unconnected socket, two destinations: each reply from its own address
out=$(in_app "$PY" "$UDPAPP" multi 7001 10.77.1.2 10.77.1.3)
assert_eq 0 "$?" "one socket to two destinations gets each reply from the right address: $out"
own=$(sed -n 's/.*own port \([0-9]*\)).*/\1/p' <<<"$out" | head -n1)
assert_match "$out" "10\\.77\\.1\\.1 $own 15" "the server saw the app's own port $own"
assert_match "$out" 'mark 0x484d' "the unconnected socket carries the mark"

# ---- deny on a socket the kernel path marked: as before (the first send goes to
# 10.77.1.2: a socket's first datagram is routed before the mark is set, docs)
out=$(in_app "$PY" -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(b"x", ("10.77.1.2", 7001))
s.recvfrom(100)
try:
    s.sendto(b"x", ("10.77.1.2", 7002))
    print("sent")
except PermissionError:
    print("eperm")
' 2>&1)
assert_eq eperm "$out" "a deny rule fails the send of a marked socket"

# ---- IPv6: connected, straight to the server
out=$(in_app "$PY" "$UDPAPP" connected fd77:1::2 7001)
assert_eq 0 "$?" "IPv6 connected exchange on the kernel path: $out"
own=$(sed -n 's/^own //p' <<<"$out")
assert_match "$out" 'from fd77:1::2 7001' "IPv6: recvfrom shows the destination"
assert_match "$out" "seen fd77:1::1 $own" "IPv6: the server saw the app's own socket"

# ---- /flows: the kernel path's flows with bytes both ways (read once a second)
kflows_shown() {
	admin_get /flows | "$PY" -c '
import json, sys
f = [x for x in json.load(sys.stdin)["flows"] if x["protocol"] == "udp" and x["state"] == "kernel"]
d = {x["orig_dst"] for x in f if x["bytes_up"] > 0 and x["bytes_down"] > 0 and x["comm"] == "python3"}
sys.exit(0 if {"10.77.1.2:7001", "10.77.1.3:7001", "[fd77:1::2]:7001"} <= d else 1)'
}
wait_until 3 kflows_shown ||
	die "/flows does not show the kernel path's flows: $(admin_get /flows)"
say "ok: /flows: $(admin_get /flows | tr -d '\n' | cut -c1-400)"
ns_c "$BUILD/hermes-top" --pin-root "$PINROOT" -b -n 1 --json proto:udp >"$TMP/top.json" 2>"$TMP/top.err" ||
	die "hermes-top -b --json failed: $(cat "$TMP/top.err")"
"$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
f = [x for x in d["flows"] if x["orig_dst"] == "10.77.1.3:7001" and x["relay_state"] == "kernel"]
assert f and all(x["protocol"] == "udp" and x["action"] == "proxy" and x["engine"] == "udp" and x["bytes_in"] > 0
                 and x["comm"] == "python3" for x in f), d["flows"]
' "$TMP/top.json" || die "hermes-top does not show the kernel path's flows: $(cat "$TMP/top.json")"
[ "$(stat_value hermes_udp_kernel_path_flows_total)" -ge 5 ] ||
	die "expected at least 5 kernel-path flows: $(stat_value hermes_udp_kernel_path_flows_total)"
[ "$(stat_value hermes_udp_datagrams_total 'direction="upstream_to_app"')" -ge 5 ] || die "no datagrams counted back"
assert_eq 0 "$(stat_value hermes_udp_drops_total 'reason="not_slot"')" "nothing reached the relay"

# ---- idle: the flow leaves /flows with its access line
alog="access conn=[0-9]+ pid=[1-9][0-9]* comm=python3 uid=0 cgroup=$(stat -c %i "$CG/app") client=\\[?fd77:1::1\\]?:[0-9]+ dst=\\[?fd77:1::2\\]?:7001 action=proxy protocol=udp"
wait_until 6 grep -Eq "$alog .*sent=2 received=[1-9][0-9]* datagrams_sent=1 datagrams_received=1 drops=0 duration_ms=[0-9]+ result=idle-timeout$" "$HERMESD_LOG" ||
	die "no idle-timeout access line for the IPv6 flow: $(grep 'access ' "$HERMESD_LOG")"
admin_get /flows | grep -q 'fd77:1::2' && die "the idle IPv6 flow is still in /flows: $(admin_get /flows)"
say "ok: $(grep -E "$alog" "$HERMESD_LOG")"

# the connected socket that slept past its flow's end: a second flow, its second exchange
two_replies() { [ "$(grep -c '^got ' "$TMP/again.log")" = 2 ]; }
wait_until 6 two_replies || die "the connected socket got no second reply: $(cat "$TMP/again.log")"
port=$(sed -n 's/.*own \([0-9]*\)$/\1/p' "$TMP/again.log" | head -n1)
two_flows() { [ "$(grep -Ec "client=10\\.77\\.1\\.1:$port .*datagrams_sent=1 datagrams_received=1 .*result=idle-timeout" "$HERMESD_LOG")" = 2 ]; }
wait_until 6 two_flows ||
	die "expected two flows (one per exchange) of port $port: $(grep "client=10.77.1.1:$port" "$HERMESD_LOG")"

# ---- a restart with the key off: its links go, proxy flows take the relay again
stop_hermesd
ls "$PINROOT/links/hermes_udp_kegress" >/dev/null 2>&1 || die "the kernel path's links were not pinned"
sed -i 's/kernel_path: true/kernel_path: false/' "$CONF"
start_hermesd -c "$CONF"
for l in hermes_udp_kegress hermes_udp_kingress; do
	[ -e "$PINROOT/links/$l" ] && die "link $l stayed after a start with udp.kernel_path: false"
done
out=$(in_app "$PY" "$UDPAPP" connected 10.77.1.2 7001)
assert_eq 0 "$?" "connected exchange through the relay: $out"
own=$(sed -n 's/^own //p' <<<"$out")
seen=$(sed -n 's/^seen [^ ]* //p' <<<"$out")
assert_ne "$own" "$seen" "without the kernel path the server sees hermesd's socket"
pass "udp_kpath: proxy UDP flows on the kernel path: direct from the app's socket, marked, in /flows, ended idle"
