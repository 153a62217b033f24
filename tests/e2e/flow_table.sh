#!/bin/bash
# flow_table: the kernel flow table hermes_flows, read with bpftool (BTF field names, and
# the action, engine and TCP state by name), has
# an entry for a flow through each action (pass, deny, proxy) with the right 4-tuple
# (the client host's address for pass, 127.0.0.1 -> hermesd's listener for the proxied
# hop), original destination, action, pid and comm, and byte counts within 1% of the
# 8 MiB sent each way; the proxied flow's received bytes, which cross sk_msg, are on
# hermesd's accepted socket; hermesd's upstream socket is flagged as its own. hermes-top's
# joined view agrees. With --flow-table off, new flows add no entries.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

HTOP_BIN=$BUILD/hermes-top
N=8388608 # bytes each way

topo_up

# The table as JSON lines {"cookie": N, ...BTF fields...}, addresses as "ip:port".
dump_flows() {
	bpftool map dump pinned "$PINROOT/hermes_flows" -j 2>"$TMP/bpftool.err" | "$PY" -c '
import json, socket, sys
def addr(a):
    if a["family"] == 4:
        return "%s:%d" % (socket.inet_ntop(socket.AF_INET, bytes(a["addr"][:4])), socket.ntohs(a["port"]))
    if a["family"] == 6:
        return "[%s]:%d" % (socket.inet_ntop(socket.AF_INET6, bytes(a["addr"])), socket.ntohs(a["port"]))
    return "-"
for e in json.load(sys.stdin):
    v = dict(e["formatted"]["value"])
    for k in ("local", "remote", "orig_dst"):
        v[k] = addr(v[k])
    c = v["comm"]
    v["comm"] = c if isinstance(c, str) else bytes(x for x in c if x).decode("latin-1")
    v["cookie"] = e["formatted"]["key"]
    print(json.dumps(v))
'
}

# app_client NAME HOST PORT: 8 MiB each way from the app cgroup; CLIENT_JSON = its report
# (the last of its two lines)
app_client() {
	local out
	out=$(in_app timeout 60 "$PY" "$TESTBIN/xfer.py" client "$2" "$3" $N $N 2>&1) || die "$1 client to $2:$3 failed: $out"
	CLIENT_JSON=$(printf '%s\n' "$out" | tail -n 1)
	say "$1 client: $out"
}

flows_up

[ -e "$PINROOT/hermes_flows" ] || die "hermesd did not pin $PINROOT/hermes_flows"

app_client pass 10.77.1.3 7000
PASS_JSON=$CLIENT_JSON
app_client proxy 10.77.1.2 7000
PROXY_JSON=$CLIENT_JSON
expect_eperm "deny rule for 10.77.1.3:81" 10.77.1.3 81

case " ${HERMESD_EXTRA_ARGS:-} " in
*" --relay splice "*) ENGINE=splice ;;
*) ENGINE=uring ;;
esac

# sockets close asynchronously (FIN handshakes): poll until the checks hold (bounded)
check() {
	dump_flows >"$TMP/flows.jsonl" || return 2
	"$PY" - "$TMP/flows.jsonl" "$PASS_JSON" "$PROXY_JSON" "$ENGINE" >"$TMP/check.out" <<'EOF'
import json, sys
flows = [json.loads(l) for l in open(sys.argv[1])]
pas, prox, engine = json.loads(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
HERMESD, PASSIVE, CLOSED = 8, 4, 1
bad = []

def near(what, got, want):
    if abs(got - want) > want / 100:
        bad.append("%s: %d, expected %d within 1%%" % (what, got, want))
    else:
        print("ok: %s %d (sent %d)" % (what, got, want))

def expect(what, f, **kv):
    for k, v in kv.items():
        if f[k] != v:
            bad.append("%s: %s is %r, expected %r" % (what, k, f[k], v))

def one(what, pred):
    m = [f for f in flows if pred(f)]
    if len(m) != 1:
        bad.append("%s: expected one entry, found %d" % (what, len(m)))
        return None
    return m[0]

# pass: the app's socket, dialled from the client host's address
f = one("pass flow", lambda f: f["local"] == pas["local"] and not f["flags"] & HERMESD)
if f:
    expect("pass flow", f, remote="10.77.1.3:7000", orig_dst="10.77.1.3:7000", action="pass", engine="none",
           pid=pas["pid"], comm="python3", state="close")
    if not f["flags"] & CLOSED or f["end_ns"] < f["start_ns"]:
        bad.append("pass flow: not marked closed (flags %d, end_ns %d)" % (f["flags"], f["end_ns"]))
    if not pas["local"].startswith("10.77.1.1:"):
        bad.append("pass flow: local %s is not on the client host" % pas["local"])
    near("pass flow bytes_in", f["bytes_in"], pas["received"])
    near("pass flow bytes_out", f["bytes_out"], pas["sent"])

# proxy: the app's socket went to hermesd's listener over loopback
f = one("proxied flow", lambda f: f["local"] == prox["local"] and not f["flags"] & HERMESD)
if f:
    expect("proxied flow", f, remote="127.0.0.1:15001", orig_dst="10.77.1.2:7000", action="proxy",
           pid=prox["pid"], comm="python3", state="close", engine=engine)
    if not prox["local"].startswith("127.0.0.1:"):
        bad.append("proxied flow: local %s is not on loopback" % prox["local"])
    if not f["flags"] & CLOSED:
        bad.append("proxied flow: not marked closed (flags %d)" % f["flags"])
    # its sends: TCP-acked plus sk_msg bytes, both in bytes_out
    near("proxied flow bytes_out", f["bytes_out"], prox["sent"])
    # hermesd's accepted socket: the same pair swapped; what the app received through
    # sk_msg is that socket's skmsg_out
    h = one("hermesd's accepted socket", lambda h: h["local"] == "127.0.0.1:15001" and h["remote"] == prox["local"])
    if h:
        if h["flags"] & (HERMESD | PASSIVE) != HERMESD | PASSIVE:
            bad.append("hermesd's accepted socket: flags %d lack HERMESD|PASSIVE" % h["flags"])
        near("proxied flow bytes_in (app bytes_in + hermesd skmsg_out)", f["bytes_in"] + h["skmsg_out"], prox["received"])
    # hermesd's upstream socket: its own, from the client host to the original destination
    u = one("hermesd's upstream socket", lambda u: u["remote"] == "10.77.1.2:7000" and u["flags"] & HERMESD)
    if u:
        if u["flags"] & PASSIVE or not u["local"].startswith("10.77.1.1:"):
            bad.append("hermesd's upstream socket: flags %d, local %s" % (u["flags"], u["local"]))
        near("upstream socket bytes_out", u["bytes_out"], prox["sent"])
        near("upstream socket bytes_in", u["bytes_in"], prox["received"])

# deny: the connect never happened, the attempt is recorded as closed
f = one("denied connect", lambda f: f["orig_dst"] == "10.77.1.3:81")
if f:
    expect("denied connect", f, action="deny", comm="python3", bytes_in=0, bytes_out=0, state="close")
    if not f["flags"] & CLOSED or f["pid"] == 0:
        bad.append("denied connect: flags %d, pid %d" % (f["flags"], f["pid"]))
    if f["local"] != "-":
        bad.append("denied connect: has a local address %s" % f["local"])

print("\n".join("BAD: " + b for b in bad) if bad else "all good")
sys.exit(1 if bad else 0)
EOF
}
if ! wait_until 5 check; then
	check
	cat "$TMP/check.out"
	head -c 4000 "$TMP/flows.jsonl"
	cat "$TMP/bpftool.err" 2>/dev/null
	die "hermes_flows does not describe the three flows"
fi
cat "$TMP/check.out"
say "ok: hermes_flows has the pass, proxy and deny flows with their 4-tuples, pid, comm and bytes"

# hermes-top's joined view gives the app's own bytes for the proxied flow
if [ -x "$HTOP_BIN" ]; then
	ns_c "$HTOP_BIN" --pin-root "$PINROOT" -b -n 1 -a --json >"$TMP/top.json" || die "hermes-top -b --json failed"
	out=$("$PY" - "$TMP/top.json" "$PROXY_JSON" <<'EOF'
import json, sys
d = json.loads(open(sys.argv[1]).readline())
c = json.loads(sys.argv[2])
m = [f for f in d["flows"] if f["src"] == c["local"]]
if len(m) != 1:
    sys.exit("hermes-top: expected one row for %s, found %d" % (c["local"], len(m)))
f = m[0]
for k, want in (("bytes_in", c["received"]), ("bytes_out", c["sent"])):
    if abs(f[k] - want) > want / 100:
        sys.exit("hermes-top: %s %d, expected %d within 1%%" % (k, f[k], want))
if f["orig_dst"] != "10.77.1.2:7000" or f["action"] != "proxy" or f["pid"] != c["pid"]:
    sys.exit("hermes-top: row %r" % f)
print("hermes-top: proxied flow %s bytes in %d out %d" % (f["src"], f["bytes_in"], f["bytes_out"]))
EOF
	) || die "$out"
	say "ok: $out"
else
	say "$HTOP_BIN not built: joined view not checked"
fi

# ---------------------------------------------------------------- --flow-table off
stop_hermesd
start_hermesd --flow-table off
dump_flows | "$PY" -c 'import json,sys; [print(json.loads(l)["cookie"]) for l in sys.stdin]' | sort >"$TMP/before.keys"
say "$(wc -l <"$TMP/before.keys") entries in hermes_flows before the flows with --flow-table off"
app_client "pass (flow table off)" 10.77.1.3 7000
app_client "proxy (flow table off)" 10.77.1.2 7000
wait_origdst '10\.77\.1\.2:7000' 2 "the second proxied flow went through hermesd"
expect_eperm "deny with the flow table off" 10.77.1.3 81
sleep 0.5
dump_flows >"$TMP/after.jsonl"
"$PY" -c 'import json,sys; [print(json.loads(l)["cookie"]) for l in open(sys.argv[1])]' "$TMP/after.jsonl" | sort >"$TMP/after.keys"
new=$(comm -13 "$TMP/before.keys" "$TMP/after.keys")
if [ -n "$new" ]; then
	grep -F -f <(printf '%s\n' "$new" | sed 's/^/"cookie": /; s/$/}/') "$TMP/after.jsonl" | head -n 5
	die "--flow-table off: $(printf '%s\n' "$new" | wc -l) new entries in hermes_flows"
fi
say "ok: --flow-table off adds no entries (pass, proxy and deny flows made)"

pass "flow table: pass, deny and proxy flows recorded with addresses, pid, comm and bytes; --flow-table off records nothing"
