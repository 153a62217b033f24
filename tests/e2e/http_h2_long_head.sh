#!/bin/bash
# http_h2_long_head: an HTTP/2 client (h2c prior knowledge) of the http action gets a
# response head as long as http.max_head_bytes allows. With max_head_bytes 65536, an
# HTTP/1.1 origin answers with five 8000-byte field names (40 kB of names): the client
# gets the status, every field (names lowercased) and the body, and hermesd lives on
# (h2dn.c lowercased the names into a 16 KiB stack buffer: ASan's stack-buffer-overflow
# in the SAN build, a smashed stack in the normal one).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
cat >"$TMP/origin.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = b"long names\n"
        self.send_response(200)
        for c in "abcde":
            self.send_header("X-" + c.upper() * 7998, c)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
PY
bg origin s "$PY" "$TMP/origin.py" 10.77.1.2 8080
wait_tcp "$NS_S" 10.77.1.2 8080 || die "origin did not start: $(cat "$TMP/origin.log")"

printf 'http:\n  max_head_bytes: 65536\n' >"$TMP/hermes.yaml"
start_hermesd -c "$TMP/hermes.yaml"
policy_add 10.77.1.2/32 http

curl_app --http2-prior-knowledge -D "$TMP/h.txt" http://10.77.1.2:8080/
assert_eq 0 "$CURL_RC" "curl over h2c completes ($CURL_ERR)"
assert_eq "long names" "$CURL_OUT" "the body"
assert_file_match "$TMP/h.txt" '^HTTP/2 200' "an HTTP/2 200"
for c in a b c d e; do
	grep -Eq "^x-$(printf "%0.s$c" $(seq 7998)): $c" "$TMP/h.txt" || die "field x-$c... (7998 x '$c', lowercased) missing"
done
say "ok: five 8000-byte names, lowercased"
pid_alive "$HERMESD_PID" || die "hermesd died: $(tail -n 20 "$HERMESD_LOG")"
curl_app -o /dev/null -w '%{http_code}' --http2-prior-knowledge http://10.77.1.2:8080/
assert_eq 200 "$CURL_OUT" "a second request"
pass "a 40 kB response head reaches an h2c client whole"
