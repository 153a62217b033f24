#!/bin/bash
# tunnel_multihop: three hosts, each with its own hermesd: client host A -> relay R ->
# server host C (nginx), over HTTP/2 CONNECT with mutual TLS on both hops, every hermesd
# deciding its own next hop. An unmodified curl on A gets the page and nginx sees C's
# hermesd; C logs A's uid and comm and R's certificate; 512 MiB (256 MiB against the
# sanitizer build: at least 256 times a stream's window, 16 times the listener's
# connection window) go up and down byte-exact; 1000 concurrent flows share one pooled
# connection per hop, and their first bytes go with each hop's CONNECT (optimistic data,
# A's and R's own); half-close and resets keep their meaning end to end; independent
# clients (python3-h2 over TLS and h2c, curl -p with HTTP/1.1 CONNECT) use R's tunnel
# listener; with R1 killed, new flows go through R2 with no error and the flows that
# were on R1 are reset, not hung.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

require_cmd socat openssl
topo_up
topo_add_relay
start_nginx

"$HERMESCTL_BIN" certs init "$TMP/pki" --hosts a,r1,r2,c >/dev/null || die "hermesctl certs init failed"
tls() { echo "tls: {cert: $TMP/pki/$1.crt, key: $TMP/pki/$1.key, ca: $TMP/pki/ca.crt}"; }

# C: the ingress; its hermesd dials 10.77.1.3 locally; port 80 is protected: only
# hermesd's own connections reach nginx
cat >"$TMP/c.yaml" <<YAML
$(tls c)
inbound: {protect: [80]}
http2: {max_concurrent_streams: 2000}
tunnel_access:
  - {match: 10.77.1.3/32, san: spiffe://hermes/r1, action: allow}
  - {match: 10.77.1.3/32, san: spiffe://hermes/r2, action: allow}
YAML
start_peer_hermesd "$NS_S" c -c "$TMP/c.yaml" --tunnel-listen 10.77.3.2:15008
C_LOG=$PEER_LOG

# R1 and R2: relays on the same host, two ports; each routes to C (R1 also serves the
# clear-text clients below: h2c and curl -p -x http://)
relay_cfg() {
	cat <<YAML
$(tls "$1")
tunnel: {h2_max_streams: 2000, allow_cleartext: true}
http2: {max_concurrent_streams: 2000}
routes:
  - name: to-c
    match: [10.77.1.3/32]
    peers: [{address: 10.77.3.2:15008, name: c}]
YAML
}
relay_cfg r1 >"$TMP/r1.yaml"
relay_cfg r2 >"$TMP/r2.yaml"
start_peer_hermesd "$NS_R" r1 -c "$TMP/r1.yaml" --tunnel-listen 10.77.2.2:15008
R1_PID=$PEER_PID
R1_LOG=$PEER_LOG
start_peer_hermesd "$NS_R" r2 -c "$TMP/r2.yaml" --tunnel-listen 10.77.2.2:15009 --admin 127.0.0.1:15010 \
	--listen 127.0.0.1:15011 --listen6 off

# A: the app's host
cat >"$TMP/a.yaml" <<YAML
$(tls a)
tunnel: {h2_max_streams: 2000}
routes:
  - name: via-relay
    match: [10.77.1.3/32]
    peers:
      - {address: 10.77.2.2:15008, name: r1}
      - {address: 10.77.2.2:15009, name: r2}
policy:
  - match: 10.77.1.3/32
    action: tunnel
YAML
start_hermesd -c "$TMP/a.yaml"

# ---- the page, through two hops
expect_page "curl on A through R1 and C" http://10.77.1.3/
client=$(nginx_last_client)
case $client in 10.77.1.1 | 10.77.2.*) die "nginx saw $client: the flow did not come from C's hermesd" ;; esac
say "ok: nginx saw $client (C's hermesd)"
wait_until 5 grep -q 'CONNECT 10.77.1.3:80 for uid 0 pid [0-9]* comm curl over h2, peer certificate r1' "$C_LOG" ||
	{ grep CONNECT "$C_LOG" | tail -n 3; die "C did not log A's identity and R1's certificate"; }
say "ok: C's log: $(grep -o 'CONNECT 10.77.1.3:80 for uid .*' "$C_LOG" | tail -n 1)"
before=$(wc -l <"$NGINX_ACCESS_LOG")
ns_c curl -s -o /dev/null --max-time 5 http://10.77.1.3/ && die "a direct connection from A to C's protected port 80 got through"
assert_eq "$before" "$(wc -l <"$NGINX_ACCESS_LOG")" "the direct connection to the protected port reached nothing"
assert_ge 1 "$(peer_stat "$NS_S" 127.0.0.1:15000 hermes_inbound_refused_total)" "C refused it"

# ---- 512 MiB (SAN: 256 MiB) each way, byte-exact
SIZE=${BULK_SIZE:-$(by_build 536870912 268435456)}
GEN=$(keystream "$SIZE")
want=$(sh -c "$GEN" | $SHA256 | awk '{ print $1 }')
bg up-server s sh -c 'socat -u TCP-LISTEN:9000,bind=10.77.1.3,reuseaddr - | $2 > "$1"; echo done >> "$1.done"' _ "$TMP/up.sha" "$SHA256"
# (not wait_tcp: socat serves one connection)
wait_until 10 ns_s sh -c 'ss -Hltn "sport = :9000" | grep -q .' || die "upload server not listening"
t0=$(now_ms)
in_app timeout 200 sh -c "$GEN | socat -u - TCP:10.77.1.3:9000" || die "upload client failed"
wait_until 60 test -s "$TMP/up.sha.done" || die "the upload's end did not reach the server"
ms=$(($(now_ms) - t0))
assert_eq "$want" "$(awk '{ print $1 }' "$TMP/up.sha")" "upload sha256 at the server"
say "upload: $SIZE bytes in $ms ms ($((SIZE * 1000 / 1048576 / (ms + 1))) MiB/s) through 2 TLS hops"
bg down-server s sh -c "$GEN | socat -u - TCP-LISTEN:9001,bind=10.77.1.3,reuseaddr"
wait_until 10 ns_s sh -c 'ss -Hltn "sport = :9001" | grep -q .' || die "download server not listening"
t0=$(now_ms)
got=$(in_app sh -c "timeout 200 socat -u TCP:10.77.1.3:9001 - | $SHA256") || die "download client failed"
ms=$(($(now_ms) - t0))
assert_eq "$want" "${got%% *}" "download sha256 at the app"
say "download: $SIZE bytes in $ms ms ($((SIZE * 1000 / 1048576 / (ms + 1))) MiB/s) through 2 TLS hops"

# ---- 1000 concurrent flows over the pooled connections
bg echo s "$PY" "$TESTBIN/hnet.py" serve-echo 10.77.1.3 9100 --deadline 120
wait_tcp "$NS_S" 10.77.1.3 9100 || die "echo server not listening"
out=$(in_app "$PY" "$TESTBIN/hnet.py" concurrent 10.77.1.3 9100 1000 --timeout 60) || die "1000 flows: $out"
say "ok: 1000 concurrent flows: $out"
assert_eq 1 "$(stat_value hermes_tunnel_sessions_opened_total)" "A carried every flow on one connection to R1"
assert_eq 1 "$(peer_stat "$NS_R" 127.0.0.1:15000 'hermes_tunnel_sessions{direction="out"}')" \
	"R1 carried them on one connection to C"
# optimistic data (tunnel.optimistic_data) on both hops: a relay hop sends on what its
# client sent before R1's answer, with its own CONNECT, before C answered
assert_ge 1 "$(stat_value hermes_tunnel_optimistic_total 'outcome="sent"')" "A sent first bytes with its CONNECTs"
assert_ge 1 "$(peer_stat "$NS_R" 127.0.0.1:15000 'hermes_tunnel_optimistic_total{outcome="sent"}')" \
	"R1 passed first bytes on with its own CONNECTs, before C answered"

# ---- half-close and resets, end to end
close_scenarios 10.77.1.3 9500 "through two h2 hops" client-first upstream-first server-rst client-rst slow-reader

# ---- independent clients on R1's tunnel listener
out=$(ns_c "$PY" "$TESTBIN/h2connect.py" 10.77.2.2 15008 --tls --ca "$TMP/pki/ca.crt" --cert "$TMP/pki/a.crt" \
	--key "$TMP/pki/a.key" --sni r1 --target 10.77.1.3:80 --path /1m.bin --streams 20 \
	--expect-file "$TMP/nginx/www/1m.bin" --timeout 30 2>&1) || die "python3-h2 over TLS: $out"
say "ok: python3-h2 client, 20 CONNECT streams over TLS to R1: $(printf '%s' "$out" | tail -n 1)"
out=$(ns_c "$PY" "$TESTBIN/h2connect.py" 10.77.2.2 15008 --target 10.77.1.3:80 --streams 5 --timeout 30 2>&1) ||
	die "python3-h2 h2c: $out"
say "ok: python3-h2 client, h2c prior knowledge: $(printf '%s' "$out" | tail -n 1)"
out=$(ns_c "$PY" "$TESTBIN/h2connect.py" 10.77.2.2 15008 --target 10.77.1.3:9 --expect-status 502 --timeout 30 2>&1) ||
	die "python3-h2, closed port: $out"
say "ok: a closed target port is 502 for the python3-h2 client"
ns_c curl -s -o "$TMP/p.out" --max-time 10 -p -x http://10.77.2.2:15008 http://10.77.1.3/ || die "curl -p -x R1 failed"
grep -qF "$NGINX_PAGE" "$TMP/p.out" || die "curl -p -x R1: wrong page"
say "ok: curl -p -x http://R1:15008 (HTTP/1.1 CONNECT, relayed over h2 to C)"

# ---- failover: R1 killed
bg slow s "$PY" "$TESTBIN/hnet.py" serve-slow 10.77.1.3 9200 --delay 30 --bytes 1000
wait_until 10 ns_s sh -c 'ss -Hltn "sport = :9200" | grep -q .' || die "slow server not listening"
bg held app "$PY" "$TESTBIN/hnet.py" recv 10.77.1.3 9200 --timeout 60
held=$BG_PID
wait_until 10 grep -q connected "$TMP/held.log" || die "the long flow did not start"
sleep 0.5
kill -KILL "$R1_PID"
say "R1 (pid $R1_PID) killed"
t0=$(now_ms)
wait_until 10 sh -c "! kill -0 $held 2>/dev/null" || die "the flow that was on R1 hangs after R1 died"
wait "$held"
hrc=$?
say "ok: the flow that was on R1 ended $(($(now_ms) - t0)) ms after the kill (exit $hrc): $(tail -n 1 "$TMP/held.log")"
[ "$hrc" != 0 ] || die "the flow that was on R1 looked complete although R1 died"
for i in 1 2 3; do
	expect_page "new flow $i after R1 died" http://10.77.1.3/
done
wait_until 5 grep -q 'peer certificate r2' "$C_LOG" || die "C saw no flow from R2"
say "ok: C now sees flows from R2"
pass "A -> R -> C over h2/mTLS: identity, $((SIZE >> 20)) MiB both ways, 1000 pooled flows, close semantics, interop, failover"
