#!/bin/bash
# certs_reload: certificate rotation with SIGHUP. The ingress hermesd's tls files are
# overwritten with a new CA and certificates and the process gets SIGHUP: new TLS
# connections get the new certificates (curl as an HTTPS proxy client trusts only the new
# CA now, and the old client certificate is refused), an upload started before the
# rotation and finished after it is echoed byte-exact on its old TLS session, and a broken set (a key that does
# not match its certificate) fails the reload and keeps the running certificates.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
"$HERMESCTL_BIN" certs init "$TMP/pki1" --hosts client,server >/dev/null || die "hermesctl certs init (1) failed"
"$HERMESCTL_BIN" certs init "$TMP/pki2" --hosts client,server >/dev/null || die "hermesctl certs init (2) failed"
mkdir -p "$TMP/live"
cp "$TMP/pki1/server.crt" "$TMP/pki1/server.key" "$TMP/pki1/ca.crt" "$TMP/live/"

cat >"$TMP/ingress.yaml" <<YAML
tls: {cert: $TMP/live/server.crt, key: $TMP/live/server.key, ca: $TMP/live/ca.crt}
YAML
start_peer_hermesd "$NS_S" s -c "$TMP/ingress.yaml" --tunnel-listen 10.77.1.2:15008
S_LOG=$PEER_LOG S_PID=$PEER_PID

# via_proxy PKI [CURL ARGS...]: curl through the ingress as an HTTPS proxy client with
# PKI's CA and client certificate; sets RC
via_proxy() {
	local pki=$1
	shift
	ns_c curl -s --max-time 10 -p -x https://server:15008 --resolve server:15008:10.77.1.2 \
		--proxy-cacert "$TMP/$pki/ca.crt" --proxy-cert "$TMP/$pki/client.crt" --proxy-key "$TMP/$pki/client.key" "$@"
	RC=$?
}

# suite_of PKI: the TLS 1.3 suite the ingress listener picks for openssl s_client (its
# default offer, AES-256-GCM first) with PKI's CA and client certificate
suite_of() {
	ns_c timeout 10 openssl s_client -connect 10.77.1.2:15008 -servername server -brief -CAfile "$TMP/$1/ca.crt" \
		-cert "$TMP/$1/client.crt" -key "$TMP/$1/client.key" </dev/null 2>&1 | sed -n 's/^Ciphersuite: *//p'
}

# hup_expect PATTERN WHY: SIGHUP to the ingress; its log must show PATTERN within 5 s
hup_expect() {
	kill -HUP "$S_PID"
	wait_until 5 grep -q "$1" "$S_LOG" || { tail -n 5 "$S_LOG"; die "$2"; }
	say "ok: $(grep -o "$1.*" "$S_LOG" | tail -n 1)"
}

via_proxy pki1 -o "$TMP/p1.out" http://10.77.1.3/
[ $RC = 0 ] && grep -qF "$NGINX_PAGE" "$TMP/p1.out" || die "with the first certificates curl did not get the page (rc $RC)"
say "ok: the first certificates work"
SUITE=$(suite_of pki1)
[ "$SUITE" = TLS_AES_128_GCM_SHA256 ] || die "the listener picked '$SUITE' for a client preferring AES-256 (want its own first, TLS_AES_128_GCM_SHA256)"
say "ok: default suite $SUITE, the listener's own order"

# an upload on a TLS session opened before the rotation: curl streams a fifo to the
# echo origin, half of it before the rotation and half after
bg origin s "$PY" "$TESTBIN/flaky_origin.py" 10.77.1.3 8080
wait_tcp "$NS_S" 10.77.1.3 8080 || die "python origin did not start"
head -c 600000 /dev/urandom >"$TMP/up.bin"
mkfifo "$TMP/up.fifo"
bg slow c curl -s --max-time 60 -p -x https://server:15008 --resolve server:15008:10.77.1.2 \
	--proxy-cacert "$TMP/pki1/ca.crt" --proxy-cert "$TMP/pki1/client.crt" --proxy-key "$TMP/pki1/client.key" \
	-T "$TMP/up.fifo" -o "$TMP/slow.out" http://10.77.1.3:8080/echo
SLOW_PID=$BG_PID
# the writer: the first half, then the rest once go.flag exists (it blocks on the fifo
# until curl opens it; cleanup kills it by PID if the test dies first)
sh -c 'head -c 300000 "$1"; while [ ! -e "$2" ]; do sleep 0.05; done; tail -c +300001 "$1"' \
	writer "$TMP/up.bin" "$TMP/go.flag" >"$TMP/up.fifo" &
WRITER_PID=$!
PIDS+=("$WRITER_PID")
wait_until 5 grep -q 'CONNECT 10.77.1.3:8080' "$S_LOG" || die "the upload's tunnel did not open"

# rotation: new files over the old ones, then SIGHUP
cp "$TMP/pki2/server.crt" "$TMP/pki2/server.key" "$TMP/pki2/ca.crt" "$TMP/live/"
cat >"$TMP/ingress.yaml" <<YAML
tls: {cert: $TMP/live/server.crt, key: $TMP/live/server.key, ca: $TMP/live/ca.crt,
      ciphersuites: "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"}
YAML
hup_expect 'SIGHUP: TLS certificate .* loaded for new connections' "the ingress did not log the new certificates"

via_proxy pki2 -o "$TMP/p2.out" http://10.77.1.3/
[ $RC = 0 ] && grep -qF "$NGINX_PAGE" "$TMP/p2.out" || die "after the rotation the new certificates did not work (rc $RC)"
say "ok: new connections use the new certificates"
SUITE=$(suite_of pki2)
[ "$SUITE" = TLS_CHACHA20_POLY1305_SHA256 ] || die "after the reload the listener picked '$SUITE' (want tls.ciphersuites' first, TLS_CHACHA20_POLY1305_SHA256)"
say "ok: the reloaded tls.ciphersuites applies to new connections ($SUITE)"
nsenter --net="/run/netns/$NS_S" curl -sS --max-time 5 http://127.0.0.1:15000/config | "$PY" -c 'import json,sys; c=json.load(sys.stdin); assert c["tls"]["ciphersuites"]=="TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256", c["tls"]' ||
	die "/config does not show the reloaded tls.ciphersuites"
via_proxy pki1 -o /dev/null http://10.77.1.3/
[ $RC != 0 ] || die "after the rotation a client trusting only the old CA still got through"
say "ok: a client trusting only the old CA fails its handshake (curl rc $RC)"
ns_c curl -s -o /dev/null --max-time 10 -p -x https://server:15008 --resolve server:15008:10.77.1.2 \
	--proxy-cacert "$TMP/pki2/ca.crt" --proxy-cert "$TMP/pki1/client.crt" --proxy-key "$TMP/pki1/client.key" \
	http://10.77.1.3/ && die "a client certificate of the old CA was accepted after the rotation"
say "ok: a client certificate of the old CA is refused"

touch "$TMP/go.flag"
wait "$SLOW_PID"
rc=$?
[ $rc = 0 ] || die "the upload opened before the rotation failed (curl rc $rc)"
cmp -s "$TMP/slow.out" "$TMP/up.bin" || die "the upload opened before the rotation was not echoed byte-exact"
say "ok: an upload on a TLS session from before the rotation (half sent after it) was echoed byte-exact"

# a broken set: pki1's key with pki2's certificate
cp "$TMP/pki1/server.key" "$TMP/live/server.key"
hup_expect 'SIGHUP: reload failed, keeping the running config and certificates' \
	"a key that does not match its certificate did not fail the reload"
via_proxy pki2 -o "$TMP/p3.out" http://10.77.1.3/
[ $RC = 0 ] && grep -qF "$NGINX_PAGE" "$TMP/p3.out" || die "after a failed reload the running certificates stopped working"
pid_alive "$S_PID" || die "the ingress hermesd died"
say "ok: the running certificates still serve"
pass
