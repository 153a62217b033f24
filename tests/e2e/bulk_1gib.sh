#!/bin/bash
# bulk_1gib: a 1 GiB upload and a 1 GiB download through `proxy` arrive byte-exact
# (sha256 on both ends). socat on both sides; the upload ends with the client's FIN, so
# every byte must be relayed before the close. Against the sanitizer build 256 MiB each
# way (the same paths, a quarter of the time; BULK_SIZE sets either).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

require_cmd socat sha256sum
topo_up
start_hermesd
policy_add 10.77.1.0/24 proxy

SIZE=${BULK_SIZE:-$(by_build 1073741824 268435456)}
say "generating $SIZE random bytes"
if command -v openssl >/dev/null 2>&1; then
	# AES-CTR keystream: random-looking, and twice as fast as /dev/urandom here
	want=$(openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass "pass:hermes-$ID" -in /dev/zero 2>/dev/null |
		head -c "$SIZE" | tee "$TMP/src.bin" | sha256sum | awk '{ print $1 }')
else
	head -c "$SIZE" /dev/urandom >"$TMP/src.bin" || die "cannot write $TMP/src.bin"
	want=$(sha256sum <"$TMP/src.bin" | awk '{ print $1 }')
fi
[ "$(stat -c %s "$TMP/src.bin")" = "$SIZE" ] || die "could not write $SIZE bytes to $TMP/src.bin"
say "source sha256 $want"

# ---- upload: app -> hermesd -> server (server hashes what it receives until EOF)
bg up-server s sh -c 'socat -u TCP-LISTEN:9000,bind=10.77.1.2,reuseaddr - | sha256sum > "$1"; echo done >> "$1.done"' _ "$TMP/up.sha"
up_pid=$BG_PID
wait_until 10 nsenter --net="/run/netns/$NS_S" sh -c 'ss -Hltn "sport = :9000" | grep -q .' || die "upload server not listening"
t0=$(now_ms)
in_app timeout 120 socat -u "FILE:$TMP/src.bin" TCP:10.77.1.2:9000 || die "upload client (socat) failed"
wait_until 60 test -s "$TMP/up.sha.done" || die "upload server did not see EOF within 60 s after the client finished (FIN lost or data stuck)"
ms=$(($(now_ms) - t0))
got=$(awk '{ print $1 }' "$TMP/up.sha")
assert_eq "$want" "$got" "upload sha256 at the server"
say "upload: $SIZE bytes in $ms ms ($((SIZE * 1000 / 1048576 / (ms + 1))) MiB/s)"
wait "$up_pid" 2>/dev/null

# ---- download: server -> hermesd -> app
bg down-server s socat -u "FILE:$TMP/src.bin" TCP-LISTEN:9001,bind=10.77.1.2,reuseaddr
wait_until 10 nsenter --net="/run/netns/$NS_S" sh -c 'ss -Hltn "sport = :9001" | grep -q .' || die "download server not listening"
t0=$(now_ms)
got=$(in_app sh -c 'timeout 120 socat -u TCP:10.77.1.2:9001 - | sha256sum') || die "download client failed"
ms=$(($(now_ms) - t0))
assert_eq "$want" "${got%% *}" "download sha256 at the app"
say "download: $SIZE bytes in $ms ms ($((SIZE * 1000 / 1048576 / (ms + 1))) MiB/s)"

wait_origdst '10\.77\.1\.2:9000' 1 "upload went through hermesd"
wait_origdst '10\.77\.1\.2:9001' 1 "download went through hermesd"
c2u=$(stat_value hermes_bytes_total 'direction="client_to_upstream"')
u2c=$(stat_value hermes_bytes_total 'direction="upstream_to_client"')
say "hermes_bytes_total: client_to_upstream=$c2u upstream_to_client=$u2c"
rm -f "$TMP/src.bin"
pass "$((SIZE >> 20)) MiB up and down through proxy, byte-exact"
