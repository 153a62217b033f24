#!/bin/bash
# tunnel_udp_multihop: a UDP flow through two tunnel hops, client host A -> relay R ->
# server host C, each hermesd deciding its own next hop: A's tunnel action sends a
# CONNECT-UDP (HTTP/2 extended CONNECT, mTLS) to R, whose tunnel listener finds its own
# route for the target and passes it on as a CONNECT-UDP of its own to C (HTTP/1.1
# Upgrade over TLS here, so that both kinds of request go out of a relay), bridging the
# two streams capsule for capsule; C sends the datagrams to the target. dig gets
# dnsmasq's answer; C logs A's identity with the hop count 2 and R's certificate; a
# fixed-rate stream of 1316-byte datagrams is echoed with every one accounted for; iperf3
# -u at a fixed rate loses at most 0.5 %, with the bytes counted at both ends. A SIGTERM
# does not wait for the live UDP tunnel flows (UDP has no end to wait for): A's drain ends
# within its next tick, well before its drain limit.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

require_cmd dig dnsmasq iperf3
topo_up
topo_add_relay
"$HERMESCTL_BIN" certs init "$TMP/pki" --hosts a,r,c >/dev/null || die "hermesctl certs init failed"
tls() { echo "tls: {cert: $TMP/pki/$1.crt, key: $TMP/pki/$1.key, ca: $TMP/pki/ca.crt}"; }
UDPAPP=$TESTBIN/udpapp.py

bg dnsmasq s dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts --user=root --pid-file= \
	--listen-address=10.77.1.3 --bind-interfaces --port=53 --address=/hops.test/10.9.9.7 --log-queries
bg udpecho s "$PY" "$UDPAPP" --deadline 60 echo 10.77.1.3 7001
bg iperf3srv s iperf3 -s -B 10.77.1.3 -p 5201
wait_until 5 grep -q serving "$TMP/udpecho.log" || die "the UDP echo server did not start: $(cat "$TMP/udpecho.log")"
wait_tcp "$NS_S" 10.77.1.3 5201 || die "iperf3 server did not start"

cat >"$TMP/c.yaml" <<YAML
$(tls c)
tunnel_access:
  - {match: 10.77.1.3/32, san: spiffe://hermes/r, action: allow}
YAML
start_peer_hermesd "$NS_S" c -c "$TMP/c.yaml" --tunnel-listen 10.77.3.2:15008
C_LOG=$PEER_LOG

cat >"$TMP/r.yaml" <<YAML
$(tls r)
tunnel_access:
  - {match: 10.77.1.3/32, san: spiffe://hermes/a, action: allow}
routes:
  - name: to-c
    match: [10.77.1.3/32]
    peers: [{address: 10.77.3.2:15008, name: c, protocol: h1, tls: true}]
YAML
start_peer_hermesd "$NS_R" r -c "$TMP/r.yaml" --tunnel-listen 10.77.2.2:15008
R_LOG=$PEER_LOG

cat >"$TMP/a.yaml" <<YAML
$(tls a)
routes:
  - name: via-r
    match: [10.77.1.3/32]
    peers: [{address: 10.77.2.2:15008, name: r}]
policy:
  - {match: 10.77.1.3/32, action: tunnel, protocol: udp}
YAML
start_hermesd -c "$TMP/a.yaml"

# ---- dig, two hops
out=$(in_app dig +tries=1 +time=3 +short @10.77.1.3 hops.test A 2>&1)
assert_eq 10.9.9.7 "$out" "dig's answer through two UDP tunnel hops"
wait_until 5 grep -q 'CONNECT-UDP 10\.77\.1\.3:53 for uid 0 pid [0-9]* comm .* over TLS, peer certificate r' "$C_LOG" ||
	{ grep CONNECT-UDP "$C_LOG" | tail -n 3; die "C did not log the CONNECT-UDP from R with A's identity"; }
grep -q 'CONNECT-UDP 10\.77\.1\.3:53 .* over h2, peer certificate a' "$R_LOG" ||
	die "R did not log the CONNECT-UDP from A: $(grep CONNECT-UDP "$R_LOG" | tail -n 3)"
assert_ge 1 "$(peer_stat "$NS_R" 127.0.0.1:15000 hermes_tunnel_udp_client_streams_total)" "R opened a CONNECT-UDP of its own"

# ---- every datagram of a fixed-rate stream accounted for
N=$(by_build 2000 1000)
out=$(in_app "$PY" "$UDPAPP" --timeout 2 stream 10.77.1.3 7001 "$N" 1000)
say "$out"
assert_eq "stream sent $N got $N lost 0 dup 0 reordered 0 short 0" "$out" \
	"every MPEG-TS-sized datagram back through two hops, once, in order"

# ---- iperf3 -u at a fixed rate, two hops
RATE=$(by_build 50M 20M)
app_iperf3_udp 10.77.1.3 "$RATE" "through two hops"
say "A: $(admin_get /stats | grep -E '^hermes_tunnel_udp_client_(drops|datagrams)_total' | grep -v ' 0$' | tr '\n' ' ')"
say "C: $(ns_s curl -s http://127.0.0.1:15000/stats | grep -E '^hermes_tunnel_udp_(drops|datagrams)_total' | grep -v ' 0$' | tr '\n' ' ')"
assert_le $((pkts / 200)) "$lost" "iperf3 -u loss within 0.5 % through two hops"
c_bytes=$(ns_s curl -s http://127.0.0.1:15000/stats | awk '/^hermes_tunnel_udp_bytes_total\{direction="to_target"\}/ { print $NF }')
assert_ge "$recv_b" "$c_bytes" "C sent on at least the bytes iperf3's server received"

# ---- SIGTERM with live UDP tunnel flows (udp.idle_timeout_ms 60000): the drain ends at once
in_app "$PY" "$UDPAPP" send 10.77.1.3 7001 >/dev/null || die "no echo before the SIGTERM"
# (exit 0 inside stop_hermesd's 15 s, well under the flows' 60 s idle timeout, shows the
# drain did not wait for them; the time is printed, not checked)
t0=$(now_ms)
stop_hermesd TERM 15
took=$(($(now_ms) - t0))
assert_eq 0 "$HERMESD_RC" "hermesd's exit status"
say "the drain took $took ms"
assert_file_match "$HERMESD_LOG" 'all flows drained' "every flow drained"

pass "tunnel_udp_multihop: dig, a 1316-byte stream with every datagram accounted for and iperf3 -u through A -> R (h2) -> C (h1 TLS)"
