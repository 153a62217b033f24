#!/bin/bash
# hermes_top_follow: hermes-top's field filters, follow mode and detail view.
#  1. hermes-top -f --json comm:curl prints, while curls run, the proxied flow's open
#     and close (with its closing time), the denied connect, and the http flow (engine
#     http), in time order, and exits after -n events; text lines, with a negated
#     action filtering the proxied flow out;
#  2. batch filters: action:, dst:CIDR and dst:IP:PORT, negation (!comm: and -dst:),
#     engine:http, several words on one field; a malformed word exits 2;
#  3. the live view at 80x24: the columns that fit by priority, Right/Left scroll to
#     the others (STATE shows when closed flows closed), a bad filter typed after / is
#     refused with a message, and Enter shows the selected flow's details with the
#     policy rule that matched (deny and proxy).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/tmux.sh
. "$(dirname "$0")/../lib/tmux.sh"

topo_up
start_nginx
start_hermesd
policy_add 10.77.1.2 proxy
policy_add 10.77.1.3:81 deny
policy_add 10.77.1.3:80 http
TOP=(ns_c "$HTOP_BIN" --pin-root "$PINROOT")

# ---------------------------------------------------------------- 1. follow mode
bg follow c "$HTOP_BIN" --pin-root "$PINROOT" -f --json -n 5 -d 0.1 comm:curl
FOLLOW_PID=$BG_PID
bg followtext c "$HTOP_BIN" --pin-root "$PINROOT" -f -n 3 -d 0.1 comm:curl '!action:proxy' -port:8080
FOLLOWT_PID=$BG_PID
sleep 0.5 # both have taken their first sample: what follows is new
expect_page "proxied curl" http://10.77.1.2/
curl_app --max-time 2 http://10.77.1.3:81/
assert_eq 7 "$CURL_RC" "the denied curl fails to connect"
expect_page "curl through the http action" http://10.77.1.3/
for p in "$FOLLOW_PID" "$FOLLOWT_PID"; do
	wait_until 5 eval "! pid_alive $p" || { cat "$TMP/follow.log" "$TMP/followtext.log"; die "hermes-top -f -n did not exit after its events"; }
done
cat "$TMP/follow.log"
"$PY" - "$TMP/follow.log" <<'PYEOF' || die "the follow events are not the flows that happened"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
kinds = [(e["event"], e["orig_dst"], e["action"]) for e in ev]
want = [("open", "10.77.1.2:80", "proxy"), ("close", "10.77.1.2:80", "proxy"), ("deny", "10.77.1.3:81", "deny"),
        ("open", "10.77.1.3:80", "http"), ("close", "10.77.1.3:80", "http")]
assert len(ev) == 5, "expected 5 events (-n 5), got %d" % len(ev)
assert sorted(kinds) == sorted(want), kinds
assert [e["time"] for e in ev] == sorted(e["time"] for e in ev), "events not in time order"
for e in ev:
    assert e["comm"] == "curl" and e["pid"] > 0, e
    if e["event"] == "close":
        assert e["closed_at"] and e["closed_at"] >= e["started_at"] and e["time"] == e["closed_at"], e
        assert e["duration_s"] is not None and e["bytes_in"] > 0, e
proxy_close = [e for e in ev if e["event"] == "close" and e["action"] == "proxy"][0]
assert proxy_close["engine"] in ("uring", "splice"), proxy_close
http_close = [e for e in ev if e["event"] == "close" and e["action"] == "http"][0]
assert http_close["engine"] == "http", http_close
print("follow events ok")
PYEOF
say "ok: follow --json: open/close of the proxied and http flows (engine http), the deny, in time order"
text=$(cat "$TMP/followtext.log")
printf '%s\n' "$text"
# the proxied flow came first: '!action:proxy' left it out
assert_eq 3 "$(wc -l <<<"$text")" "text follow: -n 3 events"
assert_match "$(sed -n 1p <<<"$text")" '^20[0-9-]+T[0-9:.]+Z deny +[0-9]+/curl - -> 10\.77\.1\.3:81 deny -$' "text follow: deny line (the negated action left the proxied flow out)"
assert_match "$(sed -n 2p <<<"$text")" '^20[0-9-]+T[0-9:.]+Z open +[0-9]+/curl [0-9.]+:[0-9]+ -> 10\.77\.1\.3:80 http ' "text follow: open line"
assert_match "$(sed -n 3p <<<"$text")" '^20[0-9-]+T[0-9:.]+Z close +[0-9]+/curl .* -> 10\.77\.1\.3:80 http http/(skmsg|tcp) in [0-9.]+K? out [0-9.]+ lasted [0-9.]+s$' "text follow: close line with the http engine"

# ---------------------------------------------------------------- 2. batch filters
expect_eperm "a python3 connect, denied (a flow whose comm is not curl)" 10.77.1.3 81
# check_filter WHAT PYTHON-PREDICATE FILTER...: a non-empty list, every flow satisfying it
check_filter() {
	local what=$1 pred=$2 out
	shift 2
	out=$("${TOP[@]}" -b -n 1 -a --json "$@") || die "$what: hermes-top -b $* failed"
	printf '%s\n' "$out" | "$PY" -c 'import json,sys
f=json.load(sys.stdin)["flows"]; pred=eval("lambda f: " + sys.argv[1])
assert f, "no flow listed"
bad=[x for x in f if not pred(x)]
assert not bad, bad' "$pred" || die "$what: filter $* listed the wrong flows: $(printf '%s' "$out" | head -c 600)"
	say "ok: $what ($*)"
}
check_filter "action:deny" 'f["action"] == "deny" and f["orig_dst"] == "10.77.1.3:81"' action:deny
check_filter "dst:IP:PORT" 'f["orig_dst"] == "10.77.1.3:81"' dst:10.77.1.3:81
check_filter "dst:CIDR with a negated dst" 'f["orig_dst"].startswith("10.77.1.2:")' dst:10.77.1.0/24 -dst:10.77.1.3/32
check_filter "!comm" 'f["comm"] != "curl" and f["action"] == "deny"' '!comm:curl'
check_filter "engine:http" 'f["engine"] == "http" and f["action"] == "http"' engine:http
check_filter "two actions (either)" 'f["action"] in ("proxy", "http") and f["comm"] == "curl"' action:proxy action:http comm:curl
check_filter "pid and port" 'f["comm"] == "curl" and f["orig_dst"].endswith(":80")' comm:cu* port:80 --filter state:closed
err=$("${TOP[@]}" -b -n 1 dst:10.77.1.300 2>&1)
assert_eq 2 "$?" "a malformed dst: filter is a usage error"
assert_match "$err" "filter 'dst:10\.77\.1\.300'" "the message names the filter word"
err=$("${TOP[@]}" -b -n 1 action:relay 2>&1)
assert_eq 2 "$?" "an unknown action: filter is a usage error"

# ---------------------------------------------------------------- 3. live view at 80x24
top_session live 80 24 -a -d 0.5 comm:curl
wait_screen live 5 '^PID/COMM +ORIG DST +ACTION +ENGINE/HOP +RATE IN/OUT +BYTES IN/OUT *$' "80x24: PID/COMM, ORIG DST, ACTION, ENGINE/HOP, RATE, BYTES"
wait_screen live 3 '^[0-9]+/curl +10\.77\.1\.3:81 +deny ' "the denied flow's row at 80 columns"
for ((i = 0; i < 9; i++)); do
	screen_has live '^PID/COMM .*STATE' && break
	keys live Right
	sleep 0.2
done
wait_screen live 2 '^PID/COMM .*RETRANS +AGE +STATE' "Right scrolls to RETRANS, AGE and STATE"
wait_screen live 2 '^[0-9]+/curl .*closed [0-9]{2}:[0-9]{2}:[0-9]{2}' "STATE shows when a closed flow closed"
wait_screen live 2 'columns from ' "the header says the columns are scrolled"
for ((i = 0; i < 9; i++)); do keys live Left; done
wait_screen live 2 '^PID/COMM +ORIG DST +ACTION' "Left scrolls back"

keys live / C-u
keys live -l dst:10.77.1.300
keys live Enter
wait_screen live 2 "filter 'dst:10\.77\.1\.300'" "a bad filter typed after / is refused with a message"
wait_screen live 2 'filter "comm:curl"' "the previous filter stays"
keys live / C-u
keys live -l "comm:curl action:deny"
keys live Enter
wait_screen live 2 'filter "comm:curl action:deny"' "filter applied"
keys live Enter
wait_screen live 3 'policy rule +10\.77\.1\.3/32:81 -> deny \(manual\)' "Enter: the detail view shows the deny rule"
assert_match "$(screen live)" 'orig dst +10\.77\.1\.3:81' "detail view: original destination"
assert_match "$(screen live)" 'closed +20[0-9-]+T[0-9:.]+Z, after ' "detail view: when it closed"
keys live Escape
wait_screen live 2 '^PID/COMM ' "Esc goes back to the table"
keys live / C-u
keys live -l "comm:curl action:proxy"
keys live Enter
wait_screen live 2 '^[0-9]+/curl +10\.77\.1\.2:80 +proxy ' "the proxied flow's row"
keys live Enter
wait_screen live 3 'policy rule +10\.77\.1\.2/32 -> proxy \(manual\)' "detail view of the proxied flow: its rule"
screen live
assert_match "$(screen live)" 'engine/hop +(uring|splice)/(skmsg|tcp)' "detail view: engine and hop"
keys live q
wait_session_gone live 3 || die "q did not end hermes-top"
assert_eq 0 "$(cat "$TMP/live.rc" 2>/dev/null)" "hermes-top exit status after q"
pass "hermes-top: follow mode, field filters, 80x24 columns and scrolling, detail view with the policy rule"
