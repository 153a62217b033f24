#!/bin/bash
# tests/fuzz/run.sh: builds every libFuzzer target tests/fuzz/fuzz_NAME.c with clang
# -fsanitize=fuzzer,address,undefined into $BUILD/fuzz/ and runs each for FUZZ_SECONDS
# (default 10: make test's smoke run) on a scratch copy of
# tests/fuzz/corpus/NAME/ (the checked-in seeds stay as they are; the copy keeps what
# the fuzzer found, for the next look). The targets: http1 (the HTTP/1.1 parser),
# config (the YAML configuration loader), h2x (the HTTP/1.1 <-> HTTP/2 translation),
# tunnel (the tunnel listener's request parsing: HTTP/1.1 heads and HTTP/2 streams),
# capsule (CONNECT-UDP: the Capsule Protocol codec and the request reader), cache (the
# HTTP cache's rules, keys and store: a request and an origin's response stored, found
# and served), cdisk (the cache's disk files as read at start and on a hit), etcd (the
# etcd gateway's watch stream, base64, and the merge of a node's YAML documents), overlay
# (hermesctl's overlay file: parsed, compiled, each document checked), etcdstate (the etcd
# state file's first line, read at a start without etcd), top (hermes-top's readers of the
# admin port: an answer's head, /stats' Prometheus text, /flows' JSON).
#   tests/fuzz/run.sh [NAME...]   only these targets (e.g. http1)
# Exit: 0 no crash, 1 a crash/invariant failure or a build error, 77 clang or libFuzzer
# missing (Debian: clang and libclang-rt-14-dev). Crash inputs are kept in
# $BUILD/fuzz/artifacts/ and printed as a reproduction command.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
CLANG=${CLANG:-clang}
OUT=$BUILD/fuzz

# The sources and libraries a target links besides its own file; one line per target.
sources_of() {
	case $1 in
	http1) echo userspace/http1.c ;;
	h2x) echo userspace/h2x.c userspace/hmsg.c userspace/buf.c userspace/http1.c -lnghttp2 ;;
	capsule) echo userspace/capsule.c userspace/masque.c userspace/http1.c ;;
	tunnel) echo userspace/h2mux.c userspace/buf.c userspace/http1.c userspace/addr.c -lnghttp2 ;;
	cache) echo userspace/cache_policy.c userspace/cache_key.c userspace/cache_store.c userspace/cache_text.c userspace/http1.c \
		userspace/hmsg.c userspace/buf.c userspace/siphash.c -lnghttp2 ;;
	cdisk) echo userspace/cache_disk.c userspace/cache_policy.c userspace/cache_key.c userspace/cache_store.c \
		userspace/http1.c userspace/hmsg.c userspace/buf.c userspace/siphash.c -lnghttp2 ;;
	etcdstate) echo userspace/etcd_state.c ;;
	top) echo -Itools tools/cli.c tools/top/hd.c tools/top/util.c userspace/addr.c userspace/policy.c userspace/log.c -lbpf ;;
	etcd) echo userspace/etcd.c userspace/etcd_merge.c $(pkg-config --libs libcurl jansson yaml-0.1) -lcrypto ;;
	config) echo userspace/config.c userspace/cfg_parse.c userspace/cfg_net.c userspace/cfg_http.c \
		userspace/cfg_tunnel.c userspace/config_print.c userspace/config_reload.c userspace/addr.c userspace/log.c \
		userspace/policy.c \
		-lyaml -lbpf ;;
	overlay) echo tools/ctl/overlay_parse.c tools/ctl/overlay_compile.c tools/ctl/overlay_check.c \
		tools/ctl/overlay_yaml.c userspace/etcd_merge.c "$(sources_of config)" ;;
	*) echo "" ;;
	esac
}

# How long a target runs unless FUZZ_SECONDS says (the soak runs them longer).
seconds_of() {
	echo 10
}

if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "SKIP: $CLANG not found (apt-get install clang libclang-rt-14-dev)"
	exit 77
fi
mkdir -p "$OUT/artifacts" || exit 1
# libFuzzer's runtime ships separately from clang on Debian (libclang-rt-N-dev). (Files
# of this run's own: tests/run.sh runs the targets side by side.)
probe=$OUT/probe-$$
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
	>"$probe.c"
if ! "$CLANG" -fsanitize=fuzzer,address,undefined "$probe.c" -o "$probe" >"$probe.log" 2>&1; then
	sed 's/^/    /' "$probe.log"
	rm -f "$probe" "$probe.c" "$probe.log"
	echo "SKIP: $CLANG cannot link libFuzzer (apt-get install libclang-rt-14-dev)"
	exit 77
fi
rm -f "$probe" "$probe.c" "$probe.log"

if [ $# -gt 0 ]; then
	names=("$@")
else
	names=()
	for f in tests/fuzz/fuzz_*.c; do
		[ -f "$f" ] || continue
		n=$(basename "$f" .c)
		names+=("${n#fuzz_}")
	done
fi
if [ ${#names[@]} -eq 0 ]; then
	echo "SKIP: no fuzz targets in tests/fuzz"
	exit 77
fi

rc=0
for name in "${names[@]}"; do
	src=tests/fuzz/fuzz_$name.c
	bin=$OUT/fuzz_$name
	corpus=$OUT/corpus/$name
	if [ ! -f "$src" ]; then
		echo "FAIL $name: no $src"
		rc=1
		continue
	fi
	echo "== $name: build"
	# shellcheck disable=SC2046 # word splitting of the source list is intended
	if ! "$CLANG" -std=gnu11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude -Iuserspace \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
		"$src" $(sources_of "$name") -o "$bin"; then
		echo "FAIL $name: build failed"
		rc=1
		continue
	fi
	mkdir -p "$corpus"
	if [ -d "tests/fuzz/corpus/$name" ]; then
		cp -f "tests/fuzz/corpus/$name"/* "$corpus"/ 2>/dev/null
	fi
	secs=${FUZZ_SECONDS:-$(seconds_of "$name")}
	echo "== $name: fuzz for ${secs}s on $(find "$corpus" -type f | wc -l) inputs"
	touch "$OUT/.start-$name"
	# UBSan reports abort (halt_on_error) so libFuzzer records them as crashes.
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
		"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$OUT/artifacts/$name-" "$corpus" >"$OUT/$name.log" 2>&1
	frc=$?
	grep -a -E '^(stat::number_of_executed_units|stat::new_units_added|Done [0-9]+ runs)' "$OUT/$name.log" | sed 's/^/    /'
	if [ $frc -ne 0 ]; then
		echo "FAIL $name: fuzzer exited $frc; log $OUT/$name.log"
		grep -a -E -m 20 'invariant broken|ERROR: |runtime error|SUMMARY|Test unit written' "$OUT/$name.log" | sed 's/^/    | /'
		find "$OUT/artifacts" -name "$name-*" -newer "$OUT/.start-$name" | while read -r a; do
			echo "    reproduce: $bin $a"
		done
		rc=1
	else
		echo "PASS $name"
	fi
done
exit $rc
