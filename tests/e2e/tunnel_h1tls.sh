#!/bin/bash
# tunnel_h1tls: HTTP/1.1 CONNECT over TLS 1.3 (one flow per connection, client
# certificates both ways). curl as an HTTPS proxy client (an independent
# implementation) reaches nginx through the ingress hermesd's tunnel listener; the
# `tunnel` action with an `h1` peer and `tls: true` carries an unmodified curl's flow,
# its identity is logged, 1 MiB arrives byte-exact, half-close and resets keep their
# meaning, and a client without a certificate is refused.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
"$HERMESCTL_BIN" certs init "$TMP/pki" --hosts client,server >/dev/null || die "hermesctl certs init failed"

cat >"$TMP/ingress.yaml" <<YAML
tls: {cert: $TMP/pki/server.crt, key: $TMP/pki/server.key, ca: $TMP/pki/ca.crt}
YAML
start_peer_hermesd "$NS_S" s -c "$TMP/ingress.yaml" --tunnel-listen 10.77.1.2:15008
S_LOG=$PEER_LOG

# ---- curl as an HTTPS proxy client (ALPN http/1.1)
proxy_tls=(--proxy-cacert "$TMP/pki/ca.crt" --proxy-cert "$TMP/pki/client.crt" --proxy-key "$TMP/pki/client.key")
ns_c curl -s -o "$TMP/p.out" --max-time 10 -p -x https://server:15008 --resolve server:15008:10.77.1.2 \
	"${proxy_tls[@]}" http://10.77.1.3/ || die "curl -p -x https://ingress failed"
grep -qF "$NGINX_PAGE" "$TMP/p.out" || die "curl -p -x https://ingress: wrong page"
wait_until 5 grep -q 'TLS 1.3 up (HTTP/1.1), peer client' "$S_LOG" || die "the ingress did not log an HTTP/1.1 TLS session"
say "ok: curl -p -x https://ingress:15008 (HTTP/1.1 CONNECT over mutual TLS)"
ns_c curl -s -o /dev/null --max-time 10 -p -x https://server:15008 --resolve server:15008:10.77.1.2 \
	--proxy-cacert "$TMP/pki/ca.crt" http://10.77.1.3/ && die "a proxy client without a certificate got through"
say "ok: without a client certificate the handshake fails"

# ---- the tunnel action with an h1 peer over TLS
cat >"$TMP/client.yaml" <<YAML
tls: {cert: $TMP/pki/client.crt, key: $TMP/pki/client.key, ca: $TMP/pki/ca.crt}
routes:
  - name: to-server
    match: [10.77.1.3/32]
    peers: [{address: 10.77.1.2:15008, protocol: h1, tls: true, name: server}]
policy:
  - match: 10.77.1.3/32
    action: tunnel
YAML
start_hermesd -c "$TMP/client.yaml"
assert_match "$(hermesctl routes)" 'h1s://10\.77\.1\.2:15008' "hermesctl routes shows the h1 TLS peer"
expect_page "curl through HTTP/1.1 CONNECT over TLS" http://10.77.1.3/
wait_until 5 grep -q 'CONNECT 10.77.1.3:80 for uid 0 pid [0-9]* comm curl over TLS, peer certificate client' "$S_LOG" ||
	{ grep CONNECT "$S_LOG" | tail -n 3; die "the ingress did not log the app's identity and the certificate"; }
say "ok: ingress log: $(grep -o 'CONNECT 10.77.1.3:80 for uid .*' "$S_LOG" | tail -n 1)"
curl_app -o "$TMP/1m.out" http://10.77.1.3/1m.bin
[ "$CURL_RC" = 0 ] && cmp -s "$TMP/1m.out" "$TMP/nginx/www/1m.bin" || die "1 MiB through h1 over TLS is not byte-exact"
say "ok: 1 MiB byte-exact"

close_scenarios 10.77.1.3 9500 "over h1+TLS" client-first upstream-first server-rst client-rst slow-reader
pass
