#!/bin/bash
# sighup_storm: 200 SIGHUPs, one every 20 ms, while clients keep requests running through
# the http action (keep-alive and a new connection per request), the proxy action (1 MiB
# each) and the tunnel listener (CONNECT per request), and one 64 MiB download through
# the proxy action spans the whole storm. Not one request fails and the download is
# byte-exact; reloads that arrive while one is being built are folded into one more
# (docs/operations.md), so hermesd reloads at most 200 times and at least a few; it is
# still ready after, and no sanitizer report.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

HUPS=200
topo_up
start_nginx "$NS_S" 10.77.1.2:80 10.77.1.3:80
head -c $((64 << 20)) /dev/urandom >"$TMP/nginx/www/big.bin"
chmod 644 "$TMP/nginx/www/big.bin"
want=$(sha256sum <"$TMP/nginx/www/big.bin" | awk '{ print $1 }')
cat >"$TMP/hermes.yaml" <<YAML
policy:
  - {match: 10.77.1.2/32:80, action: http}
  - {match: 10.77.1.3/32:80, action: proxy}
tunnel_access:
  - match: 10.77.1.2/32:80
    action: allow
YAML
start_hermesd -c "$TMP/hermes.yaml" --tunnel-listen 10.77.1.1:15008
STOP=$TMP/stop
# loop NAME WHERE CURL_ARGS...: requests in batches of 20 until $STOP exists; one status per line
loop() {
	local name=$1 where=$2
	shift 2
	bg "$name" "$where" sh -c 'while [ ! -e "$0" ]; do curl -s --max-time 10 -o /dev/null -w "%{http_code}\n" "$@" || echo "curl-exit-$?"; done' "$STOP" "$@"
}
loop keepalive app "http://10.77.1.2/?[1-20]"
l1=$BG_PID
loop close app -H 'Connection: close' "http://10.77.1.2/?[1-20]"
l2=$BG_PID
loop proxy app "http://10.77.1.3/1m.bin?[1-20]"
l3=$BG_PID
loop tunnel c -p -x http://10.77.1.1:15008 "http://10.77.1.2/?[1-20]"
l4=$BG_PID
bg big app sh -c 'curl -s --limit-rate 12M --max-time 30 http://10.77.1.3/big.bin | sha256sum'
big=$BG_PID
sleep 0.5

r0=$(stat_value hermes_config_reloads_total)
for ((i = 0; i < HUPS; i++)); do
	kill -HUP "$HERMESD_PID" || die "SIGHUP $i: hermesd is gone"
	sleep 0.02
done
say "sent $HUPS SIGHUPs"
sleep 1
touch "$STOP"
wait $l1 $l2 $l3 $l4 $big
reloads=$(($(stat_value hermes_config_reloads_total) - r0))
say "hermesd reloaded $reloads times for $HUPS SIGHUPs"

total=0
for n in keepalive close proxy tunnel; do
	ok=$(grep -c '^200$' "$TMP/$n.log")
	bad=$(grep -v -c '^200$' "$TMP/$n.log")
	say "$n: $ok requests 200, $bad others: $(grep -v '^200$' "$TMP/$n.log" | sort | uniq -c | tr -s ' \n' ' ')"
	assert_eq 0 "$bad" "$n: no request failed during the storm"
	assert_ge 20 "$ok" "$n: requests ran during the storm"
	total=$((total + ok))
done
assert_eq "$want  -" "$(cat "$TMP/big.log")" "the 64 MiB download across the storm is byte-exact"
assert_ge 2 "$reloads" "hermesd reloaded during the storm"
assert_le "$HUPS" "$reloads" "at most one reload per SIGHUP"
assert_eq 0 "$(grep -c 'reload failed' "$HERMESD_LOG")" "no reload failed"
assert_eq 200 "$(admin_code /ready)" "ready after the storm"
pid_alive "$HERMESD_PID" || die "hermesd died"
pass "SIGHUP storm: $HUPS SIGHUPs ($reloads reloads) under load, $total requests and a 64 MiB download, none failed"
