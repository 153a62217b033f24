#!/usr/bin/python3
"""report.py: the soak's verdict and report (tests/soak/soak.sh writes what it reads).

  report.py --out DIR --seconds S --warmup W --t-start MS --t-end MS --rss-drift-pct P
            --fuzz RC --load-rc RC

Reads DIR/flows.jsonl (one line per flow, tests/soak/flows.py), faults.tsv (KIND START_MS
END_MS DETAIL), samples.tsv (every hermesd's RSS and descriptors over time),
quiet-base.tsv and quiet-end.tsv (the quiet points) and server-stats.json; writes
report.md, report.json, summary.txt (first line: the one-line verdict) and soak.png
(gnuplot). Exit 0 when every criterion holds, 1 otherwise.

A failed flow is "expected" when it was open during a fault that can touch its path
(AFFECTS), or opened within GRACE_MS after it ended; corrupted bytes (corrupt-down, corrupt-up, extra) and
clean closes short of the flow's bytes (eof-short, lost-up: a truncation the application
would take for the whole) are never expected."""
import argparse
import collections
import json
import os
import statistics
import subprocess
import sys

AFFECTS = {"peer-kill": {"tunnel"}, "cut-rc": {"tunnel"}, "cut-ac": {"proxy", "http-get", "http-post"}, "reload": set()}
GRACE_MS = 3000  # a flow opened just as a fault ended may still meet it
CORRUPT = {"corrupt-down", "corrupt-up", "extra"}
TRUNCATED = {"eof-short", "lost-up"}
JUDGED = ("a", "r2", "c")  # R1 is restarted every cycle


def read_tsv(path):
    try:
        with open(path) as f:
            lines = [ln.rstrip("\n").split("\t") for ln in f if ln.strip()]
    except FileNotFoundError:
        return []
    if lines and lines[0][0] in ("t_ms", "name"):
        head = lines.pop(0)
        return [dict(zip(head, ln)) for ln in lines]
    return lines


def mib(n):
    return "%.1f MiB" % (n / 1048576)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seconds", type=int, required=True)
    ap.add_argument("--warmup", type=int, required=True)
    ap.add_argument("--t-start", type=int, required=True)
    ap.add_argument("--t-end", type=int, required=True)
    ap.add_argument("--rss-drift-pct", type=float, default=10)
    ap.add_argument("--fuzz", default="skipped")
    ap.add_argument("--load-rc", default="0")
    a = ap.parse_args()
    d = a.out

    flows = []
    with open(os.path.join(d, "flows.jsonl")) as f:
        for ln in f:
            if ln.strip():
                flows.append(json.loads(ln))
    faults = [{"kind": r[0], "start": int(r[1]), "end": int(r[2]), "detail": r[3] if len(r) > 3 else ""}
              for r in read_tsv(os.path.join(d, "faults.tsv"))]
    samples = read_tsv(os.path.join(d, "samples.tsv"))
    quiet = {lab: {r["name"]: r for r in read_tsv(os.path.join(d, "quiet-%s.tsv" % lab))} for lab in ("base", "end", "closed")}
    try:
        with open(os.path.join(d, "server-stats.json")) as f:
            server = json.load(f)
    except (FileNotFoundError, ValueError):
        server = {}

    # ---- flows and failures
    kinds = collections.OrderedDict((k, {"flows": 0, "ok": 0, "failed": 0, "moved": 0})
                                    for k in ("proxy", "tunnel", "http-get", "http-post"))
    causes = collections.Counter()   # (class, kind, cause, fault) -> n
    examples = {}
    for fl in flows:
        k = kinds.setdefault(fl["k"], {"flows": 0, "ok": 0, "failed": 0, "moved": 0})
        k["flows"] += 1
        k["moved"] += fl.get("moved", 0)
        if fl["ok"]:
            k["ok"] += 1
            continue
        k["failed"] += 1
        cause = fl["cause"]
        hit = sorted({ft["kind"] for ft in faults if fl["k"] in AFFECTS.get(ft["kind"], ())
                      and fl["t0"] <= ft["end"] + GRACE_MS and fl["t1"] >= ft["start"]})
        if cause in CORRUPT:
            cls = "corrupted"
        elif cause in TRUNCATED:
            cls = "truncated"
        elif hit:
            cls = "expected"
        else:
            cls = "unexpected"
        key = (cls, fl["k"], cause, "+".join(hit) or "-")
        causes[key] += 1
        examples.setdefault(key, "flow %d (%s, up %d down %d, %.1f s after the start): %s" % (
            fl["id"], fl["k"], fl["up"], fl["down"], (fl["t0"] - a.t_start) / 1000, " ".join(str(fl.get("detail", "")).split())))
    by_class = collections.Counter()
    for (cls, _, _, _), n in causes.items():
        by_class[cls] += n
    moved = sum(k["moved"] for k in kinds.values())
    nflows = sum(k["flows"] for k in kinds.values())
    load_s = max(1, (a.t_end - a.t_start) / 1000)

    # ---- hermesd over time
    series = collections.defaultdict(list)
    for s in samples:
        series[s["name"]].append((int(s["t_ms"]) / 1000, int(s["rss_kb"]), int(s["fds"]), s["phase"], s["pid"]))
    mem = {}
    for name, pts in series.items():
        main = [p for p in pts if p[3] == "main"]
        n5 = max(1, len(main) // 5)
        first = statistics.median(p[1] for p in main[:n5]) if main else None
        last = statistics.median(p[1] for p in main[-n5:]) if main else None
        mem[name] = {"samples": len(pts), "restarts": len({p[4] for p in pts}) - 1,
                     "rss_kb_min": min(p[1] for p in pts), "rss_kb_max": max(p[1] for p in pts),
                     "fds_min": min(p[2] for p in pts), "fds_max": max(p[2] for p in pts),
                     "rss_kb_main_first_fifth": first, "rss_kb_main_last_fifth": last}

    # ---- criteria
    checks = []

    def check(ok, what):
        checks.append({"ok": bool(ok), "what": what})

    check(by_class["corrupted"] == 0, "no corrupted byte on any flow (%d flows with one)" % by_class["corrupted"])
    check(by_class["truncated"] == 0, "no flow closed cleanly short of its bytes (%d did)" % by_class["truncated"])
    check(by_class["unexpected"] == 0, "no flow failed outside a fault that touches its path (%d did)" % by_class["unexpected"])
    for kname in ("proxy", "tunnel", "http-get", "http-post"):
        check(kinds[kname]["ok"] > 0, "%s flows completed (%d)" % (kname, kinds[kname]["ok"]))
    check(any(ft["kind"] == "peer-kill" for ft in faults) and any(ft["kind"].startswith("cut") for ft in faults)
          and any(ft["kind"] == "reload" for ft in faults),
          "faults injected: %s" % dict(collections.Counter(ft["kind"] for ft in faults)))
    for name in JUDGED:
        b, e = quiet["base"].get(name), quiet["end"].get(name)
        if not b or not e or not b.get("rss_kb") or not e.get("rss_kb"):
            check(False, "%s: quiet-point samples present" % name)
            continue
        rb, re_ = int(b["rss_kb"]), int(e["rss_kb"])
        drift = 100.0 * (re_ - rb) / rb
        check(drift <= a.rss_drift_pct, "%s: RSS %d -> %d kB at the quiet points (%+.1f%%, at most +%g%%)"
              % (name, rb, re_, drift, a.rss_drift_pct))
        fb = int(b["fds"]) - int(b["sessions"] or 0)
        fe = int(e["fds"]) - int(e["sessions"] or 0)
        check(fe <= fb, "%s: descriptors %s -> %s at the quiet points (%s -> %s tunnel sessions open; %d -> %d without them)"
              % (name, b["fds"], e["fds"], b["sessions"], e["sessions"], fb, fe))
    check(a.fuzz in ("0", "skipped"), "fuzz targets (tests/fuzz/run.sh): %s" % (
        "no failure" if a.fuzz == "0" else "not run" if a.fuzz == "skipped" else "exit %s, see fuzz.log" % a.fuzz))
    check(a.load_rc == "0", "the load client exited 0 (%s)" % a.load_rc)
    passed = all(c["ok"] for c in checks)

    # ---- the plot
    png = os.path.join(d, "soak.png")
    for name, pts in series.items():
        with open(os.path.join(d, "soak-%s.dat" % name), "w") as f:
            for p in pts:
                f.write("%.1f %.2f %d\n" % (p[0], p[1] / 1024, p[2]))
    colors = {"reload": "#cccccc", "peer-kill": "#ffb0b0", "cut-ac": "#b0d0ff", "cut-rc": "#b0ffb0"}
    objs = []
    for i, ft in enumerate(faults):
        x0 = (ft["start"] - a.t_start) / 1000
        x1 = max(x0 + 0.5, (ft["end"] - a.t_start) / 1000)
        objs.append('set object %d rect from %.1f, graph 0 to %.1f, graph 1 behind fc rgb "%s" fs solid 0.6 noborder'
                    % (i + 1, x0, x1, colors.get(ft["kind"], "#eeeeee")))
    names = [n for n in ("a", "r1", "r2", "c") if n in series]
    label = {"a": "A (client)", "r1": "R1 (killed)", "r2": "R2", "c": "C (server)"}
    gp = ["set terminal pngcairo size 1200,900", "set output '%s'" % png, "set multiplot layout 2,1",
          "set grid", "set xlabel 'seconds since the start'", "set key outside right",
          "set arrow 1000 from %d, graph 0 to %d, graph 1 nohead dt 2" % (a.warmup, a.warmup)] + objs + [
          "set title 'hermesd RSS (shaded: reload grey, peer kill red, A-C cut blue, R-C cut green)'",
          "set ylabel 'MiB'",
          "plot " + ", ".join("'%s' using 1:2 with linespoints title '%s'" % (os.path.join(d, "soak-%s.dat" % n), label[n])
                              for n in names),
          "set title 'hermesd open descriptors'", "set ylabel 'descriptors'",
          "plot " + ", ".join("'%s' using 1:3 with linespoints title '%s'" % (os.path.join(d, "soak-%s.dat" % n), label[n])
                              for n in names),
          "unset multiplot"]
    with open(os.path.join(d, "soak.gp"), "w") as f:
        f.write("\n".join(gp) + "\n")
    plot = subprocess.run(["gnuplot", os.path.join(d, "soak.gp")], capture_output=True, text=True)
    if plot.returncode != 0:
        print("report: gnuplot failed: %s" % plot.stderr.strip(), file=sys.stderr)

    # ---- the report
    verdict = "%s: %d flows, %s moved and checked in %d s (%.1f MiB/s); failures: %d expected during faults, %d unexpected, %d truncated, %d corrupted" % (
        "PASS" if passed else "FAIL", nflows, mib(moved), load_s, moved / 1048576 / load_s,
        by_class["expected"], by_class["unexpected"], by_class["truncated"], by_class["corrupted"])
    md = ["# Soak report", "", verdict, "",
          "Load %d s (%d s warm-up), faults: %s." % (a.seconds, a.warmup,
                                                    ", ".join("%d %s" % (n, k) for k, n in collections.Counter(ft["kind"] for ft in faults).items()) or "none"),
          "", "## Criteria", ""]
    md += ["- %s %s" % ("ok  " if c["ok"] else "FAIL", c["what"]) for c in checks]
    md += ["", "## Flows", "", "| kind | flows | completed | failed | bytes checked |", "|---|---|---|---|---|"]
    md += ["| %s | %d | %d | %d | %s |" % (k, v["flows"], v["ok"], v["failed"], mib(v["moved"])) for k, v in kinds.items()]
    md += ["", "## Failures by cause", ""]
    if causes:
        md += ["| class | kind | cause | faults overlapped | flows | example |", "|---|---|---|---|---|---|"]
        for key, n in sorted(causes.items(), key=lambda kv: (kv[0][0] != "corrupted", kv[0][0] != "truncated",
                                                               kv[0][0] != "unexpected", kv[0])):
            md.append("| %s | %s | %s | %s | %d | %s |" % (key + (n, examples[key].replace("|", "/"))))
    else:
        md.append("None.")
    if server:
        md += ["", "Origin and sink (server side): %d TCP flows (%d checked whole, %d short, %d with a bad byte, %d ended by an error), "
               "%d HTTP requests, injected failures %s (hidden by the http route's retries), %d bad request bodies."
               % (server.get("sink_flows", 0), server.get("sink_ok", 0), server.get("sink_short", 0), server.get("sink_bad", 0),
                  server.get("sink_errors", 0), server.get("http_requests", 0), json.dumps(server.get("http_injected", {})),
                  server.get("http_bad_bodies", 0))]
    md += ["", "## hermesd memory and descriptors", "",
           "| hermesd | samples | restarts | RSS min-max [MiB] | RSS under load, first -> last fifth [MiB] | descriptors min-max | quiet base: RSS kB / fds / sessions | quiet end | sessions closed |",
           "|---|---|---|---|---|---|---|---|---|"]
    for name in names:
        m = mem[name]
        qb, qe, qc = quiet["base"].get(name, {}), quiet["end"].get(name, {}), quiet["closed"].get(name, {})
        f5 = m["rss_kb_main_first_fifth"]
        l5 = m["rss_kb_main_last_fifth"]
        md.append("| %s | %d | %d | %.1f-%.1f | %s | %d-%d | %s / %s / %s | %s / %s / %s | %s / %s / %s |" % (
            label[name], m["samples"], m["restarts"], m["rss_kb_min"] / 1024, m["rss_kb_max"] / 1024,
            "%.1f -> %.1f" % (f5 / 1024, l5 / 1024) if f5 else "-", m["fds_min"], m["fds_max"],
            qb.get("rss_kb", "-"), qb.get("fds", "-"), qb.get("sessions", "-"),
            qe.get("rss_kb", "-"), qe.get("fds", "-"), qe.get("sessions", "-"),
            qc.get("rss_kb", "-"), qc.get("fds", "-"), qc.get("sessions", "-")))
    md += ["", "Quiet points: no flows, descriptors still for 3 s; *base* after the warm-up, *end* after the "
           "load, *sessions closed* once the idle tunnel sessions closed too (not judged: what the open "
           "sessions held)."]
    md += ["", "![hermesd RSS and descriptors over the soak](soak.png)", "", "## Faults", "",
           "| kind | at [s] | lasted [s] | detail |", "|---|---|---|---|"]
    md += ["| %s | %.1f | %.1f | %s |" % (ft["kind"], (ft["start"] - a.t_start) / 1000, (ft["end"] - ft["start"]) / 1000,
                                         ft["detail"]) for ft in faults]
    with open(os.path.join(d, "report.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    with open(os.path.join(d, "report.json"), "w") as f:
        json.dump({"passed": passed, "verdict": verdict, "checks": checks, "kinds": kinds, "bytes_checked": moved,
                   "failures": [{"class": k[0], "kind": k[1], "cause": k[2], "faults": k[3], "flows": n, "example": examples[k]}
                                for k, n in causes.items()],
                   "hermesd": mem, "quiet": quiet, "faults": faults, "server": server}, f, indent=1)
    with open(os.path.join(d, "summary.txt"), "w") as f:
        f.write(verdict + "\n" + "\n".join("  %s %s" % ("ok  " if c["ok"] else "FAIL", c["what"]) for c in checks) + "\n")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
