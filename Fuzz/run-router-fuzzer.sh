#!/usr/bin/env bash
# Builds the router fuzz target (Fuzz/Router: the whole service as `parley run` assembles
# it, assembled afresh per input on a database emptied between inputs) with libFuzzer and
# AddressSanitizer, and runs it for RUNS executions (default 100,000) over the seed corpus
# (Fuzz/corpus: stanza shapes of the interop runs) and the corpus earlier runs grew
# (Fuzz/corpus-router: merged with -merge=1, a thousand inputs that keep their coverage).
#
#   Fuzz/run-router-fuzzer.sh                  # 100,000 executions
#   RUNS=2000 Fuzz/run-router-fuzzer.sh        # CI's pass
#   Fuzz/run-router-fuzzer.sh -max_total_time=3600 -fork=2   # extra libFuzzer flags
#
# LeakSanitizer checks at exit, not after every input: each input assembles and drops a
# service (rooms, caches, tasks), so libFuzzer's per-input malloc/free balance always
# differs and its per-input check would run every time at a tenth of the speed. A leak
# still stays unreachable until exit, where it is reported.
#
# PARLEY_FUZZ_LEAK_CANARY=1 leaks an object per input: the run must then fail with a
# LeakSanitizer report (also from a -fork job), which shows that "no leak" is checked.
#
# New inputs go to .build-fuzz-router/corpus; a crash, a sanitizer report or a write
# Parley must never make (XML that does not parse, a stanza over the limit) stops the run
# with the input in .build-fuzz-router/crash-* and exit status 1.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.build-fuzz-router
echo "building $out/release/parley-fuzz-router (release, libFuzzer, AddressSanitizer) ..." >&2
# One -sanitize= flag: SwiftPM's `--sanitize=fuzzer --sanitize=address` passes two, and
# swiftc keeps only the last (no coverage at all). Only Swift code is instrumented.
swift build -c release --build-path "$out" --product parley-fuzz-router \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DPARLEY_FUZZ 2>&1 \
    | grep -E "error|Compiling parley|Build" | grep -v "spill_area" >&2 || true
[[ -x "$out/release/parley-fuzz-router" ]] || { echo "the router fuzz target did not build" >&2; exit 1; }
mkdir -p "$out/corpus"
runs=${RUNS:-100000}
echo "fuzzing the router: $runs executions, seeds from Fuzz/corpus and Fuzz/corpus-router" >&2
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
# Each process's database lives in a directory of this run's own (tmpfs when there is one),
# removed at the end even if a job crashed before its own clean-up.
shm=/dev/shm; [[ -d $shm && -w $shm ]] || shm=${TMPDIR:-/tmp}
export PARLEY_FUZZ_WORK_DIR; PARLEY_FUZZ_WORK_DIR=$(mktemp -d "$shm/parley-fuzz-router-run.XXXXXX")
trap 'rm -rf "$PARLEY_FUZZ_WORK_DIR"' EXIT
started=$(date +%s)
status=0
"$out/release/parley-fuzz-router" -runs="$runs" -max_len="${MAX_LEN:-4096}" -rss_limit_mb=4096 -detect_leaks=0 \
    -print_final_stats=1 -artifact_prefix="$out/" "$@" "$out/corpus" Fuzz/corpus Fuzz/corpus-router || status=$?
[[ $status -eq 0 ]] || { echo "fuzzing the router: FAILED (exit status $status)" >&2; exit 1; }
echo "fuzzing the router: done in $(( $(date +%s) - started )) s, no crash and no leak" >&2
