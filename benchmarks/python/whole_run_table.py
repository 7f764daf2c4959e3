"""Summarises benchmarks/target/whole-run/results.jsonl (written by benchmarks/whole-run.sh) as a Markdown table.

Per case and side: the median seconds per iteration over all rounds, skipping each run's first 5 iterations
(start-up: loader warm-up, first allocations), the spread (min-max of the per-run medians), and the peak
resident memory (the largest over the runs). Needs only the standard library.
"""
import json
import statistics
import sys


def main(path):
    runs = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                r = json.loads(line)
                runs.setdefault((r["case"], r["side"]), []).append(r)
    print("| Case | Side | s/iteration (median) | spread of run medians | it/s | peak RSS | runs |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    medians = {}
    for (case, side), rs in sorted(runs.items()):
        per_run = [statistics.median(r["seconds_per_iteration"][5:]) for r in rs]
        every = [s for r in rs for s in r["seconds_per_iteration"][5:]]
        m = statistics.median(every)
        medians[(case, side)] = m
        peak = max(r["peak_rss_bytes"] for r in rs) / 2 ** 20
        print("| %s | %s | %.3f | %.3f-%.3f | %.2f | %.0f MiB | %d |"
              % (case, side, m, min(per_run), max(per_run), 1 / m, peak, len(rs)))
    for case in sorted({c for c, _ in runs}):
        if (case, "java") in medians and (case, "python") in medians:
            print("\n%s: Java iterations/s over Python's: %.2fx"
                  % (case, medians[(case, "python")] / medians[(case, "java")]))


if __name__ == "__main__":
    main(sys.argv[1])
