#!/bin/bash
# blackhole: origins that never answer. 10.77.1.9 is a SYN black hole (the client host's
# neighbour entry sends it to the server host, which drops it: no RST, no ICMP) and
# 10.77.1.2:9300 accepts connections and never says a word. 30 requests to each, at once:
# - the http action to the SYN black hole: 503 (no connection within
#   proxy.connect_timeout_ms, here 500 ms, over its connect attempts);
# - the http action to the silent origin: 504 once the request's timeout (http.retry
#   timeout_ms, here 1500 ms) passes;
# - the proxy action to the SYN black hole: the client's connection is reset/closed after
#   the connect attempts, not held;
# each within its deadline plus a tick or two; a good client of each action is served
# meanwhile, and afterwards no connection is left open in hermesd and its RSS is flat.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

N=30
topo_up
start_nginx "$NS_S" 10.77.1.2:80 10.77.1.3:80
mac=$(ip -n "$NS_S" -br link show eth0 | awk '{ print $3 }')
ip -n "$NS_C" neigh replace 10.77.1.9 lladdr "$mac" dev eth0 nud permanent || die "cannot add the black hole's neighbour entry"
bg silent s "$PY" -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.77.1.2", 9300)); s.listen(512); print("listening", flush=True)
held = []
end = time.time() + 60
while time.time() < end:
    c, _ = s.accept(); held.append(c)
'
wait_until 5 grep -q listening "$TMP/silent.log" || die "the silent origin did not start"
cat >"$TMP/hermes.yaml" <<YAML
proxy: {connect_timeout_ms: 500, connect_attempts: 2, backoff_max_ms: 50}
http: {retry: {timeout_ms: 1500}}
YAML
start_hermesd -c "$TMP/hermes.yaml"
policy_add 10.77.1.9/32:80 http
policy_add 10.77.1.2/32:9300 http
policy_add 10.77.1.2/32:80 http
policy_add 10.77.1.9/32:81 proxy
policy_add 10.77.1.3/32:80 proxy
rss() { awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$HERMESD_PID/status"; }
before=$(rss)

many() { # NAME URL: N parallel requests, their status codes (000 for no response) and times
	bg "$1" app curl -s --parallel --parallel-immediate --parallel-max "$N" --max-time 10 -o /dev/null \
		-w '%{http_code} %{time_total}\n' "$2?[1-$N]"
}
many hole-http http://10.77.1.9/
p1=$BG_PID
many silent-http http://10.77.1.2:9300/
p2=$BG_PID
many hole-proxy http://10.77.1.9:81/
p3=$BG_PID
sleep 0.5
assert_eq 200 "$(in_app curl -s -o /dev/null -w '%{http_code}' --max-time 3 http://10.77.1.2/)" "http action serves meanwhile"
assert_eq 200 "$(in_app curl -s -o /dev/null -w '%{http_code}' --max-time 3 http://10.77.1.3/)" "proxy action serves meanwhile"
wait $p1 $p2 $p3

# check NAME CODE MAX_SECONDS: every one of the N answers is CODE within MAX_SECONDS
check() {
	local codes slow
	codes=$(grep -E '^[0-9]{3} ' "$TMP/$1.log" | awk '{ print $1 }' | sort | uniq -c | tr -s ' \n' ' ')
	slow=$(grep -E '^[0-9]{3} ' "$TMP/$1.log" | awk -v m="$3" '$2 > m' | wc -l)
	say "$1: codes$codes; slowest $(grep -E '^[0-9]{3} ' "$TMP/$1.log" | sort -k2 -n | tail -1 | awk '{ print $2 }') s"
	assert_eq "$N" "$(grep -c -E "^$2 " "$TMP/$1.log")" "$1: all $N answered $2"
	assert_eq 0 "$slow" "$1: none took over $3 s"
}
check hole-http 503 3
check silent-http 504 3.5
check hole-proxy 000 3

wait_until 3 sh -c "[ \"\$(nsenter --net=/run/netns/$NS_C curl -s --max-time 2 http://127.0.0.1:15000/stats | awk '/^hermes_connections_active / { print \$2 }')\" = 0 ]" ||
	die "connections left open in hermesd after the black holes: $(stat_value hermes_connections_active)"
after=$(rss)
assert_le 10 "$((after - before))" "RSS flat ($before -> $after MB)"
assert_eq 200 "$(in_app curl -s -o /dev/null -w '%{http_code}' --max-time 3 http://10.77.1.2/)" "http action serves after"
assert_eq 200 "$(in_app curl -s -o /dev/null -w '%{http_code}' --max-time 3 http://10.77.1.3/)" "proxy action serves after"
pass "origin black holes: 503 / 504 / reset within their deadlines for $((3 * N)) requests, good clients served, nothing left open"
