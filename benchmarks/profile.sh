#!/usr/bin/env bash
# Where a training run's CPU time goes, by kernel (issue 9): runs WholeRun (the real Trainer) under
# `perf record` and groups the samples (python/perf_summary.py: oneDNN convolutions, ATen kernels, OpenMP
# waiting, page faults, JVM, data loading), then runs a few iterations again with ONEDNN_VERBOSE and sums
# oneDNN's own timings per primitive (convolutions by pass, layout reorders).
#
# Usage: benchmarks/profile.sh uamt2d|mt3d [iterations=12] [memory_format=auto] [threads=2] [workers=4]
# Needs perf (Debian: linux-perf). The allocator is bin/native-allocator's (SSL4MIS_ALLOCATOR=system: glibc).
# Data: whole-run-data.sh's synthetic sets (made when missing). Writes benchmarks/target/profile/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kase="${1:?usage: benchmarks/profile.sh uamt2d|mt3d [iterations] [memory_format] [threads] [workers]}"
iterations="${2:-12}"
layout="${3:-auto}"
threads="${4:-2}"
workers="${5:-4}"
command -v perf >/dev/null 2>&1 || { echo "profile.sh needs perf (Debian: apt-get install linux-perf)" >&2; exit 1; }
JAVA_HOME="$("$root/bin/find-jdk")"
export JAVA_HOME
(cd "$root" && ./mvnw -q -B -DskipTests -pl benchmarks -am package)
cp="$root/benchmarks/target/classes:$(cat "$root/benchmarks/target/classpath.txt")"
data="$("$root/benchmarks/whole-run-data.sh")"
case "$kase" in
  uamt2d) set_root="$data/ACDC" ;;
  mt3d) set_root="$data/LA" ;;
  *) echo "case must be uamt2d or mt3d, got $kase" >&2; exit 2 ;;
esac
out="$root/benchmarks/target/profile"
mkdir -p "$out"
preload="$("$root/bin/native-allocator")"
export OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS=1
# DumpPerfMapAtExit names the JVM's compiled Java methods for perf; oneDNN's generated kernels stay addresses.
java_cmd=(env "LD_PRELOAD=$preload" "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Xss8m
  -XX:+UnlockDiagnosticVMOptions -XX:+DumpPerfMapAtExit -cp "$cp" org.ssl4mis.bench.WholeRun
  "$kase" "$set_root")
java_tail=("$threads" "$workers" "$out/model" "$layout")
echo "== $kase, $iterations iterations, memory format $layout, allocator ${preload:-system malloc}, $threads threads"
perf record -q -F 499 -o "$out/$kase.perf.data" -- "${java_cmd[@]}" "$iterations" "${java_tail[@]}" \
  | tail -1 > "$out/$kase.run.json"
python3 -c 'import json,sys,statistics as s; d=json.load(open(sys.argv[1])); t=d["seconds_per_iteration"][2:]; print("median s/iteration (after 2): %.3f, peak RSS %.0f MiB" % (s.median(t), d["peak_rss_bytes"]/2**20))' "$out/$kase.run.json"
perf report -i "$out/$kase.perf.data" --no-children --sort comm,dso,sym --stdio 2>/dev/null \
  | python3 "$root/benchmarks/python/perf_summary.py" | tee "$out/$kase.perf.md"

echo
echo "== oneDNN primitives over 3 iterations (ONEDNN_VERBOSE=1; the first iteration includes kernel generation)"
ONEDNN_VERBOSE=1 "${java_cmd[@]}" 3 "${java_tail[@]}" 2>/dev/null | grep '^onednn_verbose,.*,primitive,exec,' | awk -F, '
  { kind = $6; if (kind == "convolution") kind = kind " " $8; t[kind] += $NF; n[kind]++; total += $NF }
  END { printf "| oneDNN primitive | calls | ms | share |\n| --- | --- | --- | --- |\n";
        for (k in t) printf "| %s | %d | %.0f | %.1f %% |\n", k, n[k], t[k], 100 * t[k] / total }' \
  | tee "$out/$kase.onednn.md"
