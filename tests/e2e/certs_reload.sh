#!/bin/bash
# certs_reload: certificate rotation with SIGHUP. The ingress hermesd's tls files are
# overwritten with a new CA and certificates and the process gets SIGHUP: new TLS
# connections get the new certificates (curl as an HTTPS proxy client trusts only the new
# CA now, and the old client certificate is refused), a download started before the
# rotation finishes byte-exact on its old TLS session, and a broken set (a key that does
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

via_proxy pki1 -o "$TMP/p1.out" http://10.77.1.3/
[ $RC = 0 ] && grep -qF "$NGINX_PAGE" "$TMP/p1.out" || die "with the first certificates curl did not get the page (rc $RC)"
say "ok: the first certificates work"

# a slow download on a TLS session opened before the rotation (1 MiB at 32 kB/s: curl
# takes about 6 s here; it is checked to be unfinished when the rotation happens)
via_proxy pki1 -o /dev/null http://10.77.1.3/ # warm-up, so that the slow one starts at once
bg slow c curl -s --max-time 30 --limit-rate 32k -p -x https://server:15008 --resolve server:15008:10.77.1.2 \
	--proxy-cacert "$TMP/pki1/ca.crt" --proxy-cert "$TMP/pki1/client.crt" --proxy-key "$TMP/pki1/client.key" \
	-o "$TMP/slow.out" http://10.77.1.3/1m.bin
SLOW_PID=$BG_PID
wait_until 5 test -s "$TMP/slow.out" || die "the slow download did not start"

# rotation: new files over the old ones, then SIGHUP
got=$(stat -c %s "$TMP/slow.out")
[ "$got" -lt 1048576 ] || die "the slow download was done before the rotation: the test proves nothing"
say "the slow download has $got of 1048576 bytes at the rotation"
cp "$TMP/pki2/server.crt" "$TMP/pki2/server.key" "$TMP/pki2/ca.crt" "$TMP/live/"
kill -HUP "$S_PID"
wait_until 5 grep -q 'SIGHUP: TLS certificate .* loaded for new connections' "$S_LOG" ||
	{ tail -n 5 "$S_LOG"; die "the ingress did not log the new certificates"; }
say "ok: $(grep -o 'SIGHUP: TLS certificate .*' "$S_LOG" | tail -n 1)"

via_proxy pki2 -o "$TMP/p2.out" http://10.77.1.3/
[ $RC = 0 ] && grep -qF "$NGINX_PAGE" "$TMP/p2.out" || die "after the rotation the new certificates did not work (rc $RC)"
say "ok: new connections use the new certificates"
via_proxy pki1 -o /dev/null http://10.77.1.3/
[ $RC != 0 ] || die "after the rotation a client trusting only the old CA still got through"
say "ok: a client trusting only the old CA fails its handshake (curl rc $RC)"
ns_c curl -s -o /dev/null --max-time 10 -p -x https://server:15008 --resolve server:15008:10.77.1.2 \
	--proxy-cacert "$TMP/pki2/ca.crt" --proxy-cert "$TMP/pki1/client.crt" --proxy-key "$TMP/pki1/client.key" \
	http://10.77.1.3/ && die "a client certificate of the old CA was accepted after the rotation"
say "ok: a client certificate of the old CA is refused"

wait "$SLOW_PID"
rc=$?
[ $rc = 0 ] || die "the download opened before the rotation failed (curl rc $rc)"
cmp -s "$TMP/slow.out" "$TMP/nginx/www/1m.bin" || die "the download opened before the rotation is not byte-exact"
say "ok: a download on a TLS session from before the rotation finished byte-exact"

# a broken set: pki1's key with pki2's certificate
cp "$TMP/pki1/server.key" "$TMP/live/server.key"
kill -HUP "$S_PID"
wait_until 5 grep -q 'SIGHUP: reload failed, keeping the running config and certificates' "$S_LOG" ||
	{ tail -n 5 "$S_LOG"; die "a key that does not match its certificate did not fail the reload"; }
say "ok: $(grep -o 'SIGHUP: reload failed.*' "$S_LOG" | tail -n 1)"
via_proxy pki2 -o "$TMP/p3.out" http://10.77.1.3/
[ $RC = 0 ] && grep -qF "$NGINX_PAGE" "$TMP/p3.out" || die "after a failed reload the running certificates stopped working"
pid_alive "$S_PID" || die "the ingress hermesd died"
say "ok: the running certificates still serve"
pass
