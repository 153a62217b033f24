#!/bin/bash
# tunnel_h2: the `tunnel` action over HTTP/2 CONNECT (RFC 9113 8.5) between two hermesd.
# First in clear text (h2c, prior knowledge), then over TLS 1.3 with client certificates:
# an unmodified curl reaches nginx through the server host's hermesd; the ingress logs
# the app's identity (and, with TLS, the client certificate's name); 40 concurrent flows
# share one pooled connection; 1 MiB arrives byte-exact; tunnel_access can require a
# certificate name (san), and a refusal is a 403 that fails over to nothing (reset).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
require_cmd openssl

# a CA and host certificates (hermesctl certs init makes the same; openssl keeps this
# test independent of it)
mkcerts() {
	local d=$1 h
	shift
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=test CA $ID" \
		-keyout "$d/ca.key" -out "$d/ca.crt" -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=keyCertSign,cRLSign 2>/dev/null || die "openssl: CA"
	for h in "$@"; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$h" \
			-keyout "$d/$h.key" -out "$d/$h.csr" 2>/dev/null || die "openssl: $h key"
		printf 'subjectAltName=DNS:%s,URI:spiffe://hermes/%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$h" "$h" >"$d/$h.ext"
		openssl x509 -req -in "$d/$h.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
			-extfile "$d/$h.ext" -out "$d/$h.crt" 2>/dev/null || die "openssl: $h cert"
	done
}
mkcerts "$TMP/pki" client server
mkcerts "$TMP/evil" client

S_ADMIN=127.0.0.1:15000
cat >"$TMP/ingress.yaml" <<YAML
tls: {cert: $TMP/pki/server.crt, key: $TMP/pki/server.key, ca: $TMP/pki/ca.crt}
tunnel_access:
  - match: 10.77.1.3/32:8080
    san: spiffe://hermes/nobody
    action: allow
  - match: 10.77.1.3/32:8081
    san: spiffe://hermes/client
    action: allow
  - match: 10.77.1.3/32:80
    action: allow
YAML
start_peer_hermesd "$NS_S" s -c "$TMP/ingress.yaml" --tunnel-listen 10.77.1.2:15008
S_LOG=$PEER_LOG

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
stop_hermesd

# ---- h2 over TLS 1.3 with client certificates
cat >"$TMP/client-tls.yaml" <<YAML
tls: {cert: $TMP/pki/client.crt, key: $TMP/pki/client.key, ca: $TMP/pki/ca.crt}
routes:
  - name: to-server
    match: [10.77.1.3/32]
    peers:
      - {address: 10.77.1.2:15008, name: server}
policy:
  - match: 10.77.1.3/32
    action: tunnel
YAML
start_hermesd -c "$TMP/client-tls.yaml"
assert_match "$(hermesctl routes)" 'h2://10\.77\.1\.2:15008' "hermesctl routes shows the TLS peer"
expect_page "curl through an h2 tunnel over mutual TLS" http://10.77.1.3/
wait_until 5 grep -q 'comm curl over h2, peer certificate server\|comm curl over h2, peer certificate client' "$S_LOG" ||
	{ grep CONNECT "$S_LOG" | tail -n 3; die "the ingress did not log the client certificate"; }
say "ok: ingress log: $(grep -o 'CONNECT 10.77.1.3:80 for uid .*' "$S_LOG" | tail -n 1)"
curl_app -o "$TMP/1m.out" http://10.77.1.3/1m.bin
[ "$CURL_RC" = 0 ] && cmp -s "$TMP/1m.out" "$TMP/nginx/www/1m.bin" || die "1 MiB through the TLS tunnel is not byte-exact"
say "ok: 1 MiB byte-exact through h2 over TLS"

# tunnel_access: :8081 is for certificates naming spiffe://hermes/client (ours), :8080
# for spiffe://hermes/nobody -> 403
for port in 8080 8081; do
	ns_s sh -c "socat TCP-LISTEN:$port,bind=10.77.1.3,fork,reuseaddr SYSTEM:'echo reached' >/dev/null 2>&1 & echo \$! >$TMP/socat.pid"
	PIDS+=("$(cat "$TMP/socat.pid")")
	wait_tcp "$NS_S" 10.77.1.3 "$port" || die "socat on :$port did not start"
done
curl_app --http0.9 -o "$TMP/8081.out" http://10.77.1.3:8081/
[ "$CURL_RC" = 0 ] && grep -q reached "$TMP/8081.out" || die "the san rule for our certificate did not let :8081 through"
say "ok: tunnel_access san spiffe://hermes/client let :8081 through"
curl_app --http0.9 -o /dev/null http://10.77.1.3:8080/
[ "$CURL_RC" != 0 ] || die "a destination whose san rule the certificate does not meet was reached"
wait_until 5 grep -q 'CONNECT 10.77.1.3:8080 .* refused' "$S_LOG" || die "no refusal logged for :8080"
say "ok: $(grep -o 'CONNECT 10.77.1.3:8080 .* refused.*' "$S_LOG" | tail -n 1)"
stop_hermesd

# a client certificate from another CA: the handshake fails on both sides, no flow passes
cat >"$TMP/client-evil.yaml" <<YAML
tls: {cert: $TMP/evil/client.crt, key: $TMP/evil/client.key, ca: $TMP/pki/ca.crt}
routes:
  - name: to-server
    match: [10.77.1.3/32]
    peers: [10.77.1.2:15008]
policy:
  - match: 10.77.1.3/32
    action: tunnel
YAML
start_hermesd -c "$TMP/client-evil.yaml"
before=$(wc -l <"$NGINX_ACCESS_LOG")
curl_app -o /dev/null http://10.77.1.3/
[ "$CURL_RC" != 0 ] || die "a client with a certificate from another CA got through"
assert_eq "$before" "$(wc -l <"$NGINX_ACCESS_LOG")" "nothing reached nginx"
wait_until 5 grep -q 'TLS handshake failed' "$S_LOG" || die "the ingress did not log the failed handshake"
say "ok: ingress: $(grep -o 'TLS handshake failed.*' "$S_LOG" | tail -n 1)"
assert_ge 1 "$(peer_stat "$NS_S" "$S_ADMIN" hermes_tunnel_tls_failures_total)" "the ingress counted it"
pass
