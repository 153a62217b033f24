#!/bin/bash
# h2_zero_window: HTTP/2 clients that ask for a lot and never open their windows
# (SETTINGS_INITIAL_WINDOW_SIZE 0, no WINDOW_UPDATE), against both HTTP/2 server sides
# at once: 100 streams of GET /big.bin (16 MiB each, from nginx) on the http action's
# h2c side; on the tunnel listener's h2c side, 100 explicit proxy requests for the same
# file and 100 CONNECT streams to a source that writes as fast as it is let. 3.2 GB and
# more would pile up in hermesd if it read its upstreams regardless of the streams'
# windows. It reads only what a stream can send: while the
# clients hold, the bytes hermesd holds stay within the per-exchange buffers
# (hermes_overload_buffer_bytes), its RSS within their sum, the source is stopped
# (backpressure: what it wrote stays within hermesd's buffers plus the sockets') and no
# DATA reaches the clients; good clients are served on both sides meanwhile; once the
# bad clients leave, the buffers are all released and nginx logs each transfer cut short.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

"$PY" -c 'import hpack' 2>/dev/null || skip "python3-hpack is not installed for $PY"
N=100 # http2.max_concurrent_streams' default
HOLD=4
topo_up
start_nginx
head -c $((16 << 20)) /dev/zero >"$TMP/nginx/www/big.bin"
chmod 644 "$TMP/nginx/www/big.bin"
# small socket buffers on hermesd's side, so that what the source manages to write shows
# hermesd's own reading, not the kernel's
ns_c sysctl -qw net.ipv4.tcp_rmem="4096 16384 65536" || die "cannot set tcp_rmem in $NS_C"
bg source s "$PY" -c '
import os, socket, sys, threading, time
sent = []  # one count per connection, each written by its own thread only
def feed(c, i):
    chunk = b"z" * 4096  # small writes: the count stops where the socket does
    try:
        while True:
            sent[i] += c.send(chunk)
    except OSError:
        pass
def report():
    while True:
        with open(sys.argv[1] + ".tmp", "w") as f:
            f.write("%d\n" % sum(sent))
        os.rename(sys.argv[1] + ".tmp", sys.argv[1])
        time.sleep(0.1)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.77.1.2", 9400))
s.listen(1024)
threading.Thread(target=report, daemon=True).start()
while True:
    c = s.accept()[0]
    c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
    sent.append(0)
    threading.Thread(target=feed, args=(c, len(sent) - 1), daemon=True).start()
' "$TMP/source.sent"
wait_until 5 test -s "$TMP/source.sent" || die "the source did not start: $(cat "$TMP/source.log")"
start_hermesd --tunnel-listen 10.77.1.1:15008
policy_add 10.77.1.2/32:80 http
rss() { awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$HERMESD_PID/status"; }
held() { stat_value hermes_overload_buffer_bytes; }
h2get() { in_app curl -s -o /dev/null -w '%{http_code} %{size_download}' --max-time 5 --http2-prior-knowledge "$@"; }
assert_eq "200 1048576" "$(h2get http://10.77.1.2/1m.bin)" "a good h2c client first"
rss0=$(rss) held0=$(held)

bg zw_http app "$PY" "$TESTBIN/h2raw.py" 10.77.1.2 80 --path /big.bin --timeout "$HOLD" zero-window "$N"
ZW_HTTP=$BG_PID
bg zw_tun c "$PY" "$TESTBIN/h2raw.py" 10.77.1.1 15008 --connect 10.77.1.2:9400 --timeout "$HOLD" zero-window "$N"
ZW_TUN=$BG_PID
bg zw_proxy c "$PY" "$TESTBIN/h2raw.py" 10.77.1.1 15008 --authority 10.77.1.2:80 --path /big.bin --timeout "$HOLD" \
	zero-window "$N"
ZW_PROXY=$BG_PID
wait_until 5 grep -q "answered $N" "$TMP/zw_http.log" || die "http side: not every stream answered: $(cat "$TMP/zw_http.log")"
wait_until 5 grep -q "answered $N" "$TMP/zw_tun.log" || die "tunnel side: not every stream answered: $(cat "$TMP/zw_tun.log")"
wait_until 5 grep -q "answered $N" "$TMP/zw_proxy.log" || die "proxy requests: not every stream answered: $(cat "$TMP/zw_proxy.log")"
sleep 1 # the buffers fill
sent1=$(cat "$TMP/source.sent")
sleep 1
sent2=$(cat "$TMP/source.sent") rss1=$(rss) held1=$(held)
say "while stalled: RSS $rss0 -> $rss1 MB, buffers held $held0 -> $held1 B, source wrote $sent1 then $sent2 B"
# Per stream hermesd holds at most: a GET (h2c or proxy request), the exchange's client
# buffers (rx: max_head 16 KiB + 16 KiB, send: max_head + 65 KiB) and its upstream
# connection's (receive: max_head + 4 KiB at least 64 KiB, write: 128 KiB), 305 KiB; a
# CONNECT, the target socket's 8 x 16 KiB receive buffers; a stream of the tunnel
# listener also its head as received (16 KiB; counted for every stream here). 3 MiB
# for the sessions and nghttp2's own state.
bound=$((2 * N * (305 + 16) * 1024 + N * (128 + 16) * 1024 + (3 << 20)))
assert_le "$bound" "$((held1 - held0))" "buffers held for $((3 * N)) zero-window streams stay within their per-stream buffers"
assert_le $(((bound >> 20) + 16)) "$((rss1 - rss0))" "RSS grows by no more than those buffers (MB)"
# what the source wrote: hermesd's 128 KiB per stream plus both sockets' buffers
# (receive: tcp_rmem 64 KiB at most; send: SO_SNDBUF 16384, doubled by the kernel, and
# its overhead)
assert_le $((N * (128 + 64 + 64) * 1024)) "$sent2" "the source is held back (backpressure)"
assert_le $((64 * 1024)) "$((sent2 - sent1))" "the source is stopped, not slowed"
assert_eq "200 1048576" "$(h2get http://10.77.1.2/1m.bin)" "a good h2c client of the http action is served meanwhile"
assert_match "$(ns_c "$PY" "$TESTBIN/h2raw.py" 10.77.1.1 15008 --authority 10.77.1.2:80 get 2>&1)" 'status 200' \
	"a good client of the tunnel listener is served meanwhile"

wait "$ZW_HTTP" "$ZW_TUN" "$ZW_PROXY"
for side in http tun proxy; do
	out=$(tail -n 1 "$TMP/zw_$side.log")
	say "$side: $out"
	assert_eq "zero-window status200=$N data=0 rst=0 goaway=0" "$out" "$side: $N streams answered, no DATA past a shut window"
done
# shellcheck disable=SC2317 # called through wait_until
released() { [ "$(held)" -le $((held0 + (256 << 10))) ]; }
wait_until 5 released || die "buffers still held after the bad clients left: $(held) B (before: $held0)"
say "after: buffers held $(held) B"
if ldd "$HERMESD_BIN" | grep -q libasan; then
	say "ASan build: freed memory stays in ASan's quarantine, RSS falling back is not checked"
else
	# freed buffers go back to the system on the next tick (malloc_trim, overload.c)
	# shellcheck disable=SC2317 # called through wait_until
	rss_down() { rss2=$(rss) && [ "$rss2" -le $((rss0 + (rss1 - rss0) / 2 + 8)) ]; }
	wait_until 3 rss_down || die "RSS stays at $rss2 MB after the bad clients left (before them: $rss0, with them: $rss1)"
	say "ok: RSS back to $rss2 MB once the bad clients left"
fi
# shellcheck disable=SC2317 # called through wait_until
logged() { [ "$(grep -c 'big.bin' "$NGINX_ACCESS_LOG")" -ge $((2 * N)) ]; }
wait_until 5 logged || die "nginx did not log the $((2 * N)) transfers"
cut=$(awk '/big.bin/ && $NF < 16777216 { n++ } END { print n + 0 }' "$NGINX_ACCESS_LOG")
assert_eq $((2 * N)) "$cut" "nginx sent each of the $((2 * N)) stalled transfers only in part"
pass "zero-window HTTP/2 clients: buffers $(((held1 - held0) >> 10)) KiB for $((3 * N)) streams, RSS +$((rss1 - rss0)) MB, source stopped at $((sent2 >> 10)) KiB, good clients served, all released"
