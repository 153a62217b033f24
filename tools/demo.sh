#!/bin/bash
# demo.sh: `make demo` (as root). Builds a two-host topology in network namespaces (the
# same one the tests use), starts nginx on the server host and hermesd on the client host,
# adds a proxy policy, runs curl from the application cgroup and shows what happened.
# Everything it creates is removed at the end, even on failure or Ctrl-C.
HERMES_TEST_ID=${HERMES_TEST_ID:-demo$$}
# shellcheck source-path=SCRIPTDIR source=../tests/lib/common.sh
. "$(dirname "$0")/../tests/lib/common.sh"

if [ -t 1 ]; then B=$'\e[1m' D=$'\e[2m' N=$'\e[0m'; else B='' D='' N=''; fi
section() { printf '\n%s== %s ==%s\n' "$B" "$*" "$N"; }
show() { printf '%s$ %s%s\n' "$D" "$*" "$N"; }

[ "$(id -u)" = 0 ] || {
	echo "demo: needs root (it creates network namespaces, a cgroup and BPF programs): sudo make demo" >&2
	exit 1
}

section "1. Topology"
topo_up >/dev/null
cat <<EOF
  client host (netns $NS_C)                 server host (netns $NS_S)
  10.77.1.1, fd77:1::1   <---- veth ---->   10.77.1.2, 10.77.1.3, fd77:1::2
    app cgroup:     $CG/app
    hermesd cgroup: $CG/hermesd
    pin root:       $PINROOT
EOF

section "2. nginx on the server host"
start_nginx >/dev/null
echo "  nginx listening on 10.77.1.2:80, 10.77.1.3:80, [fd77:1::2]:80 (pid $NGINX_PID)"

section "3. hermesd on the client host"
show "hermesd --cgroup $CG/app --pin-root $PINROOT --log-level debug"
start_hermesd >/dev/null
echo "  hermesd pid $HERMESD_PID is ready (GET http://127.0.0.1:15000/ready -> 200)"

section "4. Policy: proxy everything to 10.77.1.0/24"
show "hermesctl --pin-root $PINROOT policy add 10.77.1.0/24 proxy"
hermesctl policy add 10.77.1.0/24 proxy | sed 's/^/  /'
[ "${PIPESTATUS[0]}" = 0 ] || die "policy add failed"
show "hermesctl --pin-root $PINROOT policy list"
hermesctl policy list | sed 's/^/  /'

section "5. curl from the app cgroup (the application is unchanged)"
show "curl -sS -w ... http://10.77.1.2/"
in_app curl -sS --max-time 10 -w '  -> HTTP %{http_code}, %{size_download} bytes, peer %{remote_ip}:%{remote_port}, %{time_total}s\n' \
	http://10.77.1.2/ | sed 's/^/  /'
sleep 0.3

section "6. What nginx saw (access log: client address, server address, request)"
sed 's/^/  /' "$NGINX_ACCESS_LOG"
echo "  (the client address is the client host's own, 10.77.1.1: hermesd dialled from there)"

section "7. What hermesd saw (debug log)"
grep -E 'conn [0-9]+' "$HERMESD_LOG" | tail -n 8 | sed 's/^/  /'
echo "  (SO_ORIGINAL_DST on the accepted socket gave hermesd the address the app dialled)"

section "8. hermesctl status"
show "hermesctl --pin-root $PINROOT status"
hermesctl status | sed 's/^/  /'

section "9. Programs attached to the demo cgroups"
show "bpftool cgroup tree $CG"
bpftool cgroup tree "$CG" | sed 's/^/  /'

section "10. Admin endpoint /metrics (hermes_* metrics)"
show "curl http://127.0.0.1:15000/metrics"
admin_get /metrics | grep -E '^hermes_' | sed 's/^/  /'

section "11. hermes-top: the flows, live (batch mode, 2 refreshes)"
# a paced upload (20 MiB/s for 3 s) to a sink on the server, so hermes-top shows a live rate
bg demo-sink s socat -u TCP-LISTEN:9000,bind=10.77.1.2,reuseaddr /dev/null
sleep 0.3
bg demo-up app "$PY" -c '
import socket, time
s = socket.create_connection(("10.77.1.2", 9000))
chunk = b"x" * (1 << 20)
for _ in range(60):
    s.sendall(chunk)
    time.sleep(0.05)
s.close()'
sleep 1
show "hermes-top --pin-root $PINROOT -b -n 2 -d 1"
ns_c "$BUILD/hermes-top" --pin-root "$PINROOT" -b -n 2 -d 1 | sed 's/^/  /'
wait "$BG_PID" 2>/dev/null

section "12. Clean-up"
stop_hermesd TERM 15 >/dev/null
echo "  hermesd stopped with SIGTERM (exit status $HERMESD_RC); its links stay attached until:"
show "hermesctl --pin-root $PINROOT disable"
hermesctl disable | sed 's/^/  /'
echo "  removing namespaces and cgroups"
exit 0
