#!/usr/bin/env bash
# Parser benchmark (issue: Parley >= 0.6 x raw Expat). Builds the release
# benchmark and the C baseline, generates a ~50 MB component stream once, and
# prints MiB/s and stanzas/s for both and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${BENCH_DIR:-/tmp/parley-bench}
mkdir -p "$work"
swift build -c release --product parser-bench >/dev/null
gcc -O2 -o "$work/expat_noop" Benchmarks/parser/expat_noop.c -lexpat
stream="$work/stream-50mb.xml"
[ -s "$stream" ] || .build/release/parser-bench generate "$stream" 50
runs=${RUNS:-5}
expat=$("$work/expat_noop" "$stream" "$runs")
parley=$(.build/release/parser-bench parse "$stream" "$runs")
echo "$expat"
echo "$parley"
e=$(echo "$expat" | sed -E 's/.*: ([0-9.]+) MiB\/s.*/\1/')
p=$(echo "$parley" | sed -E 's/.*: ([0-9.]+) MiB\/s.*/\1/')
awk -v p="$p" -v e="$e" 'BEGIN { printf "ratio parley/expat: %.2f (target >= 0.60)\n", p / e }'
