"""intermittent_report.py: the report of tools/bench/intermittent.sh. Reads its results.tsv
(one line per download: scenario, size, round, ok, seconds) and writes results.md (per
scenario and file size: downloads completed byte-exact out of those tried, and the median
completion time of those completed) and intermittent.png (the completion rates as bars).
Usage: intermittent_report.py RESULTS.tsv OUTDIR UP_MS DEADLINE_S"""
import csv
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchplot  # noqa: E402

SIZES = ["45K", "500K", "1M", "5M"]


def load(path):
    """{(scenario, size): [(ok, seconds)]}, the scenarios in run order, the unavailable ones"""
    cells, order, na = {}, [], []
    with open(path) as f:
        for row in csv.DictReader(f, delimiter="\t"):
            sc = row["scenario"]
            if sc not in order:
                order.append(sc)
            if row["ok"] == "n/a":
                na.append(sc)
                continue
            cells.setdefault((sc, row["size"]), []).append((row["ok"] == "1", float(row["seconds"])))
    return cells, order, na


def table(cells, order, na, sizes, up_ms, deadline):
    """the markdown report"""
    out = ["# Intermittent links: downloads over a path never up end to end", "",
           "Three links of the chain C - I - R1 - R2 - R3 - S take turns being up for %d ms each "
           "(`direct` has no outages). Each cell: downloads completed byte-exact / tried, then the "
           "median completion time of the completed ones (wget killed after %d s)." % (up_ms, deadline), "",
           "| scenario | " + " | ".join(sizes) + " |", "|---|" + "---|" * len(sizes)]
    for sc in order:
        if sc in na:
            out.append("| %s | " % sc + " | ".join("not available" for _ in sizes) + " |")
            continue
        row = []
        for s in sizes:
            v = cells.get((sc, s), [])
            done = [t for ok, t in v if ok]
            cell = "%d/%d" % (len(done), len(v))
            if done:
                cell += ", %.1f s" % statistics.median(done)
            row.append(cell)
        out.append("| %s | %s |" % (sc, " | ".join(row)))
    return "\n".join(out) + "\n"


def plot(outdir, cells, order, na, sizes):
    """intermittent.png: None, or why there is none"""
    if not benchplot.available():
        return benchplot.MISSING
    shown = [sc for sc in order if sc not in na]
    if not shown:
        return "nothing was measured"
    pdir = os.path.join(outdir, "plots")
    os.makedirs(pdir, exist_ok=True)
    dat = os.path.join(pdir, "rates.dat")
    with open(dat, "w") as f:
        f.write("size " + " ".join(shown) + "\n")
        for s in sizes:
            rates = []
            for sc in shown:
                v = cells.get((sc, s), [])
                rates.append("%g" % (100.0 * sum(ok for ok, _ in v) / len(v) if v else 0))
            f.write("%s %s\n" % (s, " ".join(rates)))
    gp = [benchplot.terminal(900, 450), 'set output "%s"' % os.path.join(outdir, "intermittent.png"),
          'set title "Downloads completed over links that take turns being up"',
          "set style data histogram", "set style histogram clustered gap 1", "set style fill solid 0.8 border -1",
          "set yrange [0:105]", 'set ylabel "completed [%]"', 'set xlabel "file size"', "set key outside right top",
          "set grid ytics",
          "plot " + ", ".join('"%s" using %d:xtic(1) title columnheader(%d)' % (dat, i + 2, i + 2)
                              for i in range(len(shown)))]
    return benchplot.run(os.path.join(pdir, "intermittent.gp"), gp)


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    results, outdir, up_ms, deadline = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    cells, order, na = load(results)
    sizes = [s for s in SIZES if any(k[1] == s for k in cells)]
    md = table(cells, order, na, sizes, up_ms, deadline)
    err = plot(outdir, cells, order, na, sizes)
    md += "\nPlot: %s\n" % ("intermittent.png" if err is None else "none: " + err)
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write(md)


if __name__ == "__main__":
    main()
