#!/bin/bash
# http_intermittent: the paper's intermittent-link case. A test-only TC program
# (tests/bpf/impair.bpf.c, loaded by tests/bin/impair) cuts the server host's eth0 both ways
# in bursts: every 2 s, a 1.4 s outage (all IP packets dropped), then a 0.6 s good window.
# One client, one policy: curl fetching a 5 MiB file from nginx with the deadlines an
# application would set (connect within 10 s, abort below 1 KiB/s for 3 s, 30 s in all).
#  - direct (client host netns, not steered): the first SYN goes out in an outage, and the
#    kernel's retransmissions (1, 3, 7 s later) land in outages too, because exponential
#    backoff from a 1 s RTO samples the same phase of a 2 s period; curl gives up at its
#    10 s connect deadline. (With a less regular link TCP would get lucky sometimes: the
#    pattern is the backoff's worst case, made deterministic on purpose.)
#  - through the `http` action: curl connects to hermesd at once; hermesd cuts each
#    attempt that has no response head after per_try_timeout_ms (200) and dials again
#    (a fresh SYN, not a backed-off one), so an attempt starts within ~0.2 s of a good
#    window opening, and the whole 5 MiB (a few ms on a veth) arrives byte-exact in it.
# What this does NOT show: hermesd retries only before a response head was passed on (a
# retried GET would restart a body the client already has); a cut in the middle of a body
# is a stall (TCP's own recovery) or a reset for the client, with or without Hermes.
# Both outcomes are logged ("OUTCOME direct: ...", "OUTCOME hermes: ...").
# test: serial (its outages and curl's SYN retransmissions are timed to 300 ms)
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

IMPAIR=$BUILD/tests/bin/impair
[ -x "$IMPAIR" ] || die "$IMPAIR is missing: run make first"
PERIOD_MS=2000
OUTAGE_MS=1400
# the application's deadlines, the same for both fetches
APP_CURL=(--connect-timeout 10 --speed-time 3 --speed-limit 1024 --max-time 30)
URL=http://10.77.1.2/5m.bin

topo_up
start_nginx
head -c $((5 * 1024 * 1024)) /dev/urandom >"$TMP/nginx/www/5m.bin"
chmod 644 "$TMP/nginx/www/5m.bin"
cat >"$TMP/hermes.yaml" <<YAML
http:
  # each measured fetch starts with no pooled connection (a pooled one would be cut too)
  pool_idle_timeout_ms: 300
http_routes:
  - name: media
    match: {path_prefix: /}
    endpoints: [10.77.1.2:80]
    retry: {retry_on: [connect-failure, reset, gateway-error], num_retries: 10,
            per_try_timeout_ms: 200, timeout_ms: 8000, backoff_base_ms: 5, backoff_max_ms: 20}
YAML
start_hermesd -c "$TMP/hermes.yaml"
policy_add 10.77.1.0/24 http

# The filters go before the namespace does; then common.sh's cleanup (with our status).
ns_s "$IMPAIR" attach eth0 both || die "cannot attach the impair program to $NS_S eth0"
# shellcheck disable=SC2154 # _rc is assigned inside the trap
trap '_rc=$?; ns_s "$IMPAIR" detach eth0; (exit $_rc); cleanup' EXIT
assert_match "$(tc -n "$NS_S" filter show dev eth0 egress)" 'impair' "impair attached at $NS_S eth0 egress"
assert_match "$(tc -n "$NS_S" filter show dev eth0 ingress)" 'impair' "impair attached at $NS_S eth0 ingress"

# fetch WHERE (direct|hermes): curl with the application's deadlines; sets F_RC, F_MS, F_ERR
# and F_W (curl's http_code size_download time_connect time_starttransfer).
fetch() {
	local t0 run=ns_c
	[ "$1" = hermes ] && run=in_app
	rm -f "$TMP/$1.got"
	t0=$(now_ms)
	F_W=$($run curl -sS "${APP_CURL[@]}" -o "$TMP/$1.got" \
		-w '%{http_code} %{size_download} %{time_connect} %{time_starttransfer}' "$URL" 2>"$TMP/$1.err")
	F_RC=$?
	F_MS=$(($(now_ms) - t0))
	F_ERR=$(tr '\n' ' ' <"$TMP/$1.err")
	say "$1 fetch: rc $F_RC in $F_MS ms (code size connect starttransfer: $F_W)${F_ERR:+: $F_ERR}"
}
impair_stat() { ns_s "$IMPAIR" stats eth0 | tr ' ' '\n' | sed -n "s/^$1=//p"; }
attempts() { stat_value hermes_http_attempts_total; }

# 1. the link up (the program attached, passing everything): both fetches work
fetch direct
assert_eq 0 "$F_RC" "link up: direct fetch"
cmp -s "$TMP/direct.got" "$TMP/nginx/www/5m.bin" || die "link up: direct body differs"
fetch hermes
assert_eq 0 "$F_RC" "link up: fetch through hermesd"
cmp -s "$TMP/hermes.got" "$TMP/nginx/www/5m.bin" || die "link up: body through hermesd differs"
assert_eq 0 "$(impair_stat dropped_pkts)" "link up: nothing dropped"
assert_ge 1000 "$(impair_stat passed_pkts)" "link up: the program saw the traffic"
sleep 0.5 # hermesd's pooled connection expires (pool_idle_timeout_ms 300)

# 2. bursts, direct. The outage starts at `set`; curl's first SYN must leave within the
#    first 400 ms of it so that every retransmission also falls in an outage.
d0=$(impair_stat dropped_pkts)
ns_s "$IMPAIR" set eth0 $PERIOD_MS $OUTAGE_MS 100 || die "impair set failed"
t_set=$(now_ms)
fetch direct
lag=$(($(now_ms) - F_MS - t_set))
assert_le 300 "$lag" "the direct fetch started early in the outage (+$lag ms)"
D_RC=$F_RC D_MS=$F_MS D_ERR=$F_ERR
assert_ne 0 "$D_RC" "bursts: the direct fetch fails"
assert_eq 28 "$D_RC" "bursts: the direct fetch hits its deadline (curl exit 28)"
assert_ge 9500 "$D_MS" "bursts: it waited for its whole 10 s connect deadline"
D_DROPS=$(($(impair_stat dropped_pkts) - d0))
assert_ge 4 "$D_DROPS" "bursts: the SYN and its retransmissions (1, 3, 7 s) were dropped"
say "OUTCOME direct: failed, curl exit $D_RC after $D_MS ms ($D_ERR); $D_DROPS packets dropped"

# 3. bursts, the same fetch through the http action, from the start of an outage again
ns_s "$IMPAIR" set eth0 off
sleep 0.5
a0=$(attempts)
p0=$(stat_value hermes_http_per_try_timeouts_total)
d0=$(impair_stat dropped_pkts)
ns_s "$IMPAIR" set eth0 $PERIOD_MS $OUTAGE_MS 100 || die "impair set failed"
fetch hermes
H_RC=$F_RC H_MS=$F_MS
H_DROPS=$(($(impair_stat dropped_pkts) - d0))
ns_s "$IMPAIR" set eth0 off
H_ATT=$(($(attempts) - a0))
H_PTT=$(($(stat_value hermes_http_per_try_timeouts_total) - p0))
assert_eq 0 "$H_RC" "bursts: the fetch through hermesd succeeds ($F_ERR)"
assert_match "$F_W" '^200 5242880 ' "bursts: 200 and 5 MiB"
cmp -s "$TMP/hermes.got" "$TMP/nginx/www/5m.bin" || die "bursts: the body through hermesd differs"
say "ok: bursts: 5 MiB byte-exact through hermesd"
assert_ge 2 "$H_ATT" "bursts: hermesd needed more than one attempt"
assert_ge 1 "$H_PTT" "bursts: per-try timeouts cut the attempts lost in the outage"
assert_ge $((OUTAGE_MS - 100)) "$H_MS" "bursts: the answer came no earlier than the good window"
assert_le 3000 "$H_MS" "bursts: ... and in the first good window"
assert_file_match "$HERMESD_LOG" 'per-try timeout .*retry [0-9]+ of 10' "hermesd logged its retries"
say "OUTCOME hermes: succeeded, 5 MiB byte-exact after $H_ATT attempts ($H_PTT per-try timeouts) in $H_MS ms; $H_DROPS packets dropped"

pass "intermittent link (${OUTAGE_MS} ms out every ${PERIOD_MS} ms): direct failed (curl exit $D_RC after $D_MS ms), through hermesd 5 MiB byte-exact after $H_ATT attempts in $H_MS ms"
