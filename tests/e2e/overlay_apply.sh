#!/bin/bash
# overlay_apply: `hermesctl overlay apply/diff/get` against a 1-member etcd (on the client
# host, reachable from the others) and four real hermesd taking their documents from it:
# a (client host), r1 and r2 (two relays on the relay host), s (the server host, which
# dials nginx). The overlay's route web (from a to 10.77.1.3, steer tcp, h2c) goes
# a -> r1 -> s, then, after an apply, a -> r2 -> s:
#  - apply writes every node's document in one revision; each hermesd applies it; curl on
#    a gets the page through r1 (its tunnel listener counted a connection, r2's none);
#  - diff exits 0 with no change, 1 with the unified diff of the change to come;
#  - a bad file (a node document hermesd's loader refuses, a loop) is refused, naming the
#    node and the line, and writes nothing (the store's revision unchanged);
#  - a change reviewed at a revision (--base-revision) is refused once a key it would
#    replace was edited after it;
#  - the change applied: a's new route takes the next flow through r2 while a download
#    started before it through r1 ends byte-exact; a node and a
#    shared document the file dropped are deleted, unchanged nodes are not rewritten;
#  - get prints the applied file and a node's document as stored; --prefix at odds with
#    the file's prefix is refused;
#  - status of a prefix without nodes says so (exit 0).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

require_cmd etcd etcdctl
topo_up
topo_add_relay
start_nginx

PFX=/hermes/ov
bg etcd c etcd --name e1 --data-dir "$TMP/etcd" \
	--listen-client-urls http://127.0.0.1:2379,http://10.77.1.1:2379,http://10.77.2.1:2379 \
	--advertise-client-urls http://127.0.0.1:2379 \
	--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
	--initial-cluster e1=http://127.0.0.1:2380 --heartbeat-interval 50 --election-timeout 500
ectl() { ns_c env ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:2379 --dial-timeout=1s --command-timeout=2s "$@"; }
wait_until 15 ectl endpoint health >/dev/null 2>&1 || die "etcd did not come up: $(tail -n 3 "$TMP/etcd.log")"
# store_rev: the newest revision among the overlay's keys (every key under PFX but the
# nodes' own lease-bound status keys, which running hermesd rewrite at will)
store_rev() {
	ectl get "$PFX/" --prefix -w json | /usr/bin/python3 -c '
import base64, json, sys
kvs = json.load(sys.stdin).get("kvs", [])
own = [int(k["mod_revision"]) for k in kvs if not base64.b64decode(k["key"]).decode().startswith(sys.argv[1] + "/status/")]
print(max(own or [0]))' "$PFX"
}
octl() { ns_c "$HERMESCTL_BIN" overlay "$@" --etcd http://127.0.0.1:2379; }

# overlay VIA [EXTRA NODES]: the overlay file with route web through VIA (with extra
# nodes, the shared document they may use)
OLD_SHARED='shared:
  old-limits: |
    proxy: {connect_timeout_ms: 2000}'
overlay() {
	cat <<YAML
overlay: ov
prefix: $PFX
protocol: h2c
${2:+$OLD_SHARED}
nodes:
  - {name: a, address: 10.77.1.1, roles: [client]}
  - {name: r1, address: 10.77.2.2, tunnel: "10.77.2.2:15008", roles: [relay]}
  - {name: r2, tunnel: "10.77.2.2:15009", roles: [relay]}
  - name: s
    address: 10.77.3.2
    tunnel: "10.77.3.2:15008"
    roles: [egress]
    config: |
      tunnel_access:
        - {match: 10.77.1.3/32:80, from: 10.77.3.0/24, action: allow}
${2:-}
routes:
  - name: web
    from: a
    to: [10.77.1.3/32]
    via: $1
    steer: tcp
YAML
}
OLD='  - {name: old, address: 10.77.9.9, roles: [client], shared: [old-limits]}'
overlay '[r1, s]' "$OLD" >"$TMP/v1.yaml"
overlay '[r2, s]' >"$TMP/v2.yaml"

# ---- apply v1, then the nodes start from it
out=$(octl apply "$TMP/v1.yaml") || die "overlay apply v1 failed: $out"
assert_match "$out" "node a: added" "apply reports the nodes added"
assert_match "$out" "shared old-limits: added" "... and the shared document"
REV1=$(printf '%s' "$out" | sed -n 's/.* at revision \([0-9]*\)$/\1/p')
assert_eq "$REV1" "$(store_rev)" "one transaction: the revision apply printed is the store's"
for k in nodes/a nodes/r1 nodes/r2 nodes/s nodes/old shared/old-limits overlay overlay-meta; do
	[ "$(ectl get "$PFX/$k" -w json | sed -n 's/.*"mod_revision":\([0-9]*\).*/\1/p')" = "$REV1" ] ||
		die "$PFX/$k is not at revision $REV1: $(ectl get "$PFX/$k" -w json)"
done
say "ok: every key written at revision $REV1"

node_conf() { # node_conf NAME ETCD_URL
	printf 'etcd:\n  endpoints: [%s]\n  prefix: %s\n  node: %s\n' "$2" "$PFX" "$1" >"$TMP/$1.yaml"
}
node_conf s http://10.77.1.1:2379
node_conf r1 http://10.77.2.1:2379
node_conf r2 http://10.77.2.1:2379
node_conf a http://127.0.0.1:2379
start_peer_hermesd "$NS_S" s -c "$TMP/s.yaml" --tunnel-listen 10.77.3.2:15008
S_LOG=$PEER_LOG
start_peer_hermesd "$NS_R" r1 -c "$TMP/r1.yaml" --tunnel-listen 10.77.2.2:15008
start_peer_hermesd "$NS_R" r2 -c "$TMP/r2.yaml" --tunnel-listen 10.77.2.2:15009 --admin 127.0.0.1:15010 \
	--listen 127.0.0.1:15011 --listen6 off
start_hermesd -c "$TMP/a.yaml"
for l in "$S_LOG" "$TMP/hermesd-r1.log" "$TMP/hermesd-r2.log" "$HERMESD_LOG"; do
	assert_file_match "$l" "etcd: starting from $PFX/nodes/[a-z0-9]* revision $REV1" "$(basename "$l"): its document"
done
accepted() { # accepted ADMIN: connections r1 or r2's tunnel listener accepted
	nsenter --net="/run/netns/$NS_R" curl -s --max-time 3 "http://$1/metrics" |
		awk '$1 == "hermes_tunnel_requests_total" { print $2 }'
}
expect_page "curl on a through r1 and s (the overlay's route)" http://10.77.1.3/
assert_ge "$(accepted 127.0.0.1:15000)" 1 "r1's tunnel listener carried it"
assert_eq 0 "$(accepted 127.0.0.1:15010)" "r2's did not"

# ---- diff
out=$(octl diff "$TMP/v1.yaml") rc=$?
assert_eq 0 "$rc" "diff of the applied file: no difference ($out)"
out=$(octl diff "$TMP/v2.yaml") rc=$?
assert_eq 1 "$rc" "diff of the changed file: differences"
assert_match "$out" "--- etcd $PFX/nodes/a" "the diff names a's key"
assert_match "$out" '-      - "10.77.2.2:15008"   # node r1' "... the old peer"
assert_match "$out" '\+      - "10.77.2.2:15009"   # node r2' "... and the new one"
assert_match "$out" "$PFX/nodes/old \\(deleted\\)" "... and the node the file dropped"

# ---- bad files write nothing
sed 's/from: 10.77.3.0\/24/from: 10.77.3.0\/33/' "$TMP/v2.yaml" >"$TMP/bad1.yaml"
out=$(octl apply "$TMP/bad1.yaml" 2>&1) rc=$?
assert_eq 1 "$rc" "a node document hermesd would refuse: apply fails"
assert_match "$out" "bad1.yaml:15:42: node 's': its config: .*10.77.3.0/33" "the node and the file's line"
overlay '[r1, s]' '  - {name: x, address: 10.77.9.8, tunnel: "10.77.9.8:1", roles: [relay, egress, client]}
  - {name: y, tunnel: "10.77.9.7:1", roles: [relay, egress, client]}' >"$TMP/bad2.yaml"
printf '  - {name: loop1, from: x, to: 10.55.0.0/16, via: [y]}\n  - {name: loop2, from: y, to: 10.55.0.0/16, via: [x]}\n' \
	>>"$TMP/bad2.yaml"
out=$(octl apply "$TMP/bad2.yaml" 2>&1) rc=$?
assert_eq 1 "$rc" "a loop: apply fails"
assert_match "$out" "the routes loop for 10.55.0.0/16" "the loop named"
assert_eq "$REV1" "$(store_rev)" "nothing written: the overlay's keys are still at revision $REV1"
out=$(octl apply "$TMP/v2.yaml" --prefix /hermes/other 2>&1) rc=$?
assert_eq 1 "$rc" "a --prefix at odds with the file's"
assert_match "$out" "refusing to write one overlay under another's prefix" "... is refused"

# ---- a reviewed change applied with --base-revision fails once a key moved after it
out=$(octl apply "$TMP/v2.yaml" --dry-run) || die "dry run failed: $out"
# (the store's revision: at least REV1, more once the nodes wrote their status keys)
DRY=$(printf '%s' "$out" | sed -n 's/.*nothing written (etcd at revision \([0-9]*\))$/\1/p')
[ -n "$DRY" ] && [ "$DRY" -ge "$REV1" ] || die "a dry run names the revision it was made at (>= $REV1): $out"
ectl put "$PFX/nodes/r2" "# edited by hand" >/dev/null || die "etcdctl put failed"
HAND=$(store_rev)
out=$(octl apply "$TMP/v2.yaml" --base-revision "$DRY" 2>&1) rc=$?
assert_eq 1 "$rc" "apply --base-revision $DRY after a hand edit fails"
assert_match "$out" "changed after revision $DRY" "... saying why"
assert_eq "$HAND" "$(store_rev)" "... and writes nothing"

# ---- apply v2: the next flow takes r2; a download running through r1 meanwhile (r1's
# route is gone from its document) ends byte-exact
# (a reader that waits 2 s first holds the flow open: curl 7.88's --limit-rate does not)
bg dl app sh -c "curl -sS http://10.77.1.3/1m.bin | (sleep 2; cat) >'$TMP/dl.bin'"
DL_PID=$BG_PID
wait_origdst '10\.77\.1\.3:80' 2 "the download reached a's hermesd before the change"
out=$(octl apply "$TMP/v2.yaml") || die "overlay apply v2 failed: $out"
REV2=$(printf '%s' "$out" | sed -n 's/.* at revision \([0-9]*\)$/\1/p')
assert_match "$out" "node a: changed" "apply reports a changed"
assert_match "$out" "node old: removed" "... old removed"
assert_match "$out" "shared old-limits: removed" "... and its shared document"
assert_match "$out" "node r1: changed" "... r1 changed (the route left it)"
assert_match "$out" "node r2: changed" "... r2 too (the route came)"
assert_match "$out" "1 document unchanged" "... s unchanged"
assert_eq "" "$(ectl get "$PFX/nodes/old" --print-value-only)" "old's key is gone"
assert_eq "$REV1" "$(ectl get "$PFX/nodes/s" -w json | sed -n 's/.*"mod_revision":\([0-9]*\).*/\1/p')" \
	"an unchanged node's key is not rewritten"
applied() { [ "$(stat_value hermes_etcd_applied_revision)" = "$1" ]; }
wait_until 10 applied "$REV2" || die "a did not apply revision $REV2: $(grep etcd "$HERMESD_LOG" | tail -n 3)"
pid_alive "$DL_PID" || die "the download ended before a applied the change: this proves nothing ($(cat "$TMP/dl.log"))"
expect_page "curl on a after the route change" http://10.77.1.3/
assert_ge "$(accepted 127.0.0.1:15010)" 1 "the new flow went through r2"
wait "$DL_PID" || die "the download across the change failed: $(cat "$TMP/dl.log")"
cmp -s "$TMP/dl.bin" "$TMP/nginx/www/1m.bin" || die "the download across the change is not byte-exact"
say "ok: the flow established through r1 before the change ended byte-exact after it"
out=$(octl apply "$TMP/v2.yaml") || die "apply again failed: $out"
assert_match "$out" "no change" "applying the same file again writes nothing"
out=$(octl apply "$TMP/v2.yaml" --json) || die "apply --json failed: $out"
assert_match "$out" "\"revision\": [0-9]*, \"written\": false, \"changes\": \\[\\], \"unchanged\": 4" "... --json says so"
assert_eq "$REV2" "$(store_rev)" "... the store stays at revision $REV2"

# ---- get
octl get --prefix "$PFX" >"$TMP/got.yaml" || die "overlay get failed"
cmp -s "$TMP/got.yaml" "$TMP/v2.yaml" || die "overlay get does not print the applied file: $(diff "$TMP/v2.yaml" "$TMP/got.yaml")"
say "ok: overlay get prints the applied file"
assert_eq "$(ectl get "$PFX/nodes/a" --print-value-only)" "$(octl get --prefix "$PFX" --node a)" \
	"get --node prints the node's document as stored"
out=$(octl get --prefix "$PFX" --node nope 2>&1) rc=$?
assert_eq 1 "$rc" "get --node of a node not there fails ($out)"

# ---- status of a prefix without nodes (sorting no node was undefined: the SAN build aborted)
out=$(octl status --prefix /hermes/none 2>&1) || die "overlay status of a prefix without nodes failed: $out"
assert_match "$out" "no node under /hermes/none/nodes/" "... says there is none"

pass
