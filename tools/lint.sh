#!/bin/bash
# lint.sh: the static analysis of Hermes' C code (make lint): cppcheck and clang-tidy over
# userspace/, tools/, bpf/ and the tests' C (tests/unit, fuzz, bin, bpf), with the project's
# settings (.clang-tidy, tools/lint/cppcheck.supp, tools/lint/cppcheck.h). Exits 1 on any
# finding, 2 when a tool is missing or fails to run. Quiet by default (a line per finding,
# then one summary line);
# V=1 also prints each tool's commands, and clang-tidy's notes (the analyzer's path to a
# finding) and code.
#   tools/lint.sh                   both tools over everything
#   tools/lint.sh cppcheck          one tool (cppcheck or clang-tidy)
#   tools/lint.sh clang-tidy FILE.. clang-tidy on some files only
# The Makefile passes, from its own flags (so that the tools see what the compiler sees):
#   LINT_CFLAGS      user space: -std, -D and -I of CFLAGS (the -I of $BUILD: the skeletons)
#   LINT_BPF_CFLAGS  the BPF programs: BPF_CFLAGS
# and BUILD, where clang-tidy's compile_commands.json and cppcheck's cache go
# ($BUILD/lint). LINT_JOBS: files checked at once (default: one per core).
# LINT_TIDY_CHECKS: checks to add to (or, with a -, take from) .clang-tidy's, e.g.
# '-clang-analyzer-*': clang-tidy without its analyzer, 6 s instead of 5 minutes over the
# tree (tests/e2e/lint.sh).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2
BUILD=${BUILD:-build}
LINT_CFLAGS=${LINT_CFLAGS:--std=gnu11 -D_GNU_SOURCE -Iinclude -Iuserspace -I$BUILD}
LINT_BPF_CFLAGS=${LINT_BPF_CFLAGS:--g -O2 -target bpf -D__BPF__ -D__TARGET_ARCH_x86 -Iinclude -Ibpf -I$BUILD}
LINT_JOBS=${LINT_JOBS:-$(nproc)}
LINT_TIDY_CHECKS=${LINT_TIDY_CHECKS:-}
CPPCHECK=${CPPCHECK:-cppcheck}
CLANG_TIDY=${CLANG_TIDY:-clang-tidy}
V=${V:-}
OUT=$BUILD/lint

say() { printf 'lint: %s\n' "$*"; }

tools=()
files=()
for a in "$@"; do
	case $a in
	cppcheck | clang-tidy) tools+=("$a") ;;
	-h | --help)
		sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	-*) say "unknown option $a (see tools/lint.sh --help)" >&2; exit 2 ;;
	*) files+=("$a") ;;
	esac
done
[ ${#tools[@]} -gt 0 ] || tools=(cppcheck clang-tidy)
if [ ${#files[@]} -eq 0 ]; then
	# the tests' C too: a bug in a test can hide one in the product
	files=(userspace/*.c tools/*.c tools/ctl/*.c tools/top/*.c tools/bench/*.c bpf/*.bpf.c
		tests/unit/*.c tests/fuzz/*.c tests/bin/*.c tests/bpf/*.bpf.c)
fi
mkdir -p "$OUT" || exit 2

findings=0
summary=()

# cppcheck: every file at once (it shares what it learnt of the headers). Not given
# $BUILD: the skeleton headers embed the BPF objects as strings (steer.skel.h is 3 MB),
# which took cppcheck 7 minutes instead of 40 s for the same findings (2026-12-07).
# --cppcheck-build-dir keeps each file's results until it or a header it reads changes.
run_cppcheck() {
	local -a user=() bpf=() common out fl
	local f n
	command -v "$CPPCHECK" >/dev/null || { say "$CPPCHECK is not installed (make deps)" >&2; return 2; }
	for f in "${files[@]}"; do
		case $f in *.bpf.c) bpf+=("$f") ;; *.c) user+=("$f") ;; esac
	done
	mkdir -p "$OUT/cppcheck" || return 2
	# shellcheck disable=SC2054 # cppcheck's list takes commas
	common=(--enable=warning,performance,portability --inline-suppr --std=c11 --quiet -j "$LINT_JOBS"
		--suppressions-list=tools/lint/cppcheck.supp --include=tools/lint/cppcheck.h
		--template='{file}:{line}:{column}: {severity}: {message} [{id}]')
	: >"$OUT/cppcheck.txt"
	if [ ${#user[@]} -gt 0 ]; then
		mapfile -t fl < <(flags_for_cppcheck "$LINT_CFLAGS")
		out=("${common[@]}" --cppcheck-build-dir="$OUT/cppcheck" "${fl[@]}" -Itools "${user[@]}")
		[ -n "$V" ] && say "$CPPCHECK ${out[*]}"
		"$CPPCHECK" "${out[@]}" >>"$OUT/cppcheck.txt" 2>&1 || { cat "$OUT/cppcheck.txt" >&2; say "cppcheck failed" >&2; return 2; }
	fi
	if [ ${#bpf[@]} -gt 0 ]; then
		mkdir -p "$OUT/cppcheck-bpf" || return 2
		mapfile -t fl < <(flags_for_cppcheck "$LINT_BPF_CFLAGS")
		out=("${common[@]}" --cppcheck-build-dir="$OUT/cppcheck-bpf" "${fl[@]}" "${bpf[@]}")
		[ -n "$V" ] && say "$CPPCHECK ${out[*]}"
		"$CPPCHECK" "${out[@]}" >>"$OUT/cppcheck.txt" 2>&1 || { cat "$OUT/cppcheck.txt" >&2; say "cppcheck failed" >&2; return 2; }
	fi
	n=$(grep -cE '^[^ ]+:[0-9]+:[0-9]+: [a-z]+: ' "$OUT/cppcheck.txt")
	cat "$OUT/cppcheck.txt"
	summary+=("cppcheck: ${#user[@]}+${#bpf[@]} files, $n findings")
	findings=$((findings + n))
}

# flags_for_cppcheck FLAGS: the -D and -I of FLAGS but $BUILD's (see above), -std as c11
flags_for_cppcheck() {
	local f
	for f in $1; do
		case $f in
		-I"$BUILD" | -I"$BUILD"/) ;;
		-D* | -I*) printf '%s\n' "$f" ;;
		esac
	done
}

# clang-tidy: one process per file, LINT_JOBS at once, from $OUT/compile_commands.json
# (written here from LINT_CFLAGS / LINT_BPF_CFLAGS: no need for bear or a clean build).
run_clang_tidy() {
	local f sep="" n cf
	command -v "$CLANG_TIDY" >/dev/null || { say "$CLANG_TIDY is not installed (make deps)" >&2; return 2; }
	{
		echo '['
		for f in "${files[@]}"; do
			case $f in
			*.bpf.c) cf=$LINT_BPF_CFLAGS ;;
			*) cf="$LINT_CFLAGS -Itools" ;;
			esac
			printf '%s{"directory": "%s", "file": "%s", "command": "clang %s -c %s"}\n' "$sep" "$ROOT" "$f" "$cf" "$f"
			sep=,
		done
		echo ']'
	} >"$OUT/compile_commands.json"
	rm -rf "$OUT/tidy" && mkdir -p "$OUT/tidy" || return 2
	# each file's output in its own file, printed in order below; the exit code of a file
	# whose run failed (a compile error: clang-tidy's own exit code is 1 on an error) goes
	# to FILE.rc
	export CLANG_TIDY OUT V LINT_TIDY_CHECKS
	# shellcheck disable=SC2016 # expanded by the inner bash
	printf '%s\n' "${files[@]}" | xargs -P "$LINT_JOBS" -I{} bash -c '
		f={}; o=$OUT/tidy/${f//\//_}
		[ -n "$V" ] && printf "lint: %s %s\n" "$CLANG_TIDY" "$f" >&2
		"$CLANG_TIDY" -p "$OUT" --config-file=.clang-tidy ${LINT_TIDY_CHECKS:+--checks="$LINT_TIDY_CHECKS"} --quiet "$f" >"$o.txt" 2>"$o.err" || echo $? >"$o.rc"'
	: >"$OUT/clang-tidy.txt"
	for f in "${files[@]}"; do
		o=$OUT/tidy/${f//\//_}
		if [ -e "$o.rc" ] && ! grep -qE '^[^ ]+:[0-9]+:[0-9]+: (warning|error): ' "$o.txt"; then
			cat "$o.err" >&2
			say "clang-tidy failed on $f" >&2
			return 2
		fi
		[ -n "$V" ] && grep -v 'warnings generated\|^Suppressed\|^Use -header-filter' "$o.err" >&2
		sed "s|^$ROOT/||" "$o.txt" >>"$OUT/clang-tidy.txt"
	done
	# a finding in a header comes once per file including it: each finding once (with
	# V=1, clang-tidy's notes, the analyzer's path to it, and the code). Not those in
	# $BUILD's generated code (the analyzer reports a header's finding when its path
	# starts in our file, whatever HeaderFilterRegex says): the skeletons' "leak" on
	# an error is freed by libbpf's bpf_object__destroy_skeleton, which it cannot see.
	gen=${BUILD#"$ROOT"/}
	if [ -n "$V" ]; then
		cat "$OUT/clang-tidy.txt"
	else
		findings_of "$OUT/clang-tidy.txt" | awk '!seen[$0]++'
	fi
	n=$(findings_of "$OUT/clang-tidy.txt" | sort -u | wc -l)
	summary+=("clang-tidy: ${#files[@]} files, $n findings")
	findings=$((findings + n))
}

# findings_of FILE: clang-tidy's finding lines in FILE but those in $BUILD (gen)
findings_of() {
	grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error): ' "$1" | grep -v "^$gen/" || true
}

for t in "${tools[@]}"; do
	s=$(date +%s%N)
	case $t in
	cppcheck) run_cppcheck ;;
	clang-tidy) run_clang_tidy ;;
	esac
	rc=$?
	[ $rc = 0 ] || exit $rc
	summary[-1]="${summary[-1]} ($(( ($(date +%s%N) - s) / 1000000000 )) s)"
done
line=$(IFS=';'; echo "${summary[*]}")
say "${line//;/; }"
[ $findings = 0 ] || { say "$findings findings: fix them, or suppress a false one (how: .clang-tidy, tools/lint/cppcheck.supp)" >&2; exit 1; }
exit 0
