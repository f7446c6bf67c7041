#!/usr/bin/env bash
# Builds the libFuzzer target (Fuzz/ParleyFuzz.swift) with AddressSanitizer and
# LeakSanitizer, and runs it for RUNS executions (default 10,000,000) over the seed
# corpus (Fuzz/corpus: stanzas as a server sends them, taken from interop runs).
#
#   Fuzz/run-fuzzer.sh                 # 10 M executions, one process
#   RUNS=100000 Fuzz/run-fuzzer.sh     # a quick pass
#   Fuzz/run-fuzzer.sh -max_total_time=600   # extra libFuzzer flags
#
# New inputs libFuzzer finds go to .build-fuzz/corpus (the seeds stay untouched); a
# crash or a leak stops the run with the input in .build-fuzz/crash-* and exit status 1.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.build-fuzz
mkdir -p "$out/modules" "$out/corpus"
flags=(-sanitize=fuzzer,address -parse-as-library -O -g -I Sources/CExpat -I "$out/modules"
       -module-cache-path "$out/module-cache")

build_module() {   # name, sources...
    local name=$1; shift
    swiftc "${flags[@]}" -emit-module -emit-module-path "$out/modules/$name.swiftmodule" \
        -module-name "$name" -emit-object -wmo -o "$out/$name.o" "$@"
}

if [[ ! -x "$out/parley-fuzz" || -n "$(find Sources/XMLStream Sources/XMPPCore Sources/MUC Fuzz/ParleyFuzz.swift -newer "$out/parley-fuzz" 2>/dev/null)" ]]; then
    echo "building $out/parley-fuzz ..." >&2
    build_module XMLStream Sources/XMLStream/*.swift
    build_module XMPPCore Sources/XMPPCore/*.swift
    build_module MUC Sources/MUC/*.swift
    swiftc "${flags[@]}" -module-name ParleyFuzz Fuzz/ParleyFuzz.swift \
        "$out/XMLStream.o" "$out/XMPPCore.o" "$out/MUC.o" -lexpat -o "$out/parley-fuzz"
fi

runs=${RUNS:-10000000}
echo "fuzzing: $runs executions, seeds from Fuzz/corpus" >&2
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
started=$(date +%s)
"$out/parley-fuzz" -runs="$runs" -max_len="${MAX_LEN:-4096}" -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$out/" "$@" "$out/corpus" Fuzz/corpus
echo "fuzzing: done in $(( $(date +%s) - started )) s, no crash and no leak" >&2
