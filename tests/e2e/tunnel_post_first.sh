#!/bin/bash
# tunnel_post_first: the clear-text tunnel listener tells h2c from HTTP/1.1 by the whole
# 24-byte client preface, not by a leading 'P': POST, PUT and PATCH as the first request
# of a connection (curl -x http://HOST:15008 -d x http://origin/) reach the origin (they
# failed with "bad client magic"), also when the client's first segment is the 'P' alone;
# an h2c client whose preface comes in two pieces still gets HTTP/2.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
cat >"$TMP/origin.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def echo(self):
        body = self.command.encode() + b" " + self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_POST = do_PUT = do_PATCH = echo
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
PY
bg origin s "$PY" "$TMP/origin.py" 10.77.1.2 8080
wait_tcp "$NS_S" 10.77.1.2 8080 || die "origin did not start: $(cat "$TMP/origin.log")"
start_hermesd --tunnel-listen 10.77.1.1:15008

for m in POST PUT PATCH; do
	out=$(ns_c curl -s --max-time 5 -x http://10.77.1.1:15008 -X "$m" -d hello http://10.77.1.2:8080/ 2>&1)
	assert_eq "$m hello" "$out" "$m as the first request through the clear-text explicit proxy"
done

# the first segment is the 'P' alone: a prefix of the preface, until the rest comes
cat >"$TMP/split.py" <<'PY'
import socket, sys, time
s = socket.create_connection(("10.77.1.1", 15008), timeout=5)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
first, rest = sys.argv[1].encode().decode("unicode_escape").encode("latin-1"), sys.argv[2].encode().decode("unicode_escape").encode("latin-1")
s.sendall(first)
time.sleep(0.3)
s.sendall(rest)
buf = b""
while len(buf) < 9:
    d = s.recv(4096)
    if not d:
        break
    buf += d
time.sleep(0.2)
s.settimeout(0.5)
try:
    buf += s.recv(4096)
except OSError:
    pass
print(("an HTTP/2 SETTINGS frame first; " if len(buf) >= 9 and buf[3] == 4 else "") + repr(buf[:400]))
PY
out=$(ns_c "$PY" "$TMP/split.py" P 'OST http://10.77.1.2:8080/ HTTP/1.1\r\nHost: 10.77.1.2:8080\r\nContent-Length: 5\r\n\r\nhello' 2>&1)
assert_match "$out" "HTTP/1.1 200 .*POST hello" "a POST whose 'P' came alone ($out)"
out=$(ns_c "$PY" "$TMP/split.py" 'PRI * HTTP/2.0\r\n' '\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00' 2>&1)
assert_match "$out" '^an HTTP/2 SETTINGS frame first' "a preface in two pieces gets the server's SETTINGS ($out)"
pid_alive "$HERMESD_PID" || die "hermesd died"
pass "POST/PUT/PATCH first on the clear-text explicit proxy; h2c only on the whole preface"
