#!/bin/bash
# layers: hermesd's modules keep to their layers (docs/architecture.md, "hermesd, the
# user-space layers"). From the built objects (nm: which file defines each symbol, which
# file uses it), it checks that
#  1. no two modules call each other, directly or round a cycle, except a module and its
#     own helpers (the groups below: a new file joins its module's group here);
#  2. only loop.c and main.c include loop.h (a module needs ring.h, not the loop that
#     calls it);
#  3. no file under userspace/ or tools/ (the benchmark's drivers aside) passes 900 lines.
# Every problem is listed before the test fails. No root needed; nothing is started.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

require_build
cd "$HERMES_SRC" || die "cannot cd to $HERMES_SRC"
OBJ=$BUILD/obj/userspace
[ -d "$OBJ" ] || die "$OBJ is missing: run make first"
command -v nm >/dev/null || skip "nm (binutils) is not installed"

# module=file,file,...: a module and its own helpers, which may call each other
GROUPS_SPEC='flow=conn,tunnel,splice,kpath
admin=admin,admin_metrics
sess=sess,sess_accept,sess_client,sess_h1,sess_h2,sess_h2cb,sess_h2rx,sess_h2pool
http=http,hreq,exch,exch_resp,hup,h2up,h2up_conn,h2dn,hcache,hfill,hdisk,hdisk_worker
cache=cache_policy,cache_key,cache_store,cache_text
config=config,cfg_parse,cfg_net,cfg_tunnel,cfg_http,config_print,config_reload'

PROBLEMS=()
problem() { PROBLEMS+=("$*"); printf 'PROBLEM: %s\n' "$*"; }

while IFS= read -r line; do
	problem "$line"
done < <(GROUPS_SPEC="$GROUPS_SPEC" OBJ="$OBJ" /usr/bin/python3 - <<'EOF'
import collections, os, subprocess, sys
obj = os.environ["OBJ"]
files = sorted(f[:-2] for f in os.listdir("userspace") if f.endswith(".c"))
group = {}
for line in os.environ["GROUPS_SPEC"].split("\n"):
    name, mods = line.split("=")
    for m in mods.split(","):
        group[m] = name
def nm(f, flag):
    out = subprocess.run(["nm", flag, os.path.join(obj, f + ".o")], capture_output=True, text=True)
    if out.returncode:
        print(f"nm {f}.o failed: {out.stderr.strip()}")
        sys.exit(0)
    return [l.split() for l in out.stdout.splitlines()]
defs = {}
for f in files:
    for p in nm(f, "--defined-only"):
        if len(p) == 3 and p[1] in "TDBR":
            defs[p[2]] = f
edges = collections.defaultdict(set)  # group -> group, with an example
why = {}
for f in files:
    for p in nm(f, "--undefined-only"):
        d = defs.get(p[-1])
        if d and d != f:
            a, b = group.get(f, f), group.get(d, d)
            if a != b:
                edges[a].add(b)
                why.setdefault((a, b), f"{f}.c calls {p[-1]} ({d}.c)")
# strongly connected components (Tarjan)
index, low, stack, on, comps, n = {}, {}, [], set(), [], [0]
sys.setrecursionlimit(10000)
def visit(v):
    index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
    for w in edges[v]:
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        c = []
        while True:
            w = stack.pop(); on.discard(w); c.append(w)
            if w == v:
                break
        comps.append(c)
for v in sorted(set(edges) | {w for s in edges.values() for w in s}):
    if v not in index:
        visit(v)
for c in comps:
    if len(c) > 1:
        ex = "; ".join(why[(a, b)] for a in sorted(c) for b in sorted(c) if (a, b) in why)
        print(f"modules {', '.join(sorted(c))} call each other round a cycle: {ex}")
EOF
)

for f in userspace/*.c; do
	case $f in userspace/loop.c | userspace/main.c) continue ;; esac
	grep -q '^#include "loop.h"' "$f" && problem "$f includes loop.h: include ring.h for the loop's primitives"
done
while read -r n f; do
	[ "$f" = total ] && continue
	[ "$n" -gt 900 ] && problem "$f has $n lines: split it along a seam (the bound is about 900)"
done < <(find userspace tools -name '*.[ch]' -not -path 'tools/bench/*' -print0 | xargs -0 wc -l)

if [ ${#PROBLEMS[@]} -gt 0 ]; then
	die "${#PROBLEMS[@]} problem(s), listed above"
fi
pass "modules keep to their layers; loop.h only in loop.c and main.c; no file over 900 lines"
