#!/bin/bash
# lint: the C code stays clean under the static analysis (make lint, tools/lint.sh), and
# the analysis still finds what it should:
#  1. make lint over userspace/, tools/, bpf/ and the tests' C reports nothing: cppcheck, and clang-tidy's
#     bugprone checks (LINT_TIDY_CHECKS='-clang-analyzer-*': 6 s; its analyzer takes about
#     5 minutes of 2 cores over the tree, too long for make test: `make lint` runs it);
#  2. each tool, with the project's settings, reports planted bugs (cppcheck an array
#     written past its end; clang-tidy a memset with swapped arguments and, its analyzer,
#     a use after free): a broken setting (.clang-tidy, tools/lint/cppcheck.h) that made a
#     tool check nothing fails here.
# The result does not depend on the build, so the sanitizer build's run is skipped. No
# root needed; nothing is started.
# test: serial (cppcheck and clang-tidy take both cores for up to 20 s)
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

require_cmd cppcheck clang-tidy
[ -r "$BUILD/steer.skel.h" ] || die "$BUILD/steer.skel.h is missing: run make first"
san_build && skip "lint does not depend on the build: checked once, in the normal build's run"
cd "$HERMES_SRC" || die "cannot cd to $HERMES_SRC"
TMP=$(mktemp -d "/tmp/hermes-test-$ID.XXXXXX") || die "mktemp failed" # common.sh's cleanup removes it

say "make lint over the tree: cppcheck, and clang-tidy without its analyzer"
out=$(LINT_TIDY_CHECKS='-clang-analyzer-*' make -s --no-print-directory lint BUILD="$BUILD" 2>&1) rc=$?
printf '%s\n' "$out"
assert_eq 0 "$rc" "make lint finds nothing (fix or suppress what it lists above)"
assert_match "$out" "cppcheck: [0-9]+\\+[0-9]+ files, 0 findings.*clang-tidy: [0-9]+ files, 0 findings" "... with both tools"

say "a planted bug is found by each tool"
cat >"$TMP/planted.c" <<'PLANTED'
/* planted.c: bugs that tests/e2e/lint.sh expects the analyzers to report */
#include <stdlib.h>
#include <string.h>

int planted_oob(void);
int planted_oob(void)
{
	int a[4];

	for (int i = 0; i <= 4; i++)
		a[i] = i;
	return a[0];
}

int planted_uaf(void);
int planted_uaf(void)
{
	int *p = malloc(sizeof(*p));

	if (!p)
		return 0;
	memset(p, sizeof(*p), 0);
	free(p);
	return *p;
}
PLANTED
# (tools/lint.sh's default flags: the planted file needs no skeleton)
out=$(BUILD=$TMP/build tools/lint.sh cppcheck "$TMP/planted.c" 2>&1) rc=$?
printf '%s\n' "$out"
assert_eq 1 "$rc" "cppcheck reports the planted bugs"
assert_match "$out" "planted.c:11:.*arrayIndexOutOfBounds" "cppcheck names the write past the end"
out=$(BUILD=$TMP/build tools/lint.sh clang-tidy "$TMP/planted.c" 2>&1) rc=$?
printf '%s\n' "$out"
assert_eq 1 "$rc" "clang-tidy reports the planted bugs"
assert_match "$out" "planted.c:22:.*bugprone-suspicious-memset-usage" "clang-tidy names the memset's swapped arguments"
assert_match "$out" "planted.c:24:.*clang-analyzer-unix.Malloc" "... and the analyzer the use after free"
pass
