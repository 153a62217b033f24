#!/bin/bash
# reload_offloop: a SIGHUP's file is read, parsed and built off the event loop, with the
# loader's limits checked as the file arrives. While a ping-pong client runs through the
# proxy action (one long flow, and a new connection every tenth ping):
#  A. the new file comes slowly (a FIFO fed over 3 s stands for a slow or hung file
#     system) and nests 80,000 levels deep: pings and new connections keep being answered
#     while the build runs (the loop used to sit in the read for all of it, so none
#     would complete in that window; how long the slowest took is printed), /metrics
#     shows the build in progress, and the reload then fails naming file, line and the
#     depth limit, counted as a limit, with the running config kept;
#  B. SIGHUPs during a build are coalesced: three more give exactly one more build, which
#     reads the file as it is by then; both good files apply in turn;
#  C. a file of 150,000 routes is refused at its 257th entry at once, and hermesd's peak
#     memory hardly moves (the whole document used to be built first: 251 MB).
# shellcheck disable=SC2016 # single-quoted sh -c scripts expand in the inner shell
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
CONF=$TMP/hermes.yaml
cat >"$CONF" <<YAML
policy:
  - {match: 10.77.1.2/32, action: proxy}
YAML
bg echo s "$PY" "$TESTBIN/hnet.py" serve-echo 10.77.1.2 9200 --deadline 60 --ready-file "$TMP/echo.ready"
wait_until 10 test -e "$TMP/echo.ready" || die "echo server did not start"
start_hermesd -c "$CONF"

# The ping-pong client: pings on one flow every 10 ms, a new connection every tenth; stops
# when $TMP/ping.stop appears (or after 30 s) and prints what it saw, with the pings and
# new connections that completed while the file $TMP/window existed (the build's window,
# which the test opens and closes).
cat >"$TMP/ping.py" <<'PY'
import os, socket, sys, time
stop, ready, window = sys.argv[1], sys.argv[2], sys.argv[3]
def conn():
    s = socket.create_connection(("10.77.1.2", 9200), timeout=20)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s
def ping(s):
    t = time.monotonic()
    s.sendall(b"ping\n")
    got = b""
    while len(got) < 5:
        d = s.recv(5 - len(got))
        if not d:
            raise SystemExit("the flow ended")
        got += d
    return time.monotonic() - t
long = conn()
n = worst = conns = worst_conn = n_in = conns_in = 0
end = time.monotonic() + 30
while not os.path.exists(stop) and time.monotonic() < end:
    worst = max(worst, ping(long))
    n += 1
    n_in += os.path.exists(window)
    if n % 10 == 0:
        t = time.monotonic()
        with conn() as s:
            ping(s)
        worst_conn = max(worst_conn, time.monotonic() - t)
        conns += 1
        conns_in += os.path.exists(window)
    if n == 1:
        open(ready, "w").close()
    time.sleep(0.01)
print("pings %d worst_ms %d new_connections %d worst_connection_ms %d in_window %d new_in_window %d"
      % (n, worst * 1000, conns, worst_conn * 1000, n_in, conns_in))
PY

# ping_start NAME / ping_stop NAME: the client over one phase; ping_stop sets PINGS,
# WORST_MS (the slowest ping or new connection with its ping, in ms), IN_WINDOW and
# NEW_IN_WINDOW (pings and new connections completed while $TMP/window existed)
ping_start() {
	rm -f "$TMP/ping.stop" "$TMP/$1.ready" "$TMP/window"
	bg "$1" app "$PY" "$TMP/ping.py" "$TMP/ping.stop" "$TMP/$1.ready" "$TMP/window"
	PING_PID=$BG_PID
	wait_until 10 test -e "$TMP/$1.ready" || die "the ping client did not get its first answer: $(cat "$TMP/$1.log")"
}
ping_stop() {
	local out rc
	touch "$TMP/ping.stop"
	wait "$PING_PID"
	rc=$?
	out=$(cat "$TMP/$1.log")
	say "ping client: $out"
	assert_eq 0 "$rc" "the ping client ran without a failure"
	PINGS=$(awk '{ print $2 }' <<<"$out")
	WORST_MS=$(awk '{ print ($4 > $8) ? $4 : $8 }' <<<"$out")
	IN_WINDOW=$(awk '{ print $10 }' <<<"$out")
	NEW_IN_WINDOW=$(awk '{ print $12 }' <<<"$out")
}

# feed NAME SECONDS CMD...: a writer of the FIFO at $CONF (made now, renamed over the
# file): opens it (blocks until hermesd's build opens it for reading), marks
# $TMP/NAME.open, runs CMD with its output into the FIFO over SECONDS
feed() {
	local name=$1
	shift
	mkfifo "$TMP/fifo" || die "mkfifo failed"
	mv -f "$TMP/fifo" "$CONF"
	bash -c 'exec 3>"$0"; touch "$1"; shift; "$@" >&3' "$CONF" "$TMP/$name.open" "$@" &
	FEED_PID=$!
	PIDS+=("$FEED_PID")
}

# ---- A: a slow file that nests 80,000 deep
ping_start pingA
wait_origdst '10\.77\.1\.2:9200' 1 "the pings go through hermesd"
feed deep sh -c 'printf "policy: "; for i in $(seq 30); do head -c 2667 /dev/zero | tr "\0" "["; sleep 0.1; done'
t0=$(now_ms)
kill -HUP "$HERMESD_PID"
wait_until 5 test -e "$TMP/deep.open" || die "hermesd's reload did not open the file"
touch "$TMP/window"
sleep 0.5
assert_eq 1 "$(stat_value hermes_config_reload_in_progress)" "/metrics: a reload is being built"
assert_eq 200 "$(admin_code /ready)" "/ready answers during the build"
wait_until 10 grep -q 'SIGHUP: reload failed' "$HERMESD_LOG" || die "the deep file's reload did not end"
t1=$(now_ms)
rm -f "$TMP/window"
ping_stop pingA
say "the build took $((t1 - t0)) ms; pings: $PINGS, $IN_WINDOW of them and $NEW_IN_WINDOW new connections while it ran; the slowest $WORST_MS ms"
assert_ge 2500 "$((t1 - t0))" "the file took its 3 s to come"
assert_ge 20 "$IN_WINDOW" "pings were answered while the build ran (a loop stalled in the read answers none)"
assert_ge 2 "$NEW_IN_WINDOW" "new connections were accepted and answered while the build ran"
assert_file_match "$HERMESD_LOG" \
	"SIGHUP: reload failed, keeping the running config: $CONF:1:[0-9]+: YAML nested more than 64 levels deep" \
	"the failure names the file, its line and the depth limit"
assert_eq 1 "$(stat_value hermes_config_reload_limits_total)" "/metrics: a reload refused by a limit"
assert_eq 1 "$(stat_value hermes_config_reloads_total 'result="failed"')" "/metrics: one failed reload"
assert_eq 0 "$(stat_value hermes_config_last_reload_success)" "/metrics: the last reload failed"
assert_eq 0 "$(stat_value hermes_config_reload_in_progress)" "/metrics: no build in progress any more"
dur=$(admin_get /metrics | awk '$1 == "hermes_config_last_reload_duration_seconds" { print int($2 * 1000) }')
assert_ge 2500 "${dur:-0}" "/metrics: the last reload's duration (ms) covers the slow read"
assert_match "$(hermesctl policy list)" '10\.77\.1\.2/32 +proxy +config' "the running policy stays"
wait "$FEED_PID" 2>/dev/null

# ---- B: three SIGHUPs during a slow build give one more build, of the file as it is then
ping_start pingB
good() { # good PORT: the running policy and a deny of 10.77.1.3:PORT
	printf 'policy:\n  - {match: 10.77.1.2/32, action: proxy}\n  - {match: "10.77.1.3/32:%s", action: deny}\n' "$1"
}
feed slow sh -c "printf 'policy:\n'; sleep 1.5; printf '  - {match: 10.77.1.2/32, action: proxy}\n  - {match: \"10.77.1.3/32:81\", action: deny}\n'"
kill -HUP "$HERMESD_PID"
wait_until 5 test -e "$TMP/slow.open" || die "hermesd's reload did not open the file"
touch "$TMP/window"
good 82 >"$TMP/next.yaml"
mv -f "$TMP/next.yaml" "$CONF"
for _ in 1 2 3; do
	kill -HUP "$HERMESD_PID"
	sleep 0.05
done
wait_until 10 grep -q 'SIGHUP: reloaded .*config snapshot 3' "$HERMESD_LOG" || die "the second good file was not applied"
rm -f "$TMP/window"
sleep 0.5
ping_stop pingB
say "pings during both builds: $IN_WINDOW and $NEW_IN_WINDOW new connections; the slowest $WORST_MS ms"
assert_ge 10 "$IN_WINDOW" "pings went on during both builds (the slow file alone takes 1.5 s)"
assert_eq 1 "$(grep -c 'is being built: one more follows it' "$HERMESD_LOG")" "the SIGHUPs during the build: said once"
assert_file_match "$HERMESD_LOG" 'SIGHUP: reloaded .*config snapshot 2' "the slow file applied first"
assert_file_nomatch "$HERMESD_LOG" 'config snapshot 4' "three SIGHUPs during a build: one more build, not three"
assert_eq 2 "$(stat_value hermes_config_reloads_total 'result="ok"')" "/metrics: two reloads applied"
list=$(hermesctl policy list)
assert_match "$list" '10\.77\.1\.3/32:82 +deny +config' "the file as it was at the last SIGHUP runs"
if grep -q '10\.77\.1\.3/32:81' <<<"$list"; then die "the slow file's rule stayed after the next reload"; fi
expect_eperm "the new rule applies" 10.77.1.3 82

# ---- C: 150,000 routes: refused at once, peak memory flat
"$PY" -c '
import sys
with open(sys.argv[1], "w") as f:
    f.write("routes:\n" + "".join("- {name: r%d}\n" % i for i in range(150000)))
' "$TMP/huge.yaml"
mv -f "$TMP/huge.yaml" "$CONF"
echo 5 >"/proc/$HERMESD_PID/clear_refs" # the peak (VmHWM) starts again from now
hwm0=$(awk '/^VmHWM/ { print $2 }' "/proc/$HERMESD_PID/status")
t0=$(now_ms)
kill -HUP "$HERMESD_PID"
wait_until 10 sh -c '[ "$(grep -c "SIGHUP: reload failed" "$0")" -ge 2 ]' "$HERMESD_LOG" ||
	die "the huge file's reload did not end"
t1=$(now_ms)
hwm1=$(awk '/^VmHWM/ { print $2 }' "/proc/$HERMESD_PID/status")
say "150,000 routes: refused in $((t1 - t0)) ms, peak memory $hwm0 -> $hwm1 kB"
assert_file_match "$HERMESD_LOG" "reload failed.*$CONF:258:3: 'routes' has more than 256 entries \(expected at most 256\)" \
	"the failure names the file, the line of the 257th route and the limit"
assert_le 40960 "$((hwm1 - hwm0))" "peak memory grew by less than 40 MB (the whole document took 250 MB)"
assert_le 2000 "$((t1 - t0))" "refused at once"
assert_eq 2 "$(stat_value hermes_config_reload_limits_total)" "/metrics: two reloads refused by a limit"
assert_match "$(hermesctl policy list)" '10\.77\.1\.3/32:82 +deny +config' "the running policy stays"
pid_alive "$HERMESD_PID" || die "hermesd died"
pass "reloads are built off the loop (pings answered meanwhile), coalesced, and refused fast at the loader's limits"
