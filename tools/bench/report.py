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
  {"type": "timing", "config", "run", "secs"}
Writes OUTDIR/results.json (machine, settings, per configuration and metric: median, min,
max, n, ratio_to_direct, values; derived per-round figures such as the added latency per
hop), OUTDIR/results.md (tables: rows = metrics, columns = configurations, cells
"median (min–max) ×ratio") and, when gnuplot is installed, OUTDIR/*.png. Standard
library only.
"""
import json
import statistics
import sys

# name, label, unit, which way is better, table (l4 or http)
METRICS = [
    ("rtt1_p50_us", "RTT p50, 64 B, 1 flow, 1 CPU (pingpong)", "µs", "lower", "l4"),
    ("rtt1_p99_us", "RTT p99, 64 B, 1 flow, 1 CPU", "µs", "lower", "l4"),
    ("rtt1_p999_us", "RTT p99.9, 64 B, 1 flow, 1 CPU", "µs", "lower", "l4"),
    ("rtt100_p50_us", "RTT p50, 64 B, 100 flows, 1 CPU", "µs", "lower", "l4"),
    ("rtt100_p99_us", "RTT p99, 64 B, 100 flows, 1 CPU", "µs", "lower", "l4"),
    ("rtt100_p999_us", "RTT p99.9, 64 B, 100 flows, 1 CPU", "µs", "lower", "l4"),
    ("rtt4k_p50_us", "RTT p50, 4 KiB, 1 flow, 1 CPU", "µs", "lower", "l4"),
    ("rtt4k_p99_us", "RTT p99, 4 KiB, 1 flow, 1 CPU", "µs", "lower", "l4"),
    ("rtt4k_p999_us", "RTT p99.9, 4 KiB, 1 flow, 1 CPU", "µs", "lower", "l4"),
    ("rr1_rate", "exchanges/s, 64 B, 1 flow, 1 CPU", "1/s", "higher", "l4"),
    ("rr100_rate", "exchanges/s, 64 B, 100 flows, 1 CPU", "1/s", "higher", "l4"),
    ("sockperf1_p50_us", "RTT p50, 64 B, 1 flow, 1 CPU (sockperf)", "µs", "lower", "l4"),
    ("sockperf1_p99_us", "RTT p99, 64 B, 1 flow, 1 CPU (sockperf)", "µs", "lower", "l4"),
    ("rtt1free_p50_us", "RTT p50, 64 B, 1 flow, unpinned", "µs", "lower", "l4"),
    ("rtt1free_p99_us", "RTT p99, 64 B, 1 flow, unpinned", "µs", "lower", "l4"),
    ("flows1000_ms", "1000 concurrent flows x 10 exchanges: completion time", "ms", "lower", "l4"),
    ("flows1000_connect_ms", "1000 concurrent flows: all connected after", "ms", "lower", "l4"),
    ("flows1000_p50_us", "1000 concurrent flows: RTT p50", "µs", "lower", "l4"),
    ("flows1000_p99_us", "1000 concurrent flows: RTT p99", "µs", "lower", "l4"),
    ("bulk1_gbps", "bulk, 1 flow (iperf3)", "Gb/s", "higher", "l4"),
    ("bulk8_gbps", "bulk, 8 flows (iperf3)", "Gb/s", "higher", "l4"),
    ("cpu_s_per_gb", "CPU s per GB, bulk 1 flow (whole machine)", "s/GB", "lower", "l4"),
    ("connrate_per_s", "connections/s", "1/s", "higher", "l4"),
    ("rss_idle1000_l4_kib", "proxy RSS added by 1000 idle flows", "KiB", "lower", "l4"),
    ("rss_base_kib", "proxy RSS before", "KiB", "lower", "l4"),
    ("wrk1_rps", "HTTP/1.1 req/s, c=1 (wrk)", "1/s", "higher", "http"),
    ("wrk1_p50_us", "HTTP/1.1 latency p50, c=1", "µs", "lower", "http"),
    ("wrk1_p99_us", "HTTP/1.1 latency p99, c=1", "µs", "lower", "http"),
    ("wrk1_p999_us", "HTTP/1.1 latency p99.9, c=1", "µs", "lower", "http"),
    ("wrk100_rps", "HTTP/1.1 req/s, c=100", "1/s", "higher", "http"),
    ("wrk100_p50_us", "HTTP/1.1 latency p50, c=100", "µs", "lower", "http"),
    ("wrk100_p99_us", "HTTP/1.1 latency p99, c=100", "µs", "lower", "http"),
    ("wrk100_p999_us", "HTTP/1.1 latency p99.9, c=100", "µs", "lower", "http"),
    ("wrk1000_rps", "HTTP/1.1 req/s, c=1000", "1/s", "higher", "http"),
    ("wrk1000_p50_us", "HTTP/1.1 latency p50, c=1000", "µs", "lower", "http"),
    ("wrk1000_p99_us", "HTTP/1.1 latency p99, c=1000", "µs", "lower", "http"),
    ("wrk1000_p999_us", "HTTP/1.1 latency p99.9, c=1000", "µs", "lower", "http"),
    ("cpu_s_per_100k_req", "CPU s per 100k requests, wrk c=100 (whole machine)", "s", "lower", "http"),
    ("rss_idle1000_http_kib", "proxy RSS added by 1000 idle keep-alive connections", "KiB", "lower", "http"),
    ("h2l1_rps", "HTTP/2 req/s, c=1 (h2load -m 1)", "1/s", "higher", "http"),
    ("h2l1_p50_us", "HTTP/2 latency p50, c=1", "µs", "lower", "http"),
    ("h2l1_p99_us", "HTTP/2 latency p99, c=1", "µs", "lower", "http"),
    ("h2l100_rps", "HTTP/2 req/s, c=100", "1/s", "higher", "http"),
    ("h2l100_p50_us", "HTTP/2 latency p50, c=100", "µs", "lower", "http"),
    ("h2l100_p99_us", "HTTP/2 latency p99, c=100", "µs", "lower", "http"),
    ("h2l100_p999_us", "HTTP/2 latency p99.9, c=100", "µs", "lower", "http"),
    ("h2l1000_rps", "HTTP/2 req/s, c=1000", "1/s", "higher", "http"),
    ("h2l1000_p50_us", "HTTP/2 latency p50, c=1000", "µs", "lower", "http"),
    ("h2l1000_p99_us", "HTTP/2 latency p99, c=1000", "µs", "lower", "http"),
]
# derived per round against the same round's direct sample: name, label, unit, source metric
DERIVED = [
    ("added_rtt1_per_proxy_us", "added RTT p50 per proxy process (64 B, 1 flow, 1 CPU)", "µs", "rtt1_p50_us", "proxies"),
    ("added_rtt1_per_hop_us", "added RTT p50 per tunnel hop (64 B, 1 flow, 1 CPU)", "µs", "rtt1_p50_us", "hops"),
    ("added_rtt1free_per_hop_us", "added RTT p50 per tunnel hop (unpinned)", "µs", "rtt1free_p50_us", "hops"),
    ("added_wrk1_per_proxy_us", "added HTTP/1.1 latency p50 per proxy (wrk c=1)", "µs", "wrk1_p50_us", "proxies"),
    ("bulk1_ratio", "bulk 1 flow, ratio to direct (same round)", "×", "bulk1_gbps", None),
]
DIRECT = "direct"
SPREAD_MARK = 0.30
DERIVED_NAMES = {d[0] for d in DERIVED}  # a cell whose (max - min) / median exceeds this gets a mark


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
        for metric, _, _, _, _ in METRICS:
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
    # derived metrics, round by round against the same round's direct
    by_run = {}
    for smp in samples:
        by_run.setdefault((smp["config"], smp["metric"]), {})[smp["run"]] = float(smp["value"])
    for c in configs:
        name = c["config"]
        if name not in results or name == DIRECT:
            continue
        for dname, _, _, src, per in DERIVED:
            mine, base = by_run.get((name, src), {}), by_run.get((DIRECT, src), {})
            n = c.get(per) if per else 1
            if not n:
                continue
            v = []
            for run, x in sorted(mine.items()):
                if run in base:
                    v.append((x - base[run]) / n if per else (x / base[run] if base[run] else None))
            v = [x for x in v if x is not None]
            if v:
                results[name][dname] = {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v),
                                        "values": v}
    base = results.get(DIRECT, {})
    for name, per_metric in results.items():
        for metric, r in per_metric.items():
            if metric in DERIVED_NAMES:
                r["ratio_to_direct"] = None
                continue
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


def table(configs, results, runs, rows, names):
    out = ["| metric | " + " | ".join("`%s`" % n for n in names) + " |", "|---|" + "---|" * len(names)]
    for metric, label, unit in rows:
        if not any(metric in results.get(n, {}) for n in names):
            continue
        row = ["%s [%s]" % (label, unit)]
        for n in names:
            r = results.get(n, {}).get(metric)
            row.append(cell(r, runs) if r else "–")
        out.append("| " + " | ".join(row) + " |")
    return out


def markdown(meta, configs, results, errors):
    runs = meta.get("runs", 0)
    avail = [c for c in configs if c.get("available")]
    loads = {c["config"]: (c.get("loads") or "l4").split() for c in configs}
    out = []
    out.append("# Hermes benchmark results\n")
    out.append("Machine: %s, %s cores, %s GiB, kernel %s (%s), %s. Run %s, Hermes %s (hermesd sha256 %s)."
               % (meta.get("cpu", "?"), meta.get("cores", "?"), meta.get("mem_gib", "?"),
                  meta.get("kernel", "?"), meta.get("arch", "?"), meta.get("os", "?"),
                  meta.get("date", "?"), meta.get("hermes_rev", "?"), meta.get("hermesd_sha256", "?")))
    out.append("")
    out.append("Mode: **%s**, %s round(s); ping-pong %s s, iperf3 %s s, connection rate %s s, wrk/h2load %s s per "
               "measurement. Reproduce (as root, Debian 12): `make bench` (full: 5 rounds, every configuration) or "
               "`make bench QUICK=1` (2 short rounds, without the four hermes-uring variants, sockperf, unpinned RTT, 8-flow bulk and h2load other than c=100); `make bench RUNS=N`; "
               "`BENCH_CONFIGS=\"tun-h2-1hop squid\"` for a subset. Tools: %s."
               % ("quick" if meta.get("quick") else "full", runs, meta.get("rtt_secs"), meta.get("bulk_secs"),
                  meta.get("conn_secs"), meta.get("http_secs"),
                  ", ".join(str(meta.get(k)) for k in ("sockperf", "iperf3", "wrk", "h2load", "haproxy", "nginx",
                                                        "squid", "nghttpx") if meta.get(k))))
    out.append("")
    others = max(meta.get("other_netns_start") or 0, meta.get("other_netns_max") or 0)
    out.append("Machine load: load average %s at the start, %s at the end; at most %d network namespace(s) "
               "of others (a concurrent test run, say) seen during the run; measuring took %s s.%s"
               % (meta.get("loadavg_start", "?"), meta.get("loadavg_end", "?"), others, meta.get("secs", "?"),
                  " **Other work ran beside the benchmark: the figures are skewed by it.**" if others else ""))
    out.append("")
    out.append("Topology (tests/lib/common.sh, topo_add_relay): hosts A (client, the app in a child cgroup), R "
               "(relay) and C (servers: pingpong, sockperf, iperf3, connrate, nginx origin with a 64 B body) are "
               "network namespaces; A-C, A-R and R-C are veth links. Cells: median (min–max) ×ratio to the direct "
               "median of this run; `~` marks a spread (max−min) above %d%% of the median; `n=` fewer samples "
               "than rounds; – not measured for that configuration." % int(SPREAD_MARK * 100))
    out.append("")

    # ---- tunnels: the targets
    tun = [c for c in avail if c.get("hops")]
    if tun:
        out.append("## Tunnels: added latency per hop and throughput\n")
        out.append("Added latency = (configuration p50 − direct p50 of the same round) / hops, median (min–max) "
                   "over the rounds. \"Tunnel hop\" = one hermesd-to-next-proxy leg; \"per hermesd\" divides by "
                   "the proxy processes on the path (A's and C's hermesd for 1 hop; A's, R's and C's for 2 hops, "
                   "the issue's \"3 hops\"). Targets (issue 5): ≤ 50 µs p50 added per h2/mTLS hop, ≥ 0.6× direct "
                   "single-flow throughput.\n")
        out.append("| configuration | hermesd/proxies on path | tunnel hops | RTT p50 [µs] | added per tunnel hop [µs] "
                   "| added per proxy [µs] | added per hop, unpinned [µs] | bulk 1 flow [Gb/s] | ratio to direct "
                   "| 1000 flows done [ms] |")
        out.append("|---|---|---|---|---|---|---|---|---|---|")
        dres = results.get(DIRECT, {})
        rows = [dict(config=DIRECT, proxies=0, hops=0)] + tun
        for c in rows:
            r = results.get(c["config"], {})

            def g(m):
                return cell(r.get(m), runs) if r.get(m) else "–"
            ratio = r.get("bulk1_ratio")
            out.append("| `%s` | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                c["config"], c.get("proxies", 0), c.get("hops", 0), g("rtt1_p50_us"),
                g("added_rtt1_per_hop_us"), g("added_rtt1_per_proxy_us"), g("added_rtt1free_per_hop_us"),
                g("bulk1_gbps"), ("%.2f (%.2f–%.2f)" % (ratio["median"], ratio["min"], ratio["max"])) if ratio else
                ("1" if c["config"] == DIRECT else "–"), g("flows1000_ms")))
        out.append("")

    # ---- per-proxy overhead, every configuration
    out.append("## Added latency per proxy process, every configuration\n")
    names = [c["config"] for c in avail if c["config"] != DIRECT]
    out += table(configs, results, runs, [(d[0], d[1], d[2]) for d in DERIVED], names)
    out.append("")

    l4names = [c["config"] for c in avail if {"l4", "pp"} & set(loads[c["config"]])]
    httpnames = [c["config"] for c in avail if {"http", "h2"} & set(loads[c["config"]])]
    out.append("## TCP loads (L4)\n")
    out += table(configs, results, runs, [(m, l, u) for m, l, u, _, t in METRICS if t == "l4"], l4names)
    out.append("")
    out.append("## HTTP loads\n")
    out += table(configs, results, runs, [(m, l, u) for m, l, u, _, t in METRICS if t == "http"], httpnames)
    out.append("")
    out.append("Plots: `latency_vs_concurrency.png` (HTTP/1.1 p50 by wrk connections, per system), "
               "`per_hop_overhead.png` (added RTT p50 per proxy process), `throughput.png` (single-flow bulk and "
               "HTTP/1.1 req/s at c=100, per system).")
    out.append("")
    out.append("## Configurations\n")
    for c in configs:
        desc = c.get("desc") or c.get("args") or ""
        if c.get("available"):
            out.append("- `%s` (%s): %s" % (c["config"], ", ".join(loads[c["config"]]), desc))
        else:
            out.append("- `%s`: not measured: %s" % (c["config"], c.get("reason", "")))
    out.append("")
    out.append("## Method and fairness\n")
    out.append("- RTT: lock-step request/response per flow, TCP_NODELAY (tools/bench/pingpong.c; one client thread "
               "for all flows, so at 100 flows the RTT includes the client's own queueing). \"1 CPU\": client, "
               "server and every proxy process (all threads) pinned to CPU %s: on these VMs a wake-up across vCPUs "
               "costs ~50 µs and would decide the result; the \"unpinned\" rows show it. Everything else runs "
               "unpinned." % meta.get("rtt_cpu", 0))
    out.append("- 1000 flows: 1000 connections opened at once, each 10 lock-step 64 B exchanges (pingpong -n 10); "
               "completion = first connect() to last reply.")
    out.append("- Bulk: `iperf3 -c -P N -J` (its control connection takes the same path). CPU per GB and per 100k "
               "requests: busy jiffies of the **whole machine** (client, server, proxies, kernel) over the run.")
    out.append("- Memory: resident set of every proxy process of the configuration (hermesd on every host of the "
               "path, haproxy, squid, nginx/nghttpx master and workers), before and with 1000 idle connections "
               "(L4: after one exchange each; HTTP proxies: after one keep-alive request each).")
    out.append("- HTTP: wrk (`-t 2`, `-t 1` at c=1, keep-alive) and h2load (`-t 1 -m 1`, h2c prior knowledge) GET a "
               "64 B body from nginx on C (worker_processes = cores, access log off).")
    out.append("- Peers as their users would run them for a benchmark: HAProxy nbthread = cores, no log, keep-alive; "
               "nginx worker_processes = cores, access log off, upstream keepalive; nghttpx workers = cores, no "
               "access log; squid no cache, no access log. Settings that may favour Hermes: **squid runs one "
               "process** (its foreground mode -N has no SMP workers), hermesd is one thread too; the L4 peers "
               "(haproxy-tcp, squid) are *explicit* proxies the client is pointed at, while Hermes is transparent "
               "(no application change) — that is a difference in function, not speed. Settings that may favour "
               "the peers: none known; TLS is used by Hermes' h2 tunnels only (no peer here is measured with TLS).")
    out.append("- On 2 vCPUs the client, the server and the proxies share the CPUs: throughput figures measure the "
               "whole machine's capacity, and a proxy with more threads competes with the load generator.")
    if errors:
        out.append("")
        out.append("## Errors during the run\n")
        for e in errors:
            out.append("- `%s` round %s, %s: %s" % (e.get("config"), e.get("run"), e.get("what"), e.get("reason")))
    out.append("")
    return "\n".join(out)


def plots(outdir, configs, results):
    """PNG plots with gnuplot (skipped, with a note, when it is not installed)"""
    import os
    import shutil
    import subprocess
    if not shutil.which("gnuplot"):
        return "gnuplot not installed: no plots (apt-get install gnuplot-nox)"
    pdir = os.path.join(outdir, "plots")
    os.makedirs(pdir, exist_ok=True)
    avail = [c["config"] for c in configs if c.get("available") and c["config"] in results]

    def med(n, m):
        r = results.get(n, {}).get(m)
        return r["median"] if r else None

    # latency vs concurrency (wrk p50)
    lat = [n for n in avail if med(n, "wrk1_p50_us") is not None]
    with open(os.path.join(pdir, "latency.dat"), "w") as f:
        for n in lat:
            f.write("# %s\n" % n)
            for c in (1, 100, 1000):
                v = med(n, "wrk%d_p50_us" % c)
                if v is not None:
                    f.write("%d %g\n" % (c, v))
            f.write("\n\n")
    # per-proxy overhead and throughput: bar charts
    with open(os.path.join(pdir, "overhead.dat"), "w") as f:
        for n in avail:
            v = med(n, "added_rtt1_per_proxy_us")
            if v is not None:
                f.write('"%s" %g\n' % (n, v))
    with open(os.path.join(pdir, "throughput.dat"), "w") as f:
        for n in avail:
            b, r = med(n, "bulk1_gbps"), med(n, "wrk100_rps")
            if b is not None or r is not None:
                f.write('"%s" %s %s\n' % (n, "%g" % b if b is not None else "NaN", "%g" % (r / 1000) if r else "NaN"))
    plot = ['set terminal pngcairo size 1000,600 font ",10"' if _has_cairo() else 'set terminal png size 1000,600',
            'set datafile missing "NaN"',
            'set output "%s"' % os.path.join(outdir, "latency_vs_concurrency.png"),
            'set title "HTTP/1.1 GET 64 B: latency p50 vs concurrent connections (wrk), medians"',
            'set logscale xy', 'set xlabel "connections"', 'set ylabel "p50 latency [µs]"', 'set key left top',
            'set xtics (1, 100, 1000)', 'set grid']
    if lat:
        plot.append("plot " + ", ".join('"%s" index %d using 1:2 with linespoints title "%s"'
                                        % (os.path.join(pdir, "latency.dat"), i, n) for i, n in enumerate(lat)))
    plot += ['unset logscale', 'set xtics auto', 'set style data histogram', 'set style fill solid 0.8',
             'set boxwidth 0.8', 'set xtics rotate by -35', 'set key off', 'set xlabel ""', 'set yrange [0:*]',
             'set output "%s"' % os.path.join(outdir, "per_hop_overhead.png"),
             'set title "Added RTT p50 per proxy process (64 B ping-pong, 1 flow, 1 CPU), vs direct, same round"',
             'set ylabel "µs per proxy"',
             'plot "%s" using 2:xtic(1) title "added per proxy"' % os.path.join(pdir, "overhead.dat"),
             'set output "%s"' % os.path.join(outdir, "throughput.png"),
             'set multiplot layout 1,2 title "Throughput per system (medians)"',
             'set title "bulk, 1 flow (iperf3)"', 'set ylabel "Gb/s"',
             'plot "%s" using 2:xtic(1)' % os.path.join(pdir, "throughput.dat"),
             'set title "HTTP/1.1 req/s, c=100 (wrk)"', 'set ylabel "thousand req/s"',
             'plot "%s" using 3:xtic(1)' % os.path.join(pdir, "throughput.dat"),
             'unset multiplot']
    with open(os.path.join(pdir, "plots.gp"), "w") as f:
        f.write("\n".join(plot) + "\n")
    r = subprocess.run(["gnuplot", os.path.join(pdir, "plots.gp")], capture_output=True, text=True)
    if r.returncode:
        return "gnuplot failed: " + r.stderr.strip()[-300:]
    return None


def _has_cairo():
    import subprocess
    try:
        r = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True)
        return "pngcairo" in (r.stdout + r.stderr)
    except OSError:
        return False


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
        "metrics": [{"name": m, "label": l, "unit": u, "better": b, "table": t} for m, l, u, b, t in METRICS]
        + [{"name": m, "label": l, "unit": u, "from": src, "divided_by": per} for m, l, u, src, per in DERIVED],
        "configs": [{k: c.get(k) for k in ("config", "available", "args", "desc", "loads", "proxies", "hops", "reason")}
                    for c in configs],
        "results": results,
        "errors": [{k: e.get(k) for k in ("config", "run", "what", "reason")} for e in errors],
        "checks": [{k: c.get(k) for k in ("config", "run", "hermesd_accepted")} for c in checks],
    }
    with open(outdir + "/results.json", "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")
    note = plots(outdir, configs, results)
    md = markdown(meta, configs, results, errors)
    if note:
        md += "\nPlots: %s\n" % note
    with open(outdir + "/results.md", "w", encoding="utf-8") as f:
        f.write(md)


if __name__ == "__main__":
    main()
