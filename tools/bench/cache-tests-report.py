#!/usr/bin/python3
"""cache-tests-report.py: the side-by-side summary of tools/bench/cache-tests.sh.

Usage: cache-tests-report.py DIR COLUMN...

Reads DIR/tests.json (the suite's test list), DIR/COLUMN.json (the suite's results) and
DIR/COLUMN.status.json (how the run went) for each COLUMN, and writes DIR/summary.md and
DIR/summary.json. Results are classified as the suite's own pages do
(lib/display.mjs determineTestResult in http-cache-tests), so the counts match what
cache-tests.fyi would show for the same JSON:
  pass      the test passed (required and optimal tests)
  FAIL      a required test failed: a conformance problem
  opt-fail  an optimal test failed: the cache did not reuse a response it could have
  setup     the harness could not set the test up (e.g. the proxy refused the PUT the
            client sends to configure the server); retry: the proxy repeated a request
  dep       a test this one depends on did not pass, so it says nothing
  yes / no  "check" tests: how the cache behaves where the specification leaves it open
  -         not run (the column timed out or crashed first)
A result whose error is not an assertion (no response, a reset, a timeout: node-fetch's
FetchError) is counted in its class and also as "no response".
"""
import json
import os
import sys

CLASSES = ["pass", "FAIL", "opt-fail", "setup", "retry", "dep", "yes", "no", "-"]


def classify(tests, results, tid, memo):
    if tid in memo:
        return memo[tid]
    t = tests[tid]
    r = results.get(tid)
    if r is None:
        c = "-"
    else:
        c = None
        for dep in t["depends_on"]:
            if dep in tests and classify(tests, results, dep, memo) not in ("pass", "yes"):
                c = "dep"
                break
        if c is None:
            if isinstance(r, list) and r and r[0] == "Setup":
                c = "retry" if len(r) > 1 and r[1] == "retry" else "setup"
            elif t["kind"] == "optimal":
                c = "pass" if r is True else "opt-fail"
            elif t["kind"] == "check":
                c = "yes" if r is True else "no"
            else:
                c = "pass" if r is True else "FAIL"
    memo[tid] = c
    return c


def no_response(r):
    return isinstance(r, list) and r and r[0] not in ("Assertion", "Setup")


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: cache-tests-report.py DIR COLUMN...")
    d, cols = sys.argv[1], sys.argv[2:]
    order = json.load(open(os.path.join(d, "tests.json")))
    tests = {t["id"]: t for t in order}
    cls, status, counts, noresp = {}, {}, {}, {}
    for c in cols:
        st = json.load(open(os.path.join(d, c + ".status.json")))
        status[c] = st
        p = os.path.join(d, c + ".json")
        res = json.load(open(p)) if os.path.exists(p) and os.path.getsize(p) else {}
        memo = {}
        cls[c] = {tid: classify(tests, res, tid, memo) for tid in tests}
        counts[c] = {k: 0 for k in CLASSES}
        for v in cls[c].values():
            counts[c][v] += 1
        noresp[c] = sum(1 for tid in tests if no_response(res.get(tid)))

    run = open(os.path.join(d, "run.txt")).read().strip() if os.path.exists(os.path.join(d, "run.txt")) else ""
    scored = sum(1 for t in order if t["kind"] != "check")
    checks = len(order) - scored
    out = ["# HTTP cache test suite (cache-tests.fyi): reverse proxies side by side", ""]
    out += ["Made by `make cache-tests` (tools/bench/cache-tests.sh). " + run.replace("\n", "  \n"), ""]
    out += ["%d tests: %d required or optimal (passed / failed / optional failed), %d checks "
            "(yes / no: behaviour the specification leaves open). Classified as the suite's own "
            "pages do; \"no response\" counts the results (of any class) that were a reset, a "
            "timeout or a malformed response rather than a wrong answer." % (len(order), scored, checks), ""]
    out += ["| column | version | run | passed | failed | optional failed | setup errors | "
            "dependency failed | checks yes / no | not run | no response |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c in cols:
        n, st = counts[c], status[c]
        run_s = st["status"] + (" (%d s)" % st["seconds"])
        out.append("| %s | %s | %s | %d | %d | %d | %d | %d | %d / %d | %d | %d |" % (
            st["label"], st["version"], run_s, n["pass"], n["FAIL"], n["opt-fail"],
            n["setup"] + n["retry"], n["dep"], n["yes"], n["no"], n["-"], noresp[c]))
    notes = [(status[c]["label"], status[c]["detail"]) for c in cols if status[c]["detail"]]
    if notes:
        out += [""] + ["- %s: %s" % (lbl, det) for lbl, det in notes]
    diff = [tid for tid in tests if len({cls[c][tid] for c in cols}) > 1]
    out += ["", "## Tests whose result differs between the columns (%d)" % len(diff), "",
            "pass, FAIL (required), opt-fail (optimal), setup / retry (harness), dep (a test it "
            "depends on did not pass), yes / no (checks), - (not run).", "",
            "| test | kind | " + " | ".join(status[c]["label"] for c in cols) + " |",
            "|---|---|" + "---|" * len(cols)]
    for tid in diff:
        out.append("| `%s` | %s | %s |" % (tid, tests[tid]["kind"], " | ".join(cls[c][tid] for c in cols)))
    open(os.path.join(d, "summary.md"), "w").write("\n".join(out) + "\n")
    json.dump({"run": run, "columns": [dict(status[c], counts=counts[c], no_response=noresp[c]) for c in cols],
               "results": {tid: {c: cls[c][tid] for c in cols} for tid in tests}},
              open(os.path.join(d, "summary.json"), "w"), indent=1)
    w = max(len(status[c]["label"]) for c in cols)
    print("%-*s  %6s %6s %8s %6s %5s  %s" % (w, "column", "passed", "failed", "opt-fail", "setup", "dep", "run"))
    for c in cols:
        n = counts[c]
        print("%-*s  %6d %6d %8d %6d %5d  %s" % (w, status[c]["label"], n["pass"], n["FAIL"], n["opt-fail"],
                                               n["setup"] + n["retry"], n["dep"], status[c]["status"]))


if __name__ == "__main__":
    main()
