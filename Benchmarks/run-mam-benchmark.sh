#!/usr/bin/env bash
# MAM benchmark: the round trip of an XEP-0313 query for the last page of 100 messages of a
# room of 10,000, in an archive of 1,000,000 messages (100 rooms), through one private Prosody
# on 127.0.0.1: Parley (rooms.localhost, external component, release build) against Prosody's
# own mod_muc + mod_muc_mam with SQLite storage (mam.localhost). Prints machine facts, the
# median and p95 round trip of each, their ratio, the CPU each server used and how the
# archives were filled. Asserts nothing about speed.
#
#   Benchmarks/run-mam-benchmark.sh                         # 1,000,000 messages, 20 queries each
#   Benchmarks/run-mam-benchmark.sh --messages 100000       # 100 rooms of 1,000
#   RUN_DIR=/tmp/x KEEP_RUN_DIR=1 Benchmarks/run-mam-benchmark.sh
#
# Extra arguments go to Benchmarks/muc/mam_bench.py (see --help). Environment:
#   PARLEY_BIN         Parley binary (default .build/release/parley; built if missing)
#   ARCHIVE_BENCH_BIN  archive generator (default .build/release/archive-bench; built if missing
#                      and the archive is not cached yet)
#   PARLEY_ARCHIVE     cached Parley archive (default /tmp/parley-bench/archive-1m.sqlite, the
#                      one Benchmarks/run-archive-benchmark.sh makes; generated if missing, ~90 s)
#   RUN_DIR            run directory (default: a new /tmp/parley-mam-bench.XXXXXX)
#   KEEP_RUN_DIR       1 keeps the run directory after a successful run (a failed run keeps it)
#   BENCH_TIMEOUT      overall limit in seconds (default 1200)
set -euo pipefail
cd "$(dirname "$0")/.."

parley_bin=${PARLEY_BIN:-.build/release/parley}
archive_bench_bin=${ARCHIVE_BENCH_BIN:-.build/release/archive-bench}
parley_archive=${PARLEY_ARCHIVE:-/tmp/parley-bench/archive-1m.sqlite}
if [ ! -x "$parley_bin" ]; then
    if [ -n "${PARLEY_BIN:-}" ]; then
        echo "error: PARLEY_BIN=$PARLEY_BIN is not an executable" >&2
        exit 2
    fi
    echo "building $parley_bin (swift build -c release --product parley) ..." >&2
    swift build -c release --product parley >&2
fi
if [ ! -e "$parley_archive" ] && [ ! -x "$archive_bench_bin" ]; then
    if [ -n "${ARCHIVE_BENCH_BIN:-}" ]; then
        echo "error: ARCHIVE_BENCH_BIN=$ARCHIVE_BENCH_BIN is not an executable" >&2
        exit 2
    fi
    echo "building $archive_bench_bin (swift build -c release --product archive-bench) ..." >&2
    swift build -c release --product archive-bench >&2
fi
command -v prosody >/dev/null || { echo "error: prosody not installed (Interop/install-deps.sh)" >&2; exit 2; }

run_dir=${RUN_DIR:-$(mktemp -d /tmp/parley-mam-bench.XXXXXX)}
mkdir -p "$run_dir"

status=0
# The Python side stops Prosody and Parley on any exit; `timeout` bounds the whole run
# (archive generation, filling, checks and queries) and then the stragglers.
timeout --signal=TERM --kill-after=30 "${BENCH_TIMEOUT:-1200}" \
    python3 -u Benchmarks/muc/mam_bench.py --run-dir "$run_dir" --parley-bin "$parley_bin" \
        --archive-bench-bin "$archive_bench_bin" --parley-archive "$parley_archive" "$@" || status=$?

if [ "$status" -eq 124 ]; then
    echo "error: the benchmark exceeded BENCH_TIMEOUT=${BENCH_TIMEOUT:-1200} s and was stopped" >&2
fi
if [ "$status" -eq 0 ] && [ "${KEEP_RUN_DIR:-0}" != 1 ] && [ -z "${RUN_DIR:-}" ]; then
    rm -rf "$run_dir"
else
    echo "run directory kept: $run_dir" >&2
fi
exit "$status"
