#!/bin/bash
# tunnel_h2: the `tunnel` action over HTTP/2 CONNECT (RFC 9113 8.5) between two hermesd.
# First in clear text (h2c, prior knowledge), then over TLS 1.3 with client certificates:
# an unmodified curl reaches nginx through the server host's hermesd; the ingress logs
# the app's identity (and, with TLS, the client certificate's name); 40 concurrent flows
# share one pooled connection; a stalled reader on one stream does not hold back another
# stream of the same connection; 1 MiB arrives byte-exact; tunnel_access can require a
# certificate name (san), and a refusal is a 403 that fails over to nothing (reset); a
# peer whose certificate does not carry the expected name fails the handshake and the
# next peer takes the flow; the bandwidth threshold opens a second pooled connection;
# certificates from another CA, or expired, are refused.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx "$NS_S" 10.77.1.2:80 10.77.1.3:80 10.77.1.3:8080 10.77.1.3:8081

# our CA with client and server certificates, another CA's client, and an expired one
for d in pki:client,server evil:client; do
	"$HERMESCTL_BIN" certs init "$TMP/${d%%:*}" --hosts "${d#*:}" >/dev/null || die "hermesctl certs init ${d%%:*} failed"
done
"$HERMESCTL_BIN" certs init "$TMP/old" --hosts client --expired >/dev/null || die "hermesctl certs init --expired failed"

S_ADMIN=127.0.0.1:15000
# the h2c part below reaches the same listener in clear text
cat >"$TMP/ingress.yaml" <<YAML
tls: {cert: $TMP/pki/server.crt, key: $TMP/pki/server.key, ca: $TMP/pki/ca.crt}
tunnel: {allow_cleartext: true}
tunnel_access:
  - match: 10.77.1.3/32:8080
    san: spiffe://hermes/nobody
    action: allow
  - match: 10.77.1.3/32:8081
    san: spiffe://hermes/client
    action: allow
  - match: 10.77.1.3/32:80
    action: allow
  - match: 10.77.1.3/32:9601
    action: allow
YAML
start_peer_hermesd "$NS_S" s -c "$TMP/ingress.yaml" --tunnel-listen 10.77.1.2:15008
S_LOG=$PEER_LOG
S_PID_INGRESS=$PEER_PID

# ---- h2c
cat >"$TMP/client.yaml" <<YAML
routes:
  - name: to-server
    match: [10.77.1.3/32]
    protocol: h2c
    peers: [10.77.1.2:15008]
policy:
  - match: 10.77.1.3/32
    action: tunnel
YAML
start_hermesd -c "$TMP/client.yaml"
assert_match "$(hermesctl routes)" 'h2c://10\.77\.1\.2:15008' "hermesctl routes shows the h2c peer"

expect_page "curl through an h2c tunnel" http://10.77.1.3/
client=$(nginx_last_client)
[ "$client" = 10.77.1.3 ] || [ "$client" = 10.77.1.2 ] || die "nginx saw $client, not the server host's hermesd"
wait_until 5 grep -q 'CONNECT 10.77.1.3:80 for uid 0 pid [0-9]* comm curl over h2' "$S_LOG" ||
	{ grep CONNECT "$S_LOG" | tail -n 3; die "the ingress did not log the app's identity for the h2 stream"; }
say "ok: ingress log: $(grep -o 'CONNECT 10.77.1.3:80 for uid .*' "$S_LOG" | tail -n 1)"

curl_app -o "$TMP/1m.out" http://10.77.1.3/1m.bin
[ "$CURL_RC" = 0 ] && cmp -s "$TMP/1m.out" "$TMP/nginx/www/1m.bin" || die "1 MiB through the h2c tunnel is not byte-exact"
say "ok: 1 MiB byte-exact through h2c"

# 40 concurrent flows: one pooled connection carries them all
pids=()
for i in $(seq 40); do
	in_app curl -s -o "$TMP/c$i.out" --max-time 20 http://10.77.1.3/1m.bin &
	pids+=($!)
done
bad=0
for i in $(seq 40); do
	wait "${pids[$((i - 1))]}" || bad=$((bad + 1))
	cmp -s "$TMP/c$i.out" "$TMP/nginx/www/1m.bin" || bad=$((bad + 1))
done
assert_eq 0 "$bad" "40 concurrent 1 MiB flows through h2c arrive intact"
assert_eq 1 "$(stat_value hermes_tunnel_sessions_opened_total)" "all flows used one pooled connection"
assert_ge 42 "$(stat_value hermes_tunnel_streams_total)" "each flow was a stream"
assert_eq 0 "$(stat_value hermes_upstream_unreachable_total)" "no flow failed"

# no head-of-line blocking: a flow whose reader stalls (64 MiB in flight, read only when
# $TMP/hol.go appears) shares the connection with a 1 MiB download that must not wait for
# it. The download completes while the stall still holds: an order, not a time (it was
# "under 1.5 s beside a 2 s stall", which a loaded machine can miss without any blocking).
bg slowsrv s "$PY" "$TESTBIN/closes.py" server 10.77.1.3 9601 slow-reader
wait_until 10 grep -q listening "$TMP/slowsrv.log" || die "slow-reader server did not start"
bg slowcli app timeout 60 "$PY" "$TESTBIN/closes.py" client 10.77.1.3 9601 slow-reader "$TMP/hol.go"
slowcli=$BG_PID
wait_until 10 grep -q stalled "$TMP/slowcli.log" || die "the stalled reader did not connect: $(cat "$TMP/slowcli.log")"
sleep 0.5 # the 64 MiB fill the stalled stream's window (if they have not yet, this passes anyway)
curl_app -o "$TMP/hol.out" --max-time 20 http://10.77.1.3/1m.bin
ms=$CURL_MS
[ "$CURL_RC" = 0 ] && cmp -s "$TMP/hol.out" "$TMP/nginx/www/1m.bin" ||
	die "a stalled stream held back another stream (curl exit $CURL_RC after $ms ms)"
assert_eq 0 "$(grep -c 'client' "$TMP/slowcli.log")" "the stalled reader had read nothing when the download completed"
touch "$TMP/hol.go"
say "the 1 MiB download beside a stalled stream took $ms ms"
assert_eq 1 "$(stat_value hermes_tunnel_sessions_opened_total)" "both flows were streams of one connection"
wait "$slowcli" || die "the stalled reader's flow lost bytes: $(cat "$TMP/slowcli.log")"
say "ok: no head-of-line blocking ($(cat "$TMP/slowcli.log"))"
stop_hermesd

# ---- h2 over TLS 1.3 with client certificates; the first peer is expected to carry the
# name "nobody": its handshake fails and the second peer (the same listener, "server")
# takes the flow before the app notices
cat >"$TMP/client-tls.yaml" <<YAML
tls: {cert: $TMP/pki/client.crt, key: $TMP/pki/client.key, ca: $TMP/pki/ca.crt}
tunnel: {h2_pool_mbps: 50, h2_stream_window_bytes: 1048576}
routes:
  - name: to-server
    match: [10.77.1.3/32]
    peers:
      - {address: 10.77.1.2:15008, name: nobody}
      - {address: 10.77.1.2:15008, name: server}
policy:
  - match: 10.77.1.3/32
    action: tunnel
YAML
start_hermesd -c "$TMP/client-tls.yaml"
assert_match "$(hermesctl routes)" 'h2://10\.77\.1\.2:15008' "hermesctl routes shows the TLS peer"
expect_page "curl through an h2 tunnel over mutual TLS" http://10.77.1.3/
assert_ge 1 "$(stat_value hermes_tunnel_tls_failures_total)" "the peer with the wrong certificate name failed its handshake"
grep -q 'TLS handshake failed: certificate verify failed' "$HERMESD_LOG" || die "the client did not log why the handshake failed"
say "ok: $(grep -o 'TLS handshake failed: certificate verify failed.*' "$HERMESD_LOG" | tail -n 1)"
wait_until 5 grep -q 'comm curl over h2, peer certificate server\|comm curl over h2, peer certificate client' "$S_LOG" ||
	{ grep CONNECT "$S_LOG" | tail -n 3; die "the ingress did not log the client certificate"; }
say "ok: ingress log: $(grep -o 'CONNECT 10.77.1.3:80 for uid .*' "$S_LOG" | tail -n 1)"
curl_app -o "$TMP/1m.out" http://10.77.1.3/1m.bin
[ "$CURL_RC" = 0 ] && cmp -s "$TMP/1m.out" "$TMP/nginx/www/1m.bin" || die "1 MiB through the TLS tunnel is not byte-exact"
say "ok: 1 MiB byte-exact through h2 over TLS"
# a download at 160 Mbit/s keeps the pooled connection above h2_pool_mbps (50): the next
# flow gets a connection of its own (with 1 MiB stream windows the connection moves at
# the reader's rate; with the default 32 MiB the peer sends most of the 48 MiB at once and
# the connection is quiet by the time the next flow comes)
head -c $((48 << 20)) /dev/zero >"$TMP/nginx/www/48m.bin"
bg busy app curl -s -o /dev/null --max-time 20 --limit-rate 20M http://10.77.1.3/48m.bin
busy=$BG_PID
sleep 1.5
opened=$(stat_value hermes_tunnel_sessions_opened_total)
expect_page "a flow beside a busy one" http://10.77.1.3/
assert_ge "$((opened + 1))" "$(stat_value hermes_tunnel_sessions_opened_total)" \
	"the busy pooled connection took no new flow (h2_pool_mbps 50)"
wait "$busy" || die "the busy download failed"

# tunnel_access: :8081 is for certificates naming spiffe://hermes/client (ours), :8080
# for spiffe://hermes/nobody -> 403 (nginx listens on both)
curl_app -o "$TMP/8081.out" http://10.77.1.3:8081/
[ "$CURL_RC" = 0 ] && grep -qF "$NGINX_PAGE" "$TMP/8081.out" || die "the san rule for our certificate did not let :8081 through"
say "ok: tunnel_access san spiffe://hermes/client let :8081 through"
before=$(wc -l <"$NGINX_ACCESS_LOG")
curl_app -o /dev/null http://10.77.1.3:8080/
[ "$CURL_RC" != 0 ] || die "a destination whose san rule the certificate does not meet was reached"
assert_eq "$before" "$(wc -l <"$NGINX_ACCESS_LOG")" "nothing reached nginx on :8080"
wait_until 5 grep -q 'CONNECT 10.77.1.3:8080 .* refused' "$S_LOG" || die "no refusal logged for :8080"
say "ok: $(grep -o 'CONNECT 10.77.1.3:8080 .* refused.*' "$S_LOG" | tail -n 1)"
stop_hermesd

# client_with DIR: a client config with the certificate DIR/client.* (trusting our CA)
client_with() {
	cat <<YAML
tls: {cert: $1/client.crt, key: $1/client.key, ca: $TMP/pki/ca.crt}
routes:
  - name: to-server
    match: [10.77.1.3/32]
    peers: [10.77.1.2:15008]
policy:
  - match: 10.77.1.3/32
    action: tunnel
YAML
}

# a client certificate from another CA: the handshake fails on both sides, no flow passes
client_with "$TMP/evil" >"$TMP/client-evil.yaml"
start_hermesd -c "$TMP/client-evil.yaml"
before=$(wc -l <"$NGINX_ACCESS_LOG")
curl_app -o /dev/null http://10.77.1.3/
[ "$CURL_RC" != 0 ] || die "a client with a certificate from another CA got through"
assert_eq "$before" "$(wc -l <"$NGINX_ACCESS_LOG")" "nothing reached nginx"
wait_until 5 grep -q 'TLS handshake failed' "$S_LOG" || die "the ingress did not log the failed handshake"
say "ok: ingress: $(grep -o 'TLS handshake failed.*' "$S_LOG" | tail -n 1)"
assert_ge 1 "$(peer_stat "$NS_S" "$S_ADMIN" hermes_tunnel_tls_failures_total)" "the ingress counted it"
stop_hermesd

# an expired client certificate from the right CA: refused, and the log says why
client_with "$TMP/old" >"$TMP/client-old.yaml"
cat "$TMP/old/ca.crt" >>"$TMP/pki/ca.crt" # the ingress trusts this CA too: only the date is wrong
# the ingress loaded its CA file at start: restart it to read the second CA
stop_pid "$S_PID_INGRESS" TERM 10
start_peer_hermesd "$NS_S" s -c "$TMP/ingress.yaml" --tunnel-listen 10.77.1.2:15008
S_LOG=$PEER_LOG
start_hermesd -c "$TMP/client-old.yaml"
curl_app -o /dev/null http://10.77.1.3/
[ "$CURL_RC" != 0 ] || die "a client with an expired certificate got through"
wait_until 5 grep -q 'TLS handshake failed: certificate verify failed: certificate has expired' "$S_LOG" ||
	{ grep 'TLS handshake' "$S_LOG" | tail -n 2; die "the ingress did not log the expired certificate"; }
say "ok: expired: $(grep -o 'TLS handshake failed: certificate verify failed.*' "$S_LOG" | tail -n 1)"
pass
