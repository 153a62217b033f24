#!/bin/bash
# tunnel_idle_memory: an HTTP/2 session that stays open after a burst gives back the
# output buffer the burst grew. A client of the tunnel listener (h2c) downloads 2 MiB
# over each of 8 CONNECT streams without reading for a second, so that hermesd's output
# gathers behind the full socket (its two output buffers grew to 2 MiB each here), then
# reads to the end and keeps the connection open, idle: within three seconds the buffer
# bytes hermesd counts (hermes_overload_buffer_bytes) are back near where they were at
# rest, not at the burst's high-water mark (4.2 MB held by the idle session before).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

"$PY" -c 'import h2' 2>/dev/null || skip "python3-h2 is not installed for $PY"
topo_up
start_nginx
head -c $((2 << 20)) /dev/zero >"$TMP/nginx/www/2m.bin"
chmod 644 "$TMP/nginx/www/2m.bin"
# small socket buffers on hermesd's side: what the client does not read stays in hermesd
ns_c sysctl -qw net.ipv4.tcp_wmem="4096 16384 65536" || die "cannot set tcp_wmem in $NS_C"
cat >"$TMP/c.yaml" <<EOF2
listeners: {tunnel: 10.77.1.1:15008}
EOF2
start_hermesd -c "$TMP/c.yaml"
base=$(stat_value hermes_overload_buffer_bytes)

bg burst c "$PY" "$TESTBIN/ovlpush.py" burst 10.77.1.1 15008 10.77.1.2:80 /2m.bin 8 8
BURST_PID=$BG_PID
# the most held during the burst (the gauge moves at each tick and shed point)
mid=0
for ((i = 0; i < 60; i++)); do
	v=$(stat_value hermes_overload_buffer_bytes)
	[ "${v:-0}" -gt "$mid" ] && mid=$v
	grep -q received= "$TMP/burst.log" && break
	sleep 0.1
done
wait_until 15 grep -q received= "$TMP/burst.log" || die "the download did not end: $(cat "$TMP/burst.log")"
got=$(sed -n 's/^received=//p' "$TMP/burst.log")
assert_ge $((16 << 20)) "${got:-0}" "8 x 2 MiB arrived over the streams ($got bytes with the answer heads)"
assert_eq 1 "$(stat_value hermes_tunnel_sessions 'direction="in"')" "the session is still open"
assert_ge $((base + (1 << 20))) "$mid" "the burst grew hermesd's buffers (at rest $base, then $mid bytes)"
# shellcheck disable=SC2317 # called through wait_until
settled() { [ "$(stat_value hermes_overload_buffer_bytes)" -le $((base + (192 << 10))) ]; }
wait_until 3 settled ||
	die "an idle session kept its burst's buffers: $(stat_value hermes_overload_buffer_bytes) bytes held (at rest $base, in the burst $mid)"
held=$(stat_value hermes_overload_buffer_bytes)
stop_pid "$BURST_PID" TERM 2
pass "an idle HTTP/2 session gave back its burst's output buffers: $base -> $mid -> $held buffer bytes held"
