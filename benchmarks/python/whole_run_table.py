"""Summarises benchmarks/target/whole-run/results.jsonl (written by benchmarks/whole-run.sh) as a Markdown table.

Per case and side: the median seconds per iteration over all rounds, skipping each run's first 5 iterations
(start-up: loader warm-up, first allocations), the spread (min-max of the per-run medians), the peak resident
memory (the largest over the runs), the achieved GFLOP/s (the Python side's count of an iteration's
convolution and linear work, the same networks on both sides, over the median time) and its share of the
attainable rate (the best of AttainableRate's matrix product and convolutions, measured before and after the
runs), and, for Java, where the time went (the engine's phases, summed over the runs). Needs only the
standard library.
"""
import json
import statistics
import sys


def main(path):
    runs = {}
    rates = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                r = json.loads(line)
                if "matmul_gflops" in r:
                    rates.append(r)
                else:
                    side = r["side"] + (" " + r["memory_format"] if "memory_format" in r else "")
                    runs.setdefault((r["case"], side), []).append(r)
    attainable = max((max(v for k, v in r.items() if k.endswith("_gflops")) for r in rates), default=None)
    for r in rates:
        print("attainable (threads %d): %s GFLOP/s" % (r["threads"], ", ".join(
            "%s %.1f" % (k[:-len("_gflops")], v) for k, v in r.items() if k.endswith("_gflops"))))
    flops = {case: rs[0]["flops_per_iteration"] for (case, side), rs in runs.items() if side.startswith("python")}
    print()
    print("| Case | Side | s/iteration (median) | spread of run medians | it/s | peak RSS | GFLOP/s | of attainable | runs |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    medians = {}
    for (case, side), rs in sorted(runs.items()):
        skip = min(5, len(rs[0]["seconds_per_iteration"]) // 4)
        per_run = [statistics.median(r["seconds_per_iteration"][skip:]) for r in rs]
        every = [s for r in rs for s in r["seconds_per_iteration"][skip:]]
        m = statistics.median(every)
        medians[(case, side)] = m
        peak = max(r["peak_rss_bytes"] for r in rs) / 2 ** 20
        achieved = flops.get(case, 0) / m / 1e9
        share = "%.0f %%" % (100 * achieved / attainable) if attainable and achieved else "-"
        print("| %s | %s | %.3f | %.3f-%.3f | %.2f | %.0f MiB | %.1f | %s | %d |"
              % (case, side, m, min(per_run), max(per_run), 1 / m, peak, achieved, share, len(rs)))
    for (case, side), rs in sorted(runs.items()):
        if side.startswith("java") and "phase_seconds" in rs[0]:
            total = {}
            for r in rs:
                for k, v in r["phase_seconds"].items():
                    total[k] = total.get(k, 0) + v
            whole = sum(total.values()) or 1
            print("\n%s, %s, where the time went: %s" % (case, side, ", ".join(
                "%s %.1f %%" % (k, 100 * v / whole) for k, v in total.items())))
    # Every Java layout against the reference's layout on the Python side (records without a layout: older runs).
    for (case, side), m in sorted(medians.items()):
        python = medians.get((case, "python contiguous"), medians.get((case, "python")))
        if side.startswith("java") and python:
            print("\n%s: %s iterations/s over Python's (the scripts' layout): %.2fx" % (case, side, python / m))


if __name__ == "__main__":
    main(sys.argv[1])
