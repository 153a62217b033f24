"""overlay_report.py: the report of tools/bench/overlay.sh (make bench-overlay). Reads, in
DIR: changes.tsv (per route change: generation, revision, write start and end, unix ms),
applied.tsv (per node and revision: the time of its "etcd: reloaded" log line),
idle.tsv (per hermesd: RSS, CPU time over the idle window, that of its watch thread),
flows.txt (ovflows.py's summaries) and conditions.tsv, and the failure phase's files when
there (overlay_fail_report.py); writes DIR/results.md and DIR/results.json. Exit 1 when a
change did not reach every node, a flow failed or a failure was not survived as it should.
Usage: overlay_report.py DIR"""
import datetime
import json
import os
import re
import sys


def pct(vals, p):
    """the p-th percentile, nearest rank (p99 of 50 values is the largest but none)"""
    s = sorted(vals)
    if not s:
        return None
    k = max(0, min(len(s) - 1, -(-p * len(s) // 100) - 1))
    return s[k]


def tsv(path):
    with open(path) as f:
        head = f.readline().rstrip("\n").split("\t")
        return [dict(zip(head, line.rstrip("\n").split("\t"))) for line in f if line.strip()]


def unix_ms(iso):
    d = datetime.datetime.strptime(iso.rstrip("Z"), "%Y-%m-%dT%H:%M:%S.%f")
    return d.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000.0


def summary(line):
    """ovflows.py's last line: ("held", {flows, ok, failed, sent, echoed}, errors) for hold,
    ("new", {ok, failed, ms_p50, ms_max}, errors) for churn (the times None when not
    printed), errors being "{}" when there were none; None for any other line"""
    m = re.search(r"flows=(\d+) ok=(\d+) failed=(\d+) sent=(\d+) echoed=(\d+) errors=(\{.*?\})", line)
    if m:
        return "held", dict(zip(("flows", "ok", "failed", "sent", "echoed"), map(int, m.groups()[:5]))), m.group(6)
    m = re.search(r"new_flows=(\d+) failed=(\d+) errors=(\{.*?\})(?: ms_p50=(\d+) ms_max=(\d+))?", line)
    if m:
        return "new", {"ok": int(m.group(1)), "failed": int(m.group(2)),
                       "ms_p50": int(m.group(4)) if m.group(4) else None,
                       "ms_max": int(m.group(5)) if m.group(5) else None}, m.group(3)
    return None


def propagation(changes, applied, nodes):
    """per change (rows of changes.tsv): when each node applied it, from the write's start;
    a node that built only a newer revision had it once that one applied (overtaken)"""
    per_change, per_node_all, overtaken, missing = [], [], 0, []
    for c in changes:
        rev, t0, t1 = int(c["revision"]), float(c["write_start_ms"]), float(c["write_end_ms"])
        lat = {}
        for n in nodes:
            revs = applied[n]
            if rev in revs:
                lat[n] = revs[rev] - t0
            else:
                # overtaken: the node built only a newer revision (documents are whole);
                # it had this change once that one applied
                later = [r for r in revs if r > rev]
                if later:
                    overtaken += 1
                    lat[n] = revs[min(later)] - t0
                else:
                    missing.append((n, rev))
        if len(lat) < len(nodes) or not lat:
            continue
        last = max(lat.values())
        per_change.append({"generation": int(c["generation"]), "revision": rev, "write_ms": t1 - t0,
                           "last_node_ms": last, "last_node_from_ack_ms": last - (t1 - t0),
                           "last_node": max(lat, key=lat.get)})
        if "state" in c:
            per_change[-1]["state"] = c["state"]
        per_node_all += list(lat.values())
    return per_change, per_node_all, overtaken, missing


def read_applied(path):
    applied = {}  # node -> {revision: ms}
    for r in tsv(path):
        applied.setdefault(r["node"], {})[int(r["revision"])] = unix_ms(r["applied"])
    return applied


def main():
    d = sys.argv[1]
    cond = dict(line.rstrip("\n").split("\t", 1) for line in open(os.path.join(d, "conditions.tsv")))
    changes = tsv(os.path.join(d, "changes.tsv"))
    applied = read_applied(os.path.join(d, "applied.tsv"))
    nodes = sorted(applied)
    ok = True

    per_change, per_node_all, overtaken, missing = propagation(changes, applied, nodes)
    if len(per_change) < len(changes) or missing:
        ok = False

    lasts = [c["last_node_ms"] for c in per_change]
    acks = [c["last_node_from_ack_ms"] for c in per_change]
    writes = [c["write_ms"] for c in per_change]
    res = {
        "conditions": cond,
        "propagation": {
            "changes": len(changes), "measured": len(per_change), "nodes": len(nodes),
            "last_node_p50_ms": pct(lasts, 50), "last_node_p99_ms": pct(lasts, 99),
            "last_node_max_ms": max(lasts) if lasts else None,
            "last_node_from_ack_p50_ms": pct(acks, 50), "last_node_from_ack_p99_ms": pct(acks, 99),
            "any_node_p50_ms": pct(per_node_all, 50), "any_node_p99_ms": pct(per_node_all, 99),
            "write_p50_ms": pct(writes, 50), "write_p99_ms": pct(writes, 99),
            "overtaken": overtaken, "missing": missing,
            "target_p50_met": bool(lasts) and pct(lasts, 50) <= 100,
            "target_p99_met": bool(lasts) and pct(lasts, 99) <= 500,
            "per_change": per_change,
        },
    }

    # flows
    held = {"flows": 0, "ok": 0, "failed": 0, "sent": 0, "echoed": 0}
    new = {"ok": 0, "failed": 0}
    errors = []
    for line in open(os.path.join(d, "flows.txt")):
        got = summary(line)
        if not got:
            errors.append("unreadable: " + line.strip())
            continue
        kind, v, errs = got
        tot = held if kind == "held" else new
        for k in tot:
            tot[k] += v[k]
        if errs != "{}":
            errors.append(line.strip())
    flows_ok = (held["flows"] == int(cond["flows"]) and held["failed"] == 0 and held["ok"] == held["flows"]
                and held["sent"] == held["echoed"] and new["failed"] == 0 and new["ok"] > 0 and not errors)
    ok = ok and flows_ok
    res["flows"] = {"held": held, "new": new, "errors": errors, "zero_failed": flows_ok}

    # idle
    idle = tsv(os.path.join(d, "idle.tsv"))
    ctl = [r for r in idle if r["node"] == "ctl"]
    idle = [r for r in idle if r["node"] != "ctl"]
    rows = []
    for r in idle + ctl:
        secs = float(r["seconds"])
        rows.append({"node": r["node"], "rss_kb": int(r["rss_kb"] or 0), "threads": int(r["threads"]),
                     "cpu_pct": 100.0 * int(r["cpu_ns"]) / 1e9 / secs,
                     "watch_threads": int(r["watch_threads"]),
                     "watch_cpu_pct": 100.0 * int(r["watch_cpu_ns"]) / 1e9 / secs})
    ctl_row = rows.pop() if ctl else None
    rss = [r["rss_kb"] for r in rows]
    res["idle"] = {
        "seconds": float(idle[0]["seconds"]) if idle else 0,
        "rss_kb_median": pct(rss, 50), "rss_kb_max": max(rss) if rss else None,
        "cpu_pct_mean": sum(r["cpu_pct"] for r in rows) / len(rows) if rows else None,
        "cpu_pct_max": max(r["cpu_pct"] for r in rows) if rows else None,
        "watch_cpu_pct_mean": sum(r["watch_cpu_pct"] for r in rows) / len(rows) if rows else None,
        "watch_cpu_pct_max": max(r["watch_cpu_pct"] for r in rows) if rows else None,
        "per_node": rows,
        "without_etcd": ctl_row,
    }
    fail_md = []
    if os.path.exists(os.path.join(d, "failures.tsv")):
        from overlay_fail_report import failures  # (it imports this module's helpers)
        res["failures"], fail_md = failures(d, cond)
        ok = ok and res["failures"]["ok"]
    res["ok"] = ok
    with open(os.path.join(d, "results.json"), "w") as f:
        json.dump(res, f, indent=1)

    p, fl, i = res["propagation"], res["flows"], res["idle"]

    def ms(v):
        return "n/a" if v is None else "%.0f ms" % v

    def met(b):
        return "met" if b else "**not met**"

    md = [
        "# Overlay benchmark: route changes through etcd to %s hermesd" % cond["hosts"], "",
        "%s. %s; writer: %s; %s changes, one every %s ms; %s held flows (1 KiB echoed every %s s "
        "each) plus new flows on every client. %s cores; load average (1, 5, 15 min) at the start %s, "
        "after the changes %s, at the end %s. Build %s, commit %s; %s." % (
            cond["date"], cond["topology"], cond["writer"], cond["changes"], cond["interval_ms"],
            cond["flows"], cond["flow_interval_s"], cond["cores"], cond["load_start"],
            cond["load_changes"], cond["load_end"], cond["build"], cond["commit"], cond["etcd"]), "",
        "## Propagation (from the start of the write to the node's \"etcd: reloaded\" log line)", "",
        "| | p50 | p99 | max | target |", "|---|---|---|---|---|",
        "| last node of each change | %s | %s | %s | p50 <= 100 ms: %s; p99 <= 500 ms: %s |" % (
            ms(p["last_node_p50_ms"]), ms(p["last_node_p99_ms"]), ms(p["last_node_max_ms"]),
            met(p["target_p50_met"]), met(p["target_p99_met"])),
        "| last node, from the write's acknowledgement | %s | %s | | |" % (
            ms(p["last_node_from_ack_p50_ms"]), ms(p["last_node_from_ack_p99_ms"])),
        "| any node (every node of every change) | %s | %s | | |" % (ms(p["any_node_p50_ms"]), ms(p["any_node_p99_ms"])),
        "| the write itself (the writer's process, start to exit) | %s | %s | | |" % (
            ms(p["write_p50_ms"]), ms(p["write_p99_ms"])), "",
        "%d of %d changes measured on %d nodes; %d node-changes overtaken by the next revision before "
        "they were built (counted at that one's apply); %d missing; %s watch reconnects." % (
            p["measured"], p["changes"], p["nodes"], p["overtaken"], len(p["missing"]), cond["watch_reconnects"]), "",
        "## Flows during the changes", "",
        "Held: %d flows, %d completed, %d failed, %d bytes sent and %d echoed byte-exact. New flows: %d "
        "completed, %d failed. %s" % (
            fl["held"]["flows"], fl["held"]["ok"], fl["held"]["failed"], fl["held"]["sent"], fl["held"]["echoed"],
            fl["new"]["ok"], fl["new"]["failed"],
            "Zero failed or corrupted: met." if fl["zero_failed"] else "**Failures:** " + "; ".join(fl["errors"])), "",
        "## hermesd at idle (%.0f s with no traffic and no changes)" % i["seconds"], "",
        "RSS median %s KiB, max %s KiB; CPU per hermesd mean %.3f %%, max %.3f %% of a core; its etcd watch "
        "thread mean %.4f %%, max %.4f %%." % (
            i["rss_kb_median"], i["rss_kb_max"], i["cpu_pct_mean"] or 0, i["cpu_pct_max"] or 0,
            i["watch_cpu_pct_mean"] or 0, i["watch_cpu_pct_max"] or 0), "",
    ]
    if ctl_row:
        md += ["For comparison, the same hermesd (c1's document) from a file, without etcd: RSS %d KiB, "
               "%d threads, CPU %.3f %%." % (ctl_row["rss_kb"], ctl_row["threads"], ctl_row["cpu_pct"]), ""]
    md += ["| node | RSS KiB | threads | CPU % | watch CPU % |", "|---|---|---|---|---|"]
    md += ["| %s | %d | %d | %.3f | %s |" % (r["node"], r["rss_kb"], r["threads"], r["cpu_pct"],
                                             "%.4f" % r["watch_cpu_pct"] if r["watch_threads"] == 1 else
                                             "n/a (%d threads in poll)" % r["watch_threads"]) for r in rows]
    md += fail_md
    with open(os.path.join(d, "results.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
