#!/bin/bash
# check_config: hermesd --check finds what a start would trip on, without attaching
# anything: a missing certificate (exit 2, FILE:LINE and the file named), a key that
# does not match its certificate, a user that does not exist, a cgroup directory that
# is not on cgroup v2, a pin root off bpffs, two listeners on one port. A good config passes (exit 0); a plain
# start with a bad one exits 2 before attaching; --check --print writes the effective
# configuration as YAML that --check reads back to the same output.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
require_build

# check ARGS...: hermesd in the client netns (not attached anywhere); sets RC, OUT
check() {
	OUT=$(ns_c timeout 10 "$HERMESD_BIN" --cgroup "$CG/app" --pin-root "$PINROOT" "$@" 2>&1 </dev/null)
	RC=$?
	say "hermesd $* -> status $RC: $(head -c 400 <<<"$OUT")"
}
nothing_attached() {
	assert_no_progs "$1: nothing attached"
	[ ! -e "$PINROOT" ] || die "$1: expected nothing pinned, found $PINROOT"
}

for d in pki other; do
	"$HERMESCTL_BIN" certs init "$TMP/$d" --hosts host >/dev/null || die "hermesctl certs init $d failed"
done

# 1. a missing certificate file, on line 3
cat >"$TMP/nocert.yaml" <<YAML
tls:
  key: $TMP/pki/host.key
  cert: $TMP/pki/missing.crt
  ca: $TMP/pki/ca.crt
YAML
check --check -c "$TMP/nocert.yaml"
assert_eq 2 "$RC" "--check with a missing certificate"
assert_match "$OUT" "nocert\.yaml:3: tls\.cert '$TMP/pki/missing\.crt': cannot open: No such file" "names FILE:LINE and the file"
check -c "$TMP/nocert.yaml"
assert_eq 2 "$RC" "a start with a missing certificate"
nothing_attached "missing certificate"

# 2. a key that belongs to another certificate
cat >"$TMP/mismatch.yaml" <<YAML
tls:
  cert: $TMP/pki/host.crt
  key: $TMP/other/host.key
  ca: $TMP/pki/ca.crt
YAML
check --check -c "$TMP/mismatch.yaml"
assert_eq 2 "$RC" "--check with a key of another certificate"
assert_match "$OUT" "mismatch\.yaml:3: tls\.key $TMP/other/host\.key: .*(mismatch|does not belong)" "names FILE:LINE of the key and why"

# 3. users: on the command line and in the file (line 2)
check --check --user no-such-user-hermes
assert_eq 2 "$RC" "--check --user no-such-user-hermes"
assert_match "$OUT" "--user 'no-such-user-hermes': no such user" "names the option and the user"
printf 'log_level: info\nuser: nobody-here-either\n' >"$TMP/user.yaml"
check --check -c "$TMP/user.yaml"
assert_eq 2 "$RC" "--check with a bad user in the file"
assert_match "$OUT" "user\.yaml:2: user 'nobody-here-either'" "names FILE:LINE of the user"
check -c "$TMP/user.yaml"
assert_eq 2 "$RC" "a start with a bad user"
nothing_attached "bad user"

# 4. a plain directory as the cgroup, a pin root off bpffs: both reported at once
mkdir -p "$TMP/notcg"
check --check --cgroup "$TMP/notcg" --pin-root "$TMP/pins"
assert_eq 2 "$RC" "--check with a non-cgroup directory and a pin root off bpffs"
assert_match "$OUT" "--cgroup '$TMP/notcg': not a cgroup v2 directory" "the cgroup is refused"
assert_match "$OUT" "--pin-root '$TMP/pins': not on a bpffs" "the pin root is refused"
[ ! -e "$TMP/pins" ] || die "--check created $TMP/pins"

# 5. two listeners on one port: the second bind of a start would fail
printf 'listeners:\n  tunnel: 0.0.0.0:15001\n' >"$TMP/clash.yaml"
check --check -c "$TMP/clash.yaml"
assert_eq 2 "$RC" "--check with the tunnel listener on the outbound listener's port"
assert_match "$OUT" "clash\.yaml:2: listeners\.tunnel '0\.0\.0\.0:15001': the same port as listeners\.outbound" "names both listeners"

# 6. a good config passes and attaches nothing
cat >"$TMP/good.yaml" <<YAML
# a config using most sections
log_format: json
access_log: $TMP/access.log
tls: {cert: $TMP/pki/host.crt, key: $TMP/pki/host.key, ca: $TMP/pki/ca.crt}
listeners: {tunnel: 10.77.1.1:15008}
policy:
  - {match: 10.77.1.0/24:80, action: proxy}
  - {match: "[fd77:1::/64]:443", action: deny}
  - {match: 10.77.1.3, action: tunnel}
  - {match: 10.77.1.2:8080, action: http}
endpoints:
  - {match: 10.77.1.2:80, alternates: [10.77.1.3:80]}
routes:
  - name: via-s
    match: [10.77.1.3/32]
    peers: [10.77.1.2:15008, {address: 10.77.1.2:15009, protocol: h2c}, {address: 10.77.1.2:15010, protocol: h2-post, path: /t, name: host}]
tunnel_access:
  - {match: 10.77.1.0/24, action: allow, from: 10.77.1.0/24, uid: 0, comm: curl, san: host}
inbound: {protect: [80], allow_from: [10.77.1.0/24]}
http:
  retry: {retry_on: [5xx, reset], num_retries: 2}
http_routes:
  - name: api
    endpoints: [10.77.1.2:80, 10.77.1.3:80]
    match: {host: api.example, path_prefix: /v1, headers: {user: "alice \"a\""}}
    upstream_protocol: h1
    upstream_tls: true
    tls_name: host
    add_headers: {x-hermes: "1"}
    remove_headers: [x-drop]
YAML
check --check -c "$TMP/good.yaml"
assert_eq 0 "$RC" "--check with a good config"
nothing_attached "good config"
[ ! -e "$TMP/access.log" ] || die "--check created the access log"

# 7. --print: the effective configuration reads back, to the same configuration
ns_c "$HERMESD_BIN" --check --print -c "$TMP/good.yaml" --cgroup "$CG/app" --pin-root "$PINROOT" \
	--listen 127.0.0.1:15101 >"$TMP/p1.yaml" 2>"$TMP/p1.err" || die "--check --print failed: $(cat "$TMP/p1.err")"
grep -q '^  outbound: "127.0.0.1:15101"$' "$TMP/p1.yaml" || die "--print does not show the --listen override"
grep -q "^cgroup: \"$CG/app\"$" "$TMP/p1.yaml" || die "--print does not show the --cgroup override"
ns_c "$HERMESD_BIN" --check --print -c "$TMP/p1.yaml" >"$TMP/p2.yaml" 2>"$TMP/p2.err" ||
	die "the printed configuration does not pass --check: $(cat "$TMP/p2.err")"
diff <(tail -n +2 "$TMP/p1.yaml") <(tail -n +2 "$TMP/p2.yaml") >"$TMP/p.diff" ||
	die "printing the printed configuration differs: $(head -n 20 "$TMP/p.diff")"
say "ok: --print output ($(wc -l <"$TMP/p1.yaml") lines) passes --check and prints the same again"
nothing_attached "--print"

pass
