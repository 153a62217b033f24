#!/bin/bash
# tunnel_udp_client: the tunnel action for UDP (CONNECT-UDP, RFC 9298, on the client side).
# A `protocol: udp` rule with action tunnel carries an unmodified application's UDP flow
# through the route's next hop, over the pooled HTTP/2 mTLS connection the TCP tunnel
# uses (extended CONNECT), to the hermesd on the server host, whose tunnel listener sends
# it on as UDP:
#  - dig gets dnsmasq's answer on the far host through the tunnel, and the server host's
#    log shows the CONNECT-UDP with the app's identity; an IPv6 destination's echo too;
#  - a fixed-rate stream of MPEG-TS-sized datagrams (7 x 188 = 1316 bytes) is echoed, every
#    one accounted for by sequence number: none lost, duplicated or reordered; so is a burst
#    of mixed sizes, which the far end sends in GSO runs, also to a target whose route's
#    MTU refuses the runs of its largest datagrams (sent singly instead);
#  - iperf3 -u at a fixed rate: the loss both ends report, and bytes counted at both ends;
#  - datagrams sent before the stream is answered are queued and delivered; an oversize
#    one is dropped and counted, the flow goes on;
#  - /flows shows the flow as protocol udp, action tunnel; /metrics counts the stream and
#    the datagrams each way; an idle flow closes its stream;
#  - against a CONNECT-UDP server written with python3-h2 (tests/bin/masque.py server):
#    the request's fields (extended CONNECT, the URI template, capsule-protocol, the
#    identity fields), an unknown capsule skipped, a datagram for another context and an
#    oversize one dropped and counted; a peer that does not announce
#    SETTINGS_ENABLE_CONNECT_PROTOCOL fails the flow, logged and counted;
#  - an HTTP/1.1 peer over TLS and in clear text (`protocol: h1`, `tls: true|false`):
#    Upgrade: connect-udp, 101, capsules.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

require_cmd dig dnsmasq
topo_up
"$HERMESCTL_BIN" certs init "$TMP/pki" --hosts client,server >/dev/null || die "hermesctl certs init failed"
tls() { echo "tls: {cert: $TMP/pki/$1.crt, key: $TMP/pki/$1.key, ca: $TMP/pki/ca.crt}"; }
UDPAPP=$TESTBIN/udpapp.py

bg dnsmasq s dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts --user=root --pid-file= \
	--listen-address=10.77.1.3 --bind-interfaces --port=53 --address=/tun.test/10.9.9.8 --log-queries
bg udpecho s "$PY" "$UDPAPP" --deadline 60 echo 10.77.1.3 7001
bg udpecho2 s "$PY" "$UDPAPP" --deadline 60 echo 10.77.1.2 7002
bg udpecho3 s "$PY" "$UDPAPP" --deadline 60 echo 10.77.1.2 7003
bg udpecho6 s "$PY" "$UDPAPP" --deadline 60 echo fd77:1::2 7004
bg udpechoc c "$PY" "$UDPAPP" --deadline 60 echo 10.77.1.1 7010 # a target behind the veth, for the server host
bg masque s "$PY" "$TESTBIN/masque.py" server 10.77.1.2 15443 "$TMP/pki"
bg masque_noext s "$PY" "$TESTBIN/masque.py" server 10.77.1.2 15444 "$TMP/pki" --no-connect-protocol
for l in udpecho udpecho2 udpecho3 udpecho6 udpechoc masque masque_noext; do
	wait_until 5 grep -qE 'serving|ready' "$TMP/$l.log" || die "$l did not start: $(cat "$TMP/$l.log")"
done

cat >"$TMP/s.yaml" <<YAML
$(tls server)
tunnel_access:
  - {match: 10.77.1.3/32, san: spiffe://hermes/client, action: allow}
  - {match: 10.77.1.2/32:7002, san: spiffe://hermes/client, action: allow}
  - {match: "[fd77:1::2]:7004", san: spiffe://hermes/client, action: allow}
  - {match: 10.77.1.1/32:7010, san: spiffe://hermes/client, action: allow}
  - {match: 10.77.1.2/32:7003, from: 10.77.1.1/32, action: allow}
tunnel: {allow_cleartext: true}
YAML
start_hermesd_s -c "$TMP/s.yaml" --tunnel-listen 10.77.1.2:15008

cat >"$TMP/c.yaml" <<YAML
$(tls client)
udp: {idle_timeout_ms: 1000}
tunnel: {udp_max_datagram_bytes: 1400}
routes:
  - name: to-server
    match: [10.77.1.3/32]
    peers: [{address: 10.77.1.2:15008, name: server}]
  - name: to-server-h1
    match: [10.77.1.2/32]
    peers: [{address: 10.77.1.2:15008, name: server, protocol: h1, tls: true}]
  - name: to-server-h1-cleartext
    match: [10.77.1.2/32:7003]
    peers: [{address: 10.77.1.2:15008, protocol: h1, tls: false}]
  - name: to-client-host # the server host's hermesd sends it back over the veth
    match: [10.77.1.1/32:7010]
    peers: [{address: 10.77.1.2:15008, name: server}]
  - name: to-server-v6
    match: ["fd77:1::2/128"]
    peers: [{address: 10.77.1.2:15008, name: server}]
  - name: to-python
    match: [10.77.1.50/32]
    peers: [{address: 10.77.1.2:15443, name: server}]
  - name: to-python-no-extended-connect
    match: [10.77.1.51/32]
    peers: [{address: 10.77.1.2:15444, name: server}]
policy:
  - {match: 10.77.1.0/24, action: tunnel, protocol: udp}
  - {match: "fd77:1::2/128", action: tunnel, protocol: udp}
YAML
start_hermesd -c "$TMP/c.yaml"
cstat() { stat_value "hermes_tunnel_udp_client_$1" "${2:-}"; }
# where datagrams went: both hermesd's counters and the kernel's UDP buffer drops
diag() {
	say "client: $(admin_get /stats | grep -E '^hermes_(tunnel_udp_client_(drops|datagrams)|udp_drops)_total' | grep -v ' 0$' | tr '\n' ' ')"
	say "server: $(ns_s curl -s http://127.0.0.1:15000/stats | grep -E '^hermes_tunnel_udp_(drops|datagrams)_total' | grep -v ' 0$' | tr '\n' ' ')"
	say "kernel: client host $(ns_c nstat -az UdpRcvbufErrors UdpSndbufErrors | tail -n +2 | tr -s ' \n' ' '); server host $(ns_s nstat -az UdpRcvbufErrors UdpSndbufErrors | tail -n +2 | tr -s ' \n' ' ')"
}

# ---- dig through the tunnel
out=$(in_app dig +tries=1 +time=3 +short @10.77.1.3 tun.test A 2>&1)
assert_eq 10.9.9.8 "$out" "dig's answer through the UDP tunnel"
assert_eq 1 "$(cstat streams_total 'outcome="opened"')" "one CONNECT-UDP stream opened"
wait_until 5 grep -q 'CONNECT-UDP 10\.77\.1\.3:53 for uid 0 pid [0-9]* comm .* over h2, peer certificate client' "$S_LOG" ||
	{ grep CONNECT-UDP "$S_LOG" | tail -n 3; die "the server host did not log the CONNECT-UDP with the app's identity"; }
[ "$(stat_value hermes_bpf_udp_decisions_total 'action="tunnel"')" -ge 1 ] || die "no UDP tunnel decision counted in BPF"

# ---- a video-like stream: 1316-byte datagrams at a fixed rate, echoed, each one accounted for
N=$(by_build 2000 1000)
out=$(in_app "$PY" "$UDPAPP" --timeout 2 stream 10.77.1.3 7001 "$N" 1000)
say "$out"
diag
assert_eq "stream sent $N got $N lost 0 dup 0 reordered 0 short 0" "$out" \
	"every MPEG-TS-sized datagram back, once, in order"
assert_ge "$N" "$(cstat datagrams_total 'direction="to_peer"')" "datagrams to the peer counted"
assert_ge "$((N * 1316))" "$(cstat bytes_total 'direction="to_app"')" "payload bytes to the app counted"

# ---- a burst of mixed sizes: the client's DATA frames carry many capsules, cut across
# TLS records; the far end reads them where they lie (a cut one completed apart) and sends
# runs of one size (a shorter one last) in GSO sends: every datagram intact and in order
g0=$(ns_s curl -s http://127.0.0.1:15000/stats | awk '$1 == "hermes_tunnel_udp_gso_sends_total" { print $2 }')
NB=600 # at most udp.tunnel_queue_bytes (4 MiB) waits for the stream's answer
out=$(in_app "$PY" "$UDPAPP" --timeout 2 stream 10.77.1.3 7001 "$NB" 20000 --sizes 1316,1316,1316,1316,700,1316,1316,64,1200,8)
say "$out"
assert_eq "stream sent $NB got $NB lost 0 dup 0 reordered 0 short 0" "$out" \
	"a burst of mixed sizes back whole, once, in order"
g1=$(ns_s curl -s http://127.0.0.1:15000/stats | awk '$1 == "hermes_tunnel_udp_gso_sends_total" { print $2 }')
[ "${g1:-0}" -gt "${g0:-0}" ] || die "the far hermesd sent the burst without a GSO send ($g0 -> $g1)"
# the same to a target whose route has a 1300-byte MTU: a GSO send of 1316-byte pieces is
# refused (EMSGSIZE), and those datagrams go out singly (fragmented, as without GSO)
ns_s ip route add 10.77.1.1/32 dev eth0 mtu lock 1300 || die "cannot add the 1300-byte MTU route"
out=$(in_app "$PY" "$UDPAPP" --timeout 2 stream 10.77.1.1 7010 "$NB" 20000 --sizes 1316,1316,1316,1316,700,1316,1316,64,1200,8)
say "$out"
assert_eq "stream sent $NB got $NB lost 0 dup 0 reordered 0 short 0" "$out" \
	"a burst of mixed sizes across a smaller MTU back whole, once, in order"

# ---- datagrams sent before the stream is answered wait for it; an oversize one is
# dropped (udp_max_datagram_bytes 1400 here), the flow goes on
o0=$(cstat drops_total 'reason="oversize"')
out=$(in_app "$PY" - 10.77.1.3 7001 <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect((sys.argv[1], int(sys.argv[2])))
for i in range(20):                      # all before the CONNECT-UDP's answer
    s.send(b"early%02d" % i)
s.send(b"B" * 1450)                      # over the tunnel's limit
s.send(b"after")
got = []
try:
    while len(got) < 21:
        got.append(s.recv(2048))
except socket.timeout:
    pass
print(" ".join(d.decode() if len(d) < 100 else "big%d" % len(d) for d in got))
PY
)
assert_eq "$(printf 'early%02d ' $(seq 0 19))after" "$out" "queued datagrams delivered in order, the oversize one dropped"
assert_eq $((o0 + 1)) "$(cstat drops_total 'reason="oversize"')" "the oversize datagram counted"

# ---- hermesd's client side against a python3-h2 CONNECT-UDP server
send_app() { in_app "$PY" "$UDPAPP" --timeout 2 send "$@" 2>&1; }

# ---- an IPv6 destination: the same tunnel, the target in the template percent-encoded
out=$(send_app fd77:1::2 7004 --text v6hello)
assert_match "$out" '^reply from fd77:1::2:7004: v6hello$' "an IPv6 destination's echo through the tunnel, from the original destination"
wait_until 5 grep -q 'CONNECT-UDP \[fd77:1::2\]:7004 for uid 0' "$S_LOG" ||
	{ grep CONNECT-UDP "$S_LOG" | tail -n 3; die "the server host did not log the IPv6 CONNECT-UDP"; }
out=$(send_app 10.77.1.50 9)
assert_match "$out" '^reply from 10\.77\.1\.50:9: x{32}$' "the python server's echo comes from the original destination"
wait_until 3 grep -q '^request ' "$TMP/masque.log" || die "the python server logged no request"
req=$(grep '^request ' "$TMP/masque.log" | head -n1)
for f in ':method=CONNECT' ':protocol=connect-udp' ':scheme=https' ':path=/.well-known/masque/udp/10.77.1.50/9/' \
	'capsule-protocol=\?1' 'hermes-uid=0' 'hermes-pid=[0-9]' 'hermes-original-dst=10.77.1.50:9' 'hermes-hops=1'; do
	assert_match "$req" " $f" "the CONNECT-UDP request has $f"
done
[ "$(stat_value hermes_tunnel_udp_capsules_skipped_total)" -ge 1 ] || die "the unknown capsule was not counted as skipped"
c0=$(cstat drops_total 'reason="context"')
o0=$(cstat drops_total 'reason="oversize"')
assert_match "$(send_app 10.77.1.50 9 --text BIG)" 'BIG-done$' "after a 2000-byte datagram from the peer, the next one"
assert_match "$(send_app 10.77.1.50 9 --text CTX)" 'CTX-done$' "after a datagram for context 5, the next one"
assert_eq $((c0 + 1)) "$(cstat drops_total 'reason="context"')" "the datagram for context 5 dropped and counted"
assert_eq $((o0 + 1)) "$(cstat drops_total 'reason="oversize"')" "the peer's oversize datagram dropped and counted"
# a peer without SETTINGS_ENABLE_CONNECT_PROTOCOL: no stream, the flow fails, logged and counted
out=$(in_app "$PY" "$UDPAPP" --timeout 1 send 10.77.1.51 9 2>&1)
assert_eq 5 "$?" "no reply through a peer without extended CONNECT: $out"
assert_ge 1 "$(cstat streams_total 'outcome="refused"')" "the refused stream counted"
assert_file_match "$HERMESD_LOG" 'does not announce SETTINGS_ENABLE_CONNECT_PROTOCOL' "the reason is logged"
grep -q '^request ' "$TMP/masque_noext.log" && die "a CONNECT-UDP went to a peer without extended CONNECT"

# ---- an HTTP/1.1 peer over TLS: Upgrade: connect-udp
out=$(send_app 10.77.1.2 7002 --size 700)
assert_match "$out" '^reply from 10\.77\.1\.2:7002: x{700}$' "the echo through an h1 TLS peer"
wait_until 3 grep -q 'CONNECT-UDP 10\.77\.1\.2:7002 for uid 0 .* over TLS' "$S_LOG" ||
	die "the server host did not log the CONNECT-UDP over HTTP/1.1 TLS"
out=$(send_app 10.77.1.2 7003 --size 300)
assert_match "$out" '^reply from 10\.77\.1\.2:7003: x{300}$' "the echo through an h1 clear-text peer"
grep 'CONNECT-UDP 10\.77\.1\.2:7003 for uid 0 ' "$S_LOG" | grep -qv 'over TLS' ||
	die "the server host did not log the CONNECT-UDP over clear-text HTTP/1.1"

# ---- iperf3 -u at a fixed rate through the tunnel
bg iperf3srv s iperf3 -s -B 10.77.1.3 -p 5201
wait_tcp "$NS_S" 10.77.1.3 5201 || die "iperf3 server did not start"
RATE=$(by_build 50M 20M)
app_iperf3_udp 10.77.1.3 "$RATE" "through the tunnel"
diag
# loopback and veth on a loaded machine: allow 0.5 %
assert_le $((pkts / 200)) "$lost" "iperf3 -u loss within 0.5 % through one hop"

# ---- /flows: the UDP flow, action tunnel
admin_get /flows | "$PY" -c '
import json, sys
u = [x for x in json.load(sys.stdin)["flows"] if x.get("protocol") == "udp"]
assert [x for x in u if x.get("action") == "tunnel"], "no udp flow with action tunnel in /flows"
# one entry per flow: the relay flow stands for its CONNECT-UDP stream, which has none
assert all(x.get("action") == "tunnel" for x in u), "a UDP entry without action tunnel: %r" % u
' || die "/flows does not show the UDP tunnel flows: $(admin_get /flows)"

# ---- an idle flow closes its stream (udp.idle_timeout_ms 1000)
wait_until 6 ns_c sh -c '! curl -s --max-time 1 http://127.0.0.1:15000/flows | grep -q "\"protocol\":\"udp\""' ||
	die "UDP tunnel flows still open after udp.idle_timeout_ms: $(admin_get /flows)"
assert_ge 1 "$(stat_value hermes_udp_flows_expired_total)" "idle flows expired"
# their streams ended at the server host too (its CONNECT-UDP flows are gone)
wait_until 3 ns_s sh -c '! curl -s --max-time 1 http://127.0.0.1:15000/flows | grep -q "\"protocol\":\"udp\""' ||
	die "the server host still holds CONNECT-UDP flows: $(ns_s curl -s http://127.0.0.1:15000/flows)"
# one access line per UDP tunnel flow, the relay's: action tunnel, the peer as upstream,
# its datagrams each way; its stream writes none of its own
assert_file_match "$HERMESD_LOG" "access .* dst=10\\.77\\.1\\.3:7001 action=tunnel protocol=udp upstream=10\\.77\\.1\\.2:15008 .*datagrams_sent=$N datagrams_received=$N drops=0 .*result=idle-timeout\$" \
	"the stream's flow has one access line, action tunnel, with its datagrams"
if grep -q 'action=connect-udp' "$HERMESD_LOG"; then
	grep 'action=connect-udp' "$HERMESD_LOG" | head -n 3
	die "a CONNECT-UDP stream of the client side wrote an access line of its own"
fi

pass "tunnel_udp_client: dig, a 1316-byte stream with every datagram accounted for, iperf3 -u, the queue before the answer, oversize drops, /flows and the idle close through a 1-hop HTTP/2 mTLS tunnel"
