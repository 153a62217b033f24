#!/bin/bash
# reload_inflight: a tunnel flow and an http request, each in flight across a SIGHUP that
# removes its route, end with the route they started with, and the runtime snapshot they
# hold is freed only once they end (hermesd's debug log). 1. The tunnel flow's route tries
# a peer that never answers, then the server host's hermesd; the reload removes the route
# and its policy rule, and the flow still fails over to the removed route's second peer;
# the next connection is not tunnelled. 2. Route "old" sends Host svc to A1 (answers 503
# only once the test releases it) then, by its retry policy, to A2; the reload replaces it
# with route "new" (B only, no retries). The request waiting on A1 is retried after the
# reload on A2 with the old policy and its 256 KiB body arrives intact; a request after
# the reload goes to B; the access log names each one's route. Under the sanitizer build a
# use of a freed route fails the test.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
BODY_LEN=262144
cat >"$TMP/origin.py" <<'PY'
import http.server, os, sys, threading, time
tmp, n = sys.argv[1], int(sys.argv[2])
body_a2 = bytes(i % 251 for i in range(n))

def handler(name):
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *a):
            sys.stderr.write("%s %s\n" % (name, self.path))
        def send(self, code, body):
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def do_GET(self):
            if name == "A1":
                open(os.path.join(tmp, "a1.waiting"), "w").close()
                for _ in range(300):
                    if os.path.exists(os.path.join(tmp, "a1.release")):
                        break
                    time.sleep(0.05)
                self.send(503, b"A1 down\n")
            elif name == "A2":
                self.send(200, body_a2)
            else:
                self.send(200, b"B\n")
    return H

servers = [http.server.ThreadingHTTPServer((a, p), handler(nm))
           for a, p, nm in (("10.77.1.2", 8080, "A1"), ("10.77.1.2", 8081, "A2"), ("10.77.1.3", 8080, "B"))]
for s in servers[1:]:
    threading.Thread(target=s.serve_forever, daemon=True).start()
servers[0].serve_forever()
PY
bg origin s "$PY" "$TMP/origin.py" "$TMP" "$BODY_LEN"
for a in 10.77.1.2:8080 10.77.1.2:8081 10.77.1.3:8080; do
	wait_tcp "$NS_S" "${a%:*}" "${a#*:}" || die "origin $a did not start"
done
"$PY" -c "import sys; sys.stdout.buffer.write(bytes(i % 251 for i in range($BODY_LEN)))" >"$TMP/a2.expected"

# the tunnel's peers: one that accepts and never answers the CONNECT, then the server
# host's hermesd
bg silent s "$PY" -c 'import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.77.1.2", 15010)); s.listen(16); time.sleep(120)'
wait_tcp "$NS_S" 10.77.1.2 15010 || die "the silent peer did not start"
start_hermesd_s --tunnel-listen 10.77.1.2:15008

CONF=$TMP/hermes.yaml
cat >"$CONF" <<YAML
proxy:
  connect_timeout_ms: 2000
routes:
  - {name: via-silent, match: [10.77.1.3/32:8080], protocol: h1, peers: [10.77.1.2:15010, 10.77.1.2:15008]}
policy:
  - {match: 10.77.1.3/32:8080, action: tunnel}
http_routes:
  - {name: old, match: {host: svc}, endpoints: [10.77.1.2:8080, 10.77.1.2:8081],
     retry: {retry_on: [5xx], num_retries: 1, backoff_base_ms: 10, backoff_max_ms: 20}}
YAML
start_hermesd -c "$CONF"
policy_add 10.77.1.2/32:8080 http

# 1. a tunnel flow waits on the silent peer across a reload (snapshot 2) that removes its
# route and policy rule: only the flow holds snapshot 1 then
bg tunflow app curl -sS --max-time 20 http://10.77.1.3:8080/tunnel
TUN_PID=$BG_PID
wait_until 5 grep -q 'route via-silent, 2 peer' "$HERMESD_LOG" || die "the tunnel flow did not take route via-silent"
say "ok: a tunnel flow waits on the silent peer"
sed -i '/^routes:/,/^policy:/d; /action: tunnel/d' "$CONF"
kill -HUP "$HERMESD_PID"
wait_until 5 grep -q 'SIGHUP: reloaded .*config snapshot 2' "$HERMESD_LOG" || die "hermesd did not log the first reload"
assert_file_nomatch "$HERMESD_LOG" 'config snapshot 1 .*freed' "snapshot 1 stays while the tunnel flow holds it"
wait "$TUN_PID"
rc=$?
assert_eq 0 "$rc" "curl of the tunnel flow exited 0 ($(cat "$TMP/tunflow.log"))"
assert_eq "B" "$(cat "$TMP/tunflow.log")" "the tunnel flow failed over to its removed route's second peer and got B"
wait_until 5 grep -q 'config snapshot 1 .*freed' "$HERMESD_LOG" ||
	die "snapshot 1 was not freed once the tunnel flow that held it ended"
say "ok: snapshot 1 is freed once the tunnel flow ended"
curl_app http://10.77.1.3:8080/direct
assert_eq "B" "$CURL_OUT" "after the reload 10.77.1.3:8080 is no longer tunnelled (policy pass)"
assert_eq 1 "$(grep -c 'route via-silent' "$HERMESD_LOG")" "no flow but the first took the removed route"

# 2. an http request waits on A1 across a reload (snapshot 3) that replaces its route
bg slowreq app curl -sS --max-time 20 -H 'Host: svc' -o "$TMP/slow.body" -w '%{http_code}' http://10.77.1.2:8080/slow
SLOW_PID=$BG_PID
wait_until 10 test -e "$TMP/a1.waiting" || die "the request did not reach A1 (route old's first endpoint)"
say "ok: a request on route old waits on A1"
cat >"$CONF" <<YAML
proxy:
  connect_timeout_ms: 2000
http_routes:
  - {name: new, match: {host: svc}, endpoints: [10.77.1.3:8080]}
YAML
kill -HUP "$HERMESD_PID"
wait_until 5 grep -q 'SIGHUP: reloaded .*config snapshot 3' "$HERMESD_LOG" || die "hermesd did not log the second reload"

curl_app -H 'Host: svc' http://10.77.1.2:8080/after
assert_eq "B" "$CURL_OUT" "a request after the reload takes route new (endpoint B)"
assert_file_nomatch "$HERMESD_LOG" 'config snapshot 2 .*freed' "snapshot 2 stays while the request holds it"
pid_alive "$SLOW_PID" || die "the request in flight ended before A1 answered: $(cat "$TMP/slowreq.log")"

touch "$TMP/a1.release"
wait "$SLOW_PID"
rc=$?
assert_eq 0 "$rc" "curl of the request in flight exited 0 ($(cat "$TMP/slowreq.log"))"
assert_eq 200 "$(cat "$TMP/slowreq.log")" "the request in flight got 200 (retried by the old route's policy)"
cmp -s "$TMP/a2.expected" "$TMP/slow.body" || die "the request in flight did not get A2's $BODY_LEN bytes intact ($(stat -c %s "$TMP/slow.body") bytes)"
say "ok: $BODY_LEN bytes from A2, the old route's second endpoint, intact"
wait_until 5 grep -q 'config snapshot 2 .*freed' "$HERMESD_LOG" ||
	die "snapshot 2 was not freed once the request that held it ended"
say "ok: snapshot 2 is freed once the request ended"

assert_file_match "$HERMESD_LOG" 'access .*path=/slow route=old upstream=10\.77\.1\.2:8081 attempts=2 .*result=200$' \
	"the access line of the request in flight names route old, A2, 2 attempts"
assert_file_match "$HERMESD_LOG" 'access .*path=/after route=new upstream=10\.77\.1\.3:8080 attempts=1 .*result=200$' \
	"the access line of the request after the reload names route new and B"
pass "a request and a tunnel flow in flight across SIGHUP keep their routes; the old snapshot goes after them"
