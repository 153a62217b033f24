#!/bin/bash
# tunnel_h2_inplace: DATA received over an h2/mTLS tunnel is decrypted straight into its
# stream's buffer (hermes_tunnel_data_received_bytes_total{path="in_place"}), and stays
# byte-exact: flows of sizes around the TLS record (16 KiB) and DATA frame boundaries,
# written in uneven pieces, go both ways through an echo server beside each other on one
# pooled connection; a reader that stalls, then reads slowly, makes the buffers fill and
# wrap (flow control holds the sender) and still gets every byte in order. Between two
# hermesd every large DATA payload is decrypted in place (their headers end a record);
# the copy path (h2c, peers that seal a frame header with its payload) is tunnel_h2's and
# tunnel_multihop's. Small exchanges (64 bytes echoed) cost one TLS record a DATA frame
# on the wire, its header and payload sealed together. A bulk upload (16 MiB) reads the
# app's socket several buffers a receive armed.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
"$HERMESCTL_BIN" certs init "$TMP/pki" --hosts a,c >/dev/null || die "hermesctl certs init failed"
tls() { echo "tls: {cert: $TMP/pki/$1.crt, key: $TMP/pki/$1.key, ca: $TMP/pki/ca.crt}"; }

bg echo-server s "$PY" "$TESTBIN/hnet.py" serve-echo 10.77.1.3 9200 --deadline 120
wait_tcp "$NS_S" 10.77.1.3 9200 || die "the echo server did not start"

C_ADMIN=127.0.0.1:15000
tls c >"$TMP/c.yaml"
start_peer_hermesd "$NS_S" c -c "$TMP/c.yaml" --tunnel-listen 10.77.1.2:15008
cat >"$TMP/a.yaml" <<YAML
$(tls a)
routes:
  - name: to-c
    match: [10.77.1.3/32]
    peers: [{address: 10.77.1.2:15008, name: c}]
policy:
  - match: 10.77.1.3/32
    action: tunnel
YAML
start_hermesd -c "$TMP/a.yaml"

# in_place and copied bytes of a hermesd (ADMIN in NS)
rx_bytes() {
	nsenter --net="/run/netns/$1" curl -s --max-time 3 "http://$2/stats" |
		awk -v p="path=\"$3\"" 'index($1, "hermes_tunnel_data_received_bytes_total{") == 1 && index($1, p) { print $NF }'
}

big=$(by_build $((6 << 20)) $((2 << 20)))
pids=() names=() total=0
i=0
for size in 1 9 16375 16384 16393 $((16384 * 16 + 9)) $((256 * 1024 + 18)) $((1048576 + 7)) "$big"; do
	i=$((i + 1))
	bg "x$i" app "$PY" "$TESTBIN/echoblob.py" 10.77.1.3 9200 "$size" --seed "$i"
	pids+=("$BG_PID") names+=("x$i:$size")
	total=$((total + size))
done
# the stalled reader: its echo backs up through both hermesd (A's stream buffer, the
# listener's stream window, the echo server's socket) before it reads, slowly
bg slow app "$PY" "$TESTBIN/echoblob.py" 10.77.1.3 9200 "$big" --seed 99 --stall 1.5 --slow
pids+=("$BG_PID") names+=("slow:$big")
total=$((total + big))
bad=0
for k in "${!pids[@]}"; do
	wait "${pids[$k]}" || {
		bad=$((bad + 1))
		say "flow ${names[$k]}: $(cat "$TMP/${names[$k]%%:*}.log")"
	}
done
assert_eq 0 "$bad" "every flow came back byte-exact through the h2/mTLS tunnel"
say "ok: sizes 1 B to $big B both ways, and a stalled slow reader, byte-exact"
assert_eq 1 "$(stat_value hermes_tunnel_sessions_opened_total)" "the flows shared one pooled connection"

a_in=$(rx_bytes "$NS_C" 127.0.0.1:15000 in_place) a_cp=$(rx_bytes "$NS_C" 127.0.0.1:15000 copied)
c_in=$(rx_bytes "$NS_S" "$C_ADMIN" in_place) c_cp=$(rx_bytes "$NS_S" "$C_ADMIN" copied)
say "received DATA bytes: A in place $a_in, copied $a_cp; C in place $c_in, copied $c_cp"
# every byte of every flow, each way: C received the uploads, A their echo; all but the
# small payloads (at most 2 KiB, sealed with their frame headers: the 1 and 9 byte
# flows, a flow's last few bytes) straight into their streams' buffers
assert_ge "$total" $((${c_in:-0} + ${c_cp:-0})) "the listener received every DATA byte"
assert_ge "$total" $((${a_in:-0} + ${a_cp:-0})) "the client received every DATA byte"
assert_le $((total / 64)) "${c_cp:-0}" "the listener decrypted the large DATA payloads straight into its streams' buffers"
assert_le $((total / 64)) "${a_cp:-0}" "the client decrypted the large DATA payloads straight into its streams' buffers"

# small exchanges: a DATA frame with a small payload (an application's TLS handshake
# steps, a short request) is sealed in one TLS record with its header, where a header
# record and a payload record each cost a record's seal and open; counted on the wire:
# each 64-byte message costs its 9-byte frame header and payload, plus 22 bytes a record
# (5 of record header, 1 of content type, 16 of tag): 95 bytes in one record, 117 in two
# sess_sent NS FILTER...: bytes the session socket matched by the ss FILTER sent so far
sess_sent() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" ss -tniH state established "$@" |
		awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^bytes_sent:/) { sub(/^bytes_sent:/, "", $i); s += $i } } END { print s + 0 }'
}
pings=200
a0=$(sess_sent "$NS_C" dst 10.77.1.2:15008) c0=$(sess_sent "$NS_S" src 10.77.1.2:15008)
out=$(in_app timeout 20 "$PY" - 10.77.1.3 9200 "$pings" <<'PY' 2>&1
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for i in range(int(sys.argv[3])):
    s.sendall(bytes([i % 251]) * 64)
    got = b""
    while len(got) < 64:
        b = s.recv(64 - len(got))
        if not b:
            sys.exit("echo ended after %d exchanges" % i)
        got += b
    if got != bytes([i % 251]) * 64:
        sys.exit("exchange %d: wrong bytes" % i)
print("pings ok")
PY
)
assert_match "$out" "^pings ok" "$pings exchanges of 64 bytes echoed through the tunnel"
a_per=$((($(sess_sent "$NS_C" dst 10.77.1.2:15008) - a0) / pings))
c_per=$((($(sess_sent "$NS_S" src 10.77.1.2:15008) - c0) / pings))
say "bytes on the tunnel per 64-byte message: A $a_per, C $c_per (one record 95, two 117)"
assert_le 105 "$a_per" "A sealed each small DATA frame with its header in one TLS record"
assert_le 105 "$c_per" "C sealed each small DATA frame with its header in one TLS record"

# bulk from the app: 16 MiB one way into a reader on C's side, 1024 buffers of the app's
# socket on A; a bulk socket's multishot receive reads up to the room under its cap (7 of
# 8 buffers) each time it is armed, where a receive armed per buffer makes 1024 and more
# (and a DATA frame, a TLS send, a loop turn per 16 KiB)
touch "$TMP/go-bulk"
bg bulksink s "$PY" "$TESTBIN/poolpush.py" sink 10.77.1.3 9301 "$TMP/go-bulk" 1 $((16 << 20))
wait_tcp "$NS_S" 10.77.1.3 9301 || die "the bulk sink did not start"
recvs0=$(stat_value hermes_relay_recvs_armed_total)
out=$(in_app timeout 30 "$PY" "$TESTBIN/poolpush.py" push 10.77.1.3 9301 1 $((16 << 20)) 2>&1)
assert_match "$out" "^pushed 1" "16 MiB pushed through the tunnel"
wait_until 10 grep -q "^sink " "$TMP/bulksink.log" || die "the bulk sink did not finish reading"
assert_match "$(cat "$TMP/bulksink.log")" "sink ok 1" "the 16 MiB arrived intact"
recvs=$(($(stat_value hermes_relay_recvs_armed_total) - recvs0))
say "16 MiB from the app: $recvs receives armed on its socket"
if [ "$(uname -r | awk -F. '{ print $1 * 100 + $2 }')" -ge 617 ]; then
	assert_le 512 "$recvs" "a bulk socket reads several buffers a receive armed (not one armed per 16 KiB)"
else
	say "kernel $(uname -r) has no byte limit for multishot recvs: one recv a buffer, not checked"
fi
pass
