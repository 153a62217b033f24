#!/bin/bash
# h2connect_client: tests/bin/h2connect.py (the HTTP/2 CONNECT client the overlay interop
# tests use) against a third-party HTTP/2 CONNECT proxy, nghttpx. nghttpx in HTTP/2 proxy
# mode (-s) on the server host takes h2c with prior knowledge on 10.77.1.2:3000 and, as
# that mode requires, forwards each CONNECT to an HTTP/1.1 forward proxy as its backend:
# squid on 10.77.1.2:3128, which dials nginx. From the client host, 20 concurrent CONNECT
# streams on one connection each GET the page through their tunnel; 1 MiB arrives
# byte-exact; --extra-header reaches the next hop; squid's 403 for a port it refuses comes
# back as the stream's CONNECT status (exit 1, or 0 with --expect-status 403). nghttpx also
# listens with TLS and client-certificate verification on 10.77.1.2:3443 with certificates
# from `hermesctl certs init`: --tls works with the CA's client certificate and fails with
# another CA's.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/squid.sh
. "$(dirname "$0")/../lib/squid.sh"

require_cmd nghttpx /usr/sbin/squid openssl
/usr/bin/python3 -c 'import h2' 2>/dev/null || skip "python3-h2 is not installed (make deps)"
topo_up
start_nginx
start_squid 10.77.1.2 3128

NGX=$TMP/nghttpx
NGX_PID=
mkdir -p "$NGX"
"$HERMESCTL_BIN" certs init "$TMP/pki" --hosts proxy,client >/dev/null || die "hermesctl certs init failed"
"$HERMESCTL_BIN" certs init "$TMP/other" --hosts client >/dev/null || die "hermesctl certs init (second CA) failed"
my_cleanup() {
	local rc=$?
	[ -n "$NGX_PID" ] && pid_alive "$NGX_PID" && stop_pid "$NGX_PID" TERM 10
	stop_squid
	(exit $rc)
	cleanup
}
trap my_cleanup EXIT

# --conf=/dev/null: not /etc/nghttpx/nghttpx.conf. Started with nsenter directly so that
# the PID is nghttpx's own (see start_squid). One worker, and enough backend connections
# per origin for all 20 tunnels at once (the default, 8, would queue the rest).
nsenter --net="/run/netns/$NS_S" nghttpx --conf=/dev/null --http2-proxy \
	--frontend='10.77.1.2,3000;no-tls' --frontend='10.77.1.2,3443' --backend='10.77.1.2,3128' \
	--verify-client --verify-client-cacert="$TMP/pki/ca.crt" --no-ocsp \
	--workers=1 --backend-connections-per-host=32 --pid-file="$NGX/nghttpx.pid" \
	--accesslog-file="$NGX/access.log" --errorlog-file="$NGX/error.log" --log-level=INFO \
	"$TMP/pki/proxy.key" "$TMP/pki/proxy.crt" >"$TMP/nghttpx.log" 2>&1 </dev/null &
NGX_PID=$!
PIDS+=("$NGX_PID")
wait_tcp "$NS_S" 10.77.1.2 3000 && wait_tcp "$NS_S" 10.77.1.2 3443 || { tail -n 20 "$TMP/nghttpx.log" "$NGX/error.log"; die "nghttpx did not listen on 10.77.1.2:3000 and :3443"; }
say "nghttpx (pid $NGX_PID) in $NS_S: h2c on 10.77.1.2:3000, backend squid 10.77.1.2:3128"

# h2c [--port N] ARGS...: h2connect.py from the client host to nghttpx (port 3000 unless
# --port); sets H2_OUT and H2_RC
h2c() {
	local port=3000
	[ "${1:-}" = --port ] && port=$2 && shift 2
	H2_OUT=$(ns_c timeout 60 "$PY" "$TESTBIN/h2connect.py" 10.77.1.2 "$port" --timeout 30 "$@" 2>&1)
	H2_RC=$?
	printf '%s\n' "$H2_OUT" | sed 's/^/    | /'
}

# --- 20 concurrent tunnels on one HTTP/2 connection, each a GET of the page
before=$(wc -l <"$NGINX_ACCESS_LOG")
h2c --target 10.77.1.3:80 --streams 20 --expect-file "$TMP/nginx/www/index.html"
assert_eq 0 "$H2_RC" "20 CONNECT streams through nghttpx"
assert_match "$H2_OUT" '^connected: h2c \(prior knowledge\) to 10\.77\.1\.2:3000$' "h2c with prior knowledge"
assert_eq 20 "$(grep -cE '^stream [0-9]+: CONNECT 200; GET 200, [0-9]+ bytes, body matches$' <<<"$H2_OUT")" \
	"every stream: CONNECT 200, GET 200, the page byte-exact"
assert_match "$H2_OUT" '^ok 20 streams$' "h2connect.py reports ok"
wait_until 5 sh -c "[ \$(tail -n +$((before + 1)) '$NGINX_ACCESS_LOG' | grep -c '^10\\.77\\.1\\.2 10\\.77\\.1\\.3:80 \"GET / HTTP/1\\.1\" 200') -ge 20 ]" ||
	{ tail -n 5 "$NGINX_ACCESS_LOG"; die "nginx did not log 20 GETs from squid (10.77.1.2)"; }
say "ok: nginx logged 20 GET / from squid's address"
conns=$(grep -cE '^10\.77\.1\.2 TCP_TUNNEL/200 [0-9]+ CONNECT 10\.77\.1\.3:80 ' "$SQUID_ACCESS_LOG")
assert_eq 20 "$conns" "squid carried 20 CONNECT tunnels from nghttpx"
assert_file_match "$NGX/access.log" 'CONNECT 10\.77\.1\.3:80 HTTP/2' "nghttpx logged the HTTP/2 CONNECTs"

# --- 1 MiB through each of 4 tunnels, byte-exact; the extra header reaches squid
h2c --target 10.77.1.3:80 --streams 4 --path /1m.bin --expect-file "$TMP/nginx/www/1m.bin" \
	--extra-header 'Hermes-Comm: h2connect-test'
assert_eq 0 "$H2_RC" "4 x 1 MiB through nghttpx"
assert_eq 4 "$(grep -cE '^stream [0-9]+: CONNECT 200; GET 200, 1048576 bytes, body matches$' <<<"$H2_OUT")" \
	"every stream got 1 MiB byte-exact"
wait_until 5 grep -q 'CONNECT 10.77.1.3:80 comm=h2connect-test$' "$SQUID_ACCESS_LOG" ||
	{ tail -n 3 "$SQUID_ACCESS_LOG"; die "--extra-header did not reach squid through nghttpx"; }
say "ok: --extra-header reached squid through nghttpx"

# --- a CONNECT the next hop refuses: squid's 403 comes back as the stream's status
h2c --target 10.77.1.3:8080 --streams 2
assert_eq 1 "$H2_RC" "refused CONNECT: exit 1 without --expect-status"
assert_match "$H2_OUT" '^stream 1: CONNECT 403' "the stream reports CONNECT 403"
assert_match "$H2_OUT" '^failed 2 of 2 streams$' "both streams counted as failed"
h2c --target 10.77.1.3:8080 --streams 2 --expect-status 403
assert_eq 0 "$H2_RC" "refused CONNECT with --expect-status 403: exit 0"

# --- TLS with ALPN h2 and client certificates from `hermesctl certs init`
h2c --port 3443 --tls --ca "$TMP/pki/ca.crt" --cert "$TMP/pki/client.crt" --key "$TMP/pki/client.key" --sni proxy \
	--target 10.77.1.3:80 --streams 5 --expect-file "$TMP/nginx/www/index.html"
assert_eq 0 "$H2_RC" "5 CONNECT streams over TLS (mTLS) through nghttpx"
assert_match "$H2_OUT" '^connected: TLSv1\.3 ALPN h2 to 10\.77\.1\.2:3443$' "TLS 1.3 with ALPN h2"
h2c --port 3443 --tls --ca "$TMP/pki/ca.crt" --cert "$TMP/other/client.crt" --key "$TMP/other/client.key" --sni proxy \
	--target 10.77.1.3:80
assert_eq 1 "$H2_RC" "a client certificate of another CA is refused"
assert_match "$H2_OUT" '^connection failed: ' "h2connect.py reports the failed connection"
h2c --port 3443 --tls --ca "$TMP/other/ca.crt" --sni proxy --target 10.77.1.3:80
assert_eq 1 "$H2_RC" "a proxy certificate from an unknown CA is refused"
assert_match "$H2_OUT" 'CERTIFICATE_VERIFY_FAILED' "h2connect.py checks the proxy's certificate"

# --- usage errors exit 2
h2c --streams 1
assert_eq 2 "$H2_RC" "missing --target is a usage error"

pid_alive "$NGX_PID" || die "nghttpx died during the test"
stop_pid "$NGX_PID" TERM 10
say "nghttpx stopped: status $STOP_RC"
pass "h2connect.py through nghttpx (h2c and mTLS, --http2-proxy, squid backend): 20 streams, 1 MiB, extra header, 403"
