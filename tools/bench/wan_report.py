#!/usr/bin/python3
"""tools/bench/wan_report.py: the report of `make bench-wan` (tools/bench/wan.sh).

    wan_report.py OUTDIR

Reads what wan.sh wrote in OUTDIR: raw.tsv (one line per request: configuration, RTT,
concurrency N, round (0 = the untimed warm-up round), exit code, HTTP status, curl's
time_total, connections made, bytes), cells.tsv (per configuration, RTT and N: rounds,
requests, failures, the new pooled connections hermesd opened while measured, whether
hermesd carried the requests), cpu.tsv (per measured round of a Hermes configuration, the
CPU time in ns A's and C's hermesd used during it), configs.tsv and meta.tsv. Writes OUTDIR/results.md (per
RTT a table of completion time p50 / p99 and the p50's ratio to direct; p50 in round
trips; the issue's targets; failures), OUTDIR/results.json and, with gnuplot,
OUTDIR/wan_p50.png (p50 against N, one panel per RTT, one line per configuration).
Percentiles are nearest-rank over every measured request of the cell (the warm-up round
left out). Standard library only.
"""
import csv
import json
import math
import os
import sys

import benchplot  # beside this file

HERMES = ("hermes-tunnel", "hermes-http")
PEERS = ("haproxy-mtls", "nghttpx-h2")
# the plot's lines: direct black, Hermes solid, the peers dashed in the colour of the
# Hermes configuration they compare with
STYLE = {"direct": 'lc rgb "black"', "hermes-tunnel": 'lc rgb "#1f77b4"', "hermes-http": 'lc rgb "#d62728"',
         "haproxy-mtls": 'lc rgb "#1f77b4" dt 2', "nghttpx-h2": 'lc rgb "#d62728" dt 2',
         "hermes-tunnel-base": 'lc rgb "#1f77b4" dt 3', "hermes-http-base": 'lc rgb "#d62728" dt 3'}


def read_tsv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def pct(sorted_vals, p):
    """nearest-rank percentile of a sorted list"""
    if not sorted_vals:
        return None
    k = max(1, math.ceil(p / 100.0 * len(sorted_vals)))
    return sorted_vals[k - 1]


def fmt(v):
    if v is None:
        return "–"
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: wan_report.py OUTDIR")
    out = sys.argv[1]
    meta, failures = {}, []
    with open(os.path.join(out, "meta.tsv")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            if k == "failure":
                failures.append(v)
            else:
                meta[k] = v
    configs = read_tsv(os.path.join(out, "configs.tsv"))
    cells_path = os.path.join(out, "cells.tsv")
    cells = read_tsv(cells_path) if os.path.exists(cells_path) else []
    rtts = [int(x) for x in meta["rtts"].split()]
    concs = [int(x) for x in meta["concs"].split()]
    names = [c["config"] for c in configs]

    times = {}  # (config, rtt, n) -> sorted completion times of the measured, successful requests, ms
    rounds = {}  # (config, rtt, n) -> {round: [times]}
    for r in read_tsv(os.path.join(out, "raw.tsv")):
        if r["round"] == "0" or r["exitcode"] != "0" or r["http_code"] != "200":
            continue
        key = (r["config"], int(r["rtt_ms"]), int(r["conc"]))
        ms = float(r["time_total_s"]) * 1000
        times.setdefault(key, []).append(ms)
        rounds.setdefault(key, {}).setdefault(r["round"], []).append(ms)
    stats = {}
    for key, v in times.items():
        v.sort()
        rp50 = sorted(pct(sorted(t), 50) for t in rounds[key].values())
        p50 = pct(v, 50)
        stats[key] = {"p50_ms": p50, "p99_ms": pct(v, 99), "n": len(v), "min_ms": v[0], "max_ms": v[-1],
                      "round_p50_ms": rp50, "spread": (rp50[-1] - rp50[0]) / p50 if p50 and key[2] >= 10 else None}
    for (c, rtt, n), s in stats.items():
        d = stats.get(("direct", rtt, n))
        s["ratio_p50_to_direct"] = s["p50_ms"] / d["p50_ms"] if d else None
        s["p50_rtts"] = s["p50_ms"] / rtt
    cell_info = {(c["config"], int(c["rtt_ms"]), int(c["conc"])): c for c in cells}

    md = ["# Hermes WAN benchmark: short HTTPS requests across a wide-area link", ""]
    md.append("Run %s, Hermes %s, %s CPUs; mode **%s**; measuring took %s s. Machine load average %s at the start, "
              "%s at the end. Tools: %s." % (meta.get("date"), meta.get("commit"), meta.get("cpus"),
                                             "quick" if meta.get("quick") == "1" else "full", meta.get("secs"),
                                             meta.get("load_start"), meta.get("load_end"), meta.get("tools")))
    md.append("")
    md.append("Reproduce (as root, Debian 12): `make bench-wan` (RTT 10, 50, 100 ms; N = 1, 10, 100, 1000) or "
              "`make bench-wan QUICK=1` (RTT 50, N = 1 and 100); tools/bench/wan.sh --help. Host A (the app: curl, "
              "HTTP/1.1, a new connection per request, N requests started at once) and host C (the origin: nginx, "
              "TLS 1.3, a %s B object) are network namespaces joined by the delay line (tests/bin/wandelay, a fixed "
              "delay of RTT/2 each way, no loss, no rate limit). Completion time = curl's time_total of each request. "
              "Cells: p50 / p99 in ms over every measured request (at least %s per cell, at least 3 rounds of N, 2 in quick mode; an "
              "untimed round of max(N, 20) requests before warms the pools), ×ratio of the p50 to direct's p50 at the same RTT and N; "
              "`~`: the rounds' own p50s spread over more than 30 %% of the p50."
              % (meta.get("obj_bytes"), meta.get("samples")))
    md.append("")
    md.append("## Configurations")
    md.append("")
    for c in configs:
        md.append("- `%s`: %s%s" % (c["config"], c["desc"], "" if c["available"] == "true" else
                                    " **(not available: %s)**" % c["reason"]))
    md.append("")
    for rtt in rtts:
        md.append("## RTT %d ms" % rtt)
        md.append("")
        md.append("| configuration | " + " | ".join("N=%d p50 / p99 [ms]" % n for n in concs) + " |")
        md.append("|---|" + "---|" * len(concs))
        for c in names:
            row = []
            for n in concs:
                s = stats.get((c, rtt, n))
                ci = cell_info.get((c, rtt, n))
                if not s:
                    row.append("–")
                    continue
                cell = "%s / %s" % (fmt(s["p50_ms"]), fmt(s["p99_ms"]))
                if s["ratio_p50_to_direct"] is not None:
                    cell += " ×%.2f" % s["ratio_p50_to_direct"]
                if s["spread"] is not None and s["spread"] > 0.3:
                    cell += " ~"
                if ci and ci["failed"] != "0":
                    cell += " (%s failed)" % ci["failed"]
                row.append(cell)
            md.append("| `%s` | " % c + " | ".join(row) + " |")
        md.append("")
        if any(n >= 10 and (c, rtt, n) in stats for c in names for n in concs):
            md.append("Rounds' own p50 [ms], lowest–highest, from N=10 up (the spread between rounds; `~` above marks "
                      "one over 30 % of the p50): " + "; ".join(
                          "`%s` %s" % (c, ", ".join("N=%d %s–%s" % (n, fmt(stats[(c, rtt, n)]["round_p50_ms"][0]),
                                                                   fmt(stats[(c, rtt, n)]["round_p50_ms"][-1]))
                                                   for n in concs if n >= 10 and (c, rtt, n) in stats))
                          for c in names if any(n >= 10 and (c, rtt, n) in stats for n in concs)) + ".")
        md.append("")
        md.append("p50 in round trips of the link (p50 ÷ RTT): " + "; ".join(
            "`%s` %s" % (c, ", ".join("N=%d %s" % (n, "%.1f" % stats[(c, rtt, n)]["p50_rtts"]
                                                   if (c, rtt, n) in stats else "–") for n in concs))
            for c in names) + ".")
        md.append("")
    bases = [h for h in HERMES if h + "-base" in names]
    if bases:
        md.append("## A/B: the base build's hermesd against this build's")
        md.append("")
        md.append("The `-base` configurations run the hermesd of WAN_BASE (%s) on both hosts, measured in the same "
                  "turns as this build's. Change = this build's p50 against the base's, in %% (negative: faster)."
                  % next((c["desc"].split("WAN_BASE=")[-1].rstrip(")") for c in configs
                          if c["config"].endswith("-base")), "?"))
        md.append("")
        md.append("| configuration | RTT [ms] | N | base p50 / p99 [ms] | new p50 / p99 [ms] | change of p50 |")
        md.append("|---|---|---|---|---|---|")
        for h in bases:
            for rtt in rtts:
                for n in concs:
                    b, w = stats.get((h + "-base", rtt, n)), stats.get((h, rtt, n))
                    if not b or not w:
                        continue
                    md.append("| `%s` | %d | %d | %s / %s | %s / %s | %+.0f %% |" % (
                        h, rtt, n, fmt(b["p50_ms"]), fmt(b["p99_ms"]), fmt(w["p50_ms"]), fmt(w["p99_ms"]),
                        (w["p50_ms"] / b["p50_ms"] - 1) * 100))
        md.append("")
    hermes_cells = [c for c in cells if c["config"] in HERMES or c["config"][:-5] in HERMES]
    if hermes_cells:
        md.append("## Hermes: pooled connections and the path check")
        md.append("")
        md.append("New pooled connections = tunnel sessions (`hermes-tunnel`) or new upstream connections "
                  "(`hermes-http`) A's hermesd opened during the measured rounds, after the warm-up round (0: "
                  "every request rode a warm connection). Carried = A's hermesd's count of streams or requests "
                  "over the cell, warm-up included (it must be at least the requests sent).")
        md.append("")
        md.append("| configuration | RTT [ms] | N | requests | new pooled connections | carried |")
        md.append("|---|---|---|---|---|---|")
        for c in hermes_cells:
            md.append("| `%s` | %s | %s | %s | %s | %s |" % (c["config"], c["rtt_ms"], c["conc"], c["requests"],
                                                            c["new_pooled"], c["check"]))
        md.append("")
    cpu = cpu_rows(out)
    if cpu:
        md.append("## Hermes: CPU per request")
        md.append("")
        md.append("The CPU time (every thread, the io_uring workers too: schedstat) A's and C's hermesd used while a "
                  "measured round of the configuration ran, divided by its requests, in µs: over the cell's rounds, "
                  "and in brackets the lowest–highest of the rounds' own values. It moves less with the machine's "
                  "load than a request's completion time on 2 busy cores does, but it moves too (cache and "
                  "scheduler contention): compare builds in the same run (WAN_BASE).")
        md.append("")
        md.append("| configuration | RTT [ms] | N | rounds | A µs/request | C µs/request | both |")
        md.append("|---|---|---|---|---|---|---|")
        for (c, rtt, n), v in sorted(cpu.items(), key=lambda kv: (names.index(kv[0][0]) if kv[0][0] in names else 99,
                                                                   kv[0][1], kv[0][2])):
            md.append("| `%s` | %d | %d | %d | %s | %s | %s [%s–%s] |" % (
                c, rtt, n, v["rounds"], fmt(v["a_us"]), fmt(v["c_us"]), fmt(v["us"]), fmt(v["round_us"][0]),
                fmt(v["round_us"][-1])))
        md.append("")
    md.append("## Targets (issue 16)")
    md.append("")
    md.append("With warm pools, Hermes' p50 below direct at every RTT and N from 10 up, and below the peers' at "
              "N=1000.")
    md.append("")
    for h in HERMES:
        if h not in names:
            continue
        worse, seen = [], 0
        for rtt in rtts:
            for n in concs:
                if n < 10 or (h, rtt, n) not in stats or ("direct", rtt, n) not in stats:
                    continue
                seen += 1
                if stats[(h, rtt, n)]["p50_ms"] >= stats[("direct", rtt, n)]["p50_ms"]:
                    worse.append("RTT %d N=%d (×%.2f)" % (rtt, n, stats[(h, rtt, n)]["ratio_p50_to_direct"]))
        if seen:
            md.append("- `%s` below direct: %s" % (h, "met in all %d cells" % seen if not worse else
                                                    "not met at " + ", ".join(worse)))
        else:
            md.append("- `%s` below direct: no cell with N ≥ 10 measured" % h)
        for rtt in rtts:
            if (h, rtt, 1000) not in stats:
                continue
            peers = [(p, stats[(p, rtt, 1000)]["p50_ms"]) for p in PEERS if (p, rtt, 1000) in stats]
            if peers:
                mine = stats[(h, rtt, 1000)]["p50_ms"]
                md.append("  - RTT %d N=1000: p50 %s ms against %s: %s" % (
                    rtt, fmt(mine), ", ".join("`%s` %s" % (p, fmt(v)) for p, v in peers),
                    "below every peer" if all(mine < v for _, v in peers) else "not below every peer"))
    md.append("")
    if failures:
        md.append("## Failures")
        md.append("")
        md += ["- %s" % f for f in failures]
        md.append("")
    note = plot(out, names, rtts, concs, stats)
    md.append("Plot: `wan_p50.png` (p50 against N, one panel per RTT)." if note is None else "Plot: %s." % note)
    md.append("")
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(md))
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"meta": meta, "configs": configs, "failures": failures, "cells": cells,
                   "cpu_per_request": [dict(config=c, rtt_ms=rtt, conc=n, **v) for (c, rtt, n), v in sorted(cpu.items())],
                   "results": [dict(config=c, rtt_ms=rtt, conc=n, **s) for (c, rtt, n), s in sorted(stats.items())]},
                  f, indent=1)


def cpu_rows(out):
    """(config, rtt, n) -> hermesd CPU per request from cpu.tsv: A's, C's and both (µs, over
    the cell's rounds), the rounds' own values of both sorted, and the rounds"""
    path = os.path.join(out, "cpu.tsv")
    if not os.path.exists(path):
        return {}
    acc = {}
    for r in read_tsv(path):
        key = (r["config"], int(r["rtt_ms"]), int(r["conc"]))
        acc.setdefault(key, []).append((int(r["a_ns"]) / 1000.0, int(r["c_ns"]) / 1000.0))
    res = {}
    for key, v in acc.items():
        req = key[2] * len(v)
        a, c = sum(x for x, _ in v) / req, sum(y for _, y in v) / req
        res[key] = {"rounds": len(v), "a_us": a, "c_us": c, "us": a + c,
                    "round_us": sorted((x + y) / key[2] for x, y in v)}
    return res


def plot(out, names, rtts, concs, stats):
    """wan_p50.png with gnuplot; None, or why there is no plot"""
    if not benchplot.available():
        return "none: " + benchplot.MISSING
    pdir = os.path.join(out, "plots")
    os.makedirs(pdir, exist_ok=True)
    dat = os.path.join(pdir, "p50.dat")
    shown = [c for c in names if any((c, r, n) in stats for r in rtts for n in concs)]
    if not shown:
        return "none: nothing was measured"
    with open(dat, "w") as f:
        for rtt in rtts:
            for c in shown:
                f.write("# RTT %d %s\n" % (rtt, c))
                for n in concs:
                    s = stats.get((c, rtt, n))
                    if s:
                        f.write("%d %g\n" % (n, s["p50_ms"]))
                f.write("\n\n")
    gp = [benchplot.terminal(max(900, 420 * len(rtts) + 80), 480),
          'set output "%s"' % os.path.join(out, "wan_p50.png"),
          'set multiplot layout 1,%d title "HTTPS requests across a WAN, a new connection each: completion '
          'time p50"' % len(rtts),
          'set logscale xy', 'set grid', 'set xlabel "concurrent requests N"', 'set ylabel "p50 completion [ms]"',
          'set key left top', 'set xtics (%s)' % ", ".join(str(n) for n in concs),
          'set xrange [%g:%g]' % (min(concs) / 1.5, max(concs) * 1.5)]
    for i, rtt in enumerate(rtts):
        gp.append('set title "RTT %d ms"' % rtt)
        gp.append("plot " + ", ".join('"%s" index %d using 1:2 with linespoints lw 2 %s title "%s"'
                                      % (dat, i * len(shown) + j, STYLE.get(c, ""), c) for j, c in enumerate(shown)))
    gp.append("unset multiplot")
    err = benchplot.run(os.path.join(pdir, "wan.gp"), gp)
    return "none: " + err if err else None


if __name__ == "__main__":
    main()
