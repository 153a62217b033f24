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
  {"type": "tls", "config", "listener", "name", "protocol", "suite", "group", "signature",
   "verification", "client_suites"}         what a TLS configuration's first hop negotiates
  {"type": "limits", "config", "nofile"}     RLIMIT_NOFILE of each of its proxy processes
In A/B mode (bench.sh with BENCH_BASE) the meta record has base_dir, base_rev and
base_hermesd_sha256, and the sample, error, check, timing, tls and limits records about
the base hermesd carry "side": "base" (those without it are the new hermesd's, or of a
configuration that runs no hermesd). The report then begins with the A/B comparison (per
configuration and metric: base and new medians, the relative change, the run's own spread
and whether new is worse or better beyond it; results.json "ab" and "results_base"); the
rest of it is the new hermesd's, exactly as without a base.
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
    ("flows1000_cpu_ms", "1000 concurrent flows: proxy CPU time", "ms", "lower", "l4"),
    ("bulk1_gbps", "bulk, 1 flow (iperf3)", "Gb/s", "higher", "l4"),
    ("bulk8_gbps", "bulk, 8 flows (iperf3)", "Gb/s", "higher", "l4"),
    ("cpu_s_per_gb", "CPU s per GB, bulk 1 flow (whole machine)", "s/GB", "lower", "l4"),
    ("proxy_cpu_s_per_gb", "CPU s per GB, bulk 1 flow (proxy processes)", "s/GB", "lower", "l4"),
    ("connrate_per_s", "connections/s", "1/s", "higher", "l4"),
    ("rss_idle1000_l4_kib", "proxy RSS added by 1000 idle flows", "KiB", "lower", "l4"),
    ("rss_idle10000_l4_kib", "proxy RSS added by 10000 idle flows (HTTP/2 tunnels)", "KiB", "lower", "l4"),
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
    ("wrk10000_rps", "HTTP/1.1 req/s, c=10000", "1/s", "higher", "http"),
    ("wrk10000_p50_us", "HTTP/1.1 latency p50, c=10000", "µs", "lower", "http"),
    ("wrk10000_p99_us", "HTTP/1.1 latency p99, c=10000", "µs", "lower", "http"),
    ("wrk10000_p999_us", "HTTP/1.1 latency p99.9, c=10000", "µs", "lower", "http"),
    ("wrk10000_errors", "HTTP/1.1 c=10000: wrk errors (socket errors and non-2xx)", "count", "lower", "http"),
    ("wrk10000_queued", "HTTP/1.1 c=10000: connections not yet accepted near the end (listen queues)", "count", "lower",
     "http"),
    ("wrk1_errors", "HTTP/1.1 c=1: wrk errors", "count", "lower", "http"),
    ("wrk100_errors", "HTTP/1.1 c=100: wrk errors", "count", "lower", "http"),
    ("wrk1000_errors", "HTTP/1.1 c=1000: wrk errors", "count", "lower", "http"),
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
    ("h2l1000_p999_us", "HTTP/2 latency p99.9, c=1000", "µs", "lower", "http"),
    ("h2l10000_rps", "HTTP/2 req/s, c=10000", "1/s", "higher", "http"),
    ("h2l10000_p50_us", "HTTP/2 latency p50, c=10000", "µs", "lower", "http"),
    ("h2l10000_p99_us", "HTTP/2 latency p99, c=10000", "µs", "lower", "http"),
    ("h2l10000_p999_us", "HTTP/2 latency p99.9, c=10000", "µs", "lower", "http"),
    ("h2l10000_failed", "HTTP/2 c=10000: h2load failed requests and clients not connected", "count", "lower", "http"),
    ("h2l10000_queued", "HTTP/2 c=10000: connections not yet accepted near the end (listen queues)", "count", "lower",
     "http"),
    ("h2l1_failed", "HTTP/2 c=1: h2load failed requests", "count", "lower", "http"),
    ("h2l100_failed", "HTTP/2 c=100: h2load failed requests", "count", "lower", "http"),
    ("h2l1000_failed", "HTTP/2 c=1000: h2load failed requests", "count", "lower", "http"),
    ("cachehit_rps", "cache hit: req/s, 4 KiB object, c=100 (wrk)", "1/s", "higher", "cache"),
    ("cachehit_p50_us", "cache hit: latency p50, c=100", "µs", "lower", "cache"),
    ("cachehit_p99_us", "cache hit: latency p99, c=100", "µs", "lower", "cache"),
    ("cachehit_p999_us", "cache hit: latency p99.9, c=100", "µs", "lower", "cache"),
    ("cachehit_proxy_cpu_us", "cache hit: the proxy processes' CPU per request", "µs", "lower", "cache"),
    ("cachehit_errors", "cache hit: wrk errors", "count", "lower", "cache"),
    ("cachehit_sockops_per_req", "cache hit: hermesd's sockops runs per request (kernel.bpf_stats_enabled=1 only)",
     "1/req", "lower", "cache"),
    ("cachehit_sockops_ns", "cache hit: mean sockops run time (kernel.bpf_stats_enabled=1 only)", "ns", "lower",
     "cache"),
    ("cachehit_origin_reqs", "cache hit: requests that reached the origin while measured", "count", "lower", "cache"),
    ("udprtt_p50_us", "UDP RTT p50, 64 B, 1 flow, 1 CPU (udpping)", "µs", "lower", "udp"),
    ("udprtt_p99_us", "UDP RTT p99, 64 B, 1 flow, 1 CPU", "µs", "lower", "udp"),
    ("udprtt_p999_us", "UDP RTT p99.9, 64 B, 1 flow, 1 CPU", "µs", "lower", "udp"),
    ("udprr_rate", "UDP exchanges/s, 64 B, 1 flow, 1 CPU", "1/s", "higher", "udp"),
    ("udprtt_lost", "UDP ping-pong: requests lost (no reply in 200 ms)", "count", "lower", "udp"),
    ("udp500_mbps", "UDP 1200 B offered at 500 Mb/s: received (iperf3 -u)", "Mb/s", "higher", "udp"),
    ("udp500_loss_pct", "UDP 1200 B at 500 Mb/s: loss (iperf3: sequence gaps at the server)", "%", "lower", "udp"),
    ("udp500_undelivered_pct", "UDP 1200 B at 500 Mb/s: sent but not received by the test's end", "%", "lower", "udp"),
    ("udp500_sent_mbps", "UDP 1200 B at 500 Mb/s: sent (the sender's own rate)", "Mb/s", "higher", "udp"),
    ("udp500_cpu_pct", "UDP 1200 B at 500 Mb/s: proxy CPU", "% of a CPU", "lower", "udp"),
    ("udp1000_mbps", "UDP 1200 B offered at 1 Gb/s: received", "Mb/s", "higher", "udp"),
    ("udp1000_loss_pct", "UDP 1200 B at 1 Gb/s: loss (iperf3: sequence gaps at the server)", "%", "lower", "udp"),
    ("udp1000_undelivered_pct", "UDP 1200 B at 1 Gb/s: sent but not received by the test's end", "%", "lower", "udp"),
    ("udp1000_sent_mbps", "UDP 1200 B at 1 Gb/s: sent (the sender's own rate)", "Mb/s", "higher", "udp"),
    ("udp1000_cpu_pct", "UDP 1200 B at 1 Gb/s: proxy CPU", "% of a CPU", "lower", "udp"),
    ("udp1000_drops_a_kernel", "UDP 1200 B at 1 Gb/s: dropped on A by the kernel (full socket buffers)", "count", "lower",
     "udp"),
    ("udp1000_drops_a_hermesd", "UDP 1200 B at 1 Gb/s: dropped on A by hermesd (its drop counters)", "count", "lower",
     "udp"),
    ("udp1000_drops_c_kernel", "UDP 1200 B at 1 Gb/s: dropped on C by the kernel (the receiver's socket buffer)", "count",
     "lower", "udp"),
    ("udp1000_drops_c_hermesd", "UDP 1200 B at 1 Gb/s: dropped on C by hermesd", "count", "lower", "udp"),
    ("udpmax_mbps", "UDP 1200 B: highest rate with < 0.1% loss (received)", "Mb/s", "higher", "udp"),
]
# error counts: no ratio to direct (0 / 0); the rows of the loads below c=10000 are shown
# only when some configuration had errors there
COUNTS = {m[0] for m in METRICS if m[2] == "count"}
# shares (loss, CPU): a ratio of two percentages to direct's says nothing
NO_RATIO = COUNTS | {m[0] for m in METRICS if m[2].startswith("%")}
ALWAYS_SHOWN = {"wrk10000_errors", "h2l10000_failed", "wrk10000_queued", "h2l10000_queued", "udprtt_lost",
                "cachehit_origin_reqs"}
# derived per round against the same round's direct sample: name, label, unit, source metric
DERIVED = [
    ("added_rtt1_per_proxy_us", "added RTT p50 per proxy process (64 B, 1 flow, 1 CPU)", "µs", "rtt1_p50_us", "proxies"),
    ("added_rtt1_per_hop_us", "added RTT p50 per tunnel hop (64 B, 1 flow, 1 CPU)", "µs", "rtt1_p50_us", "hops"),
    ("added_rtt1free_per_hop_us", "added RTT p50 per tunnel hop (unpinned)", "µs", "rtt1free_p50_us", "hops"),
    ("added_wrk1_per_proxy_us", "added HTTP/1.1 latency p50 per proxy (wrk c=1)", "µs", "wrk1_p50_us", "proxies"),
    ("bulk1_ratio", "bulk 1 flow, ratio to direct (same round)", "×", "bulk1_gbps", None),
    ("added_udprtt_per_proxy_us", "added UDP RTT p50 per proxy process (64 B, 1 flow, 1 CPU)", "µs", "udprtt_p50_us",
     "proxies"),
    ("added_udprtt_per_hop_us", "added UDP RTT p50 per tunnel hop (64 B, 1 flow, 1 CPU)", "µs", "udprtt_p50_us", "hops"),
]
# the UDP targets (issue 17): the proxy adds at most this to a 64 B exchange (p50,
# vs direct in the same round), a tunnel hop carries this rate of 1200 B datagrams with
# less than this loss
UDP_PROXY_ADDED_US = 15
UDP_TUNNEL_MBPS = 1000
UDP_TUNNEL_LOSS_PCT = 0.1
# the cache target (issue 18): hermes-cache serves hits at this multiple of
# nginx-cache's req/s (wrk c=100, 4 KiB), with a p99 no worse
CACHE_PEER, CACHE_HERMES, CACHE_RATE_X = "nginx-cache", "hermes-cache", 1.5
DIRECT = "direct"
SPREAD_MARK = 0.30
DERIVED_NAMES = {d[0] for d in DERIVED}  # a cell whose (max - min) / median exceeds this gets a mark


def is_base(rec):
    """whether a record is about the base hermesd of an A/B run"""
    return rec.get("side") == "base"


def load(path):
    """meta, configs, samples, errors, checks, extra (tls, limits and timing records)"""
    meta, configs, samples, errors, checks = {}, [], [], [], []
    extra = {"tls": [], "limits": {}, "timing": {}, "limits_base": {}, "timing_base": {}}
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
            elif kind == "tls":
                extra["tls"].append(rec)
            elif kind == "limits":
                extra["limits_base" if is_base(rec) else "limits"][rec["config"]] = rec.get("nofile", "")
            elif kind == "timing":
                extra["timing_base" if is_base(rec) else "timing"].setdefault(rec["config"], []).append(
                    float(rec["secs"]))
    return meta, configs, samples, errors, checks, extra


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
            if metric in DERIVED_NAMES or metric in NO_RATIO:
                r["ratio_to_direct"] = None
                continue
            d = base.get(metric)
            r["ratio_to_direct"] = r["median"] / d["median"] if d and d["median"] else None
    return results


# which way is better, for the A/B verdicts of the derived rows
DERIVED_BETTER = {"bulk1_ratio": "higher"}


def ab_compare(configs, results, results_base):
    """A/B rows, one per configuration measured with both hermesd and metric either has:
    base and new summaries, change (relative, new vs base; absolute for counts), spread (the
    larger of the two sides' (max - min) / median) and verdict: "worse" or "better" when new
    differs from base in that direction by more than the spread (counts, and rows whose base
    median is 0: when the two sides' ranges do not overlap), "within spread", "n<2" (a side
    has one sample: no spread to judge by) or "no base"/"no new" samples"""
    better = {m[0]: m[3] for m in METRICS}
    better.update({d[0]: DERIVED_BETTER.get(d[0], "lower") for d in DERIVED})
    order = [m[0] for m in METRICS] + [d[0] for d in DERIVED]
    rows = []
    for c in configs:
        name = c["config"]
        if name == DIRECT or not results_base.get(name):
            continue
        new_r, base_r = results.get(name, {}), results_base[name]
        for metric in order:
            b, n = base_r.get(metric), new_r.get(metric)
            if b is None and n is None:
                continue
            if metric == "cachehit_origin_reqs" and not name.endswith("-cache"):
                continue  # an uncached path forwards every request: its count follows its rate
            row = {"config": name, "metric": metric, "better": better[metric], "base": b, "new": n,
                   "change": None, "spread": None}
            if b is None or n is None:
                row["verdict"] = "no base" if b is None else "no new"
                rows.append(row)
                continue
            sign = 1 if better[metric] == "lower" else -1  # > 0: new is worse
            spreads = [(r["max"] - r["min"]) / abs(r["median"]) for r in (b, n) if r["median"]]
            row["spread"] = max(spreads) if spreads else None
            if metric in COUNTS or not b["median"]:
                row["change"] = n["median"] - b["median"] if metric in COUNTS else None
                worse = n["min"] > b["max"] if sign > 0 else n["max"] < b["min"]
                gain = n["max"] < b["min"] if sign > 0 else n["min"] > b["max"]
            else:
                row["change"] = (n["median"] - b["median"]) / abs(b["median"])
                spread = row["spread"] or 0.0
                worse = sign * row["change"] > spread
                gain = -sign * row["change"] > spread
            if min(b["n"], n["n"]) < 2:
                row["verdict"] = "n<2"
            else:
                row["verdict"] = "worse" if worse else "better" if gain else "within spread"
            rows.append(row)
    return rows


def ab_markdown(meta, ab, runs):
    """the A/B section of results.md"""
    labels = {m[0]: "%s [%s]" % (m[1], m[2]) for m in METRICS}
    labels.update({d[0]: "%s [%s]" % (d[1], d[2]) for d in DERIVED})
    judged = [r for r in ab if r["verdict"] in ("worse", "better", "within spread")]
    worse = [r for r in ab if r["verdict"] == "worse"]
    missing = [r for r in ab if r["verdict"] == "no new"]
    out = ["## A/B: base hermesd vs new hermesd, same run\n"]
    out.append("Base: `%s` (%s, hermesd sha256 %s). New: this build (%s, hermesd sha256 %s). Every configuration "
               "that runs hermesd was measured with both in every round, one right after the other (the base "
               "first in odd rounds); the other configurations once. Cells: median (min–max) over the rounds. "
               "Change: (new − base) / base of the medians (for counts: new − base). Spread: the larger of the two "
               "sides' (max − min) / median, the run's own noise for that row. **worse** / **better**: new differs "
               "from base in that direction by more than the spread (counts, and rows whose base median is 0: "
               "every new sample beyond every base sample); `n<2`: a side has one sample, nothing to judge the "
               "change by.\n"
               % (meta.get("base_dir", "?"), meta.get("base_rev", "?"), meta.get("base_hermesd_sha256", "?"),
                  meta.get("hermes_rev", "?"), meta.get("hermesd_sha256", "?")))
    out.append("**%d of %d rows worse beyond the run's spread**%s; %d better beyond it.%s"
               % (len(worse), len(judged),
                  ": " + ", ".join("`%s` %s" % (r["config"], r["metric"]) for r in worse) if worse else "",
                  len([r for r in ab if r["verdict"] == "better"]),
                  " Rows the new hermesd has no samples for (failed: see the errors): %s."
                  % ", ".join("`%s` %s" % (r["config"], r["metric"]) for r in missing) if missing else ""))
    cur = None
    for r in ab:
        if r["config"] != cur:
            cur = r["config"]
            out += ["", "### `%s`\n" % cur, "| metric | base | new | change | spread | verdict |",
                    "|---|---|---|---|---|---|"]
        count = r["metric"] in COUNTS

        def side(x):
            if x is None:
                return "–"
            f = (lambda v: "%.0f" % v) if count else fmt
            return "%s (%s–%s)%s" % (f(x["median"]), f(x["min"]), f(x["max"]),
                                     " n=%d" % x["n"] if x["n"] < runs else "")
        if r["change"] is None:
            change = "–"
        elif count:
            change = "%+.0f" % r["change"]
        else:
            change = "%+.1f%%" % (100 * r["change"])
        spread = "±%.1f%%" % (100 * r["spread"]) if r["spread"] is not None else "–"
        verdict = "**%s**" % r["verdict"] if r["verdict"] in ("worse", "better") else r["verdict"]
        out.append("| %s | %s | %s | %s | %s | %s |" % (labels[r["metric"]], side(r["base"]), side(r["new"]), change,
                                                     spread, verdict))
    out.append("")
    return out


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


def cell(r, runs, count=False):
    if r is None:
        return "failed (see errors)"
    f = (lambda x: "%.0f" % x) if count else fmt
    s = "%s (%s–%s)" % (f(r["median"]), f(r["min"]), f(r["max"]))
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
        if metric in COUNTS and metric not in ALWAYS_SHOWN and \
                not any(results.get(n, {}).get(metric, {}).get("max") for n in names):
            continue
        row = ["%s [%s]" % (label, unit)]
        for n in names:
            r = results.get(n, {}).get(metric)
            row.append(cell(r, runs, metric in COUNTS) if r else "–")
        out.append("| " + " | ".join(row) + " |")
    return out


def rounds(n):
    """which rounds a load ran in: the first n"""
    return "round 1" if n == 1 else "rounds 1–%s" % n


def udp_markdown(meta, configs, results, runs, loads):
    """the UDP sections of results.md: the issue's targets, every UDP configuration (those
    not measured with their reason: a tunnel rule this hermesd refuses shows as unsupported),
    then the UDP loads' table"""
    udp = [c for c in configs if "udp" in loads[c["config"]]]
    if not any(c.get("available") for c in udp):
        return []
    out = ["## UDP: the issue's targets\n"]
    out.append("Targets (issue 17): the `proxy` action adds ≤ %d µs to a 64 B datagram exchange (RTT p50 minus "
               "direct's in the same round, 1 flow, everything pinned to one CPU as for TCP); a tunnel hop moves "
               "≥ %d Mb/s of 1200-byte datagrams with < %g%% loss at that rate (iperf3 -u, one flow, %s s per "
               "measurement). \"Highest rate\": the highest offered rate that arrived with < 0.1%% loss and ≥ 95%% "
               "of it received (a rate search, in %s). Loss is iperf3's (gaps in the sequence the server received); "
               "datagrams still queued on the path when the test ends are not in it: compare received with offered "
               "(the \"UDP loads\" table also gives what the sender sent and what it sent that never arrived); the sender (iperf3, one thread) shares the 2 CPUs with "
               "the relay, so direct's figure is the machine's own limit. Proxy CPU: the configuration's proxy "
               "processes' CPU time during the load (schedstat, and the children that ended meanwhile: a socat "
               "child ends with its flow), in %% of one CPU over the test's seconds.\n"
               % (UDP_PROXY_ADDED_US, UDP_TUNNEL_MBPS, UDP_TUNNEL_LOSS_PCT, meta.get("udp_secs", "?"),
                  "every round (BENCH_LOADS names it)" if "udpsearch" in (meta.get("loads") or "").split() else
                  "rounds 1–%s; in quick mode only when BENCH_LOADS names udpsearch"
                  % meta.get("udp_search_runs", "?")))
    out.append("| configuration | proxies | tunnel hops | UDP RTT p50 [µs] | added per proxy [µs] | added per hop "
               "[µs] | 1 Gb/s offered: received [Mb/s] | loss [%] | proxy CPU [%] | highest rate < 0.1% loss "
               "[Mb/s] | target |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for c in configs:
        name = c["config"]
        if name != DIRECT and "udp" not in loads[name] or name == DIRECT and not c.get("available"):
            continue
        if not c.get("available"):
            reason = c.get("reason", "")
            out.append("| " + " | ".join(["`%s`" % name, str(c.get("proxies", 0)), str(c.get("hops", 0)),
                                          "not measured: " + reason] + [""] * 6 +
                                         ["unsupported" if reason.startswith("unsupported") else "–"]) + " |")
            continue
        r = results.get(name, {})

        def g(m):
            return cell(r.get(m), runs) if r.get(m) else "–"

        def med(m):
            return r[m]["median"] if r.get(m) else None
        target = "–"
        if name == DIRECT:
            pass
        elif c.get("hops"):
            got, loss = med("udp1000_mbps"), med("udp1000_loss_pct")
            if got is not None and loss is not None:
                ok = got >= 0.99 * UDP_TUNNEL_MBPS and loss < UDP_TUNNEL_LOSS_PCT
                target = "%s (≥ %d Mb/s, < %g%% loss: %s Mb/s, %s%%)" % (
                    "**met**" if ok else "**not met**", UDP_TUNNEL_MBPS, UDP_TUNNEL_LOSS_PCT, fmt(got), fmt(loss))
        elif name.startswith("hermes-"):
            add = med("added_udprtt_per_proxy_us")
            d = results.get(DIRECT, {}).get("udprtt_p50_us")
            if add is None and med("udprtt_p50_us") is not None and d:
                # no proxy process relays (the kernel path): what the proxy action adds is
                # its RTT over direct's, medians of the same rounds
                add = med("udprtt_p50_us") - d["median"]
            if add is not None:
                target = "%s (≤ %d µs: %s)" % ("**met**" if add <= UDP_PROXY_ADDED_US else "**not met**",
                                                 UDP_PROXY_ADDED_US, fmt(add))
        out.append("| `%s` | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            name, c.get("proxies", 0), c.get("hops", 0), g("udprtt_p50_us"), g("added_udprtt_per_proxy_us"),
            g("added_udprtt_per_hop_us"), g("udp1000_mbps"), g("udp1000_loss_pct"), g("udp1000_cpu_pct"),
            g("udpmax_mbps"), target))
    out.append("")
    out.append("## UDP loads\n")
    names = [c["config"] for c in configs if c.get("available") and "udp" in loads[c["config"]]]
    out += table(configs, results, runs, [(m, l, u) for m, l, u, _, t in METRICS if t == "udp"], names)
    out.append("")
    return out


def cache_markdown(meta, configs, results, runs, loads):
    """the cachehit section of results.md: the issue's target, then every configuration that
    carries the load (the caches and the uncached paths, those not measured with their
    reason), req/s beside nginx-cache's, latency, and the origin's count"""
    rows = [c for c in configs if "cache" in loads[c["config"]]]
    if not any(c.get("available") and "cachehit_rps" in results.get(c["config"], {}) for c in rows):
        return []
    most = meta.get("cache_origin_max", 5)
    out = ["## HTTP cache hits: the issue's target\n"]
    out.append("Target (issue 18): `%s` serves a cache hit at ≥ %g× `%s`'s req/s at c=100 for a 4 KiB object, "
               "p99 no worse. Load: wrk, %s, 100 keep-alive connections, %s s, every request a GET of the "
               "same 4 KiB object, after two warm-up requests that put it in the cache. The origin "
               "(tools/bench/cache_origin.py on C: Python, a thread per connection, each answer %s ms late, "
               "`Cache-Control: public, max-age=3600`, an ETag) is much slower than a hit, so `direct` and "
               "`hermes-http-h1` (no cache) show what every request costs when it goes to the origin. \"Origin "
               "requests\": lines its access log gained during the measured phase (median, max over the rounds); "
               "a cache configuration with more than %s in a round forwarded instead of serving hits (marked "
               "**forwarded**, and an error of the run). Proxy CPU per request: the CPU time (schedstat) of the "
               "configuration's proxy processes (nginx's master and workers, hermesd) during the measured phase "
               "over the requests wrk completed: on a machine whose CPUs the load generator shares, the rate is "
               "the whole machine's, this row is the proxy's own cost of a hit.\n"
               % (CACHE_HERMES, CACHE_RATE_X, CACHE_PEER,
                  "one thread on CPU 0, the proxy's processes on the other CPUs (nginx-cache: a worker per CPU it "
                  "has)" if meta.get("cache_split") else "2 threads, nothing pinned",
                  meta.get("cache_secs", "?"),
                  meta.get("cache_origin_delay_ms", "?"), most))
    out.append("| configuration | req/s | × %s | p50 [µs] | p99 [µs] | p99.9 [µs] | proxy CPU per request [µs] | "
               "errors | origin requests | target |" % CACHE_PEER)
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    peer = results.get(CACHE_PEER, {})

    def med(r, m):
        return r[m]["median"] if r.get(m) else None
    for c in rows:
        name = c["config"]
        if not c.get("available") and name != CACHE_HERMES and (c.get("reason") or "").startswith("not selected"):
            continue
        if not c.get("available"):
            out.append("| `%s` | not measured: %s |  |  |  |  |  |  |  | %s |" % (
                name, c.get("reason", ""), "not measured" if name == CACHE_HERMES else "–"))
            continue
        r = results.get(name, {})

        def g(m, count=False):
            return cell(dict(r[m], ratio_to_direct=None), runs, count) if r.get(m) else "–"
        rate, prate = med(r, "cachehit_rps"), med(peer, "cachehit_rps")
        x = "%.2f" % (rate / prate) if rate is not None and prate else "–"
        orig = r.get("cachehit_origin_reqs")
        ocell = "–"
        if orig:
            ocell = "%.0f (max %.0f)" % (orig["median"], orig["max"])
            if name.endswith("-cache") and orig["max"] > most:
                ocell += " **forwarded**"
        target = "–"
        if name == CACHE_HERMES:
            p99, pp99 = med(r, "cachehit_p99_us"), med(peer, "cachehit_p99_us")
            if rate is not None and prate and p99 is not None and pp99 is not None:
                ok = rate >= CACHE_RATE_X * prate and p99 <= pp99
                target = "%s (≥ %g×: %.2f×; p99 %s vs %s µs)" % ("**met**" if ok else "**not met**", CACHE_RATE_X,
                                                                 rate / prate, fmt(p99), fmt(pp99))
            else:
                target = "no %s figure to compare with" % CACHE_PEER
        out.append("| `%s` | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            name, g("cachehit_rps"), x, g("cachehit_p50_us"), g("cachehit_p99_us"), g("cachehit_p999_us"),
            g("cachehit_proxy_cpu_us"), g("cachehit_errors", True), ocell, target))
    out.append("")
    return out


def markdown(meta, configs, results, errors, extra, ab=None):
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
    out.append("Mode: **%s**, %s round(s); ping-pong %s s, iperf3 %s s, connection rate %s s, wrk %s s, h2load %s s "
               "per measurement. Reproduce (as root, Debian 12): `make bench` (full: 5 rounds, every configuration but the "
               "opt-in haproxy-mtls-2hop, hermes-uring-noacct, hermes-uring-tc and hermes-kernel) or "
               "`make bench QUICK=1` (2 short rounds, without the four hermes-uring variants, sockperf, unpinned RTT, 8-flow bulk, h2load other than c=100, the UDP rate search and c=10000); `make bench RUNS=N`; "
               "`BENCH_CONFIGS=\"tun-h2-1hop squid\"` for a subset. Tools: %s."
               % ("quick" if meta.get("quick") else "full", runs, meta.get("rtt_secs"), meta.get("bulk_secs"),
                  meta.get("conn_secs"), meta.get("http_secs"), meta.get("h2_secs", meta.get("http_secs")),
                  ", ".join(str(meta.get(k)) for k in ("sockperf", "iperf3", "wrk", "h2load", "haproxy", "nginx",
                                                        "squid", "nghttpx") if meta.get(k))))
    if meta.get("loads"):
        out.append("Only the loads %s were measured (BENCH_LOADS)." % meta.get("loads"))
    if meta.get("rt"):
        out.append("BENCH_RT=1: the 1000-flow load's client, server and proxies ran SCHED_FIFO (the proxy with "
                   "the CPU to itself, not what an application sees beside other work).")
    if meta.get("extra") and meta.get("extra_runs", runs) < runs:
        out.append("The cross-checks (sockperf, unpinned RTT, 8-flow bulk) ran in %s only (their cells have "
                   "n=%s or fewer: EXTRA_RUNS)." % (rounds(meta.get("extra_runs")), meta.get("extra_runs")))
    out.append("")
    if meta.get("c10k"):
        big = meta.get("big_runs", runs)
        out.append("c=%s (wrk and h2load): %s s per measurement (wrk counts from its first connect(), so the setup "
                   "of the connections is inside it)%s. Descriptor limit (RLIMIT_NOFILE) given to every process: "
                   "%s (%s wanted); 10000 connections through one proxy process take 20000 in it, so a "
                   "configuration whose limit is lower shows it there: as errors (\"wrk errors\", \"failed\" "
                   "rows: connections reset by a proxy that could not open its upstream socket) or as connections "
                   "not accepted (a proxy out of descriptors, or at its connection limit, leaves them in its "
                   "listen queue, and neither tool counts them: the harness reads every listen queue on A, R and C "
                   "%s s after each c=%s load began, and reports it in the \"not yet accepted\" rows). Each "
                   "proxy's limit is under Configurations."
                   % (meta.get("big_conns"), meta.get("big_secs"),
                      ", in %s only (BIG_RUNS: its cells have n=%s or fewer)" % (rounds(big), big) if big < runs else "",
                      meta.get("nofile"), meta.get("nofile_wanted"), (meta.get("big_secs") or 0.5) - 0.5,
                      meta.get("big_conns")))
    else:
        out.append("c=10000 was not measured in this run (quick mode leaves it out; BENCH_C10K=1 measures it).")
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
    if ab is not None:
        out += ab_markdown(meta, ab, runs)
        out.append("The sections below are the new hermesd's figures (and the other configurations'), as in a "
                   "run without a base.\n")

    # ---- tunnels: the targets
    tun = [c for c in avail if c.get("hops") and loads[c["config"]] != ["udp"]]
    if tun:
        out.append("## Tunnels: added latency per hop and throughput\n")
        out.append("Added latency = (configuration p50 − direct p50 of the same round) / hops, median (min–max) "
                   "over the rounds. \"Tunnel hop\" = one proxy-to-proxy leg; \"per proxy\" divides by "
                   "the proxy processes on the path (A's and C's for 1 hop; A's, R's and C's for 2 hops, "
                   "the issue's \"3 hops\"). The `haproxy-mtls-*` and `nghttpx-mtls-1hop` rows are the peers of "
                   "the h2/mTLS tunnels with the same TLS (see \"TLS\" below). Targets (issue 5): ≤ 50 µs p50 "
                   "added per h2/mTLS hop, ≥ 0.6× direct single-flow throughput.\n")
        out.append("| configuration | proxies on path | tunnel hops | RTT p50 [µs] | added per tunnel hop [µs] "
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
    out += cache_markdown(meta, configs, results, runs, loads)
    out += udp_markdown(meta, configs, results, runs, loads)
    if extra["tls"]:
        out.append("## TLS: what each TLS configuration negotiates\n")
        out.append("Probed once per configuration with `openssl s_client` from A, with A's certificate, against "
                   "the listener its first hop dials, offering that client's suites (OpenSSL's defaults, "
                   "AES-256-GCM first, against hermesd, whose listener picks by its own tls.ciphersuites "
                   "order; the configured ones for the peers); the certificate name is "
                   "checked. The peers are set to TLS 1.3 only, %s, %s: a probe that negotiates anything else is "
                   "an error of the run.\n" % (meta.get("tls_suite", "?"), meta.get("tls_group", "?")))
        out.append("| configuration | listener (name) | client offers | protocol | suite | key exchange | "
                   "server signature | verification |")
        out.append("|---|---|---|---|---|---|---|---|")
        for t in extra["tls"]:
            out.append("| `%s`%s | %s (%s) | %s | %s | %s | %s | %s | %s |" % (
                t.get("config"), " (base hermesd)" if is_base(t) else "", t.get("listener"), t.get("name"),
                t.get("client_suites"), t.get("protocol") or "?",
                t.get("suite") or "?", t.get("group") or "?", t.get("signature") or "?",
                t.get("verification") or "?"))
        out.append("")
    out.append("Plots: `latency_vs_concurrency.png` (HTTP/1.1 p50 by wrk connections, per system), "
               "`per_hop_overhead.png` (added RTT p50 per proxy process), `throughput.png` (single-flow bulk and "
               "HTTP/1.1 req/s at c=100, per system).")
    out.append("")
    out.append("## Configurations\n")
    for c in configs:
        desc = c.get("desc") or c.get("args") or ""
        if c.get("available"):
            lim = extra["limits"].get(c["config"])
            blim = extra["limits_base"].get(c["config"])
            out.append("- `%s` (%s): %s%s%s" % (c["config"], ", ".join(loads[c["config"]]), desc,
                                                "; descriptor limits: %s" % lim if lim else "",
                                                "; with the base hermesd: %s" % blim if blim else ""))
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
               "64 B body from nginx on C (worker_processes = cores, access log off). The \"errors\" and "
               "\"failed\" rows count wrk's socket errors (connect, read, write, timeout) and non-2xx answers, "
               "h2load's failed requests and clients that could not connect; the rates and latencies count the "
               "requests that succeeded. Before every HTTP load the harness waits (at most 10 s) until no listen "
               "queue on A, R or C holds a connection and no socket there is being closed, so that a proxy still "
               "working off the previous load is not measured on the next one's time. At c=10000 every host has the ephemeral port range 1024–65535 and accept "
               "queues up to 65535 (net.core.somaxconn); nginx (origin and nginx-rp) listens with backlog 65535, "
               "%s worker_connections and multi_accept on, HAProxy has maxconn 20000 or what the descriptor limit "
               "allows (its listen backlog follows it), nghttpx its "
               "default backlog (65536); hermesd's listeners ask for 4096 (fixed in hermesd): a setting that may "
               "favour the peers when 10000 connections arrive at once." % min(int(meta.get("nofile") or 25000), 25000))
    out.append("- Peers as their users would run them for a benchmark: HAProxy nbthread = cores, no log, keep-alive; "
               "nginx worker_processes = cores, access log off, upstream keepalive; nghttpx workers = cores, no "
               "access log; squid no cache, no access log. Settings that may favour Hermes: **squid runs one "
               "process** (its foreground mode -N has no SMP workers), hermesd is one thread too; the L4 peers "
               "(haproxy-tcp, haproxy-mtls-*, squid) are *explicit* proxies the client is pointed at, while Hermes "
               "is transparent (no application change) — that is a difference in function, not speed.")
    out.append("- TLS: the h2/mTLS tunnels and their peers use the same certificates (`hermesctl certs init`: an EC "
               "P-256 CA and host certificates), TLS 1.3 only, the same suite and key exchange (the \"TLS\" table "
               "shows what was negotiated; nghttpx's own default would pick TLS_AES_128_GCM_SHA256), client "
               "certificates required and verified against the CA at every listener, the server's name checked by "
               "every client. hermesd offers no session resumption, so HAProxy is told not to resume either "
               "(`no-ssl-reuse`), **a setting that favours Hermes** in connection setup: HAProxy resumes by "
               "default. nghttpx has no switch to turn resumption off (it resumes and accepts 0-RTT data by "
               "default: a setting that may favour it); its backend connections are pooled, so few handshakes "
               "happen at all. "
               "Differences of design, not settings: `haproxy-mtls-*` opens one TLS connection per flow (a full "
               "handshake per connection, the stunnel/ztunnel shape), hermesd carries up to 100 flows as HTTP/2 "
               "streams on one pooled TLS connection (new flows pay no handshake: this favours Hermes in "
               "connection rate and the 1000-flow test); `nghttpx-mtls-1hop` forwards HTTP requests as HTTP/2 "
               "streams (an L7 proxy pair: HTTP loads only), hermesd's tunnel carries the TCP connection. "
               "HAProxy and nghttpx use one thread per core on every host, hermesd one thread.")
    out.append("- UDP: `udpping` (tools/bench/udpping.c) sends a 64 B datagram on a connected socket and waits for "
               "its exact echo (sequence number and bytes checked; no reply in 200 ms counts as lost), pinned like "
               "the TCP ping-pong; throughput is `iperf3 -u -l 1200 -w 4M` (socket buffers 4 MiB at both ends, as "
               "hermesd's relay forces on its own sockets), one flow at a fixed offered rate, loss as iperf3's "
               "server counts it. hermesd steers the app's UDP transparently (a `protocol: udp` rule); socat "
               "(%s) is a relay the app is pointed at, `UDP4-LISTEN,fork`: a child process per client address, "
               "with the same 4 MiB buffers. HAProxy is not among the UDP peers: Debian 12's HAProxy 2.6 relays "
               "TCP and HTTP only (built without QUIC; its one datagram listener, log-forward, takes syslog)." % meta.get("socat", "socat"))
    out.append("- On 2 vCPUs the client, the server and the proxies share the CPUs: throughput figures measure the "
               "whole machine's capacity, and a proxy with more threads competes with the load generator.")
    if extra["timing"]:
        out.append("")
        out.append("## Time per configuration and round\n")
        out.append("Wall-clock seconds from stopping the previous configuration to stopping this one (its proxies' "
                   "start, every load, the checks), median (min–max) over the rounds, and the sum over the rounds: "
                   "what each configuration costs the run.\n")
        out.append("| configuration | per round [s] | all rounds [s] |")
        out.append("|---|---|---|")
        for c in configs:
            for key, tag in (("timing", ""), ("timing_base", " (base hermesd)")):
                t = extra[key].get(c["config"])
                if t:
                    out.append("| `%s`%s | %s (%s–%s) | %s |" % (c["config"], tag, fmt(statistics.median(t)),
                                                               fmt(min(t)), fmt(max(t)), fmt(sum(t))))
    if errors:
        out.append("")
        out.append("## Errors during the run\n")
        for e in errors:
            out.append("- `%s`%s round %s, %s: %s" % (e.get("config"), " (base hermesd)" if is_base(e) else "",
                                                     e.get("run"), e.get("what"), e.get("reason")))
    out.append("")
    return "\n".join(out)


def plots(outdir, configs, results):
    """PNG plots with gnuplot (skipped, with a note, when it is not installed)"""
    import os
    import benchplot
    if not benchplot.available():
        return "no plots: " + benchplot.MISSING
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
            for c in (1, 100, 1000, 10000):
                v = med(n, "wrk%d_p50_us" % c)
                if v is not None:
                    f.write("%d %g\n" % (c, v))
            f.write("\n\n")
    # per-proxy overhead and throughput: bar charts
    # (a run of some loads only, BENCH_LOADS, may have no figure for a chart: gnuplot
    # refuses an empty one, so such a chart is left out)
    overhead = [(n, med(n, "added_rtt1_per_proxy_us")) for n in avail]
    overhead = [(n, v) for n, v in overhead if v is not None]
    with open(os.path.join(pdir, "overhead.dat"), "w") as f:
        for n, v in overhead:
            f.write('"%s" %g\n' % (n, v))
    thr = [(n, med(n, "bulk1_gbps"), med(n, "wrk100_rps")) for n in avail]
    thr = [(n, b, r) for n, b, r in thr if b is not None or r is not None]
    with open(os.path.join(pdir, "throughput.dat"), "w") as f:
        for n, b, r in thr:
            f.write('"%s" %s %s\n' % (n, "%g" % b if b is not None else "NaN", "%g" % (r / 1000) if r else "NaN"))
    plot = [benchplot.terminal(1000, 600), 'set datafile missing "NaN"', 'set grid']
    if lat:
        plot += ['set output "%s"' % os.path.join(outdir, "latency_vs_concurrency.png"),
                 'set title "HTTP/1.1 GET 64 B: latency p50 vs concurrent connections (wrk), medians"',
                 'set logscale xy', 'set xlabel "connections"', 'set ylabel "p50 latency [µs]"', 'set key left top',
                 'set xtics (1, 100, 1000, 10000)']
        plot.append("plot " + ", ".join('"%s" index %d using 1:2 with linespoints title "%s"'
                                        % (os.path.join(pdir, "latency.dat"), i, n) for i, n in enumerate(lat)))
    plot += ['unset logscale', 'set xtics auto', 'set style data histogram', 'set style fill solid 0.8',
             'set boxwidth 0.8', 'set xtics rotate by -35', 'set key off', 'set xlabel ""', 'set yrange [0:*]']
    if overhead:
        plot += ['set output "%s"' % os.path.join(outdir, "per_hop_overhead.png"),
                 'set title "Added RTT p50 per proxy process (64 B ping-pong, 1 flow, 1 CPU), vs direct, same round"',
                 'set ylabel "µs per proxy"',
                 'plot "%s" using 2:xtic(1) title "added per proxy"' % os.path.join(pdir, "overhead.dat")]
    if thr:
        plot += ['set output "%s"' % os.path.join(outdir, "throughput.png"),
                 'set multiplot layout 1,2 title "Throughput per system (medians)"']
        for col, title, unit, vals in ((2, "bulk, 1 flow (iperf3)", "Gb/s", [b for _, b, _ in thr]),
                                       (3, "HTTP/1.1 req/s, c=100 (wrk)", "thousand req/s", [r for _, _, r in thr])):
            plot += ['set title "%s"' % title, 'set ylabel "%s"' % unit]
            if any(v for v in vals):
                plot.append('plot "%s" using %d:xtic(1)' % (os.path.join(pdir, "throughput.dat"), col))
        plot.append('unset multiplot')
    return benchplot.run(os.path.join(pdir, "plots.gp"), plot)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: report.py RAW.jsonl OUTDIR")
    raw, outdir = sys.argv[1], sys.argv[2]
    meta, configs, samples, errors, checks, extra = load(raw)
    if not configs:
        sys.exit("report.py: %s has no configuration records" % raw)
    results = summarize(configs, [s for s in samples if not is_base(s)])
    ab = results_base = None
    if meta.get("base_dir"):
        # the base side's own summary; direct (measured once a round) is the same round's
        # baseline of both sides' derived rows
        results_base = summarize(configs, [s for s in samples if is_base(s) or s["config"] == DIRECT])
        results_base.pop(DIRECT, None)
        ab = ab_compare(configs, results, results_base)
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
        "errors": [{k: e.get(k) for k in ("config", "side", "run", "what", "reason") if k in e} for e in errors],
        "checks": [{k: c.get(k) for k in ("config", "side", "run", "hermesd_accepted") if k in c} for c in checks],
        "tls": [{k: v for k, v in t.items() if k != "type"} for t in extra["tls"]],
        "nofile_limits": extra["limits"],
        "seconds_per_round": extra["timing"],
    }
    if ab is not None:
        doc["results_base"] = results_base
        doc["nofile_limits_base"] = extra["limits_base"]
        doc["seconds_per_round_base"] = extra["timing_base"]
        doc["ab"] = ab
    with open(outdir + "/results.json", "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")
    note = plots(outdir, configs, results)
    md = markdown(meta, configs, results, errors, extra, ab)
    if note:
        md += "\nPlots: %s\n" % note
    with open(outdir + "/results.md", "w", encoding="utf-8") as f:
        f.write(md)


if __name__ == "__main__":
    main()
