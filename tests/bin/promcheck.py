#!/usr/bin/python3
"""promcheck.py: parse hermesd's /stats strictly and check values (run with /usr/bin/python3).

  promcheck.py FILE [NAME{LABELS}=VALUE | NAME{LABELS}>=VALUE ...]

The text must parse with prometheus_client's parser; on top of it: every sample belongs
to a family with HELP and TYPE, no family is declared twice, counters are >= 0, histogram
buckets are cumulative and end with +Inf equal to _count. Each check compares one sample
(labels written k="v",... in any order). Prints every problem; exit 0 only if none.
"""
import re
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    text = open(sys.argv[1]).read()
    problems = []
    families = {}
    for fam in text_string_to_metric_families(text):
        if fam.name in families:
            problems.append(f"family {fam.name} declared twice")
        families[fam.name] = fam
        if not fam.documentation:
            problems.append(f"{fam.name}: no HELP")
        if fam.type == "unknown":
            problems.append(f"{fam.name}: no TYPE")
        if fam.type == "histogram":
            buckets = [(s.labels["le"], s.value) for s in fam.samples if s.name.endswith("_bucket")]
            count = [s.value for s in fam.samples if s.name.endswith("_count")]
            vals = [v for _, v in buckets]
            if vals != sorted(vals):
                problems.append(f"{fam.name}: buckets not cumulative {vals}")
            if not buckets or buckets[-1][0] != "+Inf" or not count or buckets[-1][1] != count[0]:
                problems.append(f"{fam.name}: +Inf bucket missing or != _count")
        for s in fam.samples:
            if fam.type == "counter" and s.value < 0:
                problems.append(f"{s.name}: negative counter")
    samples = {}
    for fam in families.values():
        for s in fam.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    for check in sys.argv[2:]:
        m = re.fullmatch(r'([a-z_:]+)(\{(.*)\})?(>=|=)([0-9.]+)', check)
        if not m:
            problems.append(f"bad check {check}")
            continue
        name, labels, op, want = m.group(1), m.group(3) or "", m.group(4), float(m.group(5))
        key = (name, tuple(sorted(re.findall(r'(\w+)="([^"]*)"', labels))))
        got = samples.get(key)
        if got is None:
            problems.append(f"{check}: no such sample")
        elif (op == "=" and got != want) or (op == ">=" and got < want):
            problems.append(f"{check}: got {got:g}")
        else:
            print(f"ok {check} (got {got:g})")
    for p in problems:
        print("PROBLEM", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
