#!/bin/bash
# sd_notify: under a Type=notify service hermesd tells systemd its state. A test
# NOTIFY_SOCKET (a unix datagram socket that records every message, the sender's pid and
# when it came) must see, from hermesd's own pid: READY=1 once it is ready, RELOADING=1
# with a current MONOTONIC_USEC then READY=1 again (with the new rule count) on SIGHUP,
# and STOPPING=1 on SIGTERM, in that order.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
require_build
SOCK=$TMP/notify.sock
REC=$TMP/notify.txt
# one line per message: RECEIVE_TIME_USEC SENDER_PID FIELD|FIELD|...
bg notify c "$PY" -c '
import socket, struct, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(sys.argv[1])
print("listening", flush=True)
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
        pid = 0
        for level, typ, data in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", data[:12])[0]
        fields = msg.decode().strip().replace("\n", "|")
        out.write("%d %d %s\n" % (time.monotonic_ns() // 1000, pid, fields))
' "$SOCK" "$REC"
wait_until 5 grep -q listening "$TMP/notify.log" || die "the test NOTIFY_SOCKET did not start"

CONF=$TMP/hermes.yaml
printf 'policy:\n  - {match: 10.77.1.3:81, action: deny}\n' >"$CONF"
export NOTIFY_SOCKET=$SOCK
start_hermesd -c "$CONF"
unset NOTIFY_SOCKET

# msg N: the Nth message recorded (empty when there is none yet)
msg() { sed -n "${1}p" "$REC"; }
# has_msg N: true once N messages arrived
has_msg() { [ "$(wc -l <"$REC" 2>/dev/null || echo 0)" -ge "$1" ]; }
wait_until 5 has_msg 1 || die "no message on NOTIFY_SOCKET after hermesd was ready"
m=$(msg 1)
assert_match "$m" "^[0-9]+ $HERMESD_PID READY=1\|STATUS=steering $CG/app, 1 policy rules" \
	"READY=1 from hermesd (pid $HERMESD_PID) with a STATUS line"

printf 'policy:\n  - {match: 10.77.1.3:81, action: deny}\n  - {match: 10.77.1.3:82, action: deny}\n' >"$CONF"
kill -HUP "$HERMESD_PID"
wait_until 5 has_msg 3 || die "SIGHUP: expected RELOADING=1 then READY=1, got: $(tail -n +2 "$REC" | tr '\n' ';')"
m=$(msg 2)
assert_match "$m" "^[0-9]+ $HERMESD_PID RELOADING=1\|MONOTONIC_USEC=[0-9]+\|" "SIGHUP: RELOADING=1 with MONOTONIC_USEC"
# MONOTONIC_USEC is CLOCK_MONOTONIC when the reload started: at most 1 s before the receipt
got=${m%% *}
sent=$(printf '%s' "$m" | sed -n 's/.*MONOTONIC_USEC=\([0-9]*\).*/\1/p')
assert_ge 0 $((got - sent)) "MONOTONIC_USEC is not in the future"
assert_le 1000000 $((got - sent)) "MONOTONIC_USEC is the reload's start (us before receipt)"
assert_match "$(msg 3)" "^[0-9]+ $HERMESD_PID READY=1\|STATUS=steering $CG/app, 2 policy rules" \
	"READY=1 after the reload, with the reloaded rule count"

pid=$HERMESD_PID
stop_hermesd TERM
assert_eq 0 "$HERMESD_RC" "hermesd's exit status after SIGTERM"
wait_until 3 has_msg 4 || die "SIGTERM: no STOPPING=1"
assert_match "$(msg 4)" "^[0-9]+ $pid STOPPING=1\|STATUS=stopping: draining [0-9]+ flows" "SIGTERM: STOPPING=1"
assert_eq 4 "$(wc -l <"$REC")" "messages in all (READY, RELOADING, READY, STOPPING)"
pass
