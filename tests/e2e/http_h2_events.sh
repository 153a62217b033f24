#!/bin/bash
# http_h2_events: HTTP/2 on both sides of the http action (h2c client -> hermesd -> h2c
# python origin), where heads and response bodies cross as structured events (hmsg.h):
# a DATA-only response body (no content-length) reaches the HTTP/2 client byte-exact and
# the origin's trailers as a trailing HEADERS, and the same response reaches an HTTP/1.1
# client chunked with its trailers as chunked trailers; an upload echoed byte-exact; a
# request's trailers reach the h2 origin as a trailing HEADERS, for a body buffered
# (retriable: replayed whole after a REFUSED_STREAM) and for one streamed; a request
# field arrives lowercase.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

require_cmd nghttp
"$PY" -c 'import h2' 2>/dev/null || skip "python3-h2 is not installed for $PY"

topo_up
bg h2origin s "$PY" "$TESTBIN/h2_origin.py" 0.0.0.0 8443
wait_tcp "$NS_S" 10.77.1.3 8443 || die "python h2 origin did not start"
cat >"$TMP/hermes.yaml" <<YAML
http_routes:
  - {name: py-h2c, match: {host: py.h2c}, endpoints: [10.77.1.3:8443], upstream_protocol: h2c}
  - {name: py-retry, match: {host: py.retry}, endpoints: [10.77.1.3:8443], upstream_protocol: h2c,
     retry: {retry_on: [refused-stream], num_retries: 2, backoff_base_ms: 5, backoff_max_ms: 10}}
YAML
start_hermesd -c "$TMP/hermes.yaml"
policy_add 10.77.1.0/24 http

"$PY" -c 'import sys; n=int(sys.argv[1]); b=bytes(i % 251 for i in range(251*64)); sys.stdout.buffer.write((b*(n//len(b)+1))[:n])' 300000 >"$TMP/pat.want"
curl_app --http2-prior-knowledge -o "$TMP/pat.got" -H 'Host: py.h2c' 'http://10.77.1.3:8443/data?n=300000'
cmp -s "$TMP/pat.got" "$TMP/pat.want" || die "h2c -> h2c: a DATA-only body differs ($CURL_ERR)"
say "ok: h2c -> h2c: 300 kB DATA-only body byte-exact"

head -c 100000 /dev/urandom >"$TMP/up.bin"
in_app nghttp -nv -H ':authority: py.h2c' -d "$TMP/up.bin" http://10.77.1.3:8443/echo >"$TMP/ng.txt" 2>&1 ||
	die "nghttp upload failed: $(tail -n 5 "$TMP/ng.txt")"
assert_file_match "$TMP/ng.txt" 'recv HEADERS frame <length=[0-9]*, flags=0x05' "the response ends with a trailing HEADERS"
assert_file_match "$TMP/ng.txt" 'x-body-len: 100000' "the origin's trailers reach the HTTP/2 client"
# request trailers after a body without content-length (nghttp and curl always send one);
# then the buffered one again, sent twice: the first attempt refused (REFUSED_STREAM),
# the retry replays the head, the body and the trailers
h2_upload() {
	in_app "$PY" - "$1" "$2" >"$TMP/tr.txt" 2>&1 <<'PYEOF' || die "h2 upload with a trailer failed: $(tail -n 5 "$TMP/tr.txt")"
import socket, sys
import h2.connection, h2.config, h2.events
n, authority = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("10.77.1.3", 8443), timeout=10)
c = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
c.initiate_connection()
c.send_headers(1, [(":method", "POST"), (":scheme", "http"), (":authority", authority), (":path", "/echo")])
body = bytes(i % 251 for i in range(n))
sent, got, done = 0, b"", False
s.sendall(c.data_to_send())
while not done:
    while sent < n and c.local_flow_control_window(1) > 0:
        k = min(n - sent, c.local_flow_control_window(1), c.max_outbound_frame_size)
        c.send_data(1, body[sent:sent + k])
        sent += k
        if sent == n:
            c.send_headers(1, [("x-trailer", "from-h2")], end_stream=True)
    s.sendall(c.data_to_send())
    d = s.recv(65536)
    if not d:
        break
    for e in c.receive_data(d):
        if isinstance(e, h2.events.DataReceived):
            got += e.data
            c.acknowledge_received_data(e.flow_controlled_length, 1)
        elif isinstance(e, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
            for k, v in e.headers:
                print(f"{k}: {v}")
        elif isinstance(e, h2.events.StreamEnded):
            done = True
    s.sendall(c.data_to_send())
print("echo-ok" if got == body else f"echo-differs {len(got)}")
PYEOF
}
for n in 1000 100000; do
	h2_upload "$n" py.h2c
	assert_file_match "$TMP/tr.txt" '^echo-ok' "$n bytes without content-length: echoed byte-exact"
	assert_file_match "$TMP/tr.txt" '^x-saw-length: -' "$n bytes: no content-length upstream either"
	assert_file_match "$TMP/tr.txt" '^x-echo-trailer: from-h2' "$n bytes: the request's trailer reaches the h2 origin"
	assert_file_match "$TMP/tr.txt" "^x-body-len: $n" "$n bytes: the origin got them all"
done
ns_c curl -sS --http2-prior-knowledge --max-time 5 -o /dev/null 'http://10.77.1.3:8443/__refuse?n=1' || die "cannot arm the origin"
before=$(stat_value hermes_http_retries_total)
h2_upload 1000 py.retry
assert_file_match "$TMP/tr.txt" '^echo-ok' "refused, retried: echoed byte-exact"
assert_file_match "$TMP/tr.txt" '^x-echo-trailer: from-h2' "refused, retried: the trailer replayed"
assert_ge $((before + 1)) "$(stat_value hermes_http_retries_total)" "the request was retried"
curl_app --http2-prior-knowledge -o "$TMP/up.got" -H 'Host: py.h2c' --data-binary @"$TMP/up.bin" http://10.77.1.3:8443/echo
cmp -s "$TMP/up.got" "$TMP/up.bin" || die "h2c upload -> h2c echo differs ($CURL_ERR)"
say "ok: h2c -> h2c: 100 kB upload echoed byte-exact"

curl_app -D "$TMP/h1.txt" -o "$TMP/up1.got" -H 'Host: py.h2c' --data-binary @"$TMP/up.bin" http://10.77.1.3:8443/echo
cmp -s "$TMP/up1.got" "$TMP/up.bin" || die "h1 upload -> h2c echo differs ($CURL_ERR)"
assert_file_match "$TMP/h1.txt" '^Transfer-Encoding: chunked' "the unframed body reaches HTTP/1.1 chunked"
assert_file_match "$TMP/h1.txt" '^x-body-len: 100000' "its trailers as chunked trailers"

curl_app --http2-prior-knowledge -H 'Host: py.h2c' -H 'X-Mixed-Case: Value' http://10.77.1.3:8443/fields
assert_match 'x-mixed-case: Value' "$CURL_OUT" "a request field reaches the h2 origin lowercase, value as sent"
assert_match ':authority: py.h2c' "$CURL_OUT" ":authority from the client's"
pass
