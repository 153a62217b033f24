#!/bin/bash
# install_layout: `make install DESTDIR=… PREFIX=/usr` lays out every file (programs
# stripped, man pages, systemd unit, config, its shipped copy) without rebuilding $BUILD;
# --version names the release and commit; the man pages render and list every option of
# --help; the unit passes systemd-analyze verify; the installed config passes --check and
# hermesd starts with it under the unit's capability bounding set and no-new-privs; a
# second install keeps an edited config; make uninstall removes everything but an edited
# config. PREFIX=/usr/local puts its paths in the unit.
# test: lock make (runs make in the source tree, where nothing may be rebuilt meanwhile)
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

topo_up
require_build
require_cmd make systemd-analyze readelf setpriv
san=
ldd "$HERMESD_BIN" | grep -q libasan && san=SAN=1
D=$TMP/root
MK=(make -C "$HERMES_SRC" --no-print-directory "BUILD=$BUILD" ${san:+"$san"} "DESTDIR=$D" PREFIX=/usr)

"${MK[@]}" install >"$TMP/install.log" 2>&1 || { cat "$TMP/install.log"; die "make install failed"; }
# it installs $BUILD as built: at most version.o is recompiled (and the programs relinked)
# when a commit was made since
rebuilt=$(grep -E '^  (CC|BPF|SKEL) ' "$TMP/install.log" | grep -v 'obj/userspace/version\.o$')
[ -z "$rebuilt" ] || die "make install rebuilt $BUILD (run make first): $rebuilt"

expected="etc/hermes/hermes.yaml
usr/bin/hermes-top
usr/bin/hermesctl
usr/lib/systemd/system/hermesd.service
usr/sbin/hermesd
usr/share/doc/hermes/hermes.yaml
usr/share/man/man8/hermes-top.8
usr/share/man/man8/hermesctl.8
usr/share/man/man8/hermesd.8"
assert_eq "$expected" "$(cd "$D" && find . -type f -o -type l | sed 's|^\./||' | sort)" "installed files"
for f in usr/sbin/hermesd usr/bin/hermesctl usr/bin/hermes-top; do
	assert_eq 755 "$(stat -c %a "$D/$f")" "$f mode"
	readelf -S "$D/$f" | grep -q '\.symtab' && die "$f is not stripped"
done
cmp -s "$HERMES_SRC/etc/hermes.yaml" "$D/etc/hermes/hermes.yaml" || die "the installed config is not etc/hermes.yaml"

# --version: VERSION of the Makefile and the commit built
version=$(sed -n 's/^VERSION := //p' "$HERMES_SRC/Makefile")
commit=unknown
[ -e "$HERMES_SRC/.git" ] && commit=$(git -C "$HERMES_SRC" rev-parse --short=7 HEAD)
for p in usr/sbin/hermesd usr/bin/hermesctl usr/bin/hermes-top; do
	assert_eq "$(basename "$p") $version (commit $commit)" "$("$D/$p" --version)" "$p --version"
done

# man pages: render without warnings, and carry every option their --help lists
for p in hermesd hermesctl hermes-top; do
	page=$D/usr/share/man/man8/$p.8
	if command -v man >/dev/null; then
		txt=$(MANWIDTH=100 LC_ALL=C.UTF-8 man --warnings -l "$page" 2>"$TMP/man.err")
	else
		txt=$(groff -man -Tutf8 -ww "$page" 2>"$TMP/man.err")
	fi
	[ -s "$TMP/man.err" ] && die "$p.8 renders with warnings: $(head -n 3 "$TMP/man.err")"
	assert_match "$txt" "^NAME" "$p.8 has a NAME section"
	assert_match "$txt" "^ +$p +- " "$p.8 NAME line"
	for o in $("$D/usr/${p/hermesd/sbin/hermesd}" --help 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u); do
		grep -qF -- "$o" <<<"$txt" || die "$p.8 lacks $o, which $p --help lists"
	done
	say "ok: $p.8 lists every option of $p --help"
done

# the unit: its contents, then systemd-analyze verify on a copy whose Exec paths point
# into DESTDIR (verify checks that they are executables) with the man pages on MANPATH
unit=$D/usr/lib/systemd/system/hermesd.service
assert_file_match "$unit" '^Type=notify$' "unit: Type=notify"
assert_file_match "$unit" '^ExecStartPre=/usr/sbin/hermesd --check$' "unit: ExecStartPre checks the config"
assert_file_match "$unit" '^ExecStart=/usr/sbin/hermesd$' "unit: ExecStart"
# shellcheck disable=SC2016 # $MAINPID is systemd's, not the shell's
assert_file_match "$unit" '^ExecReload=/bin/kill -HUP \$MAINPID$' "unit: ExecReload sends SIGHUP"
mkdir "$TMP/verify"
sed "s|^\(Exec[A-Za-z]*=[-@!+:]*\)/usr/|\1$D/usr/|" "$unit" >"$TMP/verify/hermesd.service"
MANPATH=$D/usr/share/man systemd-analyze verify "$TMP/verify/hermesd.service" >"$TMP/verify.log" 2>&1
rc=$?
if [ $rc != 0 ] || [ -s "$TMP/verify.log" ]; then
	die "systemd-analyze verify (status $rc): $(cat "$TMP/verify.log")"
fi
say "ok: systemd-analyze verify passes with no message"

# the installed config as it is: --check, then a start (in the test's cgroup and netns)
out=$("$D/usr/sbin/hermesd" --check -c "$D/etc/hermes/hermes.yaml" --cgroup "$CG/app" --pin-root "$PINROOT" 2>&1) ||
	die "hermesd --check refuses the installed config: $out"
say "ok: the installed config passes --check ($out)"
# ... under the unit's CapabilityBoundingSet= and NoNewPrivileges= (what setpriv can
# reproduce of the unit's sandbox without systemd)
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr 'A-Z ' 'a-z,' | sed 's/cap_//g')
[ -n "$caps" ] || die "unit: no CapabilityBoundingSet="
printf '#!/bin/sh\nexec setpriv --no-new-privs --bounding-set -all,+%s %s "$@"\n' "${caps//,/,+}" \
	"$D/usr/sbin/hermesd" >"$TMP/hermesd-unit"
chmod +x "$TMP/hermesd-unit"
HERMESD_BIN=$TMP/hermesd-unit start_hermesd -c "$D/etc/hermes/hermes.yaml"
assert_match "$(grep '^NoNewPrivs' "/proc/$HERMESD_PID/status")" "^NoNewPrivs:[[:space:]]+1$" "hermesd runs with no-new-privs"
assert_match "$(grep '^CapBnd' "/proc/$HERMESD_PID/status")" "^CapBnd:[[:space:]]+0+1000$" \
	"hermesd started within the unit's bounding set (trimmed to cap_net_admin once ready)"
stop_hermesd TERM
assert_eq 0 "$HERMESD_RC" "the installed hermesd with the installed config stops cleanly"

# an edited config survives a second install and the uninstall
echo "# edited by the operator" >>"$D/etc/hermes/hermes.yaml"
"${MK[@]}" install >"$TMP/install2.log" 2>&1 || die "second make install failed: $(cat "$TMP/install2.log")"
assert_file_match "$D/etc/hermes/hermes.yaml" "edited by the operator" "a second install keeps the existing config"
assert_file_match "$TMP/install2.log" "keeping .*/etc/hermes/hermes.yaml" "and says so"
"${MK[@]}" uninstall >"$TMP/uninstall.log" 2>&1 || die "make uninstall failed: $(cat "$TMP/uninstall.log")"
assert_eq "etc/hermes/hermes.yaml" "$(cd "$D" && find . -type f -o -type l | sed 's|^\./||' | sort)" \
	"make uninstall leaves only the edited config"
cp "$HERMES_SRC/etc/hermes.yaml" "$D/etc/hermes/hermes.yaml"
"${MK[@]}" uninstall >/dev/null 2>&1 || die "second make uninstall failed"
assert_eq "" "$(cd "$D" && find . -type f -o -type l)" "make uninstall removes an unedited config"
[ ! -e "$D/etc/hermes" ] || die "make uninstall left $D/etc/hermes"

# the default prefix: the unit follows it
"${MK[@]/PREFIX=\/usr/PREFIX=/usr/local}" "DESTDIR=$TMP/local" install >/dev/null 2>&1 || die "make install PREFIX=/usr/local failed"
assert_file_match "$TMP/local/usr/local/lib/systemd/system/hermesd.service" '^ExecStart=/usr/local/sbin/hermesd$' \
	"PREFIX=/usr/local: the unit runs /usr/local/sbin/hermesd"
[ -x "$TMP/local/usr/local/sbin/hermesd" ] || die "PREFIX=/usr/local: no /usr/local/sbin/hermesd"
pass
