#!/bin/bash
# h2spec-build.sh: builds the h2spec HTTP/2 conformance tool (github.com/summerwind/h2spec)
# from a source checkout with Debian's Go toolchain and Debian's packaged Go libraries only,
# offline, into $BUILD/h2spec (tests/e2e/h2spec.sh looks there). h2spec is not packaged in
# Debian and Hermes never vendors it: fetch its source yourself (git clone
# https://github.com/summerwind/h2spec), then
#   tools/h2spec-build.sh SRC [OUT]
# SRC  the h2spec source tree (the directory holding h2spec.go and cmd/h2spec/)
# OUT  the binary to write (default: $BUILD/h2spec, BUILD defaulting to build)
# Needs (Debian 12; `tools/deps.sh h2spec` installs them, about 400 MB with the Go
# toolchain): golang-go golang-golang-x-net-dev golang-github-spf13-cobra-dev
# golang-github-fatih-color-dev. The build runs in GOPATH mode (GO111MODULE=off) against
# /usr/share/gocode/src with GOPROXY=off, so it never downloads anything; h2spec's own
# go.mod pins are ignored (checked with Debian 12's x/net 0.7.0, cobra 1.6.1, color 1.7.0).
# Exit: 0 built, 1 a build error, 2 usage or a missing source/toolchain.
set -euo pipefail

usage() {
	sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
}
[ $# -ge 1 ] && [ $# -le 2 ] || usage
case $1 in -h | --help) usage ;; esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=$(cd "$1" 2>/dev/null && pwd) || { echo "h2spec-build: no source directory $1" >&2; exit 2; }
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
OUT=${2:-$BUILD/h2spec}
GOSRC=/usr/share/gocode/src

if [ ! -f "$SRC/cmd/h2spec/h2spec.go" ]; then
	echo "h2spec-build: $SRC is not an h2spec source tree (no cmd/h2spec/h2spec.go)" >&2
	exit 2
fi
if ! command -v go >/dev/null 2>&1; then
	echo "h2spec-build: no Go toolchain; install Debian's: tools/deps.sh h2spec (or apt-get install golang-go)" >&2
	exit 2
fi
for dep in golang.org/x/net/http2 github.com/spf13/cobra github.com/fatih/color; do
	if [ ! -d "$GOSRC/$dep" ]; then
		echo "h2spec-build: Debian's Go package for $dep is missing under $GOSRC; install: tools/deps.sh h2spec" >&2
		exit 2
	fi
done

# A throwaway GOPATH: symlinks to every packaged Go library plus h2spec's source under
# its import path (GOPATH mode resolves imports by directory, no module download).
WORK=$(mktemp -d "${TMPDIR:-/tmp}/h2spec-build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
for d in "$GOSRC"/*/*; do
	[ -d "$d" ] || continue
	rel=${d#"$GOSRC"/}
	mkdir -p "$WORK/src/$(dirname "$rel")"
	ln -s "$d" "$WORK/src/$rel"
done
mkdir -p "$WORK/src/github.com/summerwind"
rm -f "$WORK/src/github.com/summerwind/h2spec"
ln -s "$SRC" "$WORK/src/github.com/summerwind/h2spec"

mkdir -p "$(dirname "$OUT")"
echo "h2spec-build: building $SRC with $(go version | awk '{ print $3 }') against $GOSRC"
(
	cd "$WORK/src/github.com/summerwind/h2spec"
	GOPATH=$WORK GO111MODULE=off GOPROXY=off GOFLAGS= GOCACHE=$WORK/cache CGO_ENABLED=0 \
		go build -o "$OUT" ./cmd/h2spec
) || { echo "h2spec-build: go build failed" >&2; exit 1; }
echo "h2spec-build: built $OUT ($("$OUT" --version 2>/dev/null | head -1))"
