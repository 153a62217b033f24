#!/bin/bash
# http_h2_many_fields: heads with as many fields as http.max_headers allows (64) cross the
# HTTP/1.1 <-> HTTP/2 translation whole, although hermesd adds fields of its own (Via;
# Host for an HTTP/1.0 request without one; Connection) before translating them. An
# HTTP/1.1 client's 64-field request reaches an h2c origin with every field (it was a 502:
# h2up.c read the head hermesd built back with the 64-field limit meant for clients); so
# does the shape fuzz_h2x found, an HTTP/1.0 request in absolute form without Host, 64
# fields, which reaches the origin with :authority from its target; an h2c client gets
# an HTTP/1.1 origin's 64-field response whole (it was a stream reset, h2dn.c likewise).
# A 65-field request is still refused with 431, over HTTP/1.1 and over h2c alike.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

"$PY" -c 'import h2' 2>/dev/null || skip "python3-h2 is not installed for $PY"
topo_up
cat >"$TMP/origin.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = b"many fields\n"
        self.send_response(200)
        for i in range(61):  # with Server, Date and Content-Length: 64 fields
            self.send_header("X-R-%02d" % i, "v%d" % i)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
PY
bg origin s "$PY" "$TMP/origin.py" 10.77.1.2 8080
wait_tcp "$NS_S" 10.77.1.2 8080 || die "HTTP/1.1 origin did not start: $(cat "$TMP/origin.log")"
bg h2origin s "$PY" "$TESTBIN/h2_origin.py" 10.77.1.3 8443
wait_tcp "$NS_S" 10.77.1.3 8443 || die "h2 origin did not start: $(cat "$TMP/h2origin.log")"

cat >"$TMP/hermes.yaml" <<YAML
http_routes:
  - {name: h2c, match: {path_prefix: /fields}, endpoints: [10.77.1.3:8443], upstream_protocol: h2c}
YAML
start_hermesd -c "$TMP/hermes.yaml"
policy_add 10.77.1.0/24 http

# raw.py FIRST_LINE HOST N: a request head with Host (unless HOST is -) and N-1 more
# fields (N without Host), sent from the app cgroup; prints the response (read to its
# Content-Length, or to the close)
cat >"$TMP/raw.py" <<'PY'
import socket, sys
line, host, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
head = line + "\r\n"
if host != "-":
    head += "Host: %s\r\n" % host
    n -= 1
head += "".join("X-F-%02d: v%d\r\n" % (i, i) for i in range(n)) + "\r\n"
s = socket.create_connection(("10.77.1.3", 8443), timeout=10)
s.sendall(head.encode())
buf = b""
while b"\r\n\r\n" not in buf or len(buf) < buf.index(b"\r\n\r\n") + 4 + int(
        ([l.split(b":")[1] for l in buf.split(b"\r\n\r\n")[0].split(b"\r\n") if l.lower().startswith(b"content-length:")]
         or [b"-1"])[0]):
    d = s.recv(65536)
    if not d:
        break
    buf += d
sys.stdout.write(buf.decode(errors="replace"))
PY

# ---- an HTTP/1.1 client -> an h2c origin: Host + 63 fields, and hermesd's Via
in_app "$PY" "$TMP/raw.py" "GET /fields HTTP/1.1" 10.77.1.3:8443 64 >"$TMP/r1.txt" 2>&1
assert_file_match "$TMP/r1.txt" '^HTTP/1.1 200 ' "64 request fields -> h2c origin: 200 ($(head -n 1 "$TMP/r1.txt"))"
assert_eq 63 "$(grep -c '^x-f-[0-9][0-9]: v[0-9]*' "$TMP/r1.txt")" "the origin saw the 63 fields besides Host"
assert_file_match "$TMP/r1.txt" '^:authority: 10\.77\.1\.3:8443' ":authority from Host"
assert_file_match "$TMP/r1.txt" '^via: 1\.1 hermes' "and hermesd's Via"
say "ok: a 64-field HTTP/1.1 request reaches the h2c origin whole"

# ---- the fuzz_h2x input's shape: HTTP/1.0, absolute form, no Host, 64 fields
in_app "$PY" "$TMP/raw.py" "GET http://h:/fields HTTP/1.0" - 64 >"$TMP/r2.txt" 2>&1
assert_file_match "$TMP/r2.txt" '^HTTP/1.1 200 ' "HTTP/1.0, absolute form, 64 fields -> h2c: 200 ($(head -n 1 "$TMP/r2.txt"))"
assert_eq 64 "$(grep -c '^x-f-[0-9][0-9]: v[0-9]*' "$TMP/r2.txt")" "the origin saw the 64 fields"
assert_file_match "$TMP/r2.txt" '^:path: /fields$' ":path from the target"
say "ok: an HTTP/1.0 absolute-form request without Host reaches the h2c origin whole"

# ---- one field too many: 431 (the limit is the client's, whatever the upstream)
in_app "$PY" "$TMP/raw.py" "GET /fields HTTP/1.1" 10.77.1.3:8443 65 >"$TMP/r3.txt" 2>&1
assert_file_match "$TMP/r3.txt" '^HTTP/1.1 431 ' "65 request fields: 431 ($(head -n 1 "$TMP/r3.txt"))"

# ---- an h2c client <- an HTTP/1.1 origin's 64-field response (and Via)
curl_app --http2-prior-knowledge -D "$TMP/h.txt" http://10.77.1.2:8080/many
assert_eq 0 "$CURL_RC" "curl over h2c completes ($CURL_ERR)"
assert_eq "many fields" "$CURL_OUT" "the body"
assert_file_match "$TMP/h.txt" '^HTTP/2 200' "an HTTP/2 200"
assert_eq 61 "$(grep -c '^x-r-[0-9][0-9]: v[0-9]*' "$TMP/h.txt")" "the 61 x-r fields, lowercased"
assert_file_match "$TMP/h.txt" '^via: 1\.1 hermes' "and hermesd's Via"
say "ok: a 64-field response reaches an h2c client whole"

# ---- an h2c client's request with :authority and 64 fields: 431, as Host + 64 over HTTP/1.1
hs=()
for i in $(seq 0 60); do hs+=(-H "x-f-$i: v$i"); done # with user-agent, accept: 63 and :authority
curl_app --http2-prior-knowledge -o /dev/null -w '%{http_code}' "${hs[@]}" http://10.77.1.2:8080/many
assert_eq 200 "$CURL_OUT" "an h2c request with :authority and 63 fields"
curl_app --http2-prior-knowledge -o /dev/null -w '%{http_code}' "${hs[@]}" -H 'x-one: more' http://10.77.1.2:8080/many
assert_eq 431 "$CURL_OUT" "an h2c request with :authority and 64 fields (65 over HTTP/1.1)"
pid_alive "$HERMESD_PID" || die "hermesd died: $(tail -n 20 "$HERMESD_LOG")"
pass "64-field heads cross the h1 <-> h2 translation whole both ways; one more is 431"
