#!/bin/bash
# hit_instr: the user-space instructions hermesd spends per HTTP cache hit, counted by
# callgrind (valgrind), a figure that does not move with the machine's load as CPU time
# does, and that works where perf has no hardware counters (most VMs). hermesd runs
# under callgrind with the http action and its cache on, in front of
# tests/bin/fill_origin.py, in namespaces and a cgroup of its own (tests/lib/common.sh);
# a HIT_SIZE-byte object (default 4096) is stored, then HIT_N (default 2000) keep-alive
# GETs of it on one HTTP/1.1 connection, one at a time, are counted from a zeroed
# counter to a dump. Kernel instructions (sockets, io_uring) are not in it: the bench's
# CPU time per hit (tools/bench/bench.sh, load cachehit) has them.
# As root: BUILD=build tools/bench/hit_instr.sh. Prints
# "instructions per hit: N (HIT_N hits, SIZE-byte body)"; exit 77 without valgrind.
# HIT_DUMP=FILE keeps the dump (callgrind_annotate FILE: where they go).
# shellcheck source-path=SCRIPTDIR source=../../tests/lib/common.sh
. "$(dirname "$0")/../../tests/lib/common.sh"

N=${HIT_N:-2000}
SIZE=${HIT_SIZE:-4096}
if ! command -v valgrind >/dev/null || ! command -v callgrind_control >/dev/null; then
	skip "valgrind (callgrind) is not installed: apt-get install valgrind"
fi
topo_up
mkdir -p "$TMP/www"
bg origin s "$PY" "$TESTBIN/fill_origin.py" 10.77.1.2 8090 "$TMP/www"
wait_tcp "$NS_S" 10.77.1.2 8090
echo "cache: {enabled: true}" >"$TMP/hermes.yaml"
real=$HERMESD_BIN
cat >"$TMP/vg-hermesd" <<SH
#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file=$TMP/cg.out "$real" "\$@"
SH
chmod +x "$TMP/vg-hermesd"
HERMESD_BIN=$TMP/vg-hermesd
HERMESD_LOG_LEVEL=warn # as the bench runs it: debug lines would be most of a hit
start_hermesd -c "$TMP/hermes.yaml"
policy_add 10.77.1.0/24 http
cat >"$TMP/client.py" <<'PY'
import http.client, sys
host, n, path, size = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
c = http.client.HTTPConnection(host, 8090, timeout=30)
for _ in range(2):  # the miss that stores it, the first hit
    c.request("GET", path)
    r = c.getresponse()
    assert r.status == 200 and len(r.read()) == size, "warm-up"
open(sys.argv[5], "w").close()
while True:  # the counter is zeroed meanwhile
    import os, time
    if os.path.exists(sys.argv[5] + ".go"):
        break
    time.sleep(0.05)
for _ in range(n):
    c.request("GET", path)
    r = c.getresponse()
    b = r.read()
    assert r.status == 200 and len(b) == size and r.getheader("Age") is not None, "not a hit"
open(sys.argv[5] + ".done", "w").close()
PY
path="/hit.bin?size=$SIZE&piece=$SIZE&ms=0"
bg client app "$PY" "$TMP/client.py" 10.77.1.2 "$N" "$path" "$SIZE" "$TMP/flag"
cpid=$BG_PID
# shellcheck disable=SC2317 # called through wait_until
warm() { [ -e "$TMP/flag" ]; }
wait_until 60 warm || die "the warm-up GETs did not end: $(cat "$TMP/client.log")"
callgrind_control -z "$HERMESD_PID" >/dev/null
touch "$TMP/flag.go"
wait "$cpid" || die "the client failed: $(cat "$TMP/client.log")"
callgrind_control -d "$HERMESD_PID" >/dev/null
# shellcheck disable=SC2317 # called through wait_until
dumped() { ls "$TMP"/cg.out.* >/dev/null 2>&1; }
wait_until 20 dumped || die "callgrind wrote no dump"
ir=$(grep -h '^summary:\|^totals:' "$TMP"/cg.out.* | head -n 1 | awk '{ print $2 }')
[ -n "$ir" ] || die "no instruction count in the dump"
dump=("$TMP"/cg.out.*)
[ -z "${HIT_DUMP:-}" ] || cp "${dump[0]}" "$HIT_DUMP" # the dump, for callgrind_annotate
say "instructions per hit: $((ir / N)) ($N hits, $SIZE-byte body)"
pass "hit_instr"
