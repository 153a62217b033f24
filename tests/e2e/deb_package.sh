#!/bin/bash
# deb_package: `make deb` builds a package that dpkg installs (programs, man pages, unit,
# /etc/hermes/hermes.yaml as a conffile, Depends from the shared libraries) without
# enabling or starting anything; the installed hermesd reports its version and reads
# /etc/hermes/hermes.yaml by default (-c none keeps it out); dpkg -r leaves only the
# conffile and dpkg -P leaves nothing. It installs into the host's / for a few seconds:
# it skips on a host that has a Hermes of its own, and purges the package even on failure.
# test: lock make (runs make in the source tree and installs into the host's / with dpkg)
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

require_root
require_cmd make dpkg dpkg-deb dpkg-shlibdeps
FILES="/usr/sbin/hermesd /usr/bin/hermesctl /usr/bin/hermes-top /usr/lib/systemd/system/hermesd.service
/usr/share/man/man8/hermesd.8.gz /usr/share/man/man8/hermesctl.8.gz /usr/share/man/man8/hermes-top.8.gz
/usr/share/doc/hermes/hermes.yaml /etc/hermes/hermes.yaml"
case $(dpkg-query -W -f='${Status}' hermes 2>/dev/null) in
"" | "unknown ok not-installed" | "purge ok not-installed") ;;
*) skip "this host has a hermes package of its own ($(dpkg-query -W -f='${Status}' hermes))" ;;
esac
for f in $FILES /etc/hermes /usr/share/doc/hermes /lib/systemd/system/hermesd.service /sys/fs/bpf/hermes; do
	[ -e "$f" ] && skip "this host has $f of its own: the test would replace or remove it"
done

topo_up
require_build
san=
ldd "$HERMESD_BIN" | grep -q libasan && san=SAN=1
INSTALLED=0
# purge before the common cleanup, whatever happened (keeping the test's exit status)
deb_purge() {
	[ "$INSTALLED" = 1 ] || return 0
	dpkg -P hermes >>"$TMP/dpkg.log" 2>&1 || echo "deb_package: dpkg -P hermes failed: $(tail -n 3 "$TMP/dpkg.log")"
	INSTALLED=0
}
trap 'rc=$?; deb_purge; (exit $rc); cleanup' EXIT

# dpkg ARGS...: dpkg, waiting (up to 30 s) while another dpkg or apt holds its lock
dpkg_run() {
	local i
	for ((i = 0; i < 30; i++)); do
		dpkg "$@" >>"$TMP/dpkg.log" 2>&1 && return 0
		tail -n 2 "$TMP/dpkg.log" | grep -q 'lock' || return 1
		sleep 1
	done
	return 1
}

make -C "$HERMES_SRC" --no-print-directory "BUILD=$BUILD" ${san:+"$san"} deb >"$TMP/make.log" 2>&1 ||
	die "make deb failed: $(tail -n 5 "$TMP/make.log")"
version=$(sed -n 's/^VERSION := //p' "$HERMES_SRC/Makefile")
DEB=$BUILD/hermes_${version}_$(dpkg --print-architecture).deb
[ -f "$DEB" ] || die "make deb did not write $DEB"
assert_eq hermes "$(dpkg-deb -f "$DEB" Package)" "package name"
assert_eq "$version" "$(dpkg-deb -f "$DEB" Version)" "package version"
deps=$(dpkg-deb -f "$DEB" Depends)
for lib in libbpf1 libc6 libsystemd0 liburing2 libyaml-0-2 libssl3; do
	assert_match "$deps" "(^|, )$lib( |,|$)" "Depends names $lib"
done
assert_eq /etc/hermes/hermes.yaml "$(dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles)" "conffiles"

INSTALLED=1
dpkg_run -i "$DEB" || die "dpkg -i failed: $(tail -n 5 "$TMP/dpkg.log")"
assert_eq "install ok installed" "$(dpkg-query -W -f='${Status}' hermes)" "dpkg -i: installed"
for f in $FILES; do
	[ -f "$f" ] || die "dpkg -i: $f is missing"
done
say "ok: every file is in place"
commit=unknown
[ -e "$HERMES_SRC/.git" ] && commit=$(git -C "$HERMES_SRC" rev-parse --short=7 HEAD)
assert_eq "hermesd $version (commit $commit)" "$(/usr/sbin/hermesd --version)" "installed hermesd --version"
command -v man >/dev/null && assert_eq /usr/share/man/man8/hermesd.8.gz "$(man -w hermesd)" "man finds hermesd(8)"
[ ! -e /etc/systemd/system/multi-user.target.wants/hermesd.service ] || die "the package enabled hermesd.service"
for p in /proc/[0-9]*; do
	[ "$(readlink "$p/exe" 2>/dev/null)" = /usr/sbin/hermesd ] && die "the package started /usr/sbin/hermesd (pid ${p#/proc/})"
done
say "ok: hermesd.service neither enabled nor started"
# without -c the installed config is read; -c none keeps it out (in the test's cgroup)
out=$(/usr/sbin/hermesd --check --cgroup "$CG/app" --pin-root "$PINROOT" 2>&1) || die "hermesd --check with the installed config: $out"
assert_match "$out" "/etc/hermes/hermes.yaml" "hermesd reads /etc/hermes/hermes.yaml when -c is not given"
out=$(/usr/sbin/hermesd -c none --check --cgroup "$CG/app" --pin-root "$PINROOT" 2>&1) || die "hermesd -c none --check: $out"
assert_match "$out" "embedded default" "-c none runs the embedded default"
assert_file_nomatch <(printf '%s\n' "$out") "/etc/hermes" "-c none does not read /etc/hermes/hermes.yaml"

dpkg_run -r hermes || die "dpkg -r failed: $(tail -n 5 "$TMP/dpkg.log")"
assert_eq "deinstall ok config-files" "$(dpkg-query -W -f='${Status}' hermes)" "dpkg -r: only the conffile stays"
for f in $FILES; do
	case $f in
	/etc/hermes/hermes.yaml) [ -f "$f" ] || die "dpkg -r removed the conffile $f" ;;
	*) [ ! -e "$f" ] || die "dpkg -r left $f" ;;
	esac
done
dpkg_run -P hermes || die "dpkg -P failed: $(tail -n 5 "$TMP/dpkg.log")"
INSTALLED=0
assert_eq "" "$(dpkg-query -W -f='${Status}' hermes 2>/dev/null | grep -v 'not-installed')" "dpkg -P: the package is gone"
for f in $FILES /etc/hermes /usr/share/doc/hermes; do
	[ ! -e "$f" ] || die "dpkg -P left $f"
done
say "ok: nothing left after dpkg -P"
pass
