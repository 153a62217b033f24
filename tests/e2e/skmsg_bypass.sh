#!/bin/bash
# skmsg_bypass: with sk_msg on, a proxied transfer's app <-> hermesd hop skips TCP on
# loopback: the client host's lo barely carries packets for 256 MiB each way (they
# are handed from socket to socket), while with --sk-msg off the same transfer puts
# thousands of segments on lo. Both transfers arrive byte-exact.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

SIZE=$((256 << 20))
require_cmd socat openssl
topo_up
GEN=$(keystream "$SIZE")
WANT=$(sh -c "$GEN" | $SHA256 | cut -d' ' -f1)

lo_tx() { ns_c awk '$1 == "lo:" { print $11 }' /proc/net/dev; }
listening() { ns_s ss -Hltn "sport = :$1" | grep -q .; }

# transfer PORT: 256 MiB down and up through hermesd; prints lo packets used
transfer() {
	local port=$1 before after got
	bg "down$port" s sh -c "$GEN | socat -u - TCP-LISTEN:$port,bind=10.77.1.2,reuseaddr"
	bg "up$port" s sh -c "socat -u TCP-LISTEN:$((port + 1)),bind=10.77.1.2,reuseaddr - | $SHA256 > $TMP/up$port.sha"
	wait_until 10 listening "$port" && wait_until 10 listening $((port + 1)) || die "the servers on ports $port and $((port + 1)) did not listen"
	before=$(lo_tx)
	got=$(in_app sh -c "socat -u TCP:10.77.1.2:$port - | $SHA256" | cut -d' ' -f1)
	[ "$got" = "$WANT" ] || die "download through hermesd (port $port) is not byte-exact"
	in_app sh -c "$GEN | socat -u - TCP:10.77.1.2:$((port + 1))" || die "upload (port $((port + 1))) failed"
	wait_until 10 test -s "$TMP/up$port.sha"
	[ "$(cut -d' ' -f1 <"$TMP/up$port.sha")" = "$WANT" ] || die "upload through hermesd (port $((port + 1))) is not byte-exact"
	after=$(lo_tx)
	echo $((after - before))
}

start_hermesd --sk-msg on
policy_add 10.77.1.2/32 proxy
on=$(transfer 9300)
socks=$(stat_value hermes_sk_msg_sockets_total)
say "sk_msg on: lo packets for 2 x 256 MiB: $on; sockets put in the sockhash: $socks"
assert_ge 4 "$socks" "both ends of both flows were in the sockhash"
stop_hermesd

start_hermesd --sk-msg off
off=$(transfer 9310)
say "sk_msg off: lo packets for 2 x 256 MiB: $off"
# the BPF counters are pinned and survive the restart: compare with the first run
assert_eq "$socks" "$(stat_value hermes_sk_msg_sockets_total)" "no new socket in the sockhash with --sk-msg off"

assert_le 200 "$on" "lo packets with sk_msg (only handshakes and FINs)"
assert_ge 2000 "$off" "lo packets without sk_msg"
pass "sk_msg moves the app <-> hermesd hop off loopback TCP ($on vs $off packets on lo)"
