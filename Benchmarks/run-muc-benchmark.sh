#!/usr/bin/env bash
# MUC benchmark: Parley (rooms.localhost, external component, release build) against
# Prosody's own mod_muc (conference.localhost) on one private Prosody on 127.0.0.1.
# Prints machine facts, versions, per-phase figures with memory and CPU, and a table
# with both services and their ratio. Asserts nothing about speed.
#
#   Benchmarks/run-muc-benchmark.sh                  # defaults: N=50,200; 3 rounds
#   Benchmarks/run-muc-benchmark.sh --rounds 1 --senders 4
#   Benchmarks/run-muc-benchmark.sh --server ejabberd  # ejabberd's own MUC instead of Prosody's
#   RUN_DIR=/tmp/x KEEP_RUN_DIR=1 Benchmarks/run-muc-benchmark.sh
#
# Extra arguments go to Benchmarks/muc/bench.py (see --help). Environment:
#   PARLEY_BIN    Parley binary (default .build/release/parley; built if missing)
#   RUN_DIR       run directory (default: a new /tmp/parley-muc-bench.XXXXXX)
#   KEEP_RUN_DIR  1 keeps the run directory after a successful run (a failed run keeps it)
#   BENCH_TIMEOUT overall limit in seconds (default 1800)
set -euo pipefail
cd "$(dirname "$0")/.."

parley_bin=${PARLEY_BIN:-.build/release/parley}
if [ ! -x "$parley_bin" ]; then
    if [ -n "${PARLEY_BIN:-}" ]; then
        echo "error: PARLEY_BIN=$PARLEY_BIN is not an executable" >&2
        exit 2
    fi
    echo "building $parley_bin (swift build -c release --product parley) ..." >&2
    swift build -c release --product parley >&2
fi
command -v prosody >/dev/null || { echo "error: prosody not installed (Interop/install-deps.sh)" >&2; exit 2; }

run_dir=${RUN_DIR:-$(mktemp -d /tmp/parley-muc-bench.XXXXXX)}
mkdir -p "$run_dir"

status=0
# The Python side stops Prosody and Parley on any exit (and its children get SIGTERM
# if it dies); `timeout` bounds the whole run and then the stragglers.
timeout --signal=TERM --kill-after=30 "${BENCH_TIMEOUT:-1800}" \
    python3 -u Benchmarks/muc/bench.py --run-dir "$run_dir" --parley-bin "$parley_bin" "$@" || status=$?

if [ "$status" -eq 124 ]; then
    echo "error: the benchmark exceeded BENCH_TIMEOUT=${BENCH_TIMEOUT:-1800} s and was stopped" >&2
fi
if [ "$status" -eq 0 ] && [ "${KEEP_RUN_DIR:-0}" != 1 ] && [ -z "${RUN_DIR:-}" ]; then
    rm -rf "$run_dir"
else
    echo "run directory kept: $run_dir" >&2
fi
exit "$status"
