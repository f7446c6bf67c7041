#!/usr/bin/env bash
# Web logs benchmark: (1) in-process, over a one-room archive of 1,000,000 messages (2,000 a
# day): a day page read and rendered, from the cache, the calendar, JSON Lines, searches;
# (2) through Prosody with Parley attached: day pages per second (wrk) and what serving them
# costs the fan-out of a busy room. Prints figures; asserts nothing about speed.
#
#   Benchmarks/run-weblogs-benchmark.sh            # both parts
#   Benchmarks/run-weblogs-benchmark.sh --no-load  # the in-process part only
#
# Environment: ARCHIVE (default /tmp/parley-bench/weblogs-1m.sqlite, generated once, ~70 s),
# RUN_DIR (default a new /tmp/parley-weblogs-bench.XXXXXX), BENCH_TIMEOUT (default 1800 s).
set -euo pipefail
cd "$(dirname "$0")/.."

archive=${ARCHIVE:-/tmp/parley-bench/weblogs-1m.sqlite}
echo "building the release binaries (weblogs-bench, parley) ..." >&2
swift build -c release --product weblogs-bench >&2
swift build -c release --product parley >&2
mkdir -p "$(dirname "$archive")"

echo "== in-process: one published room, 1,000,000 messages, 2,000 a day =="
.build/release/weblogs-bench "$archive" 1000000 2000

if [ "${1:-}" != "--no-load" ]; then
    command -v wrk >/dev/null || { echo "error: wrk not installed (apt-get install wrk)" >&2; exit 2; }
    run_dir=${RUN_DIR:-$(mktemp -d /tmp/parley-weblogs-bench.XXXXXX)}
    echo
    echo "== through Prosody: day pages with wrk beside a busy room's fan-out =="
    timeout --signal=TERM --kill-after=30 "${BENCH_TIMEOUT:-1800}" \
        python3 -u Benchmarks/muc/weblogs_load_bench.py --run-dir "$run_dir"
    [ -n "${RUN_DIR:-}" ] || rm -rf "$run_dir"
fi
