#!/bin/bash
# deps.sh: install the Debian packages Hermes needs to build and test (make deps).
# Idempotent and quiet when everything is present; runs apt-get update only when
# something is missing. Also mounts bpffs on /sys/fs/bpf when it is not mounted.
set -euo pipefail

BUILD_PKGS="clang llvm gcc make pkg-config libbpf-dev bpftool liburing-dev libyaml-dev
libcap-dev libelf-dev zlib1g-dev libssl-dev libnghttp2-dev libncurses-dev libclang-rt-14-dev"
TEST_PKGS="nginx-light curl iproute2 socat python3 python3-prometheus-client procps tmux coreutils wrk"
BENCH_PKGS="sockperf iperf3"

say() { printf 'deps: %s\n' "$*"; }

is_installed() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=()
for p in $BUILD_PKGS $TEST_PKGS $BENCH_PKGS; do
	is_installed "$p" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		say "missing packages: ${missing[*]}" >&2
		say "run as root (sudo make deps) to install them" >&2
		exit 1
	fi
	nginx_was_installed=0
	is_installed nginx-light && nginx_was_installed=1
	nginx_was_running=0
	[ -s /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null && nginx_was_running=1

	say "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

	# Debian starts an nginx service on port 80 of the root netns right after
	# installing it: the tests run their own nginx, so stop the one we just started.
	if [ "$nginx_was_installed" = 0 ] && [ "$nginx_was_running" = 0 ] && is_installed nginx-light; then
		if [ -s /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then
			say "stopping the nginx service the package started"
			service nginx stop >/dev/null 2>&1 || /usr/sbin/nginx -s quit >/dev/null 2>&1 || true
			for _ in $(seq 1 50); do
				[ -s /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid 2>/dev/null)" 2>/dev/null || break
				sleep 0.1
			done
		fi
	fi
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
