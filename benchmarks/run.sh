#!/usr/bin/env bash
# Builds the benchmarks module and runs JMH benchmarks matching $1 (default: all), writing JMH's JSON
# result next to this script. Usage: benchmarks/run.sh [regex] [extra JMH options]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JAVA_HOME="$("$root/bin/find-jdk")"
export JAVA_HOME
(cd "$root" && ./mvnw -q -B -DskipTests -pl benchmarks -am package)
cp="$root/benchmarks/target/classes:$(cat "$root/benchmarks/target/classpath.txt")"
pattern="${1:-.*}"
shift || true
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$cp" org.openjdk.jmh.Main "$pattern" \
  -rf json -rff "$root/benchmarks/target/jmh-result.json" "$@"
