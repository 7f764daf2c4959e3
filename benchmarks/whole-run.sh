#!/usr/bin/env bash
# Whole training runs, Java engine vs the reference loops on Python PyTorch, alternating on the same synthetic
# data (issue 9). Usage: benchmarks/whole-run.sh PATH/TO/SSL4MIS [rounds=3] [threads=2] [workers=4]
#   [uamt2d iterations=200] [mt3d iterations=20] [Java --memory_format=auto] [Python layout=contiguous]
# Needs /usr/bin/python3 with Debian's python3-torch, -scipy, -h5py (.ci/install-python-reference) and a
# checkout of github.com/HiLab-git/SSL4MIS (its code/ folder is imported by the Python side).
# Writes benchmarks/target/whole-run/results.jsonl and prints the table of benchmarks/README.md.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ssl4mis="${1:?usage: benchmarks/whole-run.sh PATH/TO/SSL4MIS [rounds] [threads] [workers]}"
rounds="${2:-3}"
threads="${3:-2}"
workers="${4:-4}"
uamt2d_iterations="${5:-200}"
mt3d_iterations="${6:-20}"
java_layout="${7:-auto}"          # auto: channels_last on the CPU, as training defaults to
python_layout="${8:-contiguous}"  # contiguous: as the reference scripts
JAVA_HOME="$("$root/bin/find-jdk")"
export JAVA_HOME
(cd "$root" && ./mvnw -q -B -DskipTests -pl benchmarks -am package)
cp="$root/benchmarks/target/classes:$(cat "$root/benchmarks/target/classpath.txt")"
work="$root/benchmarks/target/whole-run"
mkdir -p "$work"
results="${WHOLE_RUN_RESULTS:-$work/results.jsonl}"  # WHOLE_RUN_RESULTS: another file, e.g. for a second set
: > "$results"
"$root/benchmarks/whole-run-data.sh" >/dev/null
export OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS=1
# The Java side runs as bin/ssl4mis runs it: with the allocator of bin/native-allocator (tcmalloc when installed).
java_preload="$("$root/bin/native-allocator")"
java_run() {
  LD_PRELOAD="$java_preload" "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Xss8m -cp "$cp" org.ssl4mis.bench.WholeRun \
    "$1" "$2" "$3" "$threads" "$workers" "$work/model" "$java_layout" | tail -1 >> "$results"
}
python_run() {  # PYTHON_PRELOAD: a malloc library for the Python side too (default: none, as the scripts run)
  LD_PRELOAD="${PYTHON_PRELOAD:-}" /usr/bin/python3 "$root/benchmarks/python/whole_run.py" --ssl4mis "$ssl4mis" --case "$1" --root_path "$2" \
    --iterations "$3" --threads "$threads" --workers "$workers" --memory_format "$python_layout" | tail -1 >> "$results"
}
attainable() {
  "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$cp" org.ssl4mis.bench.AttainableRate "$threads" \
    | tail -1 >> "$results"
}
attainable
for ((r = 1; r <= rounds; r++)); do
  echo "round $r/$rounds" >&2
  java_run uamt2d "$work/ACDC" "$uamt2d_iterations"
  python_run uamt2d "$work/ACDC" "$uamt2d_iterations"
  java_run mt3d "$work/LA" "$mt3d_iterations"
  python_run mt3d "$work/LA" "$mt3d_iterations"
done
attainable
python3 "$root/benchmarks/python/whole_run_table.py" "$results"
