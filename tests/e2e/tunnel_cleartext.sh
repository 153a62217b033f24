#!/bin/bash
# tunnel_cleartext: with a tls section, the tunnel listener serves mutual TLS only. On an
# ingress hermesd with certificates, a clear-text HTTP/1.1 CONNECT (curl -p -x http://)
# and a clear-text proxy request (curl -x http://) get 403, an h2c client (python3-h2,
# prior knowledge) gets GOAWAY INADEQUATE_SECURITY, each logged at warn and counted in
# hermes_tunnel_cleartext_refused_total; curl -p -x https:// with a client certificate
# still gets the page. After `tunnel: {allow_cleartext: true}` and a SIGHUP the same
# clear-text clients get through.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
"$HERMESCTL_BIN" certs init "$TMP/pki" --hosts client,server >/dev/null || die "hermesctl certs init failed"

write_cfg() {
	cat >"$TMP/ingress.yaml" <<YAML
tls: {cert: $TMP/pki/server.crt, key: $TMP/pki/server.key, ca: $TMP/pki/ca.crt}
tunnel: {allow_cleartext: $1}
YAML
}
write_cfg false
start_peer_hermesd "$NS_S" s -c "$TMP/ingress.yaml" --tunnel-listen 10.77.1.2:15008
S_LOG=$PEER_LOG
refused() { peer_stat "$NS_S" 127.0.0.1:15000 "hermes_tunnel_cleartext_refused_total{protocol=\"$1\"}"; }

# ---- refused: clear-text CONNECT, clear-text proxy request, h2c
code=$(ns_c curl -s -o /dev/null -w '%{http_connect}' --max-time 5 -p -x http://10.77.1.2:15008 http://10.77.1.3/)
assert_eq 403 "$code" "clear-text CONNECT (curl -p -x http://) is answered 403"
code=$(ns_c curl -s -o "$TMP/fwd.out" -w '%{http_code}' --max-time 5 -x http://10.77.1.2:15008 http://10.77.1.3/)
assert_eq 403 "$code" "a clear-text proxy request (curl -x http://) is answered 403"
assert_file_match "$TMP/fwd.out" 'serves TLS only' "the 403 says why"
out=$(ns_c "$PY" "$TESTBIN/h2connect.py" 10.77.1.2 15008 --target 10.77.1.3:80 --timeout 5 2>&1) &&
	die "an h2c client got a tunnel: $out"
assert_match "$out" 'INADEQUATE_SECURITY|TLS required' "the h2c client was told GOAWAY INADEQUATE_SECURITY"
say "ok: h2c refused: $(printf '%s' "$out" | tail -n 1)"
assert_eq 2 "$(refused http1)" "two clear-text HTTP/1.1 connections counted"
assert_eq 1 "$(refused h2c)" "one h2c connection counted"
assert_eq 3 "$(grep -c ' warn hermesd: .*refused: clear-text' "$S_LOG")" "each refusal logged at warn"
grep 'refused: clear-text' "$S_LOG" | tail -n 1

# ---- mutual TLS still works on the same port
ns_c curl -s -o "$TMP/p.out" --max-time 10 -p -x https://server:15008 --resolve server:15008:10.77.1.2 \
	--proxy-cacert "$TMP/pki/ca.crt" --proxy-cert "$TMP/pki/client.crt" --proxy-key "$TMP/pki/client.key" \
	http://10.77.1.3/ || die "curl -p -x https://ingress with a client certificate failed"
grep -qF "$NGINX_PAGE" "$TMP/p.out" || die "curl -p -x https://ingress: wrong page"
say "ok: HTTP/1.1 CONNECT over mutual TLS still gets the page"

# ---- allowed with tunnel.allow_cleartext: true (a reload)
write_cfg true
kill -HUP "$PEER_PID"
wait_until 5 grep -q 'SIGHUP: reloaded' "$S_LOG" || die "the ingress did not reload"
ns_c curl -s -o "$TMP/c.out" --max-time 10 -p -x http://10.77.1.2:15008 http://10.77.1.3/ ||
	die "clear-text CONNECT failed with allow_cleartext: true"
grep -qF "$NGINX_PAGE" "$TMP/c.out" || die "clear-text CONNECT: wrong page"
out=$(ns_c "$PY" "$TESTBIN/h2connect.py" 10.77.1.2 15008 --target 10.77.1.3:80 --streams 2 --timeout 10 2>&1) ||
	die "h2c with allow_cleartext: true: $out"
say "ok: with allow_cleartext: true, clear-text CONNECT and h2c get through ($(printf '%s' "$out" | tail -n 1))"
assert_eq 2 "$(refused http1)" "nothing more refused"
pass "clear text refused on a TLS tunnel listener (403, GOAWAY), counted and logged; mTLS works; allow_cleartext lets it in"
