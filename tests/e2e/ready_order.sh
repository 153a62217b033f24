#!/bin/bash
# ready_order: readiness is readiness. hermesd takes no connection on any port before
# its maps, pins and links exist: a script that waits for a port and then runs
# `hermesctl policy add` must work. Five starts from an empty pin root; each time a
# poller connects to the outbound (15001) and admin (15000) ports every millisecond and,
# the moment one accepts, checks that the pinned policy map and the connect4 link exist.
# Then hermesctl policy add right after the port opened works.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

RUNS=5

topo_up
require_build

# poll_ports OUT: connects to 127.0.0.1:15001 and :15000 in turn until one accepts
# (bounded 10 s); then at once looks for the pins and writes "PORT pins=yes|no MISSING"
poll_ports() {
	bg poller c "$PY" -c '
import os, socket, sys, time
pins, out = sys.argv[1], sys.argv[2]
need = [os.path.join(pins, "hermes_policy"), os.path.join(pins, "links", "hermes_connect4")]
open(out + ".started", "w").close()
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    for port in (15001, 15000):
        s = socket.socket()
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            s.close()
            continue
        missing = [p for p in need if not os.path.exists(p)]
        s.close()
        with open(out, "w") as f:
            f.write("%d pins=%s %s\n" % (port, "no" if missing else "yes", " ".join(missing)))
        sys.exit(0)
    time.sleep(0.001)
sys.exit(1)
' "$PINROOT" "$1"
	POLL_PID=$BG_PID
	wait_until 5 test -e "$1.started" || die "the port poller did not start"
}

[ -e "$PINROOT" ] && die "pin root $PINROOT exists before the first start"
for ((run = 1; run <= RUNS; run++)); do
	out=$TMP/poll.$run
	poll_ports "$out"
	launch_hermesd "$NS_C" "$CG/hermesd" "$CG/app" "$PINROOT" "$HERMESD_LOG" debug
	HERMESD_PID=$LAUNCH_PID
	wait "$POLL_PID" 2>/dev/null || die "run $run: no port of hermesd accepted within 10 s"
	res=$(cat "$out")
	say "run $run: first accepted connection: $res"
	assert_match "$res" "pins=yes" "run $run: the pins and links existed when port ${res%% *} first accepted"
	if [ "$run" = 1 ]; then
		# what a script does: the port is open, so the policy can be written
		o=$(hermesctl policy add 10.77.1.2/32 deny 2>&1) || die "hermesctl policy add right after the port opened failed: $o"
		say "ok: hermesctl policy add right after the port opened ($o)"
	fi
	wait_until 15 sh -c "[ \"\$(nsenter --net=/run/netns/$NS_C curl -s -o /dev/null -w '%{http_code}' --max-time 1 http://127.0.0.1:15000/ready)\" = 200 ]" ||
		die "run $run: /ready never answered 200"
	stop_hermesd
	# the next start begins from nothing again
	ns_c "$HERMESCTL_BIN" --pin-root "$PINROOT" disable >/dev/null 2>&1
	rm -rf "$PINROOT"
	[ -e "$PINROOT" ] && die "run $run: cannot remove $PINROOT"
done
pass "ready_order: no port accepted before the pins and links existed ($RUNS starts)"
