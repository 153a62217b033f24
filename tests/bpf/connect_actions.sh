#!/bin/bash
# connect_actions: the cgroup connect4/connect6 decisions for every action, through real
# sockets of a process in the steered cgroup:
#   pass  -> the connect is untouched (nginx sees 10.77.1.1, hermesd sees nothing)
#   deny  -> connect() fails at once with EPERM (python PermissionError, curl exit 7)
#   proxy -> the connection goes through hermesd (it logs the flow) and reaches nginx
# for IPv4 and IPv6, an exact-port rule beating an any-port rule, and a process in the
# same netns but outside the app cgroup that a deny rule does not touch.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
start_nginx "$NS_S" 10.77.1.2:80 10.77.1.2:81 10.77.1.3:80 '[fd77:1::2]:80' '[fd77:1::2]:81'
start_hermesd

accepted() { stat_value hermes_connections_accepted_total; }
decisions() { stat_value hermes_bpf_decisions_total "action=\"$1\""; }

# ---- no rule: default pass
a0=$(accepted)
[ -n "$a0" ] || die "GET /stats has no hermes_connections_accepted_total: $(admin_get /stats | head -n 20)"
expect_page "no rule (default pass) IPv4" http://10.77.1.2/
expect_nginx_client 10.77.1.1 "default pass goes direct from the client host"

# ---- pass, IPv4
policy_add 10.77.1.2/32 pass
pass0=$(decisions pass)
expect_page "pass IPv4" http://10.77.1.2/
expect_nginx_client 10.77.1.1 "pass IPv4 reaches nginx from 10.77.1.1"
assert_eq "$a0" "$(accepted)" "pass IPv4: hermesd accepted no connection"
assert_eq 0 "$(origdst_count '.*')" "pass IPv4: hermesd logged no flow"
assert_ge $((${pass0:-0} + 1)) "$(decisions pass)" "pass IPv4 counted in hermes_bpf_decisions_total{action=\"pass\"}"

# ---- deny, IPv4
policy_add 10.77.1.3/32 deny
deny0=$(decisions deny)
expect_eperm "deny IPv4 (python connect)" 10.77.1.3 80
curl_app http://10.77.1.3/
assert_eq 7 "$CURL_RC" "deny IPv4: curl exit code (could not connect)"
assert_ge $((${deny0:-0} + 2)) "$(decisions deny)" "deny IPv4 counted in hermes_bpf_decisions_total{action=\"deny\"}"

# ---- proxy, IPv4
policy_add 10.77.1.2/32 proxy
proxy0=$(decisions proxy)
expect_page "proxy IPv4" http://10.77.1.2/
expect_nginx_client 10.77.1.1 "proxy IPv4: upstream connection from the client host's address"
wait_origdst '10\.77\.1\.2:80' 1 "proxy IPv4 went through hermesd"
assert_ge $((a0 + 1)) "$(accepted)" "proxy IPv4: hermes_connections_accepted_total grew"
assert_ge $((${proxy0:-0} + 1)) "$(decisions proxy)" "proxy IPv4 counted in hermes_bpf_decisions_total{action=\"proxy\"}"

# ---- IPv6: pass, deny (exact port), proxy (exact port)
policy_add fd77:1::2/128 pass
n6=$(origdst_count '.*')
expect_page "pass IPv6" -g 'http://[fd77:1::2]/'
expect_nginx_client fd77:1::1 "pass IPv6 reaches nginx from fd77:1::1"
assert_eq "$n6" "$(origdst_count '.*')" "pass IPv6: hermesd logged no flow"

policy_add '[fd77:1::2]:81' deny
expect_eperm "deny IPv6 [fd77:1::2]:81 (python connect)" fd77:1::2 81
curl_app -g 'http://[fd77:1::2]:81/'
assert_eq 7 "$CURL_RC" "deny IPv6: curl exit code"
expect_page "pass IPv6 port 80 still allowed next to the port-81 deny" -g 'http://[fd77:1::2]/'

policy_add '[fd77:1::2]:80' proxy
expect_page "proxy IPv6" -g 'http://[fd77:1::2]/'
expect_nginx_client fd77:1::1 "proxy IPv6: upstream connection from fd77:1::1"
wait_origdst '\[?fd77:1::2\]?:80' 1 "proxy IPv6 went through hermesd"

# ---- exact port beats any port
for m in 10.77.1.2/32 10.77.1.3/32 fd77:1::2/128 '[fd77:1::2]:81' '[fd77:1::2]:80'; do
	hermesctl policy del "$m" >/dev/null 2>&1 || die "hermesctl policy del $m failed"
done
policy_add 10.77.1.0/24 deny
policy_add 10.77.1.2:80 proxy
say "rules now: $(hermesctl policy list 2>&1 | tr '\n' ';')"
n4=$(origdst_count '10\.77\.1\.2:80')
expect_page "10.77.1.2:80 proxy beats 10.77.1.0/24 deny" http://10.77.1.2/
wait_origdst '10\.77\.1\.2:80' $((n4 + 1)) "10.77.1.2:80 went through hermesd"
expect_eperm "10.77.1.2:81 falls to the 10.77.1.0/24 deny" 10.77.1.2 81
expect_eperm "10.77.1.3:80 falls to the 10.77.1.0/24 deny" 10.77.1.3 80

# ---- a process outside the app cgroup (same netns) is not steered
expect_connects c "process outside the app cgroup ignores the deny rule" 10.77.1.3 80
out=$(ns_c curl -sS --max-time 5 http://10.77.1.2:81/ 2>&1) || die "curl outside the app cgroup to 10.77.1.2:81 failed: $out"
assert_eq "$NGINX_PAGE" "$out" "curl outside the app cgroup reaches 10.77.1.2:81 directly"

pass "connect4/6: pass, deny, proxy, exact port over any port, other cgroups untouched"
