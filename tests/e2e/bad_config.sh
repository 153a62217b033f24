#!/bin/bash
# bad_config: a bad config file or bad arguments make hermesd exit 2 with a message naming
# FILE:LINE (or the option), before anything is attached or pinned.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
require_build

# run_once ARGS...: hermesd in the client netns and its cgroup; sets RUN_RC, RUN_OUT
run_once() {
	RUN_OUT=$(nsenter --net="/run/netns/$NS_C" sh -c 'echo $$ > "$0" && exec "$@"' "$CG/hermesd/cgroup.procs" \
		timeout 10 "$HERMESD_BIN" -c none --cgroup "$CG/app" --pin-root "$PINROOT" "$@" 2>&1 </dev/null)
	RUN_RC=$?
	say "hermesd $* -> status $RUN_RC: $(head -c 600 <<<"$RUN_OUT")"
}

nothing_left() {
	assert_no_progs "$1: nothing attached"
	[ ! -e "$PINROOT" ] || die "$1: expected nothing pinned, but $PINROOT has: $(find "$PINROOT" | tr '\n' ' ')"
	say "ok: $1: nothing pinned"
}

# 1. unknown action on line 6
cat >"$TMP/bad-action.yaml" <<'YAML'
# bad action
policy:
  - match: 10.77.1.0/24
    action: proxy
  - match: 10.77.1.2
    action: explode
YAML
run_once -c "$TMP/bad-action.yaml"
assert_eq 2 "$RUN_RC" "exit status for an unknown action"
assert_match "$RUN_OUT" "bad-action\.yaml:6" "message names bad-action.yaml:6"
assert_match "$RUN_OUT" "explode" "message names the bad value"
nothing_left "unknown action"

# 2. unknown key on line 3
printf 'log_level: info\n# next line is wrong\ncolour: blue\n' >"$TMP/bad-key.yaml"
run_once -c "$TMP/bad-key.yaml"
assert_eq 2 "$RUN_RC" "exit status for an unknown key"
assert_match "$RUN_OUT" "bad-key\.yaml:3" "message names bad-key.yaml:3"
assert_match "$RUN_OUT" "colour" "message names the unknown key"
nothing_left "unknown key"

# 3. YAML syntax error on line 4
printf 'policy:\n  - match: 10.77.1.0/24\n    action: proxy\n  - [match: 10.77.1.3\n' >"$TMP/bad-syntax.yaml"
run_once -c "$TMP/bad-syntax.yaml"
assert_eq 2 "$RUN_RC" "exit status for a YAML syntax error"
assert_match "$RUN_OUT" "bad-syntax\.yaml:[0-9]+" "message names bad-syntax.yaml:LINE"
nothing_left "syntax error"

# 4. out-of-range value on line 3
printf 'proxy:\n  connect_timeout_ms: 1000\n  connect_attempts: 0\n' >"$TMP/bad-range.yaml"
run_once -c "$TMP/bad-range.yaml"
assert_eq 2 "$RUN_RC" "exit status for an out-of-range value"
assert_match "$RUN_OUT" "bad-range\.yaml:3" "message names bad-range.yaml:3"
nothing_left "out of range"

# 5. missing file
run_once -c "$TMP/does-not-exist.yaml"
assert_eq 2 "$RUN_RC" "exit status for a missing config file"
assert_match "$RUN_OUT" "does-not-exist\.yaml" "message names the missing file"
nothing_left "missing file"

# 6. bad arguments
run_once --log-level loud
assert_eq 2 "$RUN_RC" "exit status for --log-level loud"
assert_match "$RUN_OUT" "loud|log-level" "message names the bad option"
run_once --no-such-option
assert_eq 2 "$RUN_RC" "exit status for an unknown option"
run_once --listen 10.77.1.999:1
assert_eq 2 "$RUN_RC" "exit status for --listen with a bad address"
nothing_left "bad arguments"

# 7. a --tc-iface that does not exist: refused before anything is attached
run_once --tc-iface nosuch0
assert_eq 2 "$RUN_RC" "exit status for a missing --tc-iface"
assert_match "$RUN_OUT" "--tc-iface 'nosuch0': no such interface" "message names the interface"
nothing_left "missing tc interface"

# and a good config still starts
printf 'policy:\n  - match: 10.77.1.0/24\n    action: deny\n' >"$TMP/good.yaml"
start_hermesd -c "$TMP/good.yaml"
expect_eperm "the good config's deny rule is in force" 10.77.1.2 80
stop_hermesd TERM 15
assert_eq 0 "$HERMESD_RC" "exit status after SIGTERM"
pass "bad config and arguments: exit 2, FILE:LINE named, nothing attached"
