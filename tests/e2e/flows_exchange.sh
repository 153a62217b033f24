#!/bin/bash
# flows_exchange: /flows shows where each request of the http action sits, so that a
# stalled exchange can be found. Two exchanges are held still and read there:
#  1. a client that sends a POST head with Content-Length 20000 and 5000 bytes of its
#     body, then nothing: state "body" (the body is read whole before the first attempt),
#     bytes_in counts head and 5000 body bytes, body_left 15000, no attempt yet, the
#     client's recv armed;
#  2. a 256 KiB POST (more than max_buffered_body: it streams) to an origin armed to
#     answer after 4 s: state "wait", one attempt, the whole body sent (upstream phase
#     "response", nothing unsent), its age growing.
# Every entry keeps the fields a flow has (hermes-top reads them) with engine "http".
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_hermesd
bg origin s "$PY" "$TESTBIN/flaky_origin.py" 10.77.1.2 9300
wait_tcp "$NS_S" 10.77.1.2 9300 || die "python origin did not start"
policy_add 10.77.1.2/32:9300 http

# exch FIELD...: the exchange object of the http flow whose request path starts with
# /stall-$1, as "k=v" lines (empty when there is none)
exch() {
	admin_get /flows | "$PY" -c '
import json, sys
for f in json.load(sys.stdin)["flows"]:
    x = f.get("exchange")
    if f.get("engine") == "http" and x and x["path"].startswith("/stall-" + sys.argv[1]):
        for k in ("id", "client", "orig_dst", "state", "attempts", "bytes_up", "bytes_down", "age_ms", "pid"):
            print("flow.%s=%s" % (k, f[k]))
        for k, v in x.items():
            print("%s=%s" % (k, json.dumps(v) if isinstance(v, bool) else v))
' "$1"
}
field() { sed -n "s/^$2=//p" <<<"$1"; }

# 1. a client stalled in its body
bg slowbody app "$PY" -c '
import socket, time
s = socket.create_connection(("10.77.1.2", 9300))
s.sendall(b"POST /stall-body HTTP/1.1\r\nHost: o\r\nContent-Length: 20000\r\n\r\n" + b"b" * 5000)
time.sleep(8)
'
in_body() { [ "$(field "$(exch body)" state)" = body ]; }
wait_until 5 in_body || die "no exchange in state body in /flows: $(admin_get /flows)"
e=$(exch body)
say "$(tr '\n' ' ' <<<"$e")"
assert_eq http "$(admin_get /flows | "$PY" -c 'import json,sys; print([f["engine"] for f in json.load(sys.stdin)["flows"] if "exchange" in f][0])')" "an http flow has engine http"
assert_eq POST "$(field "$e" method)" "method"
assert_eq 15000 "$(field "$e" body_left)" "body_left: 15000 of 20000 body bytes not read yet"
assert_eq 5000 "$(field "$e" body_bytes)" "body_bytes: 5000 read"
assert_ge 5000 "$(field "$e" bytes_in)" "bytes_in counts what came from the client"
assert_eq 0 "$(field "$e" attempts)" "no attempt before the body is whole"
assert_eq none "$(field "$e" upstream)" "no upstream connection yet"
assert_eq true "$(field "$e" client_recv)" "the client's recv is armed (hermesd waits for it)"
assert_eq 10.77.1.2:9300 "$(field "$e" flow.orig_dst)" "orig_dst"

# 2. an exchange waiting for a slow origin
ns_c curl -sS --max-time 5 -o /dev/null "http://10.77.1.2:9300/__arm?n=1&mode=delay&ms=4000" || die "cannot arm the origin"
head -c 262144 /dev/urandom >"$TMP/post.bin"
bg post app curl -sS --max-time 20 -H 'Expect:' -o "$TMP/post.out" -w '%{http_code}\n' --data-binary "@$TMP/post.bin" \
	"http://10.77.1.2:9300/stall-wait"
POST_PID=$BG_PID
sent() { [ "$(field "$(exch wait)" upstream)" = response ]; }
wait_until 5 sent || die "the 256 KiB POST never reached the response phase: $(exch wait)"
sleep 1
e=$(exch wait)
say "$(tr '\n' ' ' <<<"$e")"
assert_eq wait "$(field "$e" state)" "state wait: the attempt waits for the response head"
assert_eq 1 "$(field "$e" attempts)" "one attempt"
assert_eq true "$(field "$e" streaming)" "a body over max_buffered_body streams"
assert_eq true "$(field "$e" request_read)" "the request was read whole"
assert_eq 0 "$(field "$e" upstream_unsent)" "nothing left to send upstream"
assert_ge 262144 "$(field "$e" bytes_in)" "bytes_in: the 256 KiB body and its head"
assert_ge 900 "$(field "$e" age_ms)" "age_ms grows"
wait "$POST_PID" || die "the POST failed: $(cat "$TMP/post.log")"
assert_eq 200 "$(cat "$TMP/post.log")" "the POST got its answer after the delay"
[ -z "$(exch wait)" ] || die "the finished request still shows as in flight: $(exch wait)"
pid_alive "$HERMESD_PID" || die "hermesd died"
pass "/flows shows a stalled body (state body) and a slow origin (state wait) with bytes, attempts and age"
