#!/bin/bash
# bpftool_recipes: the bpftool commands of docs/policy.md, run verbatim (with the test's pin root)
# against a live hermesd: dump shows field names and the action, origin, engine and TCP
# state by name (1-byte enums in the maps' BTF), a hex update adds a proxy rule that the
# next curl follows, a deny rule written with bpftool refuses the next connect, and a
# bpftool delete makes the destination pass again; hermesctl sees the same rules.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
start_hermesd
MAP=$PINROOT/hermes_policy

# 10.77.1.0/24:80 -> proxy  (prefixlen 32+24 = 0x38, family 4, pad 0, port 80 = 00 50)
KEY_PROXY="38 00 00 00 04 00 00 50 0a 4d 01 00 00 00 00 00 00 00 00 00 00 00 00 00"
bpftool map update pinned "$MAP" key hex $KEY_PROXY value hex 02 00 00 00 00 00 00 00 ||
	die "bpftool map update (proxy rule) failed"
dump=$(bpftool map dump pinned "$MAP")
say "bpftool map dump pinned $MAP:"; printf '%s\n' "$dump"
assert_match "$dump" '"prefixlen": 56' "bpftool dump shows the key's field names"
assert_match "$dump" '"action": "proxy"' "bpftool dump names the action (BTF enum)"
assert_match "$dump" '"origin": "manual"' "bpftool dump names the origin"
list=$(hermesctl policy list)
assert_match "$list" '10\.77\.1\.0/24:80 +proxy +manual' "hermesctl lists the rule written with bpftool"

expect_page "curl follows the bpftool proxy rule" http://10.77.1.2/
wait_origdst '10\.77\.1\.2:80' 1 "hermesd relayed the flow"
expect_nginx_client 10.77.1.1 "nginx saw the client host"
flows=$(bpftool map dump pinned "$PINROOT/hermes_flows")
say "bpftool map dump pinned $PINROOT/hermes_flows (first entry):"; printf '%s\n' "$flows" | sed -n "1,/^    },{/p"
assert_match "$flows" '"action": "proxy"' "bpftool names the action of a proxied flow"
assert_match "$flows" '"engine": "(uring|splice)"' "bpftool names the relay engine of the proxied flow"
assert_match "$flows" '"state": "(estab|close|time_wait|fin_wait[12]|close_wait|last_ack)"' "bpftool names TCP states"
! printf '%s\n' "$flows" | grep -Eq '"(action|engine|state)": [0-9]' ||
	die "bpftool printed an action, engine or state as a bare number: $(printf '%s\n' "$flows" | grep -E '"(action|engine|state)": [0-9]' | head -3)"

# every action code of the README's table, as bpftool prints it (a destination nothing dials)
for code in 0:pass 1:deny 2:proxy 3:tunnel 4:http; do
	KEY_SPARE="40 00 00 00 04 00 00 00 0a 4d 09 09 00 00 00 00 00 00 00 00 00 00 00 00"
	bpftool map update pinned "$MAP" key hex $KEY_SPARE value hex 0${code%%:*} 00 00 00 00 00 00 00 ||
		die "bpftool map update (action ${code%%:*}) failed"
	assert_match "$(bpftool map dump pinned "$MAP")" "\"action\": \"${code#*:}\"" "action code ${code%%:*} is $code"
	assert_match "$(hermesctl policy list)" "10\.77\.9\.9/32 +${code#*:} " "hermesctl agrees that code ${code%%:*} is ${code#*:}"
done
bpftool map delete pinned "$MAP" key hex $KEY_SPARE || die "bpftool map delete (spare) failed"

# 10.77.1.3/32 (any port) -> deny (prefixlen 32+32 = 0x40)
KEY_DENY="40 00 00 00 04 00 00 00 0a 4d 01 03 00 00 00 00 00 00 00 00 00 00 00 00"
bpftool map update pinned "$MAP" key hex $KEY_DENY value hex 01 00 00 00 00 00 00 00 ||
	die "bpftool map update (deny rule) failed"
assert_match "$(bpftool map dump pinned "$MAP")" '"action": "deny"' "bpftool dump names the deny rule"
# the exact-port proxy rule (10.77.1.0/24:80) still wins over the any-port deny
expect_page "exact-port proxy rule beats the any-port deny" http://10.77.1.3/
expect_eperm "bpftool deny rule refuses port 81 at once" 10.77.1.3 81

# delete both: destinations pass (direct, no new hermesd flow)
bpftool map delete pinned "$MAP" key hex $KEY_PROXY || die "bpftool map delete (proxy) failed"
bpftool map delete pinned "$MAP" key hex $KEY_DENY || die "bpftool map delete (deny) failed"
before=$(origdst_count '10\.77\.1\.2:80')
expect_page "after bpftool delete the destination passes" http://10.77.1.2/
sleep 0.3
after=$(origdst_count '10\.77\.1\.2:80')
assert_eq "$before" "$after" "hermesd saw no new flow after the rule was deleted"
[ -z "$(hermesctl policy list --json | tr -d '[:space:][]')" ] || die "policy map not empty: $(hermesctl policy list)"

# live flip, no restart: pass -> deny -> pass for the next curl
expect_page "10.77.1.3 passes with no rule" http://10.77.1.3/
bpftool map update pinned "$MAP" key hex $KEY_DENY value hex 01 00 00 00 00 00 00 00 || die "bpftool update failed"
curl_app http://10.77.1.3/
assert_eq 7 "$CURL_RC" "the next curl after a bpftool deny fails to connect"
bpftool map delete pinned "$MAP" key hex $KEY_DENY || die "bpftool delete failed"
expect_page "and passes again after the bpftool delete" http://10.77.1.3/

stats=$(bpftool map dump pinned "$PINROOT/hermes_stats")
assert_match "$stats" '"values"' "bpftool dumps the per-CPU counters"
pass "bpftool recipes from docs/policy.md work on a live hermesd"
