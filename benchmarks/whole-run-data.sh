#!/usr/bin/env bash
# The synthetic data of the whole-run benchmarks (whole-run.sh, profile.sh), made once under
# benchmarks/target/whole-run/: ACDC-like slices (12 cases x 10 slices of 256x256) and LA-like volumes
# (8 cases of 128x128x88). Prints the folder.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$root/benchmarks/target/whole-run"
mkdir -p "$work"
ssl="$root/bin/ssl4mis"
[ -d "$work/ACDC" ] || "$ssl" synth acdc --out "$work/ACDC" --cases 12 --seed 1 --size 256,256 --slices_per_case 10 >&2
[ -d "$work/LA" ] || "$ssl" synth la --out "$work/LA" --cases 8 --seed 1 --size 128,128,88 >&2
echo "$work"
