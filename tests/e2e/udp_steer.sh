#!/bin/bash
# udp_steer: transparent UDP steering with unmodified applications in the app cgroup.
# Rules name their protocol (udp here; tcp stays the default). pass: dig gets its answer
# from dnsmasq directly. deny: dig fails and sendto() raises EPERM at once, counted.
# proxy: dig's answer arrives through hermesd's UDP relay (its datagram counters move);
# the server sees hermesd's socket, not the app's; a burst of 1024 is relayed whole;
# iperf3 -u at a fixed rate loses at most 0.5%, its bytes counted at both ends; ONE unconnected socket sending to two
# destinations gets each reply from the right address; a connected socket's getpeername
# and recvfrom show the original destination. A TCP rule is untouched by a UDP one, and
# hermesctl refuses http for UDP (tunnel: tunnel_udp_client.sh). A config rule with `protocol: udp` steers UDP
# only; a datagram over udp.max_datagram is dropped and counted, never truncated. A
# datagram to a live flow's slot address from any other socket is dropped (not_owner).
# hermes-top shows the UDP flows (PROTO udp, idle time, proto: filter). An ICMP port
# unreachable is counted (icmp_error) and the flow kept; a 3000-byte datagram crosses the
# 1500-byte MTU link whole. Access lines: one per UDP flow at shutdown and at idle timeout.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

# shellcheck source-path=SCRIPTDIR source=../lib/tmux.sh
. "$(dirname "$0")/../lib/tmux.sh"

require_cmd dig dnsmasq
topo_up
UDPAPP=$TESTBIN/udpapp.py

bg dnsmasq s dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts --user=root --pid-file= \
	--listen-address=10.77.1.2 --bind-interfaces --port=53 --address=/steer.test/10.9.9.9 --log-queries
bg udpserve s "$PY" "$UDPAPP" --deadline 60 serve 10.77.1.2,10.77.1.3 7001
wait_until 5 grep -q serving "$TMP/udpserve.log" || die "the UDP echo server did not start: $(cat "$TMP/udpserve.log")"
CONF=$TMP/hermes.yaml
cat >"$CONF" <<YAML
udp:
  max_datagram: 1200
policy:
  - match: 10.77.1.3/32:7001
    action: proxy
    protocol: udp
YAML
start_hermesd -c "$CONF"

dig_app() { in_app dig +tries=1 +time=2 +short @10.77.1.2 steer.test A 2>&1; }
udp_dec() { stat_value hermes_bpf_udp_decisions_total "action=\"$1\""; }

# ---- pass (no rule): dig straight to dnsmasq
out=$(dig_app)
assert_eq 10.9.9.9 "$out" "dig answer without a rule"
[ "$(udp_dec pass)" -ge 1 ] || die "no UDP pass decision counted"

# ---- a config rule for UDP: proxied (the server sees hermesd's socket), TCP untouched
assert_match "$(hermesctl policy list)" '10\.77\.1\.3/32:7001 +proxy +config +udp' "the config rule is a UDP rule"
out=$(in_app "$PY" "$UDPAPP" send 10.77.1.3 7001 --size 1000)
assert_eq 0 "$?" "a 1000-byte datagram through the relay: $out"
assert_match "$out" '^reply from 10\.77\.1\.3:7001: 10\.77\.1\.3 10\.77\.1\.1 [0-9]+ 1000$' "the reply names the original destination"
assert_eq 1 "$(stat_value hermes_udp_flows_total)" "the relay opened one flow"
out=$(in_app "$PY" "$UDPAPP" --timeout 1 send 10.77.1.3 7001 --size 2000)
assert_eq 5 "$?" "a datagram over udp.max_datagram gets no reply: $out"
assert_eq 1 "$(stat_value hermes_udp_drops_total 'reason="too_big"')" "the oversize datagram is dropped and counted"
# no TCP server there: a direct connect is refused (a proxied one would be accepted by hermesd)
out=$(in_app "$PY" "$TESTBIN/hnet.py" connect 10.77.1.3 7001 --timeout 5 2>&1)
assert_eq 4 "$?" "TCP to the UDP rule's match goes direct (refused): $out"

# ---- iperf3 -u through the relay at a fixed rate: loss both ends report, bytes counted
# at both ends (iperf3's control connection is TCP: no TCP rule, it goes direct)
bg iperf3srv s iperf3 -s -B 10.77.1.3 -p 5201
wait_tcp "$NS_S" 10.77.1.3 5201 || die "iperf3 server did not start"
policy_add 10.77.1.3/32:5201 proxy --protocol udp
b0=$(stat_value hermes_udp_bytes_total 'direction="app_to_upstream"')
app_iperf3_udp 10.77.1.3 "$(by_build 50M 20M)" "through the UDP relay"
assert_le $((pkts / 200)) "$lost" "iperf3 -u loss within 0.5 % through the relay"
b1=$(stat_value hermes_udp_bytes_total 'direction="app_to_upstream"')
assert_ge "$recv_b" $((b1 - b0)) "the relay sent on at least the bytes iperf3's server received"
# iperf3's UDP handshake (a 4-byte datagram each way) is not in its byte counts
assert_le $((sent_b + 64)) $((b1 - b0)) "the relay sent on no more than the app sent"
hermesctl policy del 10.77.1.3/32:5201 --protocol udp >/dev/null || die "policy del --protocol udp failed"

# ---- deny
policy_add 10.77.1.2/32:53 deny --protocol udp
assert_match "$(hermesctl policy list)" '10\.77\.1\.2/32:53 +deny +manual +udp' "policy list shows the rule's protocol"
d0=$(udp_dec deny)
out=$(dig_app)
case $out in *10.9.9.9*) die "dig got an answer under a udp deny rule: $out" ;; esac
say "ok: dig under deny: $(tr '\n' ' ' <<<"$out")"
out=$(in_app "$PY" "$UDPAPP" send 10.77.1.2 53)
assert_eq 3 "$?" "sendto() under deny exits 3 (EPERM): $out"
[ "$(udp_dec deny)" -ge $((d0 + 2)) ] || die "UDP deny counter did not move by 2: $d0 -> $(udp_dec deny)"
# the same match for TCP is a separate rule: still no TCP rule, the connect goes through
# (dnsmasq answers DNS over TCP too)
out=$(in_app dig +tcp +tries=1 +time=2 +short @10.77.1.2 steer.test A 2>&1)
assert_eq 10.9.9.9 "$out" "dig over TCP is untouched by a UDP deny rule"
hermesctl policy del 10.77.1.2/32:53 --protocol udp >/dev/null || die "policy del --protocol udp failed"

# ---- refused combinations
for act in http; do
	if out=$(hermesctl policy add 10.77.9.0/24 "$act" --protocol udp 2>&1); then
		die "hermesctl accepted a udp $act rule: $out"
	fi
	assert_match "$out" "UDP" "hermesctl says why $act cannot take UDP"
done

# ---- UDP rules written with bpftool whose action UDP does not take fail closed
# 10.77.1.3/32:7002 udp (prefixlen 64, family 4, proto 1, port 7002 = 1b 5a) -> http (4),
# 10.77.1.3/32:7003 (1b 5b) -> 99
for kv in "1b 5a:04" "1b 5b:63"; do
	bpftool map update pinned "$PINROOT/hermes_policy" key hex 40 00 00 00 04 01 ${kv%:*} 0a 4d 01 03 \
		00 00 00 00 00 00 00 00 00 00 00 00 value hex ${kv#*:} 00 00 00 00 00 00 00 ||
		die "bpftool map update of a UDP rule failed"
done
u0=$(udp_dec unsupported)
for port in 7002 7003; do
	out=$(in_app "$PY" "$UDPAPP" send 10.77.1.3 $port)
	assert_eq 3 "$?" "sendto() under a UDP rule with action http/99 fails with EPERM: $out"
done
assert_eq $((u0 + 2)) "$(udp_dec unsupported)" "both counted as unsupported"

# ---- proxy
policy_add 10.77.1.0/24 proxy --protocol both
assert_match "$(hermesctl policy list)" '10\.77\.1\.0/24 +proxy +manual +udp' "both: the UDP entry"
assert_match "$(hermesctl policy list)" '10\.77\.1\.0/24 +proxy +manual +tcp' "both: the TCP entry"
out=$(dig_app)
assert_eq 10.9.9.9 "$out" "dig answer through the UDP relay"
[ "$(stat_value hermes_udp_datagrams_total 'direction="app_to_upstream"')" -ge 1 ] || die "no datagram relayed to the upstream"
[ "$(stat_value hermes_udp_datagrams_total 'direction="upstream_to_app"')" -ge 1 ] || die "no datagram relayed back"
[ "$(udp_dec proxy)" -ge 1 ] || die "no UDP proxy decision counted"

# one unconnected socket, two destinations: each reply from its own address
out=$(in_app "$PY" "$UDPAPP" multi 7001 10.77.1.2 10.77.1.3)
rc=$?
say "multi: $(tr '\n' ' ' <<<"$out")"
assert_eq 0 "$rc" "one socket to two destinations gets each reply from the right address"
own=$(sed -n 's/.*own port \([0-9]*\)).*/\1/p' <<<"$out" | head -n1)
seen=$(sed -n 's/^reply from [^ ]*: [^ ]* [^ ]* \([0-9]*\) .*/\1/p' <<<"$out" | head -n1)
assert_ne "$own" "$seen" "the server saw hermesd's socket (port $seen), not the app's (port $own)"

# a connected socket: getpeername and recvfrom name the original destination
out=$(in_app "$PY" "$UDPAPP" connected 10.77.1.3 7001)
assert_eq 0 "$?" "connected UDP socket exchange: $out"
assert_match "$out" 'peer 10\.77\.1\.3 7001' "getpeername shows the original destination"
assert_match "$out" 'from 10\.77\.1\.3 7001' "recvfrom shows the original destination"

# a live flow's slot address is open to every local process: a datagram sent there from
# another socket (here outside the app cgroup) is not relayed (its sender is not the
# socket the slot was given to), and counted
slot=$(admin_get /flows | "$PY" -c '
import json, sys
f = [x for x in json.load(sys.stdin)["flows"] if x.get("protocol") == "udp" and x["orig_dst"] == "10.77.1.3:7001"]
print(f[0]["slot"] if f else "")')
[ -n "$slot" ] || die "no UDP flow to 10.77.1.3:7001 in /flows: $(admin_get /flows)"
o0=$(stat_value hermes_udp_drops_total 'reason="not_owner"')
out=$(ns_c "$PY" "$UDPAPP" --timeout 1 send "127.72.$((slot >> 8)).$((slot & 255))" 15001)
assert_eq 5 "$?" "a datagram to slot $slot from another socket gets no reply: $out"
assert_eq $((o0 + 1)) "$(stat_value hermes_udp_drops_total 'reason="not_owner"')" "it is dropped as not_owner"

# a burst of 4 x UDP_BURST datagrams from one socket: the relay reads 256 per loop turn
# and comes back for the rest (every one answered)
b0=$(stat_value hermes_udp_datagrams_total 'direction="upstream_to_app"')
out=$(in_app "$PY" "$UDPAPP" --timeout 2 burst 10.77.1.3 7001 1024)
assert_eq "replies 1024" "$out" "every datagram of a burst of 1024 is relayed both ways"
assert_eq $((b0 + 1024)) "$(stat_value hermes_udp_datagrams_total 'direction="upstream_to_app"')" "relay counted the burst"

# /flows lists the relay's flows with their protocol and original destination
admin_get /flows | "$PY" -c '
import json, sys
f = [x for x in json.load(sys.stdin)["flows"] if x.get("protocol") == "udp" and x["orig_dst"] == "10.77.1.3:7001"]
assert f, "no udp flow to 10.77.1.3:7001 in /flows"
assert any(x["bytes_up"] >= 1024 * 6 and x["bytes_down"] > 0 for x in f), f
' || die "/flows does not show the UDP flows: $(admin_get /flows)"
say "ok: /flows lists the UDP flows"
# hermes-top shows them from that /flows: protocol udp, action proxy, engine udp, the
# original destination, bytes each way and idle time; proto:udp keeps them, proto:tcp not
ns_c "$BUILD/hermes-top" --pin-root "$PINROOT" -b -n 1 --json proto:udp >"$TMP/top.json" 2>"$TMP/top.err" ||
	die "hermes-top -b --json failed with UDP flows in /flows: $(cat "$TMP/top.err")"
"$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
f = [x for x in d["flows"] if x["orig_dst"] == "10.77.1.3:7001"]
assert f and all(x["protocol"] == "udp" for x in d["flows"]), d["flows"]
assert any(x["action"] == "proxy" and x["engine"] == "udp" and x["bytes_out"] >= 1024 * 6 and x["bytes_in"] > 0
           and 0 <= x["idle_s"] < 60 and x["comm"] == "python3" for x in f), f
assert d["summary"]["by_engine"]["udp"] >= 1, d["summary"]
' "$TMP/top.json" || die "hermes-top does not show the UDP flow to 10.77.1.3:7001: $(cat "$TMP/top.json")"
n=$(ns_c "$BUILD/hermes-top" --pin-root "$PINROOT" -b -n 1 --json proto:tcp | "$PY" -c '
import json, sys
print(sum(x["protocol"] == "udp" for x in json.load(sys.stdin)["flows"]))')
assert_eq 0 "$n" "proto:tcp hides the UDP flows"
text=$(ns_c "$BUILD/hermes-top" --pin-root "$PINROOT" -b -n 1 dst:10.77.1.3:7001)
assert_match "$text" 'PID/COMM .* STATE +PROTO' "the batch table has a PROTO column"
assert_match "$text" ' 10\.77\.1\.3:7001 +proxy +udp .* idle [0-9.]+[a-z]+ +udp$' "the UDP flow's row: proxy, udp, idle time"
# the live view: the row, and Enter's details with the UDP rule that applies
top_session top 160 30 -d 0.5 dst:10.77.1.3:7001 proto:udp
wait_screen top 5 ' 10\.77\.1\.3:7001 +proxy +udp .* idle [0-9.]+[a-z]+ +udp' "live view: the UDP flow's row"
keys top Enter
wait_screen top 3 "UDP flow [0-9]+ \(hermesd's id\), relayed by hermesd's UDP relay" "Enter: the UDP flow's details"
wait_screen top 2 'policy rule  10\.77\.1\.3(/32)?:7001 -> proxy \(config\)' "the detail view names the UDP rule"
wait_screen top 2 'state        open for [0-9.]+[a-z]+, idle ' "and its idle time"
keys top q

# ICMP port unreachable: nothing listens on 10.77.1.3:7009. The app gets no reply (the
# ICMP error reaches hermesd's socket, not the app's); hermesd counts it and keeps the flow
i0=$(stat_value hermes_udp_drops_total 'reason="icmp_error"')
out=$(in_app "$PY" "$UDPAPP" --timeout 1 burst 10.77.1.3 7009 3)
assert_eq "replies 0" "$out" "no reply from a closed port through the relay"
icmp_counted() { [ "$(stat_value hermes_udp_drops_total 'reason="icmp_error"')" -gt "$i0" ]; }
wait_until 3 icmp_counted || die "the ICMP port unreachable was not counted (icmp_error stays $i0)"
admin_get /flows | grep -q '"orig_dst":"10.77.1.3:7009"' || die "the flow to the closed port was not kept: $(admin_get /flows)"
say "ok: icmp_error $i0 -> $(stat_value hermes_udp_drops_total 'reason="icmp_error"'), the flow kept"

flows=$(stat_value hermes_udp_flows_total)
[ "${flows:-0}" -ge 4 ] || die "expected at least 4 UDP flows (dig, two of multi, connected), got ${flows:-none}"

# ---- access log: one line per UDP flow when it ends; at shutdown, every flow still held
stop_hermesd
# pid, comm and cgroup are the sender's, which the programs took at its first send
alog="access conn=[0-9]+ pid=[1-9][0-9]* comm=python3 uid=0 cgroup=$(stat -c %i "$CG/app") client=127\\.0\\.0\\.1:[0-9]+ dst=10\\.77\\.1\\.3:7001 action=proxy protocol=udp upstream=10\\.77\\.1\\.3:7001"
assert_file_match "$HERMESD_LOG" "$alog sent=6144 received=[1-9][0-9]* datagrams_sent=1024 datagrams_received=1024 drops=0 duration_ms=[0-9]+ result=shutdown$" \
	"the burst's flow is logged at shutdown: 1024 datagrams each way"
# comm is the sending thread's, as for TCP: dig sends from its isc-net-NNNN thread
assert_file_match "$HERMESD_LOG" 'access conn=[0-9]+ pid=[1-9][0-9]* comm=(dig|isc-net-[0-9]+) .* dst=10\.77\.1\.2:53 action=proxy protocol=udp .* datagrams_sent=1 datagrams_received=1 drops=0 .*result=shutdown$' \
	"dig's flow is logged with its thread's command name"
assert_file_match "$HERMESD_LOG" 'access .* dst=10\.77\.1\.3:7009 action=proxy protocol=udp .* datagrams_received=0 drops=[1-3] .*result=shutdown$' \
	"the closed port's flow counts the ICMP errors as drops"
# an idle flow's line comes when the relay forgets it (udp.idle_timeout_ms)
printf 'udp:\n  idle_timeout_ms: 1000\npolicy:\n  - {match: 10.77.1.3/32:7001, action: proxy, protocol: udp}\n' >"$CONF"
start_hermesd -c "$CONF"
# hermes-top -f prints the flow's open, and its close once the relay forgot it
bg follow c "$BUILD/hermes-top" --pin-root "$PINROOT" -f -d 0.2 -n 2 proto:udp
sleep 0.5
# 3000 bytes over the 1500-byte MTU link: hermesd's socket fragments, as the app's would
out=$(in_app "$PY" "$UDPAPP" send 10.77.1.3 7001 --size 3000)
assert_eq 0 "$?" "a 3000-byte datagram through the relay: $out"
assert_match "$out" ' 3000$' "the server got the 3000 bytes whole"
wait_until 5 grep -Eq "$alog sent=3000 received=[1-9][0-9]* datagrams_sent=1 datagrams_received=1 drops=0 duration_ms=[0-9]+ result=idle-timeout$" "$HERMESD_LOG" ||
	die "no idle-timeout access line for the UDP flow: $(grep 'access ' "$HERMESD_LOG")"
say "ok: $(grep -E "$alog.*result=idle-timeout" "$HERMESD_LOG")"
wait_until 3 grep -q ' close ' "$TMP/follow.log" || die "hermes-top -f printed no close of the UDP flow: $(cat "$TMP/follow.log")"
say "hermes-top -f: $(cat "$TMP/follow.log")"
assert_file_match "$TMP/follow.log" ' open +[0-9]+/python3 127\.0\.0\.1:[0-9]+ -> 10\.77\.1\.3:7001 proxy udp$' "follow: the UDP flow's open"
assert_file_match "$TMP/follow.log" ' close [0-9]+/python3 127\.0\.0\.1:[0-9]+ -> 10\.77\.1\.3:7001 proxy udp in [0-9.]+[KM]? out 2\.9K lasted ' "follow: its close, with its bytes"
pass "udp_steer: pass, deny (EPERM, counted) and proxy (dig, one socket to two destinations, connected socket) for UDP"
