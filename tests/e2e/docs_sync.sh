#!/bin/bash
# docs_sync: the help texts, the example config and the docs stay in step with the code.
# The actions and their map codes are read from the code's own tables (enum hermes_action
# in include/hermes/policy.h, action_names in userspace/policy.c), then:
#  1. `hermesd --help` names every action with its code ("NAME [CODE]");
#  2. `hermesctl --help`, etc/hermes.yaml and docs/policy.md name every action and give
#     its bpftool code as "CODE NAME" (as in "action (0 pass, 1 deny, ...)"), and
#     `hermes-top --help` names every action;
#  3. docs/policy.md lists every decision counter at its index (enum hermes_counter,
#     counter_names in policy.c);
#  4. every relative link in README.md and docs/*.md, and every docs/NAME.md that a help
#     text or etc/hermes.yaml points to, is a file of the repository;
#  5. README.md stays short (at most 260 lines);
#  6. nothing in the README, docs/, etc/ or the help texts points outside the repository
#     (DESIGN.md, shared/; the etcd keys PREFIX/shared/NAME are not that) or uses
#     /sys/fs/cgroup/unified, which a default host lacks.
# Every problem is listed before the test fails. No root needed; nothing is started.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

require_build
[ -x "$BUILD/hermes-top" ] || die "$BUILD/hermes-top is missing: run make first"
cd "$HERMES_SRC" || die "cannot cd to $HERMES_SRC"

PROBLEMS=()
problem() { PROBLEMS+=("$*"); printf 'PROBLEM: %s\n' "$*"; }

# one line, single spaces: checks see through line breaks and alignment
flat() { tr -s ' \t\n' '   '; }

# ---------------------------------------------------------------- the code's tables
declare -A CODE=()
while read -r name code; do
	CODE[$name]=$code
done < <(sed -n 's/^[[:space:]]*HERMES_ACT_\([A-Z]*\)[[:space:]]*=[[:space:]]*\([0-9]*\),.*/\1 \2/p' \
	include/hermes/policy.h)
[ ${#CODE[@]} -ge 5 ] || die "found ${#CODE[@]} actions in include/hermes/policy.h (enum hermes_action): the parser no longer matches the header"

declare -A NAME=()   # code -> name, from userspace/policy.c's action_names
while read -r enum name; do
	[ -n "${CODE[$enum]:-}" ] || { problem "userspace/policy.c names HERMES_ACT_$enum, which enum hermes_action lacks"; continue; }
	NAME[${CODE[$enum]}]=$name
done < <(sed -n '/action_names\[/,/^};/s/^[[:space:]]*\[HERMES_ACT_\([A-Z]*\)\][[:space:]]*=[[:space:]]*"\([a-z_]*\)",.*/\1 \2/p' \
	userspace/policy.c)
for enum in "${!CODE[@]}"; do
	[ -n "${NAME[${CODE[$enum]}]:-}" ] || problem "userspace/policy.c action_names has no name for HERMES_ACT_$enum"
done
say "actions in the code: $(for c in $(printf '%s\n' "${!NAME[@]}" | sort -n); do printf '%s=%s ' "${NAME[$c]}" "$c"; done)"

# decision counters: their slots in enum hermes_counter's order, their names in counter_names
COUNTER_ENUMS=$(sed -n '/^enum hermes_counter/,/^};/s/^[[:space:]]*HERMES_CNT_\([A-Z_]*\)\b.*/\1/p' include/hermes/policy.h |
	grep -vx MAX)
declare -A COUNTER_NAME=()
while read -r enum name; do
	COUNTER_NAME[$enum]=$name
done < <(sed -n '/counter_names\[/,/^};/s/^[[:space:]]*\[HERMES_CNT_\([A-Z_]*\)\][[:space:]]*=[[:space:]]*"\([a-z_]*\)",.*/\1 \2/p' \
	userspace/policy.c)
if [ -z "$COUNTER_ENUMS" ] || [ ${#COUNTER_NAME[@]} -eq 0 ]; then
	die "found no decision counters in include/hermes/policy.h (enum hermes_counter) or userspace/policy.c (counter_names)"
fi

# ---------------------------------------------------------------- the texts
# read by name below (${!var}), which shellcheck cannot follow
# shellcheck disable=SC2034
{
	HERMESD_HELP=$("$HERMESD_BIN" --help) || die "hermesd --help failed"
	HERMESCTL_HELP=$("$HERMESCTL_BIN" --help) || die "hermesctl --help failed"
	TOP_HELP=$("$BUILD/hermes-top" --help) || die "hermes-top --help failed"
	YAML=$(cat etc/hermes.yaml)
	POLICY_MD=$(cat docs/policy.md 2>/dev/null) || problem "docs/policy.md is missing"
}

hd_flat=$(printf '%s' "$HERMESD_HELP" | flat)
for c in "${!NAME[@]}"; do
	n=${NAME[$c]}
	case " $hd_flat " in *" $n [$c] "*) ;; *) problem "hermesd --help does not describe action '$n' as '$n [$c]'" ;; esac
	for src in "hermesctl --help:HERMESCTL_HELP" "etc/hermes.yaml:YAML" "docs/policy.md:POLICY_MD"; do
		label=${src%%:*} var=${src#*:}
		text=$(printf '%s' "${!var}" | flat)
		# the action's name as a word, and its code for bpftool as "CODE NAME"
		printf '%s' "$text" | grep -qE "(^|[^a-z_-])$n([^a-z_-]|$)" || problem "$label does not name action '$n'"
		printf '%s' "$text" | grep -qE "(^|[^0-9])$c $n([^a-z_-]|$)" || problem "$label does not give the bpftool code of '$n' as '$c $n'"
	done
done
# hermes-top shows the action of each flow: its help names them all
top_flat=$(printf '%s' "$TOP_HELP" | flat)
for c in "${!NAME[@]}"; do
	printf '%s' "$top_flat" | grep -qE "(^|[^a-z_-])${NAME[$c]}([^a-z_-]|$)" ||
		problem "hermes-top --help does not name action '${NAME[$c]}'"
done
# the bpftool table of docs/policy.md: one row per action, with its code
for c in "${!NAME[@]}"; do
	printf '%s\n' "$POLICY_MD" | grep -qE "^\| \`${NAME[$c]}\` \| $c \|" ||
		problem "docs/policy.md's action table has no row '| \`${NAME[$c]}\` | $c |'"
done
# docs/policy.md's counter table: one row per slot, "| INDEX | `name` |"
i=0
for enum in $COUNTER_ENUMS; do
	n=${COUNTER_NAME[$enum]:-}
	if [ -z "$n" ]; then
		problem "userspace/policy.c counter_names has no name for HERMES_CNT_$enum"
	else
		printf '%s\n' "$POLICY_MD" | grep -qE "^\| $i \| \`$n\` \|" ||
			problem "docs/policy.md's counter table has no row '| $i | \`$n\` |' (HERMES_CNT_$enum)"
	fi
	i=$((i + 1))
done

# ---------------------------------------------------------------- links
shopt -s nullglob
MD_FILES=(README.md docs/*.md)
nlinks=0
for f in "${MD_FILES[@]}"; do
	dir=$(dirname "$f")
	# inline links and images: ](target) or ](target "title"); skip URLs and anchors
	while read -r target; do
		target=${target%% *}
		target=${target%%#*}
		case $target in ''|http://*|https://*|mailto:*) continue ;; esac
		nlinks=$((nlinks + 1))
		[ -e "$dir/$target" ] || problem "$f links to $target, which does not exist ($dir/$target)"
	done < <(grep -oE '\]\([^)]+\)' "$f" | sed 's/^](//; s/)$//')
done
say "checked $nlinks relative links in ${#MD_FILES[@]} markdown files"
for src in "hermesd --help:HERMESD_HELP" "hermesctl --help:HERMESCTL_HELP" "hermes-top --help:TOP_HELP" "etc/hermes.yaml:YAML"; do
	label=${src%%:*} var=${src#*:}
	for doc in $(printf '%s' "${!var}" | grep -oE 'docs/[A-Za-z0-9_.-]+\.md' | sort -u); do
		[ -f "$doc" ] || problem "$label points to $doc, which does not exist"
	done
	printf '%s' "${!var}" | grep -qE "README[,'\"]|README's" && problem "$label points to a README section; point to a docs/ page instead"
done

# ---------------------------------------------------------------- length and references
lines=$(wc -l <README.md)
[ "$lines" -le 260 ] || problem "README.md has $lines lines (at most 260: move detail into docs/)"
say "README.md: $lines lines"

FILES=(README.md etc/*)
for f in docs/*; do [ -f "$f" ] && FILES+=("$f"); done   # docs/_drafts/ is the lead's inbox
# the overlay's etcd keys (PREFIX/shared/NAME, /hermes/lab/shared/base) are not that shared/
not_etcd() { sed -E 's#(PREFIX|/hermes(/[A-Za-z0-9_.-]+)*)/shared/#(etcd key)#g'; }
for pat in DESIGN.md shared/ /sys/fs/cgroup/unified; do
	while IFS= read -r hit; do
		[ -n "$hit" ] && problem "$hit: mentions '$pat'"
	done < <(grep -nF -- "$pat" "${FILES[@]}" 2>/dev/null | not_etcd | grep -F -- "$pat")
	for src in "hermesd --help:HERMESD_HELP" "hermesctl --help:HERMESCTL_HELP" "hermes-top --help:TOP_HELP"; do
		label=${src%%:*} var=${src#*:}
		case $(printf '%s' "${!var}" | not_etcd) in *"$pat"*) problem "$label mentions '$pat'" ;; esac
	done
done

if [ ${#PROBLEMS[@]} -gt 0 ]; then
	die "${#PROBLEMS[@]} place(s) out of step with the code (listed above as PROBLEM lines)"
fi
pass "help texts, etc/hermes.yaml and docs name all ${#NAME[@]} actions with their codes; links resolve; README is $lines lines"
