#!/bin/bash
# tunnel_udp: CONNECT-UDP (RFC 9298) on the tunnel listener, over TLS with client
# certificates, from a client written here with /usr/bin/python3 and the h2 library
# (tests/bin/masque.py: extended CONNECT and capsules by hand) to a UDP echo server in
# the server netns:
#  - HTTP/2: SETTINGS_ENABLE_CONNECT_PROTOCOL is offered; a CONNECT-UDP stream is
#    answered 200 with capsule-protocol: ?1 and datagrams of 3, 700 and 1400 bytes make
#    the round trip with their boundaries (one cut across two DATA frames), an unknown
#    capsule skipped and a datagram for context 2 dropped on the way; a 1600-byte
#    datagram each way is dropped (udp_max_datagram_bytes 1500) and the stream goes on;
#    an IPv6 literal, percent-encoded, works; /flows shows the flow as udp; the identity
#    fields reach the log; a wrong URI template, a host name, port 0 and a request
#    without capsule-protocol get 400, a target tunnel_access does not allow 403; a
#    malformed capsule and a stream that ends inside one reset their stream; a stream
#    that never sends a capsule closes after udp_idle_timeout_ms while a busy one on the
#    same connection is undisturbed; the client's END_STREAM ends the flow cleanly;
#  - HTTP/1.1 over TLS: the Upgrade gets 101 with Capsule-Protocol, a datagram sent right
#    behind the request head and two more come back; a wrong template gets 400;
#  - every outcome counted in /metrics.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
"$HERMESCTL_BIN" certs init "$TMP/pki" --hosts client,server >/dev/null || die "hermesctl certs init failed"

# the echo server: each datagram back to its sender; b"BIG" gets 2000 bytes, then b"BIG-done"
bg echo s "$PY" -c '
import select, socket
socks = []
for fam, a in ((socket.AF_INET, "10.77.1.2"), (socket.AF_INET6, "fd77:1::2")):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((a, 5353))
    socks.append(s)
print("ready", flush=True)
while True:
    for s in select.select(socks, [], [])[0]:
        d, peer = s.recvfrom(65535)
        if d == b"BIG":
            s.sendto(b"B" * 2000, peer)
            d = b"BIG-done"
        s.sendto(d, peer)
'
wait_until 5 grep -q ready "$TMP/echo.log" || die "the UDP echo server did not start: $(cat "$TMP/echo.log")"

cat >"$TMP/hermes.yaml" <<YAML
tls: {cert: $TMP/pki/server.crt, key: $TMP/pki/server.key, ca: $TMP/pki/ca.crt}
tunnel: {udp_idle_timeout_ms: 1000}
tunnel_access:
  - {match: 10.77.1.2/32:5353, san: spiffe://hermes/client, action: allow}
  - {match: "fd77:1::2/128", action: allow}
YAML
start_hermesd -c "$TMP/hermes.yaml" --tunnel-listen 10.77.1.1:15008

masque() { ns_c "$PY" "$TESTBIN/masque.py" "$@"; }
out=$(masque h2 10.77.1.1 15008 "$TMP/pki" 127.0.0.1:15000 2>&1)
printf '%s\n' "$out"
out1=$(masque h1 10.77.1.1 15008 "$TMP/pki" 2>&1)
printf '%s\n' "$out1"
for check in settings_enable_connect_protocol a_status a_capsule_protocol a_roundtrip a_oversize_dropped \
	a_oversize_reply_dropped flows_proto_udp ipv6_roundtrip bad_template bad_host bad_port no_capsule_protocol \
	denied malformed_reset cut_capsule_reset idle_closed good_stream_undisturbed a_end; do
	assert_match "$out" "(^|$(printf '\n'))ok $check " "HTTP/2: $check"
done
for check in h1_status h1_capsule_protocol h1_roundtrip h1_bad_template; do
	assert_match "$out1" "(^|$(printf '\n'))ok $check " "HTTP/1.1: $check"
done
assert_file_match "$HERMESD_LOG" 'CONNECT-UDP 10\.77\.1\.2:5353 for uid 4242 pid - comm masquetest over h2, peer certificate' \
	"the request and its identity are logged"
assert_file_match "$HERMESD_LOG" 'CONNECT-UDP 10\.77\.1\.3:5353 .*refused: ' "the refusal is logged"
assert_file_match "$HERMESD_LOG" '400 Bad Request \(the path is not the URI template' "a wrong template's 400 says why"
# each stream's access line: protocol udp, its datagrams each way and its drops (stream
# a: the context-2 datagram and the oversize one each way)
assert_file_match "$HERMESD_LOG" ' comm=masquetest uid=4242 .* dst=10\.77\.1\.2:5353 action=connect-udp protocol=udp upstream=10\.77\.1\.2:5353 sent=[1-9][0-9]* received=[1-9][0-9]* datagrams_sent=1[0-9] datagrams_received=1[0-9] drops=3 duration_ms=[0-9]+ result=ok$' \
	"stream a's access line counts its datagrams and drops"

# counters (h2: a, six, the two malformed, the idle one; h1: one)
assert_eq 6 "$(stat_value hermes_tunnel_udp_streams_total)" "CONNECT-UDP streams accepted"
assert_ge 8 "$(stat_value hermes_tunnel_udp_datagrams_total 'direction="to_target"')" "datagrams to the target"
assert_ge 8 "$(stat_value hermes_tunnel_udp_datagrams_total 'direction="to_client"')" "datagrams to the client"
assert_ge 3300 "$(stat_value hermes_tunnel_udp_bytes_total 'direction="to_client"')" "payload bytes to the client (3+700+1400+8+3+6+9 keeps+6+6+1200)"
assert_eq 2 "$(stat_value hermes_tunnel_udp_drops_total 'reason="oversize"')" "oversize datagrams dropped, one each way"
assert_eq 1 "$(stat_value hermes_tunnel_udp_drops_total 'reason="context"')" "datagram for context 2 dropped"
assert_eq 1 "$(stat_value hermes_tunnel_udp_capsules_skipped_total)" "unknown capsule skipped"
assert_eq 2 "$(stat_value hermes_tunnel_udp_malformed_total)" "malformed capsules"
assert_ge 1 "$(stat_value hermes_tunnel_udp_idle_closes_total)" "idle streams closed (the silent one; the IPv6 one, quiet since its echo, too)"
assert_eq 5 "$(stat_value hermes_tunnel_errors_total 'status="400"')" "400s (four over h2, one over h1)"
assert_eq 1 "$(stat_value hermes_tunnel_errors_total 'status="403"')" "403 from tunnel_access"
pass
