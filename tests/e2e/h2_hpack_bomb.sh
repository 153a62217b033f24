#!/bin/bash
# h2_hpack_bomb: HPACK amplification against both HTTP/2 server sides, the http action's
# h2c clients (steered, port 80) and the tunnel listener's h2c sessions (15008). A field
# block of one 4000-byte literal and 12000 one-byte references to it (16 kB on the wire)
# decodes to 48 MB; hermesd counts each section as it is decoded (http2.
# max_header_list_bytes, 32 KiB by default) and answers a request head over it 431 and
# trailers over it RST_STREAM(ENHANCE_YOUR_CALM), while its peak RSS (VmHWM) grows by
# less than 16 MB over all five attacks (when the fields were collected first and
# checked after the block, any one of these attacks, on either port, took it from 17 to
# 103 MB). A 20 kB head of plain fields
# on the tunnel listener is a 431 too (it was RST_STREAM(INTERNAL_ERROR)); each time is
# counted in hermes_http2_limits_total{limit="header_list"}; good requests still pass.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

"$PY" -c 'import hpack' 2>/dev/null || skip "python3-hpack is not installed for $PY"
topo_up
start_nginx
start_hermesd --tunnel-listen 10.77.1.1:15008
policy_add 10.77.1.2/32:80 http
app() { in_app "$PY" "$TESTBIN/h2raw.py" 10.77.1.2 80 "$@" 2>&1; }
tl() { ns_c "$PY" "$TESTBIN/h2raw.py" 10.77.1.1 15008 --authority 10.77.1.2:80 "$@" 2>&1; }
hwm() { awk '/^VmHWM:/ { print int($2 / 1024) }' "/proc/$HERMESD_PID/status"; }

assert_match "$(app get)" 'status 200' "h2c through the http action"
assert_match "$(tl get)" 'status 200' "a proxy request on the tunnel listener"
before=$(hwm)
say "hermesd peak RSS before: $before MB"

out=$(app bomb 12000)
assert_match "$out" 'status 431 \(stream 1\)' "http action: the amplified head gets 431 ($out)"
out=$(tl bomb 12000)
assert_match "$out" 'status 431 \(stream 1\)' "tunnel listener: the amplified head gets 431 ($out)"
out=$(tl bighead 20)
assert_match "$out" 'status 431 \(stream 1\)' "tunnel listener: a 20 kB head gets 431 ($out)"
out=$(app trailer-bomb 12000)
assert_match "$out" 'rst ENHANCE_YOUR_CALM \(stream 1\)' "http action: amplified trailers reset the stream ($out)"
out=$(tl trailer-bomb 12000)
assert_match "$out" 'rst ENHANCE_YOUR_CALM \(stream 1\)' "tunnel listener: amplified trailers reset the stream ($out)"

after=$(hwm)
say "hermesd peak RSS after five attacks: $after MB (+$((after - before)) MB)"
assert_le 15 "$((after - before))" "peak RSS grew by less than 16 MB"
pid_alive "$HERMESD_PID" || die "hermesd died"
assert_eq 5 "$(stat_value hermes_http2_limits_total 'limit="header_list"')" "five sections over the limit counted"
assert_match "$(app get)" 'status 200' "the http action still serves"
assert_match "$(tl get)" 'status 200' "the tunnel listener still serves"
pass "HPACK amplification: 431 / RST_STREAM(ENHANCE_YOUR_CALM) on both HTTP/2 sides, peak RSS +$((after - before)) MB"
