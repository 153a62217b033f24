#!/bin/bash
# tunnel_window: one bulk flow through a 1-hop h2/mTLS tunnel across a wide-area link
# (the delay line, common.sh's wan_up) is not capped by the HTTP/2 flow-control windows.
# HTTP/2 carries at most one window per round trip: the old 1 MiB stream windows held one
# flow to 1 MiB/RTT (10.5 MB/s at 100 ms) whatever the link. With the default windows
# (tunnel.h2_stream_window_bytes, tunnel.stream_buffer_bytes: 32 MiB) a flow downloads and
# uploads at more than 3x that across 100 ms: the client's pooled connection sets the
# download's window, the listener the upload's. Both hosts raise net.ipv4.tcp_rmem and
# tcp_wmem in their netns (per-netns sysctls) as an operator must for long fat paths.
# A stream's receive buffer follows what waits in it: the listener holds nothing once
# the flows ended; 20 MiB left unread in the client's stream (20x the old fixed ring) are
# counted in the memory budget, and once read the idle, still open flow's buffer goes
# at the next tick.
#
# TUNNEL_WINDOW_RTTS="10 50 100", TUNNEL_WINDOW_SECS, TUNNEL_WINDOW_ROUNDS and
# TUNNEL_WINDOW_YAML (extra `tunnel:` keys for both hosts, e.g. "h2_stream_window_bytes:
# 1048576, stream_buffer_bytes: 1048576" for the old windows) turn it into a measurement
# (direct and tunnel, each direction, every round): it then prints the rates and passes.
# test: serial (measures throughput)
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up

RTTS=${TUNNEL_WINDOW_RTTS:-}
SECS=${TUNNEL_WINDOW_SECS:-2.5}
ROUNDS=${TUNNEL_WINDOW_ROUNDS:-1}
EXTRA=${TUNNEL_WINDOW_YAML:+, $TUNNEL_WINDOW_YAML}

# Long fat paths need TCP buffers of a bandwidth-delay product (the defaults stop at
# 4-6 MiB: 330-500 Mbit/s at 100 ms), on both hosts, and a pooled connection stays warm
# across pauses only without slow start after idle (what the docs tell operators)
for ns in "$NS_C" "$NS_S"; do
	nsenter --net="/run/netns/$ns" sh -c 'echo "4096 131072 67108864" >/proc/sys/net/ipv4/tcp_rmem &&
		echo "4096 131072 67108864" >/proc/sys/net/ipv4/tcp_wmem &&
		echo 0 >/proc/sys/net/ipv4/tcp_slow_start_after_idle' || skip "cannot set the TCP sysctls in $ns"
done
# the line holds what such windows put in flight (its default, 16384 packets a way, is
# 1 Gbit/s at 100 ms: a flow's slow start overshot it and lost a window's worth)
WAN_OPTS=(--limit 40000)

# bulk.py serve BIND PORT: each connection says 'd' (the server sends until the client
# goes) or 'u' (it reads to EOF and answers "BYTES SECONDS", from the first byte to EOF).
# bulk.py down|up HOST PORT SECS: one flow for SECS, prints its rate in MB/s (down: from
# the first byte; up: as the server counted it)
cat >"$TMP/bulk.py" <<'PY'
import os, socket, sys, threading, time
cmd = sys.argv[1]
if cmd == "serve":
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((sys.argv[2], int(sys.argv[3])))
    ls.listen(16)
    print("listening", flush=True)
    def one(c):
        try:
            mode = c.recv(1)
            if mode == b"d":
                buf = bytes(1 << 20)
                while True:
                    c.sendall(buf)
            elif mode == b"f":
                c.sendall(bytes(20 << 20))
                c.recv(1)
            elif mode == b"u":
                buf, n, t0 = bytearray(4 << 20), 0, None
                while True:
                    k = c.recv_into(buf)
                    if not k:
                        break
                    t0 = t0 or time.perf_counter()
                    n += k
                c.sendall(b"%d %.6f\n" % (n, time.perf_counter() - (t0 or time.perf_counter())))
        except OSError:
            pass
        c.close()
    while True:
        c, _ = ls.accept()
        threading.Thread(target=one, args=(c,), daemon=True).start()
s = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=50)
secs = float(sys.argv[4]) if cmd != "burst" else 0
if cmd == "burst":
    # 20 MiB that wait unread until the file sys.argv[4].read exists, then read; the flow
    # stays open until the file sys.argv[4]
    s.sendall(b"f")
    print("asked", flush=True)
    while not os.path.exists(sys.argv[4] + ".read"):
        time.sleep(0.05)
    buf, n = bytearray(1 << 20), 0
    while n < 20 << 20:
        n += s.recv_into(buf)
    print("read %d" % n, flush=True)
    while not os.path.exists(sys.argv[4]):
        time.sleep(0.05)
    sys.exit(0)
if cmd == "down":
    s.sendall(b"d")
    buf, n, t0 = bytearray(4 << 20), 0, None
    while True:
        k = s.recv_into(buf)
        if not k:
            sys.exit("the server ended the flow after %d bytes" % n)
        n += k
        now = time.perf_counter()
        t0 = t0 or now
        if now - t0 >= secs:
            break
    print("%.1f" % (n / (now - t0) / 1e6))
else:
    s.sendall(b"u")
    buf, t0 = bytes(1 << 20), time.perf_counter()
    while time.perf_counter() - t0 < secs:
        s.sendall(buf)
    s.shutdown(socket.SHUT_WR)
    n, t = s.makefile().readline().split()
    print("%.1f" % (int(n) / float(t) / 1e6))
PY

"$HERMESCTL_BIN" certs init "$TMP/pki" --hosts client,server >/dev/null || die "hermesctl certs init failed"
cat >"$TMP/server.yaml" <<YAML
tls: {cert: $TMP/pki/server.crt, key: $TMP/pki/server.key, ca: $TMP/pki/ca.crt}
tunnel: {allow_cleartext: false$EXTRA}
tunnel_access:
  - {match: 10.77.1.3/32:9700, action: allow}
YAML
cat >"$TMP/client.yaml" <<YAML
tls: {cert: $TMP/pki/client.crt, key: $TMP/pki/client.key, ca: $TMP/pki/ca.crt}
tunnel: {allow_cleartext: false$EXTRA}
routes:
  - name: wan
    match: [10.77.1.3/32]
    peers: [{address: 10.77.1.2:15008, name: server}]
policy:
  - {match: 10.77.1.3/32, action: tunnel}
YAML

bg bulksrv s "$PY" "$TMP/bulk.py" serve 0.0.0.0 9700
wait_until 10 grep -q listening "$TMP/bulksrv.log" || die "the bulk server did not start"
HERMESD_LOG_LEVEL=info start_peer_hermesd "$NS_S" s -c "$TMP/server.yaml" --tunnel-listen 10.77.1.2:15008
HERMESD_LOG_LEVEL=info start_hermesd -c "$TMP/client.yaml"

# rate DIR HOST (MB/s of one flow; HOST 10.77.1.2 is direct, 10.77.1.3 through the tunnel)
rate() {
	local r
	if r=$(in_app timeout 60 "$PY" "$TMP/bulk.py" "$1" "$2" 9700 "$SECS" 2>&1); then
		echo "$r"
	elif [ -n "$RTTS" ]; then
		echo "failed" # a measurement goes on: a failure shows in its line
		say "the $1 flow to $2 failed: $r" >&2
	else
		die "the $1 flow to $2 failed: $r"
	fi
}

if [ -n "$RTTS" ]; then
	for rtt in $RTTS; do
		wan_up "$rtt" 0 0 "${WAN_OPTS[@]}"
		# a new pooled connection for each RTT, as the direct flows get (one that lived
		# through the line's replacement carried its losses' congestion state along)
		stop_hermesd TERM
		HERMESD_LOG_LEVEL=info start_hermesd -c "$TMP/client.yaml"
		for ((i = 1; i <= ROUNDS; i++)); do
			for dir in down up; do
				say "measure rtt=$rtt round=$i dir=$dir direct=$(rate "$dir" 10.77.1.2) tunnel=$(rate "$dir" 10.77.1.3) MB/s"
			done
		done
	done
	pass "measured (TUNNEL_WINDOW_RTTS=$RTTS)"
fi

RTT=100
wan_up "$RTT" 0 0 "${WAN_OPTS[@]}"
# one 1 MiB window per round trip, the old cap; 3x that is the floor
OLD_CAP=$(awk -v r="$RTT" 'BEGIN { printf "%.1f", 1048576 / (r / 1000) / 1e6 }')
FLOOR=$(awk -v c="$OLD_CAP" 'BEGIN { printf "%.0f", 3 * c }')
# (a second try when the first falls short: on a loaded machine a flow can lose a few
# packets in the line and halve its rate; 1 MiB windows stay under their cap every time)
for dir in down up; do
	for try in 1 2; do
		R=$(rate "$dir" 10.77.1.3)
		say "RTT $RTT ms, $dir through the tunnel (try $try): $R MB/s (1 MiB windows allow $OLD_CAP MB/s)"
		awk -v r="$R" -v f="$FLOOR" 'BEGIN { exit !(r >= f) }' && break
		[ "$try" = 2 ] &&
			die "RTT $RTT ms, $dir: one flow through the tunnel moved $R MB/s, under $FLOOR MB/s (3x what a 1 MiB window allows)"
	done
	say "ok: $dir above $FLOOR MB/s"
done

# the rings gave their memory back once their bytes left: nothing held for the flows
s_buffered() { peer_stat "$NS_S" 127.0.0.1:15000 hermes_tunnel_buffered_bytes; }
# shellcheck disable=SC2317 # called through wait_until
s_buffered_none() { [ "$(s_buffered)" = 0 ]; }
wait_until 5 s_buffered_none
assert_eq 0 "$(s_buffered)" "the listener holds no tunnel bytes once the flows ended"

# A stream's buffer follows what waits in it: 20 MiB the app does not read yet wait
# in the client's stream (more than the old fixed 1 MiB ring could take), counted in the
# memory budget; read, the flow open and idle, its buffer goes at the next tick
mib() { echo $(($(stat_value hermes_overload_buffer_bytes) >> 20)); }
# shellcheck disable=SC2317 # called through wait_until
mib_ge() { [ "$(mib)" -ge "$1" ]; }
# shellcheck disable=SC2317 # called through wait_until
mib_le() { [ "$(mib)" -le "$1" ]; }
BASE=$(mib)
bg burst app "$PY" "$TMP/bulk.py" burst 10.77.1.3 9700 "$TMP/burst.close"
BURST_PID=$BG_PID
wait_until 10 grep -q asked "$TMP/burst.log" || die "the burst client did not start: $(cat "$TMP/burst.log")"
# (as fast as the path lets them: with net.ipv4.tcp_slow_start_after_idle at its default
# the pooled connection, quiet for a few seconds, took over 2 s here)
wait_until 10 mib_ge $((BASE + 8))
HELD=$(mib)
assert_ge $((BASE + 8)) "$HELD" "20 MiB unread: the client's buffer memory grew from $BASE MiB (MiB)"
touch "$TMP/burst.close.read"
wait_until 10 grep -q "read $((20 << 20))" "$TMP/burst.log" || die "the burst did not arrive: $(cat "$TMP/burst.log")"
wait_until 5 mib_le $((BASE + 1))
assert_le $((BASE + 1)) "$(mib)" "read, the idle flow's buffer went at a tick (MiB; $HELD while unread)"
pid_alive "$BURST_PID" || die "the burst flow ended before its check"
touch "$TMP/burst.close"
wait "$BURST_PID" || die "the burst flow failed: $(cat "$TMP/burst.log")"
# the client first, while the line is up: it closes its pooled connection, so the
# listener's hermesd has nothing left to drain across a line that cleanup stops
stop_hermesd TERM
pass "one flow across ${RTT} ms moves over 3x what 1 MiB windows allow, both directions"
