#!/bin/bash
# fd_exhaust: hermesd under RLIMIT_NOFILE 700 flooded with far more connections than it has
# descriptors, all held open for 6 s without a byte read: 1200 idle HTTP/2 sessions on the
# tunnel listener (preface and SETTINGS), 1200 silent clients of the http action and 1200
# proxied flows (each wants an upstream descriptor too). While they are held, /ready on the
# admin port still answers 200 (hermesd stops accepting on the flow listeners 256
# descriptors short of the limit; see docs/operations.md "Descriptor limit"), hermesd does
# not spin and its RSS stays bounded; once the flood lets go, good clients of every
# listener are served within a few seconds, and no sanitizer report.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

N=1200
LIMIT=700
HOLD=6
require_cmd prlimit
topo_up
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
start_nginx "$NS_S" 10.77.1.2:80 10.77.1.3:80
REAL_HERMESD=$HERMESD_BIN
HERMESD_BIN=$TMP/hermesd-limited
printf '#!/bin/sh\nexec prlimit --nofile=%s:%s %s "$@"\n' "$LIMIT" "$LIMIT" "$REAL_HERMESD" >"$HERMESD_BIN"
chmod +x "$HERMESD_BIN"
printf 'tunnel_access:\n  - match: 10.77.1.2/32:80\n    action: allow\n' >"$TMP/hermes.yaml"
start_hermesd -c "$TMP/hermes.yaml" --tunnel-listen 10.77.1.1:15008
policy_add 10.77.1.2/32:80 http
policy_add 10.77.1.3/32:80 proxy
rss() { awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$HERMESD_PID/status"; }
ticks() { awk '{ print $14 + $15 }' "/proc/$HERMESD_PID/stat"; }
good() {
	local a b c
	a=$(in_app curl -s -o /dev/null -w '%{http_code}' --max-time 2 http://10.77.1.2/)
	b=$(in_app curl -s -o /dev/null -w '%{http_code}' --max-time 2 http://10.77.1.3/)
	c=$(ns_c curl -s -o /dev/null -w '%{http_code}' --max-time 2 -p -x http://10.77.1.1:15008 http://10.77.1.2/)
	[ "$a$b$c" = 200200200 ]
}
good || die "good clients fail before the flood"
before=$(rss)

bg flood-tunnel c "$PY" "$TESTBIN/flood.py" 10.77.1.1 15008 "$N" "$HOLD" h2
p1=$BG_PID
bg flood-http app "$PY" "$TESTBIN/flood.py" 10.77.1.2 80 "$N" "$HOLD"
p2=$BG_PID
bg flood-proxy app "$PY" "$TESTBIN/flood.py" 10.77.1.3 80 "$N" "$HOLD"
p3=$BG_PID
sleep 2
ready_ok=0
t0=$(ticks)
for i in 1 2 3 4 5 6; do
	[ "$(admin_code /ready)" = 200 ] && ready_ok=$((ready_ok + 1))
	sleep 0.3
done
used=$(($(ticks) - t0))
fds=$(find "/proc/$HERMESD_PID/fd" -mindepth 1 2>/dev/null | wc -l)
mid=$(rss)
say "during the flood: /ready 200 $ready_ok/6 times, $fds descriptors open (limit $LIMIT), RSS $mid MB, $used ticks in ~2 s"
assert_eq 6 "$ready_ok" "/ready answers during the flood"
assert_le "$LIMIT" "$fds" "hermesd holds no more descriptors than its limit"
assert_le "$(getconf CLK_TCK)" "$used" "hermesd does not spin (under half a CPU) while its descriptors are short"
for p in $p1 $p2 $p3; do wait "$p" 2>/dev/null; done
for t in tunnel http proxy; do say "$t: $(cat "$TMP/flood-$t.log")"; done

wait_until 8 good || die "good clients are not served within 8 s of the flood's end"
say "ok: good clients of the http action, the proxy port and the tunnel listener served after the flood"
assert_le 60 "$((mid - before))" "RSS grew by less than 60 MB during the flood ($before -> $mid MB)"
assert_eq 200 "$(admin_code /ready)" "ready after the flood"
pid_alive "$HERMESD_PID" || die "hermesd died"
assert_eq 0 "$(grep -c -E 'AddressSanitizer|runtime error|LeakSanitizer' "$HERMESD_LOG")" "no sanitizer report"
pass "descriptor exhaustion ($((3 * N)) connections under RLIMIT_NOFILE $LIMIT): /ready answered throughout, good clients served after, RSS +$((mid - before)) MB"
