#!/bin/bash
# protected_ingress: on the server host, an sk_lookup program hands inbound connections to
# protected port 80 to hermesd's inbound listener. A direct curl from the client host is
# reset (IPv4 and IPv6) and nginx never sees it; the refusal is logged and counted; curl
# through hermesd's tunnel listener gets the page (hermesd reaches nginx over lo, which is
# not steered); a direct connection to the inbound listener itself is reset too. While
# hermesd is stopped the port stays refused (fail-closed, the link stays pinned); restarted
# with allow_from covering the client, a direct curl gets the page through hermesd (nginx
# sees the server host's own address); `hermesctl disable` removes the sk_lookup link and
# nginx is reachable directly again. hermesd refuses to protect ports in the init network
# namespace unless told to (checked with --check, which attaches nothing).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx
# start_s CONFIG: the ingress hermesd, tunnel listener on 10.77.1.2:15008
start_s() { start_hermesd_s -c "$1" --tunnel-listen 10.77.1.2:15008; }
# s_stat NAME: a counter of the ingress hermesd's /stats
s_stat() {
	ns_s curl -sS --max-time 5 http://127.0.0.1:15000/stats | awk -v n="$1" '$1 == n { print $2 }'
}
# bpf_count SLOT: an sk_lookup program counter (0 steered, 1 refused), summed over CPUs
bpf_count() {
	bpftool -j map dump pinned "$PIN_S/hermes_ingress_stats" |
		"$PY" -c 'import json,sys; d=[e.get("formatted", e) for e in json.load(sys.stdin)]; s=int(sys.argv[1])
print(sum(int(c["value"]) for e in d if e["key"] == s for c in e["values"]))' "$1"
}
# direct URL [CURL ARGS]: curl from the client host, no proxy; sets DRC (curl exit) and DOUT
direct() {
	DOUT=$(ns_c curl -sS --max-time 5 "$@" 2>"$TMP/direct.err")
	DRC=$?
	say "direct curl $*: rc $DRC $(cat "$TMP/direct.err")"
}
nginx_lines() { wc -l <"$NGINX_ACCESS_LOG"; }
# expect_server_side WHAT: nginx's last client is an address of the server host (hermesd
# dialled the service locally), not the client host
expect_server_side() {
	local last
	wait_until 2 sh -c '[ "$(tail -n 1 "$1" | cut -d" " -f1)" != 10.77.1.1 ]' sh "$NGINX_ACCESS_LOG"
	last=$(nginx_last_client)
	case $last in 10.77.1.2 | 10.77.1.3) ;; *) die "$1: expected nginx to see a server host address, got '$last'" ;; esac
	say "ok: $1 (nginx saw $last)"
}

# --- safety: never in the init network namespace unless asked (--check attaches nothing)
mkdir -p "$CG/app-s"
printf 'inbound:\n  protect: [80]\n' >"$TMP/root.yaml"
out=$("$HERMESD_BIN" --check -c "$TMP/root.yaml" --cgroup "$CG/app-s" --pin-root "$PIN_S" 2>&1)
rc=$?
assert_eq 2 "$rc" "inbound in the init netns is refused (exit 2)"
assert_match "$out" "init\) network namespace.*allow_init_netns" "the refusal says why and how to override"
printf 'inbound:\n  protect: [80]\n  allow_init_netns: true\n' >"$TMP/root2.yaml"
"$HERMESD_BIN" --check -c "$TMP/root2.yaml" --cgroup "$CG/app-s" --pin-root "$PIN_S" >/dev/null 2>&1 ||
	die "inbound.allow_init_netns: true must let --check pass"
say "ok: inbound.allow_init_netns: true overrides the refusal"
[ ! -e "$PIN_S" ] || die "--check created $PIN_S"

# --- protected: only through the tunnel
cat >"$TMP/ingress.yaml" <<YAML
inbound:
  listen: 0.0.0.0:15006
  listen6: "[::]:15006"
  protect: [80, 8443]
YAML
start_s "$TMP/ingress.yaml"
bpftool link show pinned "$PIN_S/links/hermes_ingress_lookup" | grep -q sk_lookup ||
	die "no sk_lookup link pinned at $PIN_S/links/hermes_ingress_lookup"
say "ok: sk_lookup link pinned"
ports=$(bpftool map dump pinned "$PIN_S/hermes_ingress")
assert_match "$ports" '"port": 20480' "bpftool shows port 80 (20480 read from network order) in hermes_ingress"
assert_match "$ports" '"action": "steer"' "bpftool names the protected port's action (BTF enum)"
assert_match "$ports" '"port": 64288' "and port 8443 (64288)"

before=$(nginx_lines)
direct http://10.77.1.3/
case $DRC in 7 | 52 | 56) ;; *) die "direct curl to the protected port: expected a reset (curl 7, 52 or 56), got $DRC: $DOUT" ;; esac
direct -g 'http://[fd77:1::2]/'
case $DRC in 7 | 52 | 56) ;; *) die "direct IPv6 curl to the protected port: expected a reset, got $DRC: $DOUT" ;; esac
sleep 0.3
assert_eq "$before" "$(nginx_lines)" "nginx logged nothing for the direct connections"
assert_file_match "$S_LOG" 'inbound connection from 10\.77\.1\.1:[0-9]+ to 10\.77\.1\.3:80 refused: peer not in inbound.allow_from' \
	"hermesd logged the IPv4 refusal with peer and destination"
assert_file_match "$S_LOG" 'inbound connection from \[fd77:1::1\]:[0-9]+ to \[fd77:1::2\]:80 refused' \
	"hermesd logged the IPv6 refusal"
assert_eq 2 "$(s_stat hermes_inbound_refused_total)" "hermes_inbound_refused_total counts both"
assert_eq 2 "$(bpf_count 0)" "the sk_lookup program steered both to hermesd (hermes_ingress_stats)"

out=$(ns_c curl -sS --max-time 10 -p -x http://10.77.1.2:15008 http://10.77.1.3/) || die "curl through the tunnel failed"
assert_eq "$NGINX_PAGE" "$out" "the page through the tunnel listener"
expect_server_side "nginx saw hermesd's local connection (not steered back to hermesd)"
out=$(ns_c curl -sS --max-time 10 -p -x http://10.77.1.2:15008 -g 'http://[fd77:1::2]/') || die "IPv6 target through the tunnel failed"
assert_eq "$NGINX_PAGE" "$out" "the page through the tunnel listener, IPv6 target"

direct http://10.77.1.3:15006/
case $DRC in 7 | 52 | 56) ;; *) die "a direct connection to the inbound listener must be reset, got $DRC" ;; esac
assert_file_match "$S_LOG" 'to 10\.77\.1\.3:15006 refused: not a protected port' "the inbound listener refuses connections to itself"
direct http://10.77.1.3:81/
assert_eq 7 "$DRC" "an unprotected closed port is refused by the kernel as usual"

# --- stopped: fail-closed, the link stays
stop_hermesd_s
assert_eq 0 "$STOP_RC" "SIGTERM: exit 0"
bpftool link show pinned "$PIN_S/links/hermes_ingress_lookup" >/dev/null 2>&1 ||
	die "the sk_lookup link should stay pinned after SIGTERM (fail-closed)"
say "ok: the sk_lookup link stays pinned while hermesd is stopped"
before=$(nginx_lines)
refused0=$(bpf_count 1)
direct http://10.77.1.3/
assert_eq 7 "$DRC" "hermesd stopped: the protected port is refused (connection refused)"
assert_eq "$before" "$(nginx_lines)" "nginx saw nothing while hermesd was stopped"
assert_eq $((refused0 + 1)) "$(bpf_count 1)" "the BPF refusal is counted in hermes_ingress_stats"

# --- allow_from: direct connections from the client host are proxied by hermesd
cat >"$TMP/allow.yaml" <<YAML
inbound:
  protect: [80]
  allow_from: [10.77.1.0/24]
YAML
start_s "$TMP/allow.yaml"
assert_file_match "$S_LOG" 'hermes_ingress_lookup: reused pinned link' "the restart reused the pinned link (no gap)"
direct http://10.77.1.3/
assert_eq 0 "$DRC" "allow_from: a direct curl works"
assert_eq "$NGINX_PAGE" "$DOUT" "allow_from: the page"
expect_server_side "allow_from: nginx saw hermesd's side (the server host), not the client"
assert_eq 1 "$(s_stat hermes_inbound_proxied_total)" "hermes_inbound_proxied_total"
direct -g 'http://[fd77:1::2]/'
case $DRC in 7 | 52 | 56) ;; *) die "IPv6 without an IPv6 inbound listener must be refused (fail-closed), got $DRC" ;; esac
ports=$(bpftool map dump pinned "$PIN_S/hermes_ingress")
assert_match "$ports" '"port": 20480' "port 80 still protected"
printf '%s\n' "$ports" | grep -q '"port": 64288' && die "port 8443 (no longer in the config) is still in hermes_ingress"
say "ok: the restart removed port 8443 from hermes_ingress"

# --- disable removes the sk_lookup link: nginx reachable directly again
stop_hermesd_s
assert_eq 0 "$STOP_RC" "SIGTERM: exit 0"
out=$("$HERMESCTL_BIN" --pin-root "$PIN_S" disable 2>&1) || die "hermesctl disable failed: $out"
[ ! -e "$PIN_S" ] || die "hermesctl disable left $PIN_S"
direct http://10.77.1.3/
assert_eq 0 "$DRC" "after hermesctl disable: a direct curl works"
expect_nginx_client 10.77.1.1 "after hermesctl disable: nginx sees the client itself"
pass "protected ingress: sk_lookup to the inbound listener, refusal, tunnel path, allow_from, fail-closed, disable"
