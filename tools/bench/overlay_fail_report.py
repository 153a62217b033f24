"""overlay_fail_report.py: the failure phase's part of the overlay benchmark's report
(tools/bench/overlay_fail.sh writes the data, overlay_report.py calls failures()). Reads,
in DIR: fail_changes.tsv (the changes made around the etcd member's death, with its state:
all_up, member_down, rejoined), fail_applied.tsv (every node's applied revisions),
failures.tsv (KEY<TAB>VALUE: times in unix ms or ms, counts) and fail_flows.txt (CLIENT
GROUP SUMMARY: ovflows.py's last line; groups hold_dead, hold_other, new_after, new_other,
once). Judges each failure, a pass/fail line each."""
import os

from overlay_report import pct, propagation, read_applied, summary, tsv


def _flows(path):
    """the summaries by group: held (flows, ok, failed, sent, echoed), new (ok, failed, ms)"""
    g = {}
    for line in open(path):
        parts = line.rstrip("\n").split(" ", 2)
        if len(parts) < 3:
            continue
        c, group, summ = parts
        e = g.setdefault(group, {"clients": [], "flows": 0, "ok": 0, "failed": 0, "sent": 0, "echoed": 0,
                                 "ms_p50": [], "ms_max": 0, "errors": [], "unreadable": 0})
        e["clients"].append(c)
        got = summary(summ)
        if got:
            kind, v, errs = got
            for k in ("flows", "ok", "failed", "sent", "echoed") if kind == "held" else ("ok", "failed"):
                e[k] += v[k]
            if errs != "{}":
                e["errors"].append("%s: %s" % (c, errs))
            if kind == "new" and v["ms_p50"] is not None and v["ok"]:
                e["ms_p50"].append(v["ms_p50"])
                e["ms_max"] = max(e["ms_max"], v["ms_max"])
            continue
        if summ.strip() == "ok":
            e["ok"] += 1
        elif summ.startswith("failed"):
            e["failed"] += 1
            e["errors"].append("%s: %s" % (c, summ))
        else:
            e["unreadable"] += 1
            e["errors"].append("%s: unreadable: %s" % (c, summ))
    return g


def failures(d, cond):
    """(the failures' part of results.json, its markdown lines)"""
    kv = dict(line.rstrip("\n").split("\t", 1) for line in open(os.path.join(d, "failures.tsv")) if "\t" in line)
    changes = tsv(os.path.join(d, "fail_changes.tsv"))
    applied = read_applied(os.path.join(d, "fail_applied.tsv"))
    nodes = sorted(applied)
    per_change, _, overtaken, missing = propagation(changes, applied, nodes)
    flows = _flows(os.path.join(d, "fail_flows.txt"))
    empty = {"clients": [], "flows": 0, "ok": 0, "failed": 0, "sent": 0, "echoed": 0, "ms_p50": [],
             "ms_max": 0, "errors": [], "unreadable": 0}
    judged = []  # (name, passed, detail)

    def ms(v):
        return "n/a" if v is None else "%.0f ms" % v

    # ---- 1. the etcd member
    states = {}
    for st in ("all_up", "member_down", "rejoined"):
        lasts = [c["last_node_ms"] for c in per_change if c.get("state") == st]
        states[st] = {"changes": sum(1 for c in changes if c["state"] == st), "measured": len(lasts),
                      "last_node_p50_ms": pct(lasts, 50), "last_node_p99_ms": pct(lasts, 99),
                      "last_node_max_ms": max(lasts) if lasts else None}
    reached = len(per_change) == len(changes) and not missing and len(changes) > 0
    judged.append(("etcd member %s killed: each of the %d changes reached all %d nodes" % (
        kv.get("etcd_killed"), len(changes), len(nodes)), reached,
        "%d measured, %d missing (node, revision): %s" % (len(per_change), len(missing), missing[:5])))
    rejoined = kv.get("etcd_rejoined") == "1"
    judged.append(("etcd member %s restarted and rejoined (serves the last revision)" % kv.get("etcd_killed"),
                   rejoined, "in %s ms" % kv.get("etcd_rejoin_ms", "n/a")))

    # ---- 2. the relay host
    hd, ho = flows.get("hold_dead", empty), flows.get("hold_other", empty)
    na, no = flows.get("new_after", empty), flows.get("new_other", empty)
    dead, alt = kv.get("relay_killed"), kv.get("relay_alternate")
    reset = (kv.get("relay_reset_all") == "1" and hd["flows"] > 0 and hd["ok"] == 0
             and hd["failed"] == hd["flows"])
    judged.append(("relay %s killed: the %d held flows through it reset (ended, none hung)" % (dead, hd["flows"]),
                   reset, "all ended %s ms after the kill; %s" % (kv.get("relay_reset_ms", "n/a"),
                                                                 "; ".join(hd["errors"]) or "no errors")))
    other = (ho["flows"] > 0 and ho["ok"] == ho["flows"] and ho["failed"] == 0 and ho["sent"] == ho["echoed"]
             and not ho["errors"])
    judged.append(("the %d held flows through the other relays byte-exact across it" % ho["flows"], other,
                   "%d ok, %d failed, %d bytes sent, %d echoed%s" % (
                       ho["ok"], ho["failed"], ho["sent"], ho["echoed"],
                       "; " + "; ".join(ho["errors"]) if ho["errors"] else "")))
    alt_n = int(kv.get("relay_alternate_connects", "0"))
    failover = na["ok"] > 0 and na["failed"] == 0 and not na["errors"] and alt_n >= na["ok"]
    judged.append(("new flows from %s's clients (%s) after its death fail over to %s" % (
        dead, " ".join(na["clients"]), alt), failover,
        "%d completed, %d failed, p50 of the clients' medians %s, max %d ms; %d new tunnels through %s" % (
            na["ok"], na["failed"], ms(pct(na["ms_p50"], 50)), na["ms_max"], alt_n, alt)))
    unaffected = no["ok"] > 0 and no["failed"] == 0 and not no["errors"]
    judged.append(("new flows of the other clients (%s) across the failures" % " ".join(no["clients"]), unaffected,
                   "%d completed, %d failed, max %d ms" % (no["ok"], no["failed"], no["ms_max"])))

    # ---- 3. every etcd member
    alldown = None
    if "etcd_all_down_ms" in kv:
        once = flows.get("once", empty)
        exp = int(kv.get("etcd_all_expected", "0"))
        alldown = {"new_flows": once["ok"] + once["failed"], "new_ok": once["ok"],
                   "hermesd_alive": int(kv.get("etcd_all_hermesd_alive", "0")),
                   "at_revision": int(kv.get("etcd_all_at_revision", "0")), "hermesd_expected": exp}
        judged.append(("every etcd member killed: a new flow from each of the %d clients works" % len(once["clients"]),
                       once["ok"] > 0 and once["failed"] == 0 and not once["errors"],
                       "%d ok, %d failed%s" % (once["ok"], once["failed"],
                                               "; " + "; ".join(once["errors"]) if once["errors"] else "")))
        judged.append(("every etcd member killed: the %d running hermesd keep serving the last revision" % exp,
                       alldown["hermesd_alive"] == exp and alldown["at_revision"] == exp,
                       "%d alive, %d at it" % (alldown["hermesd_alive"], alldown["at_revision"])))

    ok = all(p for _, p, _ in judged)
    res = {"etcd_member": {"killed": kv.get("etcd_killed"), "was_leader": kv.get("etcd_leader_found") == "1",
                           "changes": len(changes), "reached_all": reached, "missing": missing,
                           "overtaken": overtaken, "by_state": states, "rejoined": rejoined,
                           "rejoin_ms": int(kv["etcd_rejoin_ms"]) if "etcd_rejoin_ms" in kv else None,
                           "per_change": per_change},
           "relay": {"killed": dead, "alternate": alt, "held_through": hd, "held_other": ho,
                     "reset_ms": int(kv["relay_reset_ms"]) if "relay_reset_ms" in kv else None,
                     "new_after": na, "new_other": no, "alternate_new_tunnels": alt_n,
                     "window_s": kv.get("relay_window_s")},
           "etcd_all_down": alldown,
           "judged": [{"what": w, "pass": p, "detail": x} for w, p, x in judged], "ok": ok}

    md = ["## Failures (after the measured phases)", "",
          "Load average during them %s at the start, %s at the end." % (
              cond.get("load_fail_start", "n/a"), cond.get("load_fail_end", "n/a")), "",
          "1. etcd member %s (%s) SIGKILLed before the third of %d route changes on the %s ms beat, "
          "restarted from its data directory after %d of them with it down; rejoined (serving the last "
          "revision) %s ms after its restart. Propagation to the last node, from the write's start:" % (
              kv.get("etcd_killed"), "the leader" if res["etcd_member"]["was_leader"] else "no leader found",
              len(changes), cond.get("interval_ms"), states["member_down"]["changes"],
              kv.get("etcd_rejoin_ms", "n/a")), "",
          "| state | changes | p50 | p99 | max |", "|---|---|---|---|---|"]
    for st, label in (("all_up", "all members up"), ("member_down", "member down"), ("rejoined", "after it rejoined")):
        s = states[st]
        md.append("| %s | %d | %s | %s | %s |" % (label, s["changes"], ms(s["last_node_p50_ms"]),
                                                  ms(s["last_node_p99_ms"]), ms(s["last_node_max_ms"])))
    md += ["",
           "2. relay host %s killed (hermesd SIGKILLed, its cable cut) with %d held flows through it and %d "
           "through the other relays; for %s s after it, new flows from its clients (each first waits the "
           "route's connect timeout on the dead relay) and from the others." % (
               dead, hd["flows"], ho["flows"], kv.get("relay_window_s")), ""]
    if alldown:
        md += ["3. every etcd member killed; held and new flows went on; then one new flow from each client.", ""]
    md += ["| | result | detail |", "|---|---|---|"]
    md += ["| %s | %s | %s |" % (w, "pass" if p else "**FAIL**", x.replace("|", "/")) for w, p, x in judged]
    md += ["", "Failures: %s." % ("every one survived as it should" if ok else "**at least one judged FAIL**")]
    return res, md
