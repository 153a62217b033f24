#!/bin/bash
# http_hedge: hedge_on_per_try_timeout in the http action, against two python origins
# (tests/bin/flaky_origin.py as A on 10.77.1.2 and B on 10.77.1.3, tests/bin/h2_origin.py
# for h2c) whose answers are delayed or withheld on demand; per_try_timeout_ms 200.
#  1. A answers after 800 ms, B hangs: with hedging the client gets A's 200 at about
#     800 ms (A's attempt was not cancelled at 200 ms) and B's attempt is cancelled; plain
#     retry cuts A at 200 ms, then B at 400 ms, and the client gets 504.
#  2. A hangs, B answers at once: with hedging the client gets B's 200 shortly after
#     200 ms, the hedge counter goes up and A saw its connection closed.
#  3. A POST whose body is too large to buffer is not hedged (504, B never asked); a
#     small, buffered POST is (B's echo of the body).
#  4. The same as 1 and 2 over h2c: the losing stream is reset (RST_STREAM); and 2 over
#     h2 (TLS 1.3, ALPN h2, a certificate from hermesctl certs init).
#  5. A slow, the hedge to B answers 503 or resets with no retry left: the client does
#     not see B's failure but waits for A's 200.
#  6. A resets at 400 ms while the hedge to B (800 ms) is outstanding: B carries on and
#     the client gets B's 200.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
"$HERMESCTL_BIN" certs init "$TMP/pki" --hosts origin,hermes >/dev/null || die "hermesctl certs init failed"
bg origin-a s "$PY" "$TESTBIN/flaky_origin.py" 10.77.1.2 8080 A
bg origin-b s "$PY" "$TESTBIN/flaky_origin.py" 10.77.1.3 8080 B
bg h2-a s "$PY" "$TESTBIN/h2_origin.py" 10.77.1.2 8443 A
bg h2-b s "$PY" "$TESTBIN/h2_origin.py" 10.77.1.3 8443 B
bg h2tls-a s "$PY" "$TESTBIN/h2_origin.py" 10.77.1.2 9443 A --tls "$TMP/pki/origin.crt" "$TMP/pki/origin.key"
bg h2tls-b s "$PY" "$TESTBIN/h2_origin.py" 10.77.1.3 9443 B --tls "$TMP/pki/origin.crt" "$TMP/pki/origin.key"
for a in 10.77.1.2:8080 10.77.1.3:8080 10.77.1.2:8443 10.77.1.3:8443 10.77.1.2:9443 10.77.1.3:9443; do
	wait_tcp "$NS_S" "${a%:*}" "${a#*:}" || die "origin $a did not start"
done
EPS='[10.77.1.2:8080, 10.77.1.3:8080]'
H2EPS='[10.77.1.2:8443, 10.77.1.3:8443]'
# one retry (the hedge), per-try 200 ms, backoff short, and a 8 s overall timeout that
# no scenario should reach
T='num_retries: 1, per_try_timeout_ms: 200, timeout_ms: 8000, backoff_base_ms: 10, backoff_max_ms: 40'
POL="retry_on: [reset], $T"
HEDGE="{$POL, hedge_on_per_try_timeout: true}"
# each scenario has a route of its own, so that its one request starts at A (round robin
# starts a route at its first endpoint); unhealthy_ms 0 so that no earlier failure
# changes the order
cat >"$TMP/hermes.yaml" <<YAML
tls: {cert: $TMP/pki/hermes.crt, key: $TMP/pki/hermes.key, ca: $TMP/pki/ca.crt}
http:
  unhealthy_ms: 0
http_routes:
  - {name: s1-hedge, match: {host: s1.hedge}, endpoints: $EPS, retry: $HEDGE}
  - {name: s1-plain, match: {host: s1.plain}, endpoints: $EPS, retry: {$POL}}
  - {name: s2-hedge, match: {host: s2.hedge}, endpoints: $EPS, retry: $HEDGE}
  - {name: post-big, match: {host: post.big}, endpoints: $EPS,
     retry: {$POL, hedge_on_per_try_timeout: true, max_buffered_body: 1024}}
  - {name: post-small, match: {host: post.small}, endpoints: $EPS,
     retry: {$POL, hedge_on_per_try_timeout: true, max_buffered_body: 1024}}
  - {name: h2-s2, match: {host: h2.s2}, endpoints: $H2EPS, upstream_protocol: h2c, retry: $HEDGE}
  - {name: h2-s1, match: {host: h2.s1}, endpoints: $H2EPS, upstream_protocol: h2c, retry: $HEDGE}
  - {name: h2tls-s2, match: {host: h2tls.s2}, endpoints: [10.77.1.2:9443, 10.77.1.3:9443], upstream_protocol: h2,
     tls_name: origin, retry: $HEDGE}
  - {name: s5-503, match: {host: s5.503}, endpoints: $EPS,
     retry: {retry_on: [reset, 5xx], $T, hedge_on_per_try_timeout: true}}
  - {name: s5-reset, match: {host: s5.reset}, endpoints: $EPS, retry: $HEDGE}
  - {name: s6, match: {host: s6}, endpoints: $EPS, retry: $HEDGE}
YAML
start_hermesd -c "$TMP/hermes.yaml"
policy_add 10.77.1.0/24 http

# arm ADDR N MODE [MS]: the h1 origin at ADDR fails its next N requests with MODE
arm() { ns_c curl -sS --max-time 5 -o /dev/null "http://$1:8080/__arm?n=$2&mode=$3&ms=${4:-0}" || die "cannot arm $1"; }
# ostat ADDR FIELD: a number from the h1 origin's /__stats
ostat() { ns_c curl -sS --max-time 5 "http://$1:8080/__stats" | "$PY" -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }
# h2get ADDR PATH: a GET to the h2c origin at ADDR, or with H2TLS=1 to the h2 (TLS) one
h2get() {
	if [ "${H2TLS:-0}" = 1 ]; then
		ns_c curl -sS --http2 --cacert "$TMP/pki/ca.crt" --resolve "origin:9443:$1" --max-time 5 "https://origin:9443$2"
	else
		ns_c curl -sS --http2-prior-knowledge --max-time 5 "http://$1:8443$2"
	fi
}
# h2delay ADDR MS: that origin answers later requests after MS ms
h2delay() { h2get "$1" "/__delay?ms=$2" >/dev/null || die "cannot arm the h2 origin $1"; }
h2stat() { h2get "$1" /__stats | "$PY" -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }
closed_is() { [ "$(ostat "$1" closed)" = "$2" ]; }
resets_is() { [ "$(h2stat "$1" resets)" = "$2" ]; }
# via HOST [CURL ARGS]: one request through hermesd with Host: HOST; "STATUS BODY" in CURL_OUT
via() {
	local host=$1
	shift
	curl_app -w ' %{http_code}' -H "Host: $host" "$@" http://10.77.1.2:8080/x
	CURL_OUT=$(printf '%s' "$CURL_OUT" | tr -s '\n ' '  ')
}
A=10.77.1.2 B=10.77.1.3

# ---- 1. A slow (800 ms), B hung
h0=$(stat_value hermes_http_hedges_total)
w0=$(stat_value hermes_http_hedge_wins_total)
p0=$(stat_value hermes_http_per_try_timeouts_total)
arm $A 100 delay 800
arm $B 100 hang
via s1.hedge
assert_eq "A ok 1 200" "$CURL_OUT" "hedging: the client gets A's 200 (the first attempt was not cancelled at 200 ms)"
assert_ge 750 "$CURL_MS" "hedging: A's answer came after its 800 ms delay"
assert_le 4000 "$CURL_MS" "hedging: no wait for the hung B or the 8 s timeout"
assert_eq 1 "$(ostat $B seen)" "hedging: B got the hedged attempt"
wait_until 3 closed_is $B 1 || die "hedging: B's losing attempt was not cancelled (B saw no close)"
say "ok: hedging: B's losing attempt was cancelled (B saw its connection closed)"
assert_eq 0 "$(ostat $A closed)" "hedging: A's attempt was never closed before its answer"
assert_eq $((h0 + 1)) "$(stat_value hermes_http_hedges_total)" "hermes_http_hedges_total: one hedge"
assert_eq $((w0 + 1)) "$(stat_value hermes_http_hedge_wins_total)" "hermes_http_hedge_wins_total: the hedged attempt won"
assert_ge $((p0 + 2)) "$(stat_value hermes_http_per_try_timeouts_total)" \
	"hermes_http_per_try_timeouts_total counts both per-try timeouts (A's hedged, B's kept as the last)"

# the same without hedging: A is cut at 200 ms, B at 400 ms, no retry left: 504
arm $A 100 delay 800
arm $B 100 hang
via s1.plain
assert_match "$CURL_OUT" ' 504$' "plain retry: A cut at its per-try timeout, B hangs: 504"
assert_le 3000 "$CURL_MS" "plain retry: the 504 came at the second per-try timeout, not A's answer"
wait_until 3 closed_is $A 1 || die "plain retry: A did not see its attempt closed before its answer"
say "ok: plain retry: A saw its attempt closed before its 800 ms answer"
assert_eq 1 "$(ostat $B seen)" "plain retry: B got the retry"
wait_until 3 closed_is $B 1 || die "plain retry: B's attempt was not cut"
assert_eq $((h0 + 1)) "$(stat_value hermes_http_hedges_total)" "plain retry: no hedge counted"

# ---- 2. A hung, B prompt
arm $A 100 hang
arm $B 0 503
via s2.hedge
assert_eq "B ok 1 200" "$CURL_OUT" "hedging: A hangs, the client gets B's 200"
assert_ge 200 "$CURL_MS" "hedging: B was asked at A's per-try timeout (200 ms)"
assert_le 3000 "$CURL_MS" "hedging: B's answer came shortly after the per-try timeout"
assert_eq $((h0 + 2)) "$(stat_value hermes_http_hedges_total)" "hermes_http_hedges_total went up"
assert_eq $((w0 + 1)) "$(stat_value hermes_http_hedge_wins_total)" "hermes_http_hedge_wins_total: the later attempt won"
wait_until 3 closed_is $A 1 || die "hedging: A's losing attempt was not cancelled (A saw no close)"
say "ok: hedging: A's losing attempt was cancelled (A saw its connection closed)"

# ---- 3. POST: an unbuffered body is not hedged, a buffered one is
head -c 4096 /dev/urandom >"$TMP/big.bin"
head -c 100 /dev/urandom >"$TMP/small.bin"
arm $A 100 hang
arm $B 0 503
via post.big --data-binary @"$TMP/big.bin"
assert_match "$CURL_OUT" ' 504$' "POST with an unbuffered body: not hedged, cut at its per-try timeout"
assert_eq 0 "$(ostat $B seen)" "POST with an unbuffered body: B never asked"
assert_eq $((h0 + 2)) "$(stat_value hermes_http_hedges_total)" "POST with an unbuffered body: no hedge counted"
arm $A 100 hang
arm $B 0 503
curl_app -o "$TMP/small.got" -w '%{http_code}' -H 'Host: post.small' --data-binary @"$TMP/small.bin" \
	http://10.77.1.2:8080/echo
assert_eq 200 "$CURL_OUT" "POST with a small (buffered) body: hedged, B answers"
cmp -s "$TMP/small.bin" "$TMP/small.got" || die "the hedged POST body differs"
say "ok: the hedged POST's body reached B whole (its echo is byte-exact)"
assert_eq $((h0 + 3)) "$(stat_value hermes_http_hedges_total)" "buffered POST: one hedge"
wait_until 3 closed_is $A 1 || die "buffered POST: A's attempt was not cancelled"

# ---- 4. h2c: A hung (5 s), B prompt; then A slow (800 ms), B hung
h2delay $A 5000
h2delay $B 0
via h2.s2
assert_eq "B h2 origin /x 200" "$CURL_OUT" "h2c hedging: A hangs, the client gets B's 200"
assert_ge 200 "$CURL_MS" "h2c hedging: B asked at A's per-try timeout"
assert_le 3000 "$CURL_MS" "h2c hedging: B's answer came shortly after the per-try timeout"
wait_until 3 resets_is $A 1 || die "h2c hedging: A's losing stream was not reset"
say "ok: h2c hedging: A's losing stream was reset (RST_STREAM)"
h2delay $A 800
h2delay $B 5000
via h2.s1
assert_eq "A h2 origin /x 200" "$CURL_OUT" "h2c hedging: A slow, B hung: the client gets A's 200"
assert_ge 750 "$CURL_MS" "h2c hedging: A's answer came after its 800 ms delay"
assert_le 4000 "$CURL_MS" "h2c hedging: no wait for the hung B"
wait_until 3 resets_is $B 1 || die "h2c hedging: B's losing stream was not reset"
say "ok: h2c hedging: B's losing stream was reset (RST_STREAM)"
H2TLS=1
h2delay $A 5000
h2delay $B 0
via h2tls.s2
assert_eq "B h2 origin /x 200" "$CURL_OUT" "h2 (TLS) hedging: A hangs, the client gets B's 200"
assert_ge 200 "$CURL_MS" "h2 (TLS) hedging: B asked at A's per-try timeout"
assert_le 3000 "$CURL_MS" "h2 (TLS) hedging: B's answer came shortly after the per-try timeout"
wait_until 3 resets_is $A 1 || die "h2 (TLS) hedging: A's losing stream was not reset"
say "ok: h2 (TLS) hedging: A's losing stream was reset (RST_STREAM)"
H2TLS=0
assert_eq $((h0 + 6)) "$(stat_value hermes_http_hedges_total)" "hermes_http_hedges_total: six hedges in all"
assert_eq $((w0 + 2)) "$(stat_value hermes_http_hedge_wins_total)" "hermes_http_hedge_wins_total: two hedged attempts won"
assert_file_match "$HERMESD_LOG" 'hedged attempt answered 200 first' "hermesd logs a hedged attempt's win"

# ---- 5. the hedge fails with no retry left while A is still outstanding: A's answer
arm $A 100 delay 800
arm $B 100 503
via s5.503
assert_eq "A ok 1 200" "$CURL_OUT" "B's 503 (no retry left) is dropped while A is outstanding: A's 200"
assert_ge 750 "$CURL_MS" "B's 503: the client waited for A's 800 ms answer"
assert_eq 1 "$(ostat $B seen)" "B's 503: B got the hedge"
assert_file_match "$HERMESD_LOG" 'upstream answered 503; no retry now, waiting for 1 hedged attempt' \
	"hermesd logs that B's 503 waits for the hedged attempt"
r0=$(stat_value hermes_http_upstream_failures_total 'kind="reset"')
arm $A 100 delay 800
arm $B 100 reset
via s5.reset
assert_eq "A ok 1 200" "$CURL_OUT" "B's reset (no retry left) while A is outstanding: A's 200"
assert_ge 750 "$CURL_MS" "B's reset: the client waited for A's 800 ms answer"
assert_eq $((r0 + 1)) "$(stat_value hermes_http_upstream_failures_total 'kind="reset"')" "B's reset counted"

# ---- 6. the hedged attempt fails while the later one is outstanding: the later one wins
arm $A 100 late-reset 400
arm $B 100 delay 800
via s6
assert_eq "B ok 1 200" "$CURL_OUT" "A resets at 400 ms while the hedge to B is outstanding: B's 200"
assert_ge 950 "$CURL_MS" "A's reset: the client waited for B (asked at 200 ms, 800 ms delay)"
assert_eq $((r0 + 2)) "$(stat_value hermes_http_upstream_failures_total 'kind="reset"')" "A's reset counted"
assert_file_match "$HERMESD_LOG" 'hedged attempt: reset before the response .*; a later attempt carries on' \
	"hermesd logs that the later attempt carries on"
pass "hedging: a slow first attempt wins over a hung hedge (plain retry: 504), a hung one loses to a prompt hedge and is cancelled, unbuffered POSTs are not hedged, a failing attempt leaves the others to answer; h1, h2c and h2"
