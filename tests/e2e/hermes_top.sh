#!/bin/bash
# hermes_top: hermes-top against a live hermesd (policy proxy for 10.77.1.2, pass for
# 10.77.1.3, deny for 10.77.1.3:81).
#  1. live view under tmux (160x40) during a ~400 MB proxied download: the flow's row
#     shows pid/comm, orig dst, proxy and a non-zero rate; keys s, S, / (apply, Esc
#     cancel), p, c, ?, h work; q quits with status 0 and the tmux session ends;
#  2. batch mode -b -n 2 --json: two JSON lines; the proxied, passed and denied flows
#     with the right orig dst, action, engine, pid, comm and bytes within 1% of what
#     was sent; plain -b text has the table;
#  3. a 40x8 terminal shows "terminal too small", the view comes back on resize, Ctrl-C
#     exits with status 0;
#  4. a wrong --pin-root exits 1 naming the missing table; bad options exit 2;
#  5. with hermesd stopped the kernel view stands alone: "hermesd: not reachable".
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

# shellcheck source-path=SCRIPTDIR source=../lib/tmux.sh
. "$(dirname "$0")/../lib/tmux.sh"

# client_field LOG KEY: KEY of the last JSON line of a client log that has it
client_field() {
	"$PY" -c '
import json, sys
v = None
for line in open(sys.argv[1]):
    try:
        d = json.loads(line)
    except ValueError:
        continue
    if sys.argv[2] in d:
        v = d[sys.argv[2]]
print("" if v is None else v)
' "$1" "$2" 2>/dev/null
}

# wait_client NAME PID SECS: the client finished and printed its result line
wait_client() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		pid_alive "$2" || break
		sleep 0.1
	done
	pid_alive "$2" && die "client $1 (pid $2) still running after $3 s"
	wait "$2" 2>/dev/null
	local rc=$?
	[ "$rc" = 0 ] || { cat "$TMP/$1.log"; die "client $1 failed with status $rc"; }
	[ -n "$(client_field "$TMP/$1.log" received)" ] || { cat "$TMP/$1.log"; die "client $1 printed no result"; }
}


topo_up
flows_up
# the denied connect first: the default view must have dropped it 5 s later (section 2),
# a wait that the live view's checks now fill
expect_eperm "deny rule for 10.77.1.3:81" 10.77.1.3 81
DENY_MS=$(now_ms)

# ---------------------------------------------------------------- 1. live view
top_session top 160 40 -d 0.5
wait_screen top 5 '^hermes-top [0-9:]+ +hermesd: ready at 127\.0\.0\.1:15000, [0-9]+ active +pin root ' "live view header with hermesd ready"
wait_screen top 3 'PID/COMM +SRC +ORIG DST +ACTION +ENGINE/HOP +RATE IN/OUT +BYTES IN/OUT +RTT +RETRANS +AGE +STATE' "column header"

# ~400 MB down (and 1 MB up) through the proxy, paced over ~6 s
DOWN=400000000 UP=1000000
bg big app "$PY" "$TESTBIN/xfer.py" client 10.77.1.2 7000 $UP $DOWN 6
BIG_BG=$BG_PID
wait_until 5 grep -q started "$TMP/big.log" || { cat "$TMP/big.log"; die "the proxied client did not connect"; }
BIG_PID=$(client_field "$TMP/big.log" pid)
say "proxied client: pid $BIG_PID (background job $BIG_BG), local $(client_field "$TMP/big.log" local)"
# bg runs in_app in a subshell that forks nsenter: the job's PID is not the client's,
# so the client reports its own (what connect() saw)
[ -n "$BIG_PID" ] || die "the proxied client did not report its pid"

ROW="^$BIG_PID/python3 +[^ ]+ +10\.77\.1\.2:7000 +proxy "
wait_screen top 5 "$ROW" "the proxied flow's row: $BIG_PID/python3 -> 10.77.1.2:7000, proxy"
rate_line=
for ((i = 0; i < 50; i++)); do
	rate_line=$(screen top | grep -E "$ROW" | head -n 1)
	rate=$(printf '%s\n' "$rate_line" | awk '{ print $6 }')
	[ -n "$rate" ] && [ "${rate%%/*}" != 0 ] && break
	sleep 0.1
done
say "row: $rate_line"
if [ -z "$rate" ] || [ "${rate%%/*}" = 0 ]; then
	die "RATE IN of the proxied flow stayed 0 (row: $rate_line)"
fi
say "ok: non-zero RATE IN/OUT ($rate)"
assert_match "$(printf '%s' "$rate_line" | awk '{ print $5 }')" '^(uring|splice)/(skmsg|tcp)$' "ENGINE/HOP of the proxied flow"

# sort keys
wait_screen top 2 '^sort rate \(default order\)' "initial sort is rate"
keys top s
wait_screen top 2 '^sort bytes ' "s: next sort key (bytes)"
keys top S
wait_screen top 2 '^sort bytes \(reversed\)' "S: reversed"
keys top S s s s s s
wait_screen top 2 '^sort rate \(default order\)' "s cycles back to rate"

# filter: one that hides the row, Esc cancels an edit, one that keeps it, then none
keys top /
keys top -l nosuchflow
wait_screen top 2 '^filter: nosuchflow' "/ opens the filter prompt"
keys top Enter
wait_screen top 2 'filter "nosuchflow"' "filter applied"
wait_screen_not top 2 "$ROW" "a filter that matches nothing hides the row"
wait_screen top 2 'no flow matches the filter' "empty-table message"
keys top / C-u
keys top -l python3
keys top Escape
wait_screen top 2 'filter "nosuchflow"' "Esc cancels the edit: the filter is unchanged"
keys top / C-u
keys top -l PYTHON
keys top Enter
wait_screen top 2 'filter "PYTHON"' "filter PYTHON applied"
wait_screen top 3 "$ROW" "a case-insensitive filter on the command keeps the row"
keys top / C-u
keys top -l 10.77.1.2:7000
keys top Enter
wait_screen top 3 "$ROW" "a filter on the original destination keeps the row"
keys top / C-u Enter
wait_screen top 2 '\| filter none \|' "filter cleared"

# pause: the screen freezes (header clock, ages, bytes), then moves again
keys top p
wait_screen top 2 'PAUSED' "p pauses"
sleep 0.3
s1=$(screen top)
sleep 1.5
s2=$(screen top)
[ "$s1" = "$s2" ] || { diff <(printf '%s\n' "$s1") <(printf '%s\n' "$s2"); die "the screen changed while paused"; }
say "ok: nothing changes while paused (1.5 s)"
keys top p
wait_screen_not top 2 'PAUSED' "p resumes"
# (against a screen taken after the resume: s2 had PAUSED, so any later screen differs
# from it; waited for up to 5 s, where a fixed 1.5 s is a refresh a loaded machine makes late)
s3=$(screen top)
moved() { [ "$(screen top)" != "$s3" ]; }
wait_until 5 moved || die "the screen did not change after resuming"
say "ok: the view moves again after resuming"

# closed flows toggle
keys top c
wait_screen top 2 'closed flows: all' "c shows every closed flow"
keys top c
wait_screen top 2 'closed flows: last 5 s' "c again: closed in the last 5 s"

# help screens
keys top '?'
wait_screen top 2 '^hermes-top help' "? shows the help screen"
assert_match "$(screen top)" 'edit the filter' "help lists the keys"
keys top Space
wait_screen top 2 '^PID/COMM ' "any key leaves the help screen"
keys top h
wait_screen top 2 '^hermes-top help' "h shows the help screen"
keys top x
wait_screen top 2 '^PID/COMM ' "back to the table"

keys top q
wait_session_gone top 3 || { screen top; die "q did not end hermes-top (the tmux session is still there)"; }
assert_eq 0 "$(cat "$TMP/top.rc" 2>/dev/null)" "hermes-top exit status after q"
[ -s "$TMP/top.err" ] && { cat "$TMP/top.err"; die "hermes-top wrote to stderr"; }
say "ok: q quits, the tmux session ended"

wait_client big "$BIG_BG" 30
BIG_SENT=$(client_field "$TMP/big.log" sent)
BIG_RECV=$(client_field "$TMP/big.log" received)
assert_eq $DOWN "$BIG_RECV" "the proxied client received everything"

# ---------------------------------------------------------------- 2. batch mode
bg small app "$PY" "$TESTBIN/xfer.py" client 10.77.1.3 7000 3000000 5000000 0
SMALL_BG=$BG_PID
wait_client small "$SMALL_BG" 20
SMALL_PID=$(client_field "$TMP/small.log" pid)
SMALL_SENT=$(client_field "$TMP/small.log" sent)
SMALL_RECV=$(client_field "$TMP/small.log" received)

ns_c "$HTOP_BIN" --pin-root "$PINROOT" -b -n 2 -d 0.5 --json -a >"$TMP/batch.json" 2>"$TMP/batch.err" ||
	{ cat "$TMP/batch.err"; die "hermes-top -b -n 2 --json failed"; }
assert_eq 2 "$(wc -l <"$TMP/batch.json")" "one JSON line per iteration"
out=$("$PY" - "$TMP/batch.json" "$BIG_PID" "$BIG_SENT" "$BIG_RECV" "$SMALL_PID" "$SMALL_SENT" "$SMALL_RECV" <<'EOF'
import json, sys
path, big_pid, big_sent, big_recv, small_pid, small_sent, small_recv = sys.argv[1], *map(int, sys.argv[2:])
docs = [json.loads(l) for l in open(path)]
bad = []
for d in docs:
    for k in ("time", "summary", "flows"):
        if k not in d:
            bad.append("document without %r" % k)
d = docs[-1]
s, flows = d["summary"], d["flows"]

def near(what, got, want):
    if abs(got - want) > want / 100:
        bad.append("%s: %d, expected %d within 1%%" % (what, got, want))

def one(what, pred):
    m = [f for f in flows if pred(f)]
    if len(m) != 1:
        bad.append("%s: expected 1 flow, found %d: %s" % (what, len(m), m))
        return None
    return m[0]

p = one("proxied flow", lambda f: f["orig_dst"] == "10.77.1.2:7000" and f["pid"] == big_pid)
if p:
    for k, v in (("action", "proxy"), ("comm", "python3"), ("direction", "out"), ("remote", "127.0.0.1:15001")):
        if p[k] != v:
            bad.append("proxied flow %s: %r, expected %r" % (k, p[k], v))
    if p["engine"] not in ("uring", "splice"):
        bad.append("proxied flow engine: %r" % p["engine"])
    near("proxied flow bytes_in", p["bytes_in"], big_recv)
    near("proxied flow bytes_out", p["bytes_out"], big_sent)
    print("proxied: %s bytes in %d (sent by the server %d), out %d (client sent %d), engine %s/%s" %
          (p["src"], p["bytes_in"], big_recv, p["bytes_out"], big_sent, p["engine"], p["hop"]))
q = one("passed flow", lambda f: f["orig_dst"] == "10.77.1.3:7000" and f["pid"] == small_pid)
if q:
    for k, v in (("action", "pass"), ("engine", "direct"), ("comm", "python3"), ("remote", "10.77.1.3:7000")):
        if q[k] != v:
            bad.append("passed flow %s: %r, expected %r" % (k, q[k], v))
    if not q["src"].startswith("10.77.1.1:"):
        bad.append("passed flow src %r: expected 10.77.1.1:PORT" % q["src"])
    near("passed flow bytes_in", q["bytes_in"], small_recv)
    near("passed flow bytes_out", q["bytes_out"], small_sent)
    print("passed: %s bytes in %d (%d), out %d (%d)" % (q["src"], q["bytes_in"], small_recv, q["bytes_out"], small_sent))
r = one("denied connect", lambda f: f["orig_dst"] == "10.77.1.3:81")
if r:
    for k, v in (("action", "deny"), ("engine", "none"), ("state", "closed"), ("bytes_in", 0), ("bytes_out", 0)):
        if r[k] != v:
            bad.append("denied connect %s: %r, expected %r" % (k, r[k], v))
if s["drops"] is None or s["drops"] < 1:
    bad.append("summary drops: %r, expected >= 1" % s["drops"])
if not s["hermesd"]["reachable"]:
    bad.append("summary hermesd.reachable is false")
if s["by_action"]["deny"] < 1 or s["by_action"]["proxy"] < 1 or s["by_action"]["pass"] < 1:
    bad.append("summary by_action: %r" % s["by_action"])
if s["upstream_retries"] is None:
    bad.append("summary upstream_retries missing while hermesd answers")
print("\n".join("BAD: " + b for b in bad) if bad else "all good")
EOF
)
printf '%s\n' "$out"
printf '%s\n' "$out" | grep -q '^BAD' && { head -c 3000 "$TMP/batch.json"; die "batch JSON does not describe the flows"; }
say "ok: batch JSON lists the proxied, passed and denied flows with their bytes"

text=$(ns_c "$HTOP_BIN" --pin-root "$PINROOT" -b -n 1 -a -s dst) || die "hermes-top -b failed"
assert_match "$text" '^PID/COMM +SRC +ORIG DST' "batch text has the column header"
assert_match "$text" "^$SMALL_PID/python3 +10\.77\.1\.1:[0-9]+ +10\.77\.1\.3:7000 +pass +direct " "batch text row of the passed flow"
assert_match "$text" ' 10\.77\.1\.3:81 +deny +- ' "batch text row of the denied connect"
text=$(ns_c "$HTOP_BIN" --pin-root "$PINROOT" -b -n 1 -a --filter 10.77.1.3:81) || die "hermes-top -b --filter failed"
assert_match "$text" '10\.77\.1\.3:81 +deny' "--filter keeps the matching row"
printf '%s\n' "$text" | grep -q '10\.77\.1\.2:7000' && die "--filter 10.77.1.3:81 still shows the proxied flow"
say "ok: --filter hides the other rows"
# without -a, flows closed more than 5 s ago are gone
left=$((DENY_MS + 5200 - $(now_ms)))
[ $left -le 0 ] || sleep "$(awk -v m=$left 'BEGIN { printf "%.3f", m / 1000 }')"
text=$(ns_c "$HTOP_BIN" --pin-root "$PINROOT" -b -n 1) || die "hermes-top -b failed"
printf '%s\n' "$text" | grep -q '10\.77\.1\.3:81' && die "without -a a connect denied > 5 s ago is still listed"
say "ok: closed flows leave the default view after 5 s"

# ---------------------------------------------------------------- 3. tiny terminal
top_session tiny 40 8
wait_screen tiny 5 'terminal too small' "a 40x8 terminal gets a message, not a crash"
msg=$(screen tiny | tr -s ' \n' '  ')
assert_match "$msg" 'terminal too small: need at least 80x10, have 40x8' "the message gives both sizes"
tm resize-window -t tiny -x 120 -y 20 || die "tmux resize-window failed"
wait_screen tiny 5 '^PID/COMM ' "the table appears once the terminal is big enough"
keys tiny C-c
wait_session_gone tiny 3 || die "Ctrl-C did not end hermes-top"
assert_eq 0 "$(cat "$TMP/tiny.rc" 2>/dev/null)" "exit status after Ctrl-C"
[ -s "$TMP/tiny.err" ] && { cat "$TMP/tiny.err"; die "hermes-top wrote to stderr"; }

# ---------------------------------------------------------------- 4. errors
BADROOT=/sys/fs/bpf/hermes-nosuch-$ID
err=$(ns_c "$HTOP_BIN" --pin-root "$BADROOT" -b -n 1 2>&1)
rc=$?
assert_eq 1 "$rc" "exit status with a wrong --pin-root"
assert_match "$err" "no Hermes flow table at $BADROOT/hermes_flows \(is hermesd running with --pin-root $BADROOT\?\)" "message for a wrong --pin-root"
err=$(ns_c "$HTOP_BIN" --pin-root "$BADROOT" 2>&1 </dev/null)
assert_eq 1 "$?" "exit status with a wrong --pin-root in live mode"
err=$(ns_c "$HTOP_BIN" -d 0 -b 2>&1)
assert_eq 2 "$?" "exit status for -d 0"
assert_match "$err" "bad interval '0'" "message for -d 0"
err=$(ns_c "$HTOP_BIN" -s speed -b 2>&1)
assert_eq 2 "$?" "exit status for an unknown sort key"
help=$(ns_c "$HTOP_BIN" --help) || die "--help failed"
for w in SYNOPSIS OPTIONS COLUMNS KEYS 'JSON OUTPUT' 'EXIT STATUS' --pin-root --admin --json; do
	assert_match "$help" "$w" "--help covers $w"
done

# ---------------------------------------------------------------- 5. without hermesd
stop_hermesd
assert_eq 0 "$HERMESD_RC" "hermesd stopped cleanly"
if [ -e "$PINROOT/hermes_flows" ]; then
	text=$(ns_c "$HTOP_BIN" --pin-root "$PINROOT" -b -n 1 -a) || die "hermes-top -b without hermesd failed"
	assert_match "$text" 'hermesd: not reachable' "header without hermesd"
	assert_match "$text" "^$BIG_PID/python3 .* 10\.77\.1\.2:7000 +proxy " "the kernel's flows are still listed"
	json=$(ns_c "$HTOP_BIN" --pin-root "$PINROOT" -b -n 1 -a --json) || die "hermes-top --json without hermesd failed"
	assert_match "$json" '"reachable":false' "JSON says hermesd is not reachable"
	assert_match "$json" '"upstream_retries":null' "no retries count without hermesd"
else
	say "hermesd removed its pins on stop: kernel-only view not checked"
fi

pass "hermes-top: live view keys, batch text and JSON, small terminal, errors, kernel-only view"
