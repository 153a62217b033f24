#!/bin/bash
# http_cache_fill: store-and-forward in the http action's HTTP cache. A storable response
# is read from the origin into the store at the origin's pace, apart from its client:
# a client that goes away mid-body leaves it to be stored whole (the next GET is a hit,
# the origin saw one request), and a client reading slowly does not hold it up (stored
# while that client still reads). Two concurrent GETs of a slow object make one origin
# request, the second following the first's response as it arrives (byte-exact both).
# An origin that stops sending mid-body (connection kept open) is asked again after
# fill_stall_ms with Range and If-Range (its ETag), and its 206 completes the body: the
# client gets the file byte-exact, and so does the next GET, from the store. A client's
# Range with If-Range is answered from the store (206 when it names the stored ETag).
# A response purged (hermesctl cache purge) while it is stored is read whole by its
# client but followed by no later GET; a hit sent to a client that stalls mid-body while
# its entry is purged and stored again with other bytes gets the old body whole, and
# three pipelined hits on one connection come whole and in order. Over HTTP/2 (an h2c route to tests/bin/h2_stall_origin.py), a GET whose connection goes
# silent (not even a PING answered) is cut after fill_stall_ms and retried on a new
# connection; a slow origin whose connection answers the PING is waited for.
# The origin is tests/bin/fill_origin.py (pieces sent with pauses between them).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
mkdir -p "$TMP/www"
bg origin s "$PY" "$TESTBIN/fill_origin.py" 10.77.1.2 8090 "$TMP/www"
bg h2origin s "$PY" "$TESTBIN/h2_stall_origin.py" 10.77.1.2 8091
wait_tcp "$NS_S" 10.77.1.2 8090
wait_tcp "$NS_S" 10.77.1.2 8091
cat >"$TMP/hermes.yaml" <<YAML
cache: {enabled: true, max_size_mb: 8, max_object_kb: 1024, fill_stall_ms: 300}
http:
  retry: {retry_on: [reset, connect-failure], num_retries: 2, backoff_base_ms: 20}
http_routes:
  - {name: h2c-stall, match: {host: h2c.stall}, endpoints: [10.77.1.2:8091], upstream_protocol: h2c}
YAML
start_hermesd -c "$TMP/hermes.yaml"
policy_add 10.77.1.0/24 http

URL=http://10.77.1.2:8090
# origin_count PATH: requests the origin saw for PATH
origin_count() {
	ns_s curl -sS --max-time 5 "$URL/__stats" |
		"$PY" -c 'import json, sys; print(sum(1 for r in json.load(sys.stdin)["requests"] if r[0] == sys.argv[1]))' "$1"
}
# shellcheck disable=SC2317 # called through wait_until
stores_at_least() { [ "$(stat_value hermes_http_cache_stores_total)" -ge "$1" ] 2>/dev/null; }

# 1. the client goes away after 0.3 s of a body that takes ~1 s to come
in_app curl -sS --max-time 0.3 -o /dev/null "$URL/gone.bin?size=400000&piece=40000&ms=100" 2>/dev/null &&
	die "the GET should have been cut by its --max-time"
wait_until 5 stores_at_least 1 || die "the response whose client went away was not stored"
in_app curl -sS --max-time 10 -D "$TMP/gone.h" -o "$TMP/gone.got" "$URL/gone.bin?size=400000&piece=40000&ms=100" ||
	die "second GET of gone.bin failed"
cmp -s "$TMP/gone.got" "$TMP/www/gone.bin" || die "gone.bin from the store differs from the origin's"
assert_file_match "$TMP/gone.h" '^Age: ' "the second GET of gone.bin is a hit"
assert_eq 1 "$(origin_count /gone.bin)" "origin requests for gone.bin"
say "ok: a response whose client went away mid-body was stored whole"

# 2. a client reading at 50 KB/s (6 s for 300 KB) while the origin sends it all in ~0.5 s
bg slow app curl -sS --max-time 20 --limit-rate 50K -o "$TMP/slow.got" "$URL/slow.bin?size=300000&piece=60000&ms=100"
slow_pid=$BG_PID
wait_until 4 stores_at_least 2 || die "the slow client's response was not stored ahead of it"
pid_alive "$slow_pid" || die "the slow client finished already: the test proves nothing"
say "ok: stored while the slow client still reads"
stop_pid "$slow_pid" TERM 5

# 3. two GETs of an object that takes ~4 s to come: one origin request. The second starts
#    once the origin has the first (not after a fixed sleep); the 4 s (40 pieces 100 ms
#    apart, under the 300 ms that starts a resume) are the room a loaded machine needs to
#    start a curl (with 1 s, the fill once ended before the second came)
bg c1 app curl -sS --max-time 20 -o "$TMP/c1.got" "$URL/twice.bin?size=500000&piece=12500&ms=100"
c1=$BG_PID
seen_once() { [ "$(origin_count "$1")" = 1 ]; }
wait_until 5 seen_once /twice.bin || die "the first GET of twice.bin did not reach the origin"
in_app curl -sS --max-time 20 -o "$TMP/c2.got" "$URL/twice.bin?size=500000&piece=12500&ms=100" ||
	die "the second concurrent GET failed"
wait "$c1" || die "the first concurrent GET failed"
cmp -s "$TMP/c1.got" "$TMP/www/twice.bin" || die "the first client's twice.bin differs from the origin's"
cmp -s "$TMP/c2.got" "$TMP/www/twice.bin" || die "the second client's twice.bin differs from the origin's"
assert_eq 1 "$(origin_count /twice.bin)" "origin requests for twice.bin (collapsed)"
assert_eq 1 "$(stat_value hermes_http_cache_collapsed_total)" "collapsed requests"
say "ok: two concurrent GETs, one origin request"

# 4. the origin sends 150000 of 400000 bytes, then nothing for 30 s
in_app curl -sS --max-time 10 -o "$TMP/stall.got" "$URL/stall.bin?size=400000&piece=50000&stall=150000" ||
	die "GET of a body whose origin stalls failed"
cmp -s "$TMP/stall.got" "$TMP/www/stall.bin" || die "the resumed body differs from the origin's"
ns_s curl -sS --max-time 5 "$URL/__stats" >"$TMP/stats.json"
assert_file_match "$TMP/stats.json" '\["/stall.bin", "bytes=150000-", "\\"stall.bin-400000\\""\]' \
	"the origin was asked for the rest with Range and If-Range"
assert_eq 2 "$(origin_count /stall.bin)" "origin requests for stall.bin"
assert_eq 1 "$(stat_value hermes_http_cache_fill_resumes_total)" "fills resumed"
in_app curl -sS --max-time 10 -o "$TMP/stall2.got" "$URL/stall.bin?size=400000&piece=50000&stall=150000" ||
	die "second GET of stall.bin failed"
cmp -s "$TMP/stall2.got" "$TMP/www/stall.bin" || die "the stored stall.bin differs from the origin's"
assert_eq 2 "$(origin_count /stall.bin)" "origin requests for stall.bin after a hit"
say "ok: a stalled fill resumed with a Range request, byte-exact"

# 5. a resume from a client (Range with If-Range) is answered from the store: a 206 for
# its ETag, the whole 200 for another validator
in_app curl -sS --max-time 10 -D "$TMP/r1.h" -o "$TMP/r1.got" -H 'Range: bytes=390000-' \
	-H 'If-Range: "stall.bin-400000"' "$URL/stall.bin?size=400000&piece=50000&stall=150000" || die "If-Range GET failed"
assert_file_match "$TMP/r1.h" '^HTTP/1.1 206' "If-Range with the ETag: a 206"
tail -c 10000 "$TMP/www/stall.bin" | cmp -s - "$TMP/r1.got" || die "the 206's bytes differ from the file's tail"
in_app curl -sS --max-time 10 -D "$TMP/r2.h" -o "$TMP/r2.got" -H 'Range: bytes=390000-' \
	-H 'If-Range: "other"' "$URL/stall.bin?size=400000&piece=50000&stall=150000" || die "If-Range GET failed"
assert_file_match "$TMP/r2.h" '^HTTP/1.1 200' "If-Range with another ETag: the whole 200"
cmp -s "$TMP/r2.got" "$TMP/www/stall.bin" || die "the whole 200 differs from the file"
assert_eq 2 "$(origin_count /stall.bin)" "origin requests for stall.bin after If-Range hits"
say "ok: Range with If-Range answered from the store"

# 5b. purged while it is being stored: the client reading it gets it whole, but a GET
# after the purge goes to the origin (not following it), and it is not stored
P="$URL/purge.bin?size=500000&piece=12500&ms=100"
bg p1 app curl -sS --max-time 20 -o "$TMP/p1.got" "$P"
p1=$BG_PID
wait_until 5 seen_once /purge.bin || die "the first GET of purge.bin did not reach the origin"
out=$(hermesctl cache purge "$P" 2>&1) || die "cache purge of a response being stored failed: $out"
assert_eq "$P: 1 purged" "$out" "cache purge of a response being stored"
in_app curl -sS --max-time 20 -o "$TMP/p2.got" "$P" || die "a GET after the purge failed"
wait "$p1" || die "the GET reading the purged fill failed"
cmp -s "$TMP/p1.got" "$TMP/www/purge.bin" || die "the client reading the purged fill got other bytes"
cmp -s "$TMP/p2.got" "$TMP/www/purge.bin" || die "the GET after the purge got other bytes"
assert_eq 2 "$(origin_count /purge.bin)" "origin requests for purge.bin (the GET after the purge did not follow)"
in_app curl -sS --max-time 20 -D "$TMP/p3.h" -o /dev/null "$P" || die "a third GET of purge.bin failed"
assert_file_match "$TMP/p3.h" '^Age: ' "the second fill of purge.bin was stored"
assert_eq 2 "$(origin_count /purge.bin)" "origin requests for purge.bin after a hit"
say "ok: a fill purged midway: its reader goes on, later GETs do not follow it"

# 5c. a hit sent from the stored entry (not copied) to a client that stops reading
# mid-body, while the entry is purged and the URL stored again with other bytes: the
# client gets the old body whole, byte-exact (hermesd holds the entry until its send
# completes; a 1 MB body has a mapping of its own, so one freed early fails the send)
H="/hold.bin?size=1000000&piece=1000000&ms=0"
s0=$(stat_value hermes_http_cache_stores_total)
in_app curl -sS --max-time 10 -o /dev/null "$URL$H" || die "GET of hold.bin failed"
wait_until 5 stores_at_least $((s0 + 1)) || die "hold.bin was not stored"
cp "$TMP/www/hold.bin" "$TMP/hold.old"
bg hold app "$PY" "$TESTBIN/stall_reader.py" 10.77.1.2 8090 "$H" "$TMP/hold.got" "$TMP/hold"
hold=$BG_PID
# shellcheck disable=SC2317 # called through wait_until
stalled() { [ -e "$TMP/hold.stalled" ]; }
wait_until 10 stalled || die "the stalling client never got the head of hold.bin"
out=$(hermesctl cache purge "$URL$H" 2>&1) || die "cache purge of hold.bin failed: $out"
assert_eq "$URL$H: 1 purged" "$out" "cache purge of the entry being sent"
head -c 1000000 /dev/urandom >"$TMP/www/hold.bin"
for _ in 1 2; do
	in_app curl -sS --max-time 10 -o "$TMP/hold.new" "$URL$H" || die "GET of hold.bin after the purge failed"
	cmp -s "$TMP/hold.new" "$TMP/www/hold.bin" || die "hold.bin after the purge is not the origin's new body"
done
touch "$TMP/hold.go"
wait "$hold" || die "the stalling client did not get hold.bin whole: $(cat "$TMP/hold.log" 2>/dev/null)"
cmp -s "$TMP/hold.got" "$TMP/hold.old" || die "the stalling client got other bytes than the body stored when it asked"
assert_eq 2 "$(origin_count /hold.bin)" "origin requests for hold.bin (the stalled GET was a hit)"
say "ok: an entry purged and stored again while a hit of it is sent: the old body, whole"

# three pipelined GETs of the stored hold.bin on one connection: three whole hits, in
# order (each body sent from the entry after the head before it)
in_app "$PY" - 10.77.1.2 8090 "$H" "$TMP/www/hold.bin" <<'PY' || die "pipelined hits of hold.bin: not three whole answers"
import socket, sys
host, port, target, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
want = open(path, "rb").read()
s = socket.create_connection((host, port), timeout=10)
s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (target, host, port)).encode() * 3)
buf = b""
for i in range(3):
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            sys.exit("answer %d: the connection ended before its head" % i)
        buf += d
    head, buf = buf.split(b"\r\n\r\n", 1)
    fields = dict(l.split(b":", 1) for l in head.split(b"\r\n")[1:])
    n = int(fields[b"Content-Length"])
    if b"Age" not in fields:
        sys.exit("answer %d is not a hit: %r" % (i, head))
    while len(buf) < n:
        d = s.recv(65536)
        if not d:
            sys.exit("answer %d: %d of %d body bytes" % (i, len(buf), n))
        buf += d
    if buf[:n] != want:
        sys.exit("answer %d: the body differs from the origin's" % i)
    buf = buf[n:]
PY
say "ok: three pipelined hits, whole and in order"

# 6. HTTP/2: a silent connection is cut and the GET retried; a slow but live one is not
#    (the connection stays silent 30 s, over curl's 10 s deadline: the GET's success and the
#    second request show the connection was cut; how long it took is printed, not checked)
t0=$(now_ms)
in_app curl -sS --max-time 10 -o "$TMP/silent.got" -H 'Host: h2c.stall' http://10.77.1.2:8091/silent.bin ||
	die "GET over a connection that goes silent failed"
assert_eq 20000 "$(stat -c %s "$TMP/silent.got")" "bytes of /silent.bin"
assert_eq 2 "$(grep -c '^REQ /silent.bin' "$TMP/h2origin.log")" "h2 origin requests for /silent.bin"
say "the GET whose first connection went silent took $(($(now_ms) - t0)) ms"
in_app curl -sS --max-time 10 -o "$TMP/slowhead.got" -H 'Host: h2c.stall' http://10.77.1.2:8091/slowhead.bin ||
	die "GET of a slow head failed"
assert_eq 20000 "$(stat -c %s "$TMP/slowhead.got")" "bytes of /slowhead.bin"
assert_eq 1 "$(grep -c '^REQ /slowhead.bin' "$TMP/h2origin.log")" "h2 origin requests for /slowhead.bin"
say "ok: a silent HTTP/2 connection cut and retried, a slow live one waited for"

pass
