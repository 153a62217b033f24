#!/bin/bash
# deps.sh: install the Debian packages Hermes needs to build and test (make deps).
# Idempotent and quiet when everything is present; runs apt-get update only when
# something is missing. Also mounts bpffs on /sys/fs/bpf when it is not mounted.
#   tools/deps.sh          the build, test and bench packages
#   tools/deps.sh h2spec   also the optional H2SPEC_PKGS (Go toolchain and libraries, about
#                          400 MB) that tools/h2spec-build.sh needs; without them
#                          tests/e2e/h2spec.sh skips
#   tools/deps.sh cache-tests  also CACHE_TESTS_PKGS (node, npm, varnish, trafficserver) for
#                          make cache-tests (tools/bench/cache-tests.sh)
set -euo pipefail

BUILD_PKGS="clang llvm gcc make pkg-config libbpf-dev bpftool liburing-dev libyaml-dev
libcap-dev libelf-dev zlib1g-dev libssl-dev libnghttp2-dev libncurses-dev libclang-rt-14-dev libsystemd-dev
dpkg-dev libcurl4-openssl-dev libjansson-dev"
TEST_PKGS="nginx-light curl iproute2 socat openssl python3 python3-prometheus-client procps tmux coreutils wrk
squid nghttp2-client nghttp2-proxy python3-h2 haproxy systemd man-db iputils-ping dnsmasq-base bind9-dnsutils
etcd-server etcd-client"
# make lint and tests/e2e/lint.sh: the static analyzers (clang-tidy: Debian 12's is 14)
LINT_PKGS="cppcheck clang-tidy"
# make bench, make bench-wan, make bench-intermittent and make soak (gnuplot: their PNG plots)
BENCH_PKGS="sockperf iperf3 gnuplot-nox wget valgrind"
# optional (tools/deps.sh cache-tests, run by make cache-tests): node and npm (the HTTP
# cache test suite comes from the npm registry) and the caching proxies it compares
# (nginx-light and squid are in TEST_PKGS); Debian's npm brings many node-* packages
CACHE_TESTS_PKGS="nodejs npm varnish trafficserver"
# optional (tools/deps.sh h2spec): building h2spec offline from its source
H2SPEC_PKGS="golang-go golang-golang-x-net-dev golang-github-spf13-cobra-dev golang-github-fatih-color-dev"
OPT_PKGS=
for a in "$@"; do
	case $a in
	h2spec) OPT_PKGS="$OPT_PKGS $H2SPEC_PKGS" ;;
	cache-tests) OPT_PKGS="$OPT_PKGS $CACHE_TESTS_PKGS" ;;
	*) echo "deps: unknown group $a (known: h2spec, cache-tests)" >&2; exit 2 ;;
	esac
done

say() { printf 'deps: %s\n' "$*"; }

is_installed() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# provided NAME: an installed package provides NAME (NodeSource's nodejs provides, and
# conflicts with, Debian's npm: asking apt for npm there would fail)
provided() {
	dpkg-query -W -f='${db:Status-Abbrev}|${Provides}\n' 2>/dev/null | awk -F'|' -v p="$1" '
		$1 ~ /^ii/ { n = split($2, a, /, */); for (i = 1; i <= n; i++) { sub(/ .*/, "", a[i]); if (a[i] == p) f = 1 } }
		END { exit !f }'
}

missing=()
for p in $BUILD_PKGS $TEST_PKGS $LINT_PKGS $BENCH_PKGS $OPT_PKGS; do
	is_installed "$p" || provided "$p" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		say "missing packages: ${missing[*]}" >&2
		say "run as root (sudo make deps) to install them" >&2
		exit 1
	fi
	# Debian starts a package's service right after installing it, in the root netns
	# (nginx on port 80, squid on 3128, haproxy, varnish on 6081, trafficserver on 8080):
	# the tests and make cache-tests run their own, so stop the
	# services that this run installed and started. PACKAGE:SERVICE:PIDFILE
	services="nginx-light:nginx:/run/nginx.pid squid:squid:/run/squid.pid haproxy:haproxy:/run/haproxy.pid
		varnish:varnish:/run/varnishd.pid trafficserver:trafficserver:/run/trafficserver/manager.lock"
	# (etcd-server's service, when systemd runs it, listens on localhost:2379 only; the
	# tests start their own members on ports of their own)
	was_there=()
	for s in $services; do
		IFS=: read -r pkg svc pidfile <<<"$s"
		if is_installed "$pkg" || { [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }; then
			was_there+=("$svc")
		fi
	done

	say "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

	for s in $services; do
		IFS=: read -r pkg svc pidfile <<<"$s"
		case " ${was_there[*]} " in *" $svc "*) continue ;; esac
		is_installed "$pkg" && [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null || continue
		say "stopping the $svc service the package started"
		service "$svc" stop >/dev/null 2>&1 ||
			{ [ "$svc" = nginx ] && /usr/sbin/nginx -s quit >/dev/null 2>&1; } || true
		for _ in $(seq 1 50); do
			[ -s "$pidfile" ] && kill -0 "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null || break
			sleep 0.1
		done
	done
fi

# bpffs: hermesd pins its maps and links under /sys/fs/bpf.
if ! awk '$2 == "/sys/fs/bpf" && $3 == "bpf" { found = 1 } END { exit !found }' /proc/self/mounts; then
	if [ "$(id -u)" = 0 ]; then
		mkdir -p /sys/fs/bpf
		mount -t bpf bpf /sys/fs/bpf
		say "mounted bpffs on /sys/fs/bpf"
	else
		say "bpffs is not mounted on /sys/fs/bpf (run as root: mount -t bpf bpf /sys/fs/bpf)" >&2
	fi
fi
exit 0
