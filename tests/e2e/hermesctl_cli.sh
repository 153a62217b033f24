#!/bin/bash
# hermesctl_cli: hermesctl as an operator types it. Options anywhere on the line
# (`policy list --pin-root X`), HERMES_PIN_ROOT / HERMES_ADMIN, per-command help that
# lists every action (http too) and calls tunnel HTTP/2 over mTLS by default, a warning
# when a tunnel rule has no route covering it (and "could not be checked" when hermesd
# does not answer), `routes` listing the http routes too, and --json on every command
# giving one JSON document.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
cat >"$TMP/hermes.yaml" <<YAML
routes:
  - name: to-server
    match: [10.77.1.0/24]
    protocol: h2c
    peers: [10.77.1.2:15008]
http_routes:
  - name: edit
    match: {host: edit.test, path_prefix: /api}
    endpoints: [10.77.1.3:8080]
    upstream_protocol: h2c
YAML
start_hermesd -c "$TMP/hermes.yaml"
CTL=$HERMESCTL_BIN
json_ok() { "$PY" -c 'import json,sys; json.load(sys.stdin)' || die "$1: not one JSON document"; }

# options after the command words, and from the environment
ns_c "$CTL" policy add 10.77.2.0/24:80 deny --pin-root "$PINROOT" >/dev/null || die "an option after the command is refused"
out=$(ns_c "$CTL" policy list --pin-root "$PINROOT") || die "policy list --pin-root after the command failed"
assert_match "$out" '10\.77\.2\.0/24:80 +deny +manual' "--pin-root is accepted after the command words"
out=$(HERMES_PIN_ROOT=$PINROOT ns_c "$CTL" policy list --json) || die "HERMES_PIN_ROOT was not used"
assert_match "$out" '"match": "10\.77\.2\.0/24:80"' "HERMES_PIN_ROOT gives the pin root"
out=$(HERMES_PIN_ROOT=/nonexistent ns_c "$CTL" --pin-root "$PINROOT" policy list) || die "--pin-root does not win over HERMES_PIN_ROOT"
out=$(HERMES_ADMIN=127.0.0.1:1 ns_c "$CTL" --pin-root "$PINROOT" routes 2>&1) && die "routes succeeded with HERMES_ADMIN at a closed port"
assert_match "$out" 'not reachable at 127\.0\.0\.1:1' "HERMES_ADMIN gives the admin address"

# per-command help agrees with the code's action table
help=$("$CTL" policy add --help) || die "policy add --help failed"
assert_match "$help" '^hermesctl \[OPTIONS\] policy add CIDR' "policy add --help is that command's help"
for a in pass deny proxy tunnel http; do
	assert_match "$help" "^    $a +" "policy add --help lists the $a action"
done
assert_match "$help" 'HTTP/2 CONNECT over mTLS' "tunnel is HTTP/2 over mTLS by default"
assert_match "$help" '3 tunnel,' "bpftool codes include tunnel"
assert_match "$help" '4 http' "bpftool codes include http"
! printf '%s\n' "$help" | grep -q 'certs init' || die "policy add --help shows other commands"
assert_eq "$("$CTL" help policy)" "$("$CTL" policy --help)" "help policy = policy --help"
assert_match "$("$CTL" help policy)" 'policy del CIDR' "help policy covers del"
out=$(ns_c "$CTL" --pin-root "$PINROOT" policy add 10.77.9.0/24 bogus 2>&1) && die "an unknown action was accepted"
assert_match "$out" 'expected pass, deny, proxy, tunnel or http' "the error lists every action"

# tunnel rules: covered, partly covered, not covered, not checkable
out=$(ns_c "$CTL" --pin-root "$PINROOT" policy add 10.77.1.3:8080 tunnel 2>&1) || die "policy add tunnel failed: $out"
! printf '%s\n' "$out" | grep -q warning || die "a covered tunnel rule warned: $out"
say "ok: no warning for a tunnel rule inside route to-server"
out=$(ns_c "$CTL" --pin-root "$PINROOT" policy add 10.78.0.0/16 tunnel 2>&1) || die "policy add tunnel failed: $out"
assert_match "$out" 'warning: no tunnel route of hermesd at 127\.0\.0\.1:15000 covers 10\.78\.0\.0/16' "an uncovered tunnel rule warns"
out=$(ns_c "$CTL" --pin-root "$PINROOT" policy add 10.77.0.0/16 tunnel 2>&1) || die "policy add tunnel failed: $out"
assert_match "$out" 'warning: tunnel route\(s\) to-server cover only part of 10\.77\.0\.0/16' "a partly covered tunnel rule warns"
out=$(ns_c "$CTL" --pin-root "$PINROOT" --admin 127.0.0.1:1 policy add 10.79.0.0/16 tunnel 2>&1) || die "policy add tunnel failed: $out"
assert_match "$out" 'could not check that a tunnel route covers 10\.79\.0\.0/16: hermesd did not answer' "no hermesd: not checked, said so"
ns_c "$CTL" --pin-root "$PINROOT" policy add 10.78.0.0/16 tunnel --json 2>/dev/null |
	"$PY" -c 'import json,sys; d=json.load(sys.stdin); c=d["route_check"]; assert d["action"]=="tunnel" and c["checked"] and c["covered_by"] is None, d' ||
	die "policy add --json does not report the route check"
assert_match "$(hermesctl policy list)" '10\.78\.0\.0/16 +tunnel' "the warned rule was added anyway"

# routes lists the http routes too
out=$(hermesctl routes) || die "routes failed"
printf '%s\n' "$out"
assert_match "$out" '^to-server +10\.77\.1\.0/24 +h2c://10\.77\.1\.2:15008' "routes lists the tunnel route"
assert_match "$out" '^edit +edit\.test +/api +h2c +10\.77\.1\.3:8080' "routes lists the http route"
hermesctl routes --json | "$PY" -c 'import json,sys; d=json.load(sys.stdin); h=d["http_routes"][0]
assert h["name"]=="edit" and h["host"]=="edit.test" and h["path_prefix"]=="/api" and h["endpoints"]==["10.77.1.3:8080"] and h["protocol"]=="h2c", d' ||
	die "routes --json lacks the http route"

# --json everywhere
hermesctl status --json | json_ok "status --json"
hermesctl policy list --json | json_ok "policy list --json"
hermesctl --json policy del 10.77.2.0/24:80 | "$PY" -c 'import json,sys; assert json.load(sys.stdin)=={"deleted":"10.77.2.0/24:80"}' ||
	die "policy del --json"
"$CTL" certs init "$TMP/certs" --json --hosts a | "$PY" -c 'import json,sys; d=json.load(sys.stdin); assert d["hosts"]==["a"] and len(d["messages"])==2, d' ||
	die "certs init --json"
say "ok: status, policy list/del and certs init print JSON"
out=$(hermesctl disable --json) || die "disable --json failed: $out"
printf '%s\n' "$out" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); assert d["detached"] and d["removed"] and d["failed"]==0, d' ||
	die "disable --json: $out"
say "ok: disable --json"
out=$(hermesctl disable --json) || die "a second disable --json failed: $out"
printf '%s\n' "$out" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); assert not d["detached"] and not d["removed"] and d["failed"]==0, d' ||
	die "a second disable --json (nothing left) must print the same JSON document, empty: $out"
say "ok: a second disable --json exits 0 with nothing detached or removed"
stop_hermesd
pass "hermesctl: options anywhere, environment, per-command help, tunnel route warning, http routes, JSON"
