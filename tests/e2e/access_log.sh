#!/bin/bash
# access_log: an unmodified curl in the app cgroup through a `proxy` rule and an `http`
# rule leaves one access line each in hermesd's log (RFC 3339 UTC timestamps): curl's
# pid and comm, its original destination, the action, the upstream, bytes both ways and
# the result (ok, the HTTP status, connect-failed for a closed port); a `tunnel` rule
# leaves one at each end, the far end's naming curl as the client's hermesd reported it. access_log: off
# gives none (and JOURNAL_STREAM naming hermesd's stderr turns on journal priority
# prefixes); --access-log FILE with --log-format json writes JSON objects to the file
# and the log itself is JSON lines (/config shows both).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
cat >"$TMP/hermes.yaml" <<YAML
policy:
  - {match: 10.77.1.2:80, action: proxy}
  - {match: 10.77.1.2:81, action: proxy}
  - {match: 10.77.1.3:80, action: http}
  - {match: "[fd77:1::2]:80", action: tunnel}
  - {match: "[fd77:1::2]:81", action: tunnel}
routes:
  - {name: to-s, match: ["fd77:1::2/128"], peers: [{address: 10.77.1.2:15008, protocol: h2c}]}
proxy: {connect_attempts: 1}
YAML
# since_start: hermesd's log since its last start
since_start() { awk '/^=== hermesd start/ { n = NR } { l[NR] = $0 } END { for (i = n + 1; i <= NR; i++) print l[i] }' "$HERMESD_LOG"; }

# ---- text lines on stderr (the default)
start_hermesd -c "$TMP/hermes.yaml"
ts='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'
assert_file_match "$HERMESD_LOG" "^$ts info hermesd: ready \(" "log lines carry RFC 3339 UTC timestamps and the level"
# curl's pid: the shell execs it
in_app sh -c 'echo $$ >"$0"; exec curl -sS --max-time 10 -o /dev/null http://10.77.1.2/1m.bin' "$TMP/curl.pid" ||
	die "curl through the proxy rule failed"
pid=$(cat "$TMP/curl.pid")
line="^$ts info hermesd: access conn=[0-9]+ pid=$pid comm=curl uid=0 cgroup=[1-9][0-9]* client=[^ ]+ dst=10\.77\.1\.2:80 action=proxy upstream=10\.77\.1\.2:80 sent=[1-9][0-9]* received=10[0-9]{5} duration_ms=[0-9]+ result=ok$"
wait_until 5 grep -Eq "$line" "$HERMESD_LOG" || { grep access "$HERMESD_LOG"; die "no access line for the proxied curl (pid $pid)"; }
say "ok: $(grep -E "$line" "$HERMESD_LOG")"

expect_page "curl through the http rule" http://10.77.1.3/
line="^$ts info hermesd: access conn=[0-9]+ pid=[1-9][0-9]* comm=curl uid=0 cgroup=[1-9][0-9]* client=[^ ]+ dst=10\.77\.1\.3:80 action=http method=GET path=/ route=- upstream=10\.77\.1\.3:80 attempts=1 sent=[1-9][0-9]* received=[1-9][0-9]* duration_ms=[0-9]+ result=200$"
wait_until 5 grep -Eq "$line" "$HERMESD_LOG" || { grep access "$HERMESD_LOG"; die "no access line for the http request"; }
say "ok: $(grep -E "$line" "$HERMESD_LOG")"

# a tunneled flow: logged by both ends, the far end naming the app its peer reported
printf 'tunnel_access:\n  - {match: "[fd77:1::2]:81", action: deny}\n  - {match: "::/0", action: allow}\n' >"$TMP/s.yaml"
start_hermesd_s -c "$TMP/s.yaml" --tunnel-listen 10.77.1.2:15008
expect_page "curl through the tunnel rule" -g 'http://[fd77:1::2]/'
line="^$ts info hermesd: access conn=[0-9]+ pid=[1-9][0-9]* comm=curl uid=0 cgroup=[1-9][0-9]* client=[^ ]+ dst=\[fd77:1::2\]:80 action=tunnel upstream=10\.77\.1\.2:15008 sent=[1-9][0-9]* received=[1-9][0-9]* duration_ms=[0-9]+ result=ok$"
wait_until 5 grep -Eq "$line" "$HERMESD_LOG" || { grep access "$HERMESD_LOG"; die "no access line for the tunneled curl"; }
say "ok: $(grep -E "$line" "$HERMESD_LOG")"
line="^$ts info hermesd: access conn=[0-9]+ pid=[1-9][0-9]* comm=curl uid=0 cgroup=0 client=10\.77\.1\.1:[0-9]+ dst=\[fd77:1::2\]:80 action=tunnel-in upstream=\[fd77:1::2\]:80 sent=[1-9][0-9]* received=[1-9][0-9]* duration_ms=[0-9]+ result=ok$"
wait_until 5 grep -Eq "$line" "$S_LOG" || { grep access "$S_LOG"; die "no tunnel-in access line on the far end"; }
say "ok: $(grep -E "$line" "$S_LOG")"
curl_app -o /dev/null -g 'http://[fd77:1::2]:81/'
[ "$CURL_RC" != 0 ] || die "a destination tunnel_access denies was reached"
wait_until 5 grep -Eq "access conn=[0-9]+ pid=[1-9][0-9]* comm=curl .* dst=\[fd77:1::2\]:81 action=tunnel .* result=403$" "$HERMESD_LOG" ||
	{ grep access "$HERMESD_LOG"; die "the client's line does not say 403"; }
wait_until 5 grep -Eq "access conn=[0-9]+ pid=[1-9][0-9]* comm=curl .* dst=\[fd77:1::2\]:81 action=tunnel-in .* result=403$" "$S_LOG" ||
	{ grep access "$S_LOG"; die "the far end's line does not say 403"; }
say "ok: a CONNECT refused by tunnel_access is logged as 403 at both ends"
stop_hermesd_s

curl_app -o /dev/null http://10.77.1.2:81/
[ "$CURL_RC" != 0 ] || die "curl to a closed port succeeded"
line="access conn=[0-9]+ pid=[1-9][0-9]* comm=curl .* dst=10\.77\.1\.2:81 action=proxy upstream=10\.77\.1\.2:81 sent=0 received=0 duration_ms=[0-9]+ result=connect-failed$"
wait_until 5 grep -Eq "$line" "$HERMESD_LOG" || { grep access "$HERMESD_LOG"; die "no connect-failed access line"; }
say "ok: a closed port is logged as connect-failed"
stop_hermesd

# ---- access_log: off; stderr is "journald's" (JOURNAL_STREAM names it): priority prefixes
printf 'access_log: off\n' >>"$TMP/hermes.yaml"
JOURNAL_STREAM=$(stat -c %d:%i "$HERMESD_LOG") start_hermesd -c "$TMP/hermes.yaml"
expect_page "curl through the proxy rule, access log off" http://10.77.1.2/
expect_page "curl through the http rule, access log off" http://10.77.1.3/
# the http exchange's end is logged where its access line would be: after it, none can come
http_done() { since_start | grep -qE '^<7>http conn [0-9]+: GET .* -> 200'; }
wait_until 5 http_done || die "no debug line for the end of the http exchange: $(since_start | tail -n 5)"
since_start >"$TMP/off.log"
assert_file_match "$TMP/off.log" '^<6>ready \(' "JOURNAL_STREAM matching stderr: journal format, no timestamp"
assert_file_match "$TMP/off.log" '^<7>conn [0-9]+: origdst' "debug lines at priority 7"
assert_file_nomatch "$TMP/off.log" 'access conn=' "access_log: off logs no access line"
stop_hermesd

# ---- a file, JSON
sed -i '$d' "$TMP/hermes.yaml"
start_hermesd -c "$TMP/hermes.yaml" --log-format json --access-log "$TMP/access.json"
expect_page "curl through the proxy rule, JSON" http://10.77.1.2/
expect_page "curl through the http rule, JSON" http://10.77.1.3/
wait_until 5 sh -c '[ "$(wc -l <"$0")" -ge 2 ]' "$TMP/access.json" || die "the access log file has no 2 lines: $(cat "$TMP/access.json")"
since_start >"$TMP/json.log"
"$PY" - "$TMP/access.json" "$TMP/json.log" <<'PYEOF' || die "JSON check failed"
import json, re, sys
acc = [json.loads(l) for l in open(sys.argv[1])]
kinds = {(a["action"], a["dst"], a["comm"], a["result"]) for a in acc}
assert ("proxy", "10.77.1.2:80", "curl", "ok") in kinds, kinds
assert ("http", "10.77.1.3:80", "curl", "200") in kinds, kinds
for a in acc:
    assert a["msg"] == "access" and a["level"] == "info" and a["pid"] > 0 and a["received"] > 0, a
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", a["time"]), a
log = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
assert any(l["msg"].startswith("ready (") for l in log), "no ready line"
assert not any(l["msg"] == "access" for l in log), "access lines went to stderr too"
print("ok: %d access objects in the file, %d JSON log lines" % (len(acc), len(log)))
PYEOF
say "ok: JSON access lines in the file, JSON log lines on stderr"
conf=$(admin_get /config) || die "GET /config failed"
assert_match "$conf" "\"log_format\":\"json\",\"access_log\":\"$TMP/access\.json\"" "/config shows the log format and the access log"

pass
