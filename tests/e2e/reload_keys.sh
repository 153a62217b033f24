#!/bin/bash
# reload_keys: a SIGHUP applies every key marked reload in the key tables (config.c, cfg_*.c) and keeps
# (with a warn line naming them) the keys marked restart-only. One reload changes
# tunnel.post_path (a POST to the new path becomes a tunnel, one to the old path no
# longer is), tunnel.h2_max_streams, proxy.connect_timeout_ms, a policy rule (now
# denied), log_level, log_format and access_log (each seen in GET /config and in what
# hermesd does), and two restart-only keys, listeners.admin and mark: /config keeps
# their running values, the admin address stays where it was, and the log says at warn
# that they wait for a restart. pin_root, set by --pin-root, holds over the file (info
# line, no warn). A second reload back to the running values warns about nothing.
# hermesd runs without --log-level here, so that the file's log_level is what counts.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
CONF=$TMP/hermes.yaml
ACCESS=$TMP/access.log

# write_cfg LEVEL FORMAT ACCESS_LOG ADMIN MARK POST_PATH STREAMS TIMEOUT ACTION PIN_ROOT
write_cfg() {
	cat >"$CONF" <<YAML
log_level: $1
log_format: $2
access_log: $3
mark: $5
pin_root: ${10}
listeners:
  admin: $4
  tunnel: 10.77.1.1:15008
proxy:
  connect_timeout_ms: $8
tunnel:
  post_path: $6
  h2_max_streams: $7
policy:
  - match: 10.77.1.2/32:80
    action: proxy
  - match: 10.77.1.3/32
    action: $9
YAML
}

# reload: SIGHUP, then wait until hermes_config_reloads_total{result="ok"} counts it
reloads_ok() { stat_value hermes_config_reloads_total 'result="ok"'; }
reloaded_since() { [ "$(reloads_ok)" -gt "$1" ] 2>/dev/null; }
reload() {
	local before
	before=$(reloads_ok)
	kill -HUP "$HERMESD_PID"
	wait_until 5 reloaded_since "${before:-0}" ||
		die "hermesd did not count a successful reload (log: $(tail -n 3 "$HERMESD_LOG"))"
}

# cfg_field .A.B: a field of GET /config
cfg_field() {
	admin_get /config | "$PY" -c 'import functools, json, sys
print(functools.reduce(lambda v, k: v[k], sys.argv[1].split(".")[1:], json.load(sys.stdin)))' "$1"
}

# post PATH: an HTTP/2 (h2c) POST to the tunnel listener whose :authority is the origin
# and whose body is an HTTP/1.0 request: as a tunnel (tunnel.post_path) the origin's
# whole answer comes back as the body; otherwise it is a proxy request for
# http://10.77.1.2:80PATH, which nginx answers 404. Prints the status and the body.
post() {
	ns_c curl -s --max-time 5 --http2-prior-knowledge -X POST -H 'Host: 10.77.1.2:80' \
		--data-binary $'GET / HTTP/1.0\r\n\r\n' -w '\nstatus %{http_code}\n' "http://10.77.1.1:15008$1"
}

write_cfg debug text stderr 127.0.0.1:15000 0x484d /hermes/tunnel 100 3000 proxy "$PINROOT"
HERMESD_LOG_LEVEL='' start_hermesd -c "$CONF"

assert_eq /hermes/tunnel "$(cfg_field .tunnel.post_path)" "/config: tunnel.post_path as started"
assert_eq 100 "$(cfg_field .tunnel.h2_max_streams)" "/config: tunnel.h2_max_streams as started"
assert_eq 3000 "$(cfg_field .proxy.connect_timeout_ms)" "/config: proxy.connect_timeout_ms as started"
assert_eq 0 "$(cfg_field .log_level)" "/config: log_level debug (0) from the file"
out=$(post /elsewhere)
assert_match "$out" 'status 404' "a POST to /elsewhere is a proxy request (nginx: 404)"
expect_page "10.77.1.3 is proxied" http://10.77.1.3/

# ---- the reload
write_cfg warn json "$ACCESS" 127.0.0.1:15099 0x99 /elsewhere 7 1234 deny "$PINROOT-elsewhere"
reload
assert_eq /elsewhere "$(cfg_field .tunnel.post_path)" "/config: tunnel.post_path reloaded"
assert_eq 7 "$(cfg_field .tunnel.h2_max_streams)" "/config: tunnel.h2_max_streams reloaded"
assert_eq 1234 "$(cfg_field .proxy.connect_timeout_ms)" "/config: proxy.connect_timeout_ms reloaded"
assert_eq 2 "$(cfg_field .log_level)" "/config: log_level warn (2) reloaded"
assert_eq json "$(cfg_field .log_format)" "/config: log_format reloaded"
assert_eq "$ACCESS" "$(cfg_field .access_log)" "/config: access_log reloaded"

# restart-only keys: the running values stay, and the log says so at warn
assert_eq 127.0.0.1:15000 "$(cfg_field .listeners.admin)" "/config: listeners.admin keeps its running value"
assert_eq 18509 "$(cfg_field .mark)" "/config: mark keeps its running value (0x484d)"
assert_eq 000 "$(ns_c curl -s -o /dev/null -w '%{http_code}' --max-time 2 http://127.0.0.1:15099/ready)" \
	"nothing listens on the new admin address"
assert_file_match "$HERMESD_LOG" ' warn hermesd: SIGHUP: mark, listeners\.admin changed in .*hermes\.yaml, but these are read at start only: the running values stay until hermesd is restarted' \
	"the reload warns which restart-only keys changed"
# a command-line option holds its key: no warn for pin_root, an info line instead
assert_eq "$PINROOT" "$(cfg_field .pin_root)" "/config: pin_root (--pin-root) holds over the file"
assert_file_match "$HERMESD_LOG" 'info hermesd: SIGHUP: pin_root set by a command-line option' \
	"the reload says that --pin-root holds over the file's pin_root"
assert_file_nomatch "$HERMESD_LOG" 'warn hermesd: SIGHUP: .*pin_root' "no warn for a key an option holds"

# what the reloaded keys do
out=$(post /elsewhere)
assert_match "$out" 'HTTP/1\.1 200 OK' "a POST to the new post_path is a tunnel to the origin (its own response inside)"
assert_match "$out" 'status 200' "the tunnel's POST answered 200"
out=$(post /hermes/tunnel)
assert_match "$out" 'status 404' "a POST to the old post_path is no tunnel any more (a proxy request: 404)"
expect_eperm "the reloaded policy denies 10.77.1.3" 10.77.1.3 80
mark=$(wc -l <"$HERMESD_LOG")
expect_page "10.77.1.2:80 still proxied" http://10.77.1.2/
wait_until 5 grep -q '10\.77\.1\.2:80' "$ACCESS" || die "the reloaded access_log file got no line for the flow"
say "ok: access line in $ACCESS: $(tail -n 1 "$ACCESS")"
sleep 0.3
assert_eq "" "$(tail -n +$((mark + 1)) "$HERMESD_LOG" | grep -E '"level":"(debug|info)"| (debug|info) hermesd: ')" \
	"log_level warn: no debug or info line after the reload"

# ---- back to the running restart-only values: nothing to warn about; info lines, as JSON
warns=$(grep -c ' warn hermesd: SIGHUP: .*read at start only' "$HERMESD_LOG")
write_cfg info json "$ACCESS" 127.0.0.1:15000 0x484d /elsewhere 7 1234 deny "$PINROOT"
reload
wait_until 5 grep -q '"level":"info","msg":"SIGHUP: reloaded ' "$HERMESD_LOG" ||
	die "log_level info and log_format json: no JSON info line for the second reload"
say "ok: $(grep '"msg":"SIGHUP: reloaded ' "$HERMESD_LOG" | tail -n 1)"
assert_eq "$warns" "$(grep -c 'read at start only' "$HERMESD_LOG")" "no warn when the restart-only keys are as running"
pass "SIGHUP applies reload keys (post_path, h2_max_streams, connect_timeout_ms, policy, log level/format, access log) and keeps restart-only ones with a warn"
