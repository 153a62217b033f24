#!/bin/bash
# reload: SIGHUP re-reads the config file: config rules are replaced (removed rules go,
# new ones apply to the next connect), rules added with hermesctl stay, a flow open during
# the reload completes byte-exact, and a broken file is refused with file:line while the
# running policy stays in force.
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
pass "SIGHUP reload replaces config rules, keeps manual ones and open flows"
