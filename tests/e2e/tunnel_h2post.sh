#!/bin/bash
# tunnel_h2post: the `h2-post` tunnel protocol, for middleboxes that refuse CONNECT: the
# flow's bytes travel as the body of an HTTP/2 POST to the ingress hermesd's
# tunnel.post_path, and back as the response body. Checked over mutual TLS straight to
# the ingress, then through nghttpx as a plain HTTP/2 reverse proxy in the middle (an
# independent implementation that sees nothing but a POST). A POST to another path is
# not a tunnel but an explicit proxy request (for https://, not served: an error status),
# and the flow is reset.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
require_cmd nghttpx
"$HERMESCTL_BIN" certs init "$TMP/pki" --hosts client,server >/dev/null || die "hermesctl certs init failed"

cat >"$TMP/ingress.yaml" <<YAML
tls: {cert: $TMP/pki/server.crt, key: $TMP/pki/server.key, ca: $TMP/pki/ca.crt}
tunnel: {post_path: /hermes/tunnel}
YAML
start_peer_hermesd "$NS_S" s -c "$TMP/ingress.yaml" --tunnel-listen 10.77.1.2:15008
S_LOG=$PEER_LOG

client_cfg() { # PEER-MAPPING
	cat <<YAML
tls: {cert: $TMP/pki/client.crt, key: $TMP/pki/client.key, ca: $TMP/pki/ca.crt}
routes:
  - name: post
    match: [10.77.1.3/32]
    peers: [$1]
policy:
  - match: 10.77.1.3/32
    action: tunnel
YAML
}

# ---- straight to the ingress, over TLS
client_cfg '{address: 10.77.1.2:15008, protocol: h2-post, path: /hermes/tunnel, name: server}' >"$TMP/c1.yaml"
start_hermesd -c "$TMP/c1.yaml"
assert_match "$(hermesctl routes)" 'h2-posts://10\.77\.1\.2:15008/hermes/tunnel' "hermesctl routes shows the h2-post peer"
expect_page "curl through an h2-post tunnel over TLS" http://10.77.1.3/
wait_until 5 grep -q 'CONNECT 10.77.1.3:80 for uid 0 pid [0-9]* comm curl over h2' "$S_LOG" ||
	die "the ingress did not take the POST as a tunnel"
curl_app -o "$TMP/1m.out" http://10.77.1.3/1m.bin
[ "$CURL_RC" = 0 ] && cmp -s "$TMP/1m.out" "$TMP/nginx/www/1m.bin" || die "1 MiB through h2-post is not byte-exact"
say "ok: 1 MiB byte-exact through h2-post"
stop_hermesd

# ---- a POST to another path is no tunnel: the ingress takes it as an explicit proxy
# request (https://10.77.1.3:80/elsewhere) for its http action, which holds the
# never-ending body to buffer it for retries (retry.max_buffered_body) and answers it
# only at head_timeout_ms; the app's flow is reset when its tunnel setup times out (after
# one attempt of 1 s here, not three of 3 s: neither the app's curl nor the drain at the
# stop below waits for more)
{
	client_cfg '{address: 10.77.1.2:15008, protocol: h2-post, path: /elsewhere, name: server}'
	echo 'proxy: {connect_timeout_ms: 1000, connect_attempts: 1}'
} >"$TMP/c2.yaml"
start_hermesd -c "$TMP/c2.yaml"
CURL_MAX_TIME=4 curl_app -o /dev/null http://10.77.1.3/
[ "$CURL_RC" != 0 ] || die "a POST to a path that is not tunnel.post_path opened a tunnel"
wait_until 5 grep -qE 'http conn [0-9]+: POST https://10\.77\.1\.3:80/elsewhere route' "$S_LOG" ||
	die "the ingress did not take the POST to /elsewhere as a proxy request"
grep -qE 'CONNECT 10\.77\.1\.3:80 .*' <(sed -n '/elsewhere/,$p' "$S_LOG") &&
	die "the POST to /elsewhere became a tunnel"
say "ok: POST /elsewhere is a proxy request at the ingress, no tunnel; the app's curl failed (rc $CURL_RC)"
stop_hermesd

# ---- through nghttpx, a reverse proxy (h2c in front, h2 over TLS to the ingress)
bg nghttpx s nghttpx --conf=/dev/null --frontend='10.77.1.2,3000;no-tls' \
	--backend="10.77.1.2,15008;;proto=h2;tls;sni=server" --client-private-key-file="$TMP/pki/client.key" \
	--client-cert-file="$TMP/pki/client.crt" --cacert="$TMP/pki/ca.crt" --workers=1 --no-ocsp \
	--no-server-push --errorlog-file="$TMP/nghttpx-error.log" --accesslog-file="$TMP/nghttpx-access.log"
wait_tcp "$NS_S" 10.77.1.2 3000 || { cat "$TMP/nghttpx.log" "$TMP/nghttpx-error.log"; die "nghttpx did not start"; }
client_cfg '{address: 10.77.1.2:3000, protocol: h2-post, path: /hermes/tunnel, tls: false}' >"$TMP/c3.yaml"
start_hermesd -c "$TMP/c3.yaml"
expect_page "curl through h2-post via nghttpx" http://10.77.1.3/
curl_app -o "$TMP/1m.out" http://10.77.1.3/1m.bin
[ "$CURL_RC" = 0 ] && cmp -s "$TMP/1m.out" "$TMP/nginx/www/1m.bin" || die "1 MiB through nghttpx + h2-post is not byte-exact"
grep -q 'POST /hermes/tunnel' "$TMP/nghttpx-access.log" || die "nghttpx did not log the POST"
say "ok: nghttpx access log: $(grep 'POST /hermes/tunnel' "$TMP/nghttpx-access.log" | tail -n 1)"
pass
