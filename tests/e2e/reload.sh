#!/bin/bash
# reload: SIGHUP re-reads the config file: config rules are replaced (removed rules go,
# new ones apply to the next connect), rules added with hermesctl stay, a flow open during
# the reload completes byte-exact, and a broken file is refused with file:line while the
# running policy stays in force. A full hermes_policy (16384 entries) is replaced by a
# mostly different full set (deletes go before adds once the map has no room), a kept
# rule never missing meanwhile (a reader polls it); a set that does not fit beside the
# manual rules is refused with nothing changed.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
CONF=$TMP/hermes.yaml
cat >"$CONF" <<YAML
policy:
  - match: 10.77.1.2/32
    action: proxy
YAML
start_hermesd -c "$CONF"
policy_add 10.77.1.3/32:8080 deny   # manual: must survive reloads

# a flow that is open across the reload: the server waits 2 s, then sends 4 MiB
bg slowsrv s "$PY" "$TESTBIN/hnet.py" serve-slow 10.77.1.2 9100 --bytes 4194304 --delay 2 --deadline 30 \
	--ready-file "$TMP/slow.ready"
wait_until 10 test -e "$TMP/slow.ready" || die "slow server did not start"
bg longflow app "$PY" "$TESTBIN/hnet.py" recv 10.77.1.2 9100 --expect 4194304 --timeout 20
LONG_PID=$BG_PID
wait_origdst '10\.77\.1\.2:9100' 1 "the long flow goes through hermesd"

# new config: 10.77.1.2 no longer proxied, 10.77.1.3 denied
cat >"$CONF" <<YAML
policy:
  - match: 10.77.1.3/32
    action: deny
YAML
kill -HUP "$HERMESD_PID"
wait_until 5 grep -q 'SIGHUP: reloaded' "$HERMESD_LOG" || die "hermesd did not log 'SIGHUP: reloaded'"
list=$(hermesctl policy list)
say "policy after reload:"; printf '%s\n' "$list"
assert_match "$list" '10\.77\.1\.3/32 +deny +config' "new config rule present"
assert_match "$list" '10\.77\.1\.3/32:8080 +deny +manual' "manual rule kept across reload"
if printf '%s\n' "$list" | grep -q '10\.77\.1\.2/32'; then die "removed config rule 10.77.1.2/32 still in the map"; fi
say "ok: removed config rule is gone"

expect_eperm "new deny rule applies to the next connect" 10.77.1.3 80
before=$(origdst_count '10\.77\.1\.2:80')
expect_page "10.77.1.2 now passes" http://10.77.1.2/
sleep 0.3
assert_eq "$before" "$(origdst_count '10\.77\.1\.2:80')" "no new hermesd flow for 10.77.1.2 after the reload"

wait "$LONG_PID"; rc=$?
say "long flow: $(cat "$TMP/longflow.log")"
assert_eq 0 "$rc" "the flow open during the reload received all 4 MiB intact"

# a broken file: refused, policy unchanged, hermesd still serving
printf 'policy:\n  - match: 10.77.1.300/32\n    action: deny\n' >"$CONF"
kill -HUP "$HERMESD_PID"
wait_until 5 grep -q 'SIGHUP: reload failed' "$HERMESD_LOG" || die "hermesd did not report the broken config"
assert_file_match "$HERMESD_LOG" "reload failed.*hermes\.yaml:2:" "the error names file and line"
pid_alive "$HERMESD_PID" || die "hermesd died on a bad reload"
assert_eq 200 "$(admin_code /ready)" "hermesd still ready after a bad reload"
expect_eperm "running policy still enforced after the bad reload" 10.77.1.3 80
# ---- a full map replaced by a mostly different full set
# policy_yaml NET ACTION: the kept rules (10.90.0.1 with ACTION, 10.77.1.3 deny) and
# 16381 more /32s in 10.NET.0.0/16: with the manual rule, 16384 entries, the map's size
policy_yaml() {
	{
		printf 'policy:\n  - {match: 10.90.0.1/32, action: %s}\n  - {match: 10.77.1.3/32, action: deny}\n' "$2"
		awk -v net="$1" 'BEGIN { for (i = 0; i < 16381; i++) printf "  - {match: 10.%d.%d.%d/32, action: proxy}\n", net, int(i / 256), i % 256 }'
	} >"$CONF"
}
reloads() { grep -c 'SIGHUP: reloaded' "$HERMESD_LOG"; }
r0=$(reloads)
policy_yaml 91 deny
kill -HUP "$HERMESD_PID"
# shellcheck disable=SC2317 # called through wait_until
reloaded() { [ "$(reloads)" -gt "$1" ]; }
wait_until 10 reloaded "$r0" || die "the full policy was not loaded: $(grep -E 'policy update|reload' "$HERMESD_LOG" | tail -n 2)"
assert_eq 16384 "$(hermesctl policy list | grep -c '^10\.')" "hermes_policy is full (16383 config rules, 1 manual)"
bg polwatch c "$PY" "$TESTBIN/polwatch.py" "$PINROOT/hermes_policy" 10.90.0.1/32 "$TMP/polwatch.stop"
WATCH_PID=$BG_PID
sleep 0.3
policy_yaml 92 pass # the kept rule changes its action (in place), 16381 rules are new
t0=$(now_ms)
kill -HUP "$HERMESD_PID"
wait_until 10 reloaded "$((r0 + 1))" || die "replacing a full policy failed: $(grep -E 'policy update|reload' "$HERMESD_LOG" | tail -n 2)"
say "replaced 16381 of 16384 rules in $(($(now_ms) - t0)) ms"
touch "$TMP/polwatch.stop"
wait "$WATCH_PID"
out=$(cat "$TMP/polwatch.log")
say "reader of 10.90.0.1/32 during the reload: $out"
assert_match "$out" '^lookups=[1-9][0-9]* missing=0 actions=(0|1|0,1)$' "the kept rule was never missing"
list=$(hermesctl policy list)
assert_eq 16384 "$(grep -c '^10\.' <<<"$list")" "the map holds the new full set"
assert_eq 16381 "$(grep -c '^10\.92\.' <<<"$list")" "all the new rules are in"
assert_match "$list" '10\.90\.0\.1/32 +pass +config' "the kept rule has its new action"
assert_match "$list" '10\.77\.1\.3/32:8080 +deny +manual' "the manual rule stays"
# one more rule than fits beside the manual one: refused before anything is written
policy_yaml 93 deny
printf '  - {match: 10.94.0.1/32, action: deny}\n' >>"$CONF"
kill -HUP "$HERMESD_PID"
wait_until 5 grep -q 'SIGHUP: policy update failed' "$HERMESD_LOG" || die "a policy over the map's size was not refused"
assert_file_match "$HERMESD_LOG" 'needs 16385 entries in hermes_policy \(16384 config rules and 1 manual ones\), more than the 16384 it holds: nothing changed' \
	"the refusal says why"
list=$(hermesctl policy list)
assert_eq 16381 "$(grep -c '^10\.92\.' <<<"$list")" "the running policy is intact"
assert_match "$list" '10\.90\.0\.1/32 +pass +config' "the kept rule still has the running action"
pass "SIGHUP reload replaces config rules (a full map too), keeps manual ones and open flows"
