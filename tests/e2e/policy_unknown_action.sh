#!/bin/bash
# policy_unknown_action: an action value hermes does not know (99, written with plain
# bpftool) fails closed. As a covering rule and as a port rule under a covering deny,
# connect() from the app gets EPERM; the unknown_action counter rises in /metrics
# (hermes_bpf_fail_closed_total) and `hermesctl status`; `hermesctl policy list` shows
# the rule as unknown(99); hermesctl refuses to write such an action; hermesd warns about
# the rule when it reads the map back at start. A pinned hermes_stats of an older
# build (fewer counter slots) is replaced at start.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

# bpftool_rule A B C D PORT ACTION: writes the raw policy entry A.B.C.D/32[:PORT] -> ACTION
# byte for byte (include/hermes/policy.h: prefixlen 32+32 little endian, family 4, pad,
# port big endian, the address; value: action, origin manual, pad, route_id 0)
bpftool_rule() {
	local port=$5
	# shellcheck disable=SC2046 # the hex bytes are separate words
	bpftool map update pinned "$PINROOT/hermes_policy" \
		key hex 40 00 00 00 04 00 $(printf '%02x %02x' $((port >> 8)) $((port & 255))) \
		$(printf '%02x %02x %02x %02x' "$1" "$2" "$3" "$4") 00 00 00 00 00 00 00 00 00 00 00 00 \
		value hex "$(printf '%02x' "$6")" 00 00 00 00 00 00 00 ||
		die "bpftool map update pinned $PINROOT/hermes_policy failed"
	say "bpftool: $1.$2.$3.$4/32 port $5 (0 = any) -> action $6"
}

unknown_count() { stat_value hermes_bpf_fail_closed_total 'reason="unknown_action"'; }

topo_up
start_nginx
# an older build's hermes_stats (12 counter slots, no unknown_action) is replaced, not
# a reason to fail the start
mkdir -p "$PINROOT" || die "cannot create $PINROOT"
bpftool map create "$PINROOT/hermes_stats" type percpu_array key 4 value 8 entries 12 name hermes_stats ||
	die "bpftool map create $PINROOT/hermes_stats failed"
start_hermesd
assert_file_match "$HERMESD_LOG" "hermes_stats has 12 counter slots, this build [0-9]+: replacing it" \
	"hermesd replaced the older, smaller hermes_stats"
assert_eq 0 "$(unknown_count)" "hermes_bpf_fail_closed_total{reason=\"unknown_action\"} at start"

# 1. a covering rule with action 99: before, it passed (the connect went to nginx)
bpftool_rule 10 77 1 2 0 99
expect_eperm "connect() under a covering rule with action 99 is denied" 10.77.1.2 80
curl_app http://10.77.1.2/
assert_eq 7 "$CURL_RC" "curl exit code under a covering rule with action 99"
n1=$(unknown_count)
assert_ge 2 "$n1" "unknown_action counted for both connects"

# 2. a port rule with action 99 under a covering deny: before, the port rule won as pass
policy_add 10.77.1.3/32 deny
bpftool_rule 10 77 1 3 80 99
expect_eperm "connect() to a port rule with action 99 under a covering deny is denied" 10.77.1.3 80
assert_ge $((n1 + 1)) "$(unknown_count)" "unknown_action counted for the port rule"
[ ! -s "$NGINX_ACCESS_LOG" ] || die "nginx logged requests although every connection was denied: $(cat "$NGINX_ACCESS_LOG")"
say "ok: nginx saw no request"

# the counter in hermesctl status, the rules in hermesctl policy list
out=$(hermesctl status 2>&1)
assert_match "$out" "unknown_action +[1-9]" "hermesctl status shows the unknown_action counter"
out=$(hermesctl status --json 2>&1)
assert_match "$out" '"unknown_action": [1-9]' "hermesctl status --json shows the unknown_action counter"
out=$(hermesctl policy list 2>&1)
assert_match "$out" '10\.77\.1\.2/32 +unknown\(99\)' "policy list shows the covering rule's action as unknown(99)"
assert_match "$out" '10\.77\.1\.3/32:80 +unknown\(99\)' "policy list shows the port rule's action as unknown(99)"
assert_match "$out" "denied" "policy list says such rules are denied"
out=$(hermesctl policy list --json 2>/dev/null)
assert_match "$out" '"action": "unknown\(99\)"' "policy list --json shows unknown(99)"

# hermesctl writes only actions it knows
out=$(hermesctl policy add 10.77.1.4/32 99 2>&1) && die "hermesctl policy add ... 99 succeeded: $out"
assert_match "$out" "unknown action '99'" "hermesctl refuses action 99"

# hermesd reads the map back at start and names the rule
stop_hermesd
start_hermesd
assert_file_match "$HERMESD_LOG" "rule 10\.77\.1\.3/32:80 in hermes_policy holds action 99" \
	"hermesd warns about the unknown action at start"
expect_eperm "still denied after a restart" 10.77.1.2 80

# a known action written the same way still works: the raw encoding above is right
bpftool_rule 10 77 1 2 0 0
expect_page "the same rule rewritten as pass (0) lets the page through" http://10.77.1.2/
pass "policy_unknown_action: unknown actions deny, are counted, listed and refused"
