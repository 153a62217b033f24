#!/bin/bash
# http_smuggling: request smuggling shapes and oversize heads sent on raw sockets from the
# app cgroup through the http action get 400 (431 for oversize heads and header counts,
# 414 for an over-long request line) and a closed connection, and reach no upstream: the
# python origin counts zero requests until a valid one, which it then sees.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
bg origin s "$PY" "$TESTBIN/flaky_origin.py" 0.0.0.0 8080
wait_tcp "$NS_S" 10.77.1.2 8080 || die "python origin did not start"
start_hermesd
policy_add 10.77.1.0/24 http
ns_c curl -sS --max-time 5 -o /dev/null "http://10.77.1.2:8080/__arm?n=0" || die "origin control failed"
seen() { ns_c curl -sS --max-time 5 http://10.77.1.2:8080/__stats | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["seen"])'; }

# case WANT NAME PRINTF-FORMAT: send the bytes, expect "WANT closed"
case_() {
	local want=$1 name=$2 hex out
	hex=$(printf "$3" | od -An -v -tx1 | tr -d ' \n')
	out=$(in_app timeout 10 "$PY" "$TESTBIN/hclient.py" raw 10.77.1.2 8080 "$hex" 2>&1)
	assert_eq "$want closed" "$out" "$name"
}
H='Host: 10.77.1.2:8080\r\n'
case_ 400 "Content-Length with Transfer-Encoding" "POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
case_ 400 "conflicting duplicate Content-Length" "POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"
case_ 400 "Content-Length list" "POST / HTTP/1.1\r\n${H}Content-Length: 5, 6\r\n\r\nhello!"
case_ 400 "Content-Length with a sign" "POST / HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello"
case_ 400 "bad chunk size" "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
case_ 400 "chunk size overflow" "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n"
case_ 400 "chunk size with 0x" "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n"
case_ 400 "chunk data longer than its size" "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n"
case_ 400 "Transfer-Encoding not ending in chunked" "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"
case_ 400 "Transfer-Encoding in HTTP/1.0" "POST / HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
case_ 400 "obs-fold" "GET / HTTP/1.1\r\n${H}X-A: 1\r\n folded\r\n\r\n"
case_ 400 "bare LF" "GET / HTTP/1.1\n${H}\n"
case_ 400 "bare CR in a value" "GET / HTTP/1.1\r\n${H}X-A: 1\r2\r\n\r\n"
case_ 400 "space before the colon" "POST / HTTP/1.1\r\n${H}Content-Length : 5\r\n\r\nhello"
case_ 400 "invalid header name" "GET / HTTP/1.1\r\n${H}X(A): 1\r\n\r\n"
case_ 400 "NUL in a value" "GET / HTTP/1.1\r\n${H}X-A: a\0b\r\n\r\n"
case_ 400 "two Host fields" "GET / HTTP/1.1\r\n${H}${H}\r\n"
case_ 400 "two Host fields in HTTP/1.0" "GET / HTTP/1.0\r\n${H}${H}\r\n"
case_ 400 "no Host in HTTP/1.1" "GET / HTTP/1.1\r\n\r\n"
case_ 400 "two spaces in the request line" "GET  / HTTP/1.1\r\n${H}\r\n"

# oversize: a 20 kB header line, 70 header fields, a 10 kB request line
big=$(head -c 20000 /dev/zero | tr '\0' a)
case_ 431 "header line longer than max_line_bytes" "GET / HTTP/1.1\r\n${H}X-Big: ${big}\r\n\r\n"
many=$(for i in $(seq 1 70); do printf 'X-%d: v\\r\\n' "$i"; done)
case_ 431 "more header fields than max_headers" "GET / HTTP/1.1\r\n${H}${many}\r\n"
long=$(head -c 10000 /dev/zero | tr '\0' b)
case_ 414 "request line longer than max_line_bytes" "GET /${long} HTTP/1.1\r\n${H}\r\n"

assert_eq 0 "$(seen)" "no refused request reached the origin"
assert_ge 22 "$(stat_value hermes_http_rejected_total)" "hermes_http_rejected_total"

# a smuggled second request after a refused one is never read
case_ 400 "CL.TE with a smuggled request behind" "POST / HTTP/1.1\r\n${H}Content-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n${H}\r\n"
assert_eq 0 "$(seen)" "the smuggled request did not reach the origin"

# and a valid request still goes through
curl_app -o /dev/null -w '%{http_code}' http://10.77.1.2:8080/valid
assert_eq 200 "$CURL_OUT" "a valid request is proxied"
assert_eq 1 "$(seen)" "the origin saw exactly the valid request"
pass "http smuggling shapes and oversize heads refused (400/431/414), nothing reached the origin"
