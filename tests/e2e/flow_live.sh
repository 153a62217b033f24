#!/bin/bash
# flow_live: the flow table's counters of an open flow are brought up to date by its
# readers, not per packet (include/hermes/flow.h). During a passed flow that sends and
# receives 3 MiB each way, paced over 3 s:
#  1. hermesd pins the refresh iterator next to hermes_flows;
#  2. reading it (cat, from the flows' network namespace) then dumping the table twice,
#     0.8 s apart, shows the flow open (state estab, not closed) with bytes and segments
#     grown both ways and its last activity moved; hermes-top -b --json, which refreshes
#     by itself, shows more bytes each way than the second dump;
#  3. once the client is done, the closed entry has exactly the bytes it sent (header
#     included) and received, with no refresh: the socket's own TCP counts at its close,
#     which also count the sequence numbers of the SYN and FIN (at most 2 bytes a way).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

HTOP_BIN=$BUILD/hermes-top
N=3145728 # bytes each way

topo_up
flows_up
REFRESH=$PINROOT/hermes_flows_refresh
[ -e "$REFRESH" ] || die "hermesd did not pin the flow table's refresh iterator at $REFRESH"

# flow_json: the entry whose local address is $LOCAL, as {"bytes_in", ...} (one line)
flow_json() {
	bpftool map dump pinned "$PINROOT/hermes_flows" -j 2>"$TMP/bpftool.err" | "$PY" -c '
import json, socket, sys
want = sys.argv[1]
for e in json.load(sys.stdin):
    v = e["formatted"]["value"]
    a = v["local"]
    if a["family"] != 4:
        continue
    if "%s:%d" % (socket.inet_ntop(socket.AF_INET, bytes(a["addr"][:4])), socket.ntohs(a["port"])) == want:
        print(json.dumps({k: v[k] for k in ("bytes_in", "bytes_out", "segs_in", "segs_out", "state", "flags", "last_ns")}))
' "$LOCAL"
}

bg client app "$PY" "$TESTBIN/xfer.py" client 10.77.1.3 7000 $N $N 3
CLIENT_PID=$BG_PID
wait_until 5 grep -q '"started"' "$TMP/client.log" || { cat "$TMP/client.log"; die "the paced client did not connect"; }
LOCAL=$("$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["local"])' "$TMP/client.log")
say "paced flow from $LOCAL"

sleep 0.6
ns_c cat "$REFRESH" >/dev/null || die "reading $REFRESH failed"
A=$(flow_json)
sleep 0.8
ns_c cat "$REFRESH" >/dev/null || die "reading $REFRESH failed"
B=$(flow_json)
say "after 0.6 s: $A"
say "after 1.4 s: $B"
if [ -z "$A" ] || [ -z "$B" ]; then
	cat "$TMP/bpftool.err"
	die "no entry for the flow from $LOCAL"
fi
"$PY" - "$A" "$B" <<'EOF' || die "the open flow's counters did not advance after a refresh"
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
bad = []
for f, when in ((a, "first"), (b, "second")):
    if f["state"] != "estab" or f["flags"] & 1:
        bad.append("%s dump: state %s, flags %d: not open" % (when, f["state"], f["flags"]))
for k in ("bytes_in", "bytes_out", "segs_in", "segs_out", "last_ns"):
    if not b[k] > a[k]:
        bad.append("%s did not grow: %d then %d" % (k, a[k], b[k]))
if not 0 < a["bytes_in"] < b["bytes_in"] < 3145728:
    bad.append("bytes_in %d, %d: not partway through" % (a["bytes_in"], b["bytes_in"]))
print("\n".join(bad) or "ok: bytes, segments and last activity advance while open")
sys.exit(1 if bad else 0)
EOF

# hermes-top refreshes by itself: later than a paced chunk (256 KiB, every 0.25 s) after
# the second dump
sleep 0.4
ns_c "$HTOP_BIN" --pin-root "$PINROOT" -b -n 1 --json -a >"$TMP/top.json" 2>"$TMP/top.err" ||
	{ cat "$TMP/top.err"; die "hermes-top -b --json failed"; }
"$PY" - "$TMP/top.json" "$LOCAL" "$B" <<'EOF' || die "hermes-top does not show the open flow's current bytes"
import json, sys
doc = json.loads(open(sys.argv[1]).readlines()[-1])
b = json.loads(sys.argv[3])
m = [f for f in doc["flows"] if f.get("src") == sys.argv[2]]
if len(m) != 1:
    print("expected one flow from %s in hermes-top's JSON, found %d" % (sys.argv[2], len(m)))
    sys.exit(1)
f = m[0]
# later than the second dump, the flow still moving: more, which only a refresh shows
if not (f["bytes_in"] > b["bytes_in"] and f["bytes_out"] > b["bytes_out"]):
    print("hermes-top: bytes in %d, out %d; the table had %d, %d before" % (f["bytes_in"], f["bytes_out"], b["bytes_in"], b["bytes_out"]))
    sys.exit(1)
print("ok: hermes-top shows bytes in %d, out %d" % (f["bytes_in"], f["bytes_out"]))
EOF

wait_until 15 eval "! pid_alive $CLIENT_PID" || die "the paced client did not finish"
DONE=$(tail -n 1 "$TMP/client.log")
say "client: $DONE"
# the close is a state change: exact without a refresh (sockets close asynchronously)
closed_exact() {
	C=$(flow_json)
	"$PY" - "$C" "$DONE" <<'EOF'
import json, sys
c, done = json.loads(sys.argv[1]), json.loads(sys.argv[2])
# TCP counts the SYN's and FIN's sequence numbers as bytes: at most 2 more each way
ok = (c["flags"] & 1 and c["state"] == "close" and done["received"] <= c["bytes_in"] <= done["received"] + 2
      and done["sent"] <= c["bytes_out"] <= done["sent"] + 2)
print("closed entry: %s; client sent %d, received %d" % (sys.argv[1], done["sent"], done["received"]))
sys.exit(0 if ok else 1)
EOF
}
wait_until 5 closed_exact >/dev/null || { closed_exact; die "the closed entry's bytes are not exactly the client's"; }
closed_exact
pass "flow table: an open flow's counters advance when read (refresh iterator, hermes-top), exact at the close"
