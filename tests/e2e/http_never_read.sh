#!/bin/bash
# http_never_read: 20 HTTP/1.1 clients of the http action each ask for a 16 MiB file and
# then read nothing for 5 s (320 MiB would pile up in hermesd if it buffered responses for
# clients that do not read). hermesd reads from the origin only as fast as each client
# takes: its RSS grows by less than 40 MB while they stall, a good client is served
# meanwhile, and when the stalled clients read at last every one gets its whole 16 MiB.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

N=20
SIZE=$((16 << 20))
topo_up
start_nginx
head -c "$SIZE" /dev/zero >"$TMP/nginx/www/big.bin"
chmod 644 "$TMP/nginx/www/big.bin"
start_hermesd
policy_add 10.77.1.2/32:80 http
rss() { awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$HERMESD_PID/status"; }
assert_eq 200 "$(in_app curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://10.77.1.2/)" "a good client first"
before=$(rss)

bg stall app "$PY" "$TESTBIN/stallget.py" 10.77.1.2 80 /big.bin "$N" 5
STALL_PID=$BG_PID
wait_until 5 grep -q 'not reading' "$TMP/stall.log" || die "the stalling clients did not start: $(cat "$TMP/stall.log")"
sleep 2.5
mid=$(rss)
say "hermesd RSS: $before MB before, $mid MB with $N clients that do not read"
assert_eq 200 "$(in_app curl -s -o /dev/null -w '%{http_code}' --max-time 3 http://10.77.1.2/)" \
	"a good client is served while they stall"
wait "$STALL_PID"
out=$(cat "$TMP/stall.log")
say "$out"
assert_match "$out" "complete=$N bytes_each=$SIZE statuses=200 " "every stalled client gets its whole file at last"
assert_le 40 "$((mid - before))" "RSS grew by less than 40 MB for $N stalled $((SIZE >> 20)) MiB downloads"
assert_eq 200 "$(in_app curl -s -o /dev/null -w '%{http_code}' --max-time 3 http://10.77.1.2/)" "a good client after"
pass "never-reading HTTP/1.1 clients: hermesd's buffering bounded (RSS +$((mid - before)) MB for $N x $((SIZE >> 20)) MiB), all complete later"
