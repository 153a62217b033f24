#!/usr/bin/python3
"""tools/bench/report.py: turns the raw samples of `make bench` into its results.

    report.py RAW.jsonl OUTDIR

RAW.jsonl is written by tools/bench/bench.sh, one JSON object a line:
  {"type": "meta", ...}                      the machine and the settings of the run
  {"type": "config", "config", "available", "args", "reason"}
  {"type": "sample", "config", "run", "metric", "value"}
  {"type": "error", "config", "run", "what", "reason"}
  {"type": "check", "config", "run", "hermesd_accepted"}
  {"type": "end", "secs", "loadavg_end", "other_netns_max"}
Writes OUTDIR/results.json (machine, settings, per configuration and metric: median, min,
max, n, ratio_to_direct, values) and OUTDIR/results.md (a table: rows = metrics,
columns = configurations, cells "median (min–max) ×ratio"). Standard library only.
"""
import json
import statistics
import sys

# name, label, unit, which way is better
METRICS = [
    ("rtt1_p50_us", "RTT p50, 1 flow, 1 CPU (pingpong)", "µs", "lower"),
    ("rtt1_p99_us", "RTT p99, 1 flow, 1 CPU (pingpong)", "µs", "lower"),
    ("rtt100_p50_us", "RTT p50, 100 flows, 1 CPU (pingpong)", "µs", "lower"),
    ("rtt100_p99_us", "RTT p99, 100 flows, 1 CPU (pingpong)", "µs", "lower"),
    ("rr1_rate", "exchanges/s, 1 flow, 1 CPU", "1/s", "higher"),
    ("rr100_rate", "exchanges/s, 100 flows, 1 CPU", "1/s", "higher"),
    ("sockperf1_p50_us", "RTT p50, 1 flow, 1 CPU (sockperf)", "µs", "lower"),
    ("sockperf1_p99_us", "RTT p99, 1 flow, 1 CPU (sockperf)", "µs", "lower"),
    ("rtt1free_p50_us", "RTT p50, 1 flow, unpinned (pingpong)", "µs", "lower"),
    ("rtt1free_p99_us", "RTT p99, 1 flow, unpinned (pingpong)", "µs", "lower"),
    ("bulk1_gbps", "bulk, 1 flow (iperf3)", "Gb/s", "higher"),
    ("bulk8_gbps", "bulk, 8 flows (iperf3)", "Gb/s", "higher"),
    ("cpu_s_per_gb", "CPU s per GB, bulk 1 flow", "s/GB", "lower"),
    ("connrate_per_s", "connections/s", "1/s", "higher"),
]
DIRECT = "direct"
SPREAD_MARK = 0.30  # a cell whose (max - min) / median exceeds this gets a mark


def load(path):
    meta, configs, samples, errors, checks = {}, [], [], [], []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit("report.py: %s:%d: not JSON: %s" % (path, lineno, e))
            kind = rec.get("type")
            if kind == "meta":
                meta = rec
            elif kind == "config":
                configs.append(rec)
            elif kind == "sample":
                samples.append(rec)
            elif kind == "error":
                errors.append(rec)
            elif kind == "check":
                checks.append(rec)
            elif kind == "end":
                meta.update({k: v for k, v in rec.items() if k != "type"})
    return meta, configs, samples, errors, checks


def summarize(configs, samples):
    """results[config][metric] = {median, min, max, n, values, ratio_to_direct}"""
    values = {}
    for s in samples:
        values.setdefault(s["config"], {}).setdefault(s["metric"], []).append(float(s["value"]))
    results = {}
    for c in configs:
        name = c["config"]
        if not c.get("available"):
            continue
        results[name] = {}
        for metric, _, _, _ in METRICS:
            v = values.get(name, {}).get(metric, [])
            if not v:
                continue
            results[name][metric] = {
                "median": statistics.median(v),
                "min": min(v),
                "max": max(v),
                "n": len(v),
                "values": v,
            }
    base = results.get(DIRECT, {})
    for name, per_metric in results.items():
        for metric, r in per_metric.items():
            d = base.get(metric)
            r["ratio_to_direct"] = r["median"] / d["median"] if d and d["median"] else None
    return results


def fmt(x):
    """a number with 3 significant digits, no exponent for the usual ranges"""
    if x is None:
        return "?"
    a = abs(x)
    if a >= 1000:
        return "{:,.0f}".format(x).replace(",", " ")
    if a >= 100:
        return "%.0f" % x
    if a >= 10:
        return "%.1f" % x
    if a >= 1:
        return "%.2f" % x
    return "%.3f" % x


def cell(r, runs):
    if r is None:
        return "failed (see errors)"
    s = "%s (%s–%s)" % (fmt(r["median"]), fmt(r["min"]), fmt(r["max"]))
    if r["median"] and (r["max"] - r["min"]) / r["median"] > SPREAD_MARK:
        s += " ~"
    if r.get("ratio_to_direct") is not None:
        s += " ×%.2f" % r["ratio_to_direct"]
    if r["n"] < runs:
        s += " n=%d" % r["n"]
    return s


def markdown(meta, configs, results, errors):
    runs = meta.get("runs", 0)
    names = [c["config"] for c in configs]
    out = []
    out.append("# Hermes benchmark results\n")
    out.append("Machine: %s, %s cores, %s GiB, kernel %s (%s), %s. Run %s, Hermes %s (hermesd sha256 %s)."
               % (meta.get("cpu", "?"), meta.get("cores", "?"), meta.get("mem_gib", "?"),
                  meta.get("kernel", "?"), meta.get("arch", "?"), meta.get("os", "?"),
                  meta.get("date", "?"), meta.get("hermes_rev", "?"), meta.get("hermesd_sha256", "?")))
    out.append("")
    out.append("Reproduce (as root, Debian 12): `make bench` (5 rounds, about 12 minutes); `make bench QUICK=1` "
               "(3 shorter rounds, about 4 minutes); `make bench RUNS=N` for N rounds. This run: %s round(s)%s; "
               "ping-pong %s s, sockperf %s s, iperf3 %s s, connection rate %s s per measurement; tools %s, %s."
               % (runs, " (quick)" if meta.get("quick") else "", meta.get("rtt_secs"),
                  meta.get("sockperf_secs"), meta.get("bulk_secs"), meta.get("conn_secs"),
                  meta.get("sockperf", "sockperf"), meta.get("iperf3", "iperf3")))
    out.append("")
    others = max(meta.get("other_netns_start") or 0, meta.get("other_netns_max") or 0)
    out.append("Machine load: load average %s at the start, %s at the end; at most %d network namespace(s) "
               "of others (a concurrent test run, say) seen during the run; measuring took %s s.%s"
               % (meta.get("loadavg_start", "?"), meta.get("loadavg_end", "?"), others, meta.get("secs", "?"),
                  " **Other work ran beside the benchmark: the figures are skewed by it.**" if others else ""))
    out.append("")
    out.append("Topology (tests/lib/common.sh): client and server hosts are network namespaces joined by a "
               "veth pair; the client runs in a child cgroup of the client host; hermesd (policy "
               "`10.77.1.0/24 proxy`) in the client host. `direct` runs with no hermesd and nothing attached. "
               "Every round measures every configuration in turn (hermesd restarted for each).")
    out.append("")
    out.append("Cells: median (min–max) ×ratio to the direct median of this run, over the rounds; "
               "`~` marks a spread (max−min) above %d%% of the median; `n=` shows fewer samples than rounds; "
               "n/a = mode not available in this hermesd." % int(SPREAD_MARK * 100))
    out.append("")
    out.append("| metric | " + " | ".join(names) + " |")
    out.append("|---|" + "---|" * len(names))
    for metric, label, unit, better in METRICS:
        row = ["%s [%s] (%s is better)" % (label, unit, better)]
        for c in configs:
            if not c.get("available"):
                row.append("n/a")
            else:
                row.append(cell(results.get(c["config"], {}).get(metric), runs))
        out.append("| " + " | ".join(row) + " |")
    out.append("")
    out.append("## Configurations\n")
    for c in configs:
        if c.get("available"):
            args = c.get("args") or ("(no hermesd)" if c["config"] == DIRECT else "(default options)")
            out.append("- `%s`: %s" % (c["config"], "hermesd " + args if c["config"] != DIRECT else args))
        else:
            out.append("- `%s`: n/a: %s" % (c["config"], c.get("reason", "")))
    out.append("")
    out.append("## Notes\n")
    out.append("- RTT: 64 B request, 64 B response, lock-step per flow, TCP_NODELAY "
               "(tools/bench/pingpong.c; one client thread for all flows, so at 100 flows the RTT includes "
               "the client's own queueing). sockperf: `sockperf ping-pong --tcp -m 64 --full-rtt`, 1 flow.")
    out.append("- \"1 CPU\": client, server and hermesd pinned to CPU %s (taskset) for the latency tests. "
               "Unpinned, processes that wake each other on different vCPUs pay a wake-up of a halted vCPU "
               "(~50 µs per hop on the 2-vCPU Firecracker VMs this was written on) and the result depends on "
               "where the scheduler placed them (the \"unpinned\" rows show it). Throughput and connection "
               "tests run unpinned." % meta.get("rtt_cpu", 0))
    out.append("- Bulk: `iperf3 -c -P N -J`, received bits per second; its control connection goes through "
               "hermesd too.")
    out.append("- CPU s per GB: busy jiffies (user+nice+system+irq+softirq) of the **whole machine** from "
               "/proc/stat over the 1-flow iperf3 run, divided by the GB received: client, server, hermesd "
               "and kernel alike.")
    out.append("- Connections/s: %s in parallel, each connect + 1 byte each way + server closes first "
               "(tools/bench/connrate.c)." % meta.get("connrate_parallel", "?"))
    if errors:
        out.append("")
        out.append("## Errors during the run\n")
        for e in errors:
            out.append("- `%s` round %s, %s: %s" % (e.get("config"), e.get("run"), e.get("what"), e.get("reason")))
    out.append("")
    return "\n".join(out)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: report.py RAW.jsonl OUTDIR")
    raw, outdir = sys.argv[1], sys.argv[2]
    meta, configs, samples, errors, checks = load(raw)
    if not configs:
        sys.exit("report.py: %s has no configuration records" % raw)
    results = summarize(configs, samples)
    machine = {k: meta.get(k) for k in ("date", "kernel", "arch", "cpu", "cores", "mem_gib", "os")}
    settings = {k: v for k, v in meta.items() if k not in machine and k != "type"}
    doc = {
        "machine": machine,
        "settings": settings,
        "metrics": [{"name": m, "label": l, "unit": u, "better": b} for m, l, u, b in METRICS],
        "configs": [{k: c.get(k) for k in ("config", "available", "args", "reason")} for c in configs],
        "results": results,
        "errors": [{k: e.get(k) for k in ("config", "run", "what", "reason")} for e in errors],
        "checks": [{k: c.get(k) for k in ("config", "run", "hermesd_accepted")} for c in checks],
    }
    with open(outdir + "/results.json", "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")
    with open(outdir + "/results.md", "w", encoding="utf-8") as f:
        f.write(markdown(meta, configs, results, errors))


if __name__ == "__main__":
    main()
