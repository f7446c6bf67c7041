#!/usr/bin/env bash
# Runs every test Parley has, on a fresh Debian 12 machine or a developer's:
#   1. installs what is missing (Interop/install-deps.sh: apt and pip),
#   2. builds Parley and its tests,
#   3. swift test: unit tests (parser, model, router, configuration) and
#      component tests (the real component over loopback against a scripted server),
#   4. the interop suite: a real Prosody with Parley attached, driven by slixmpp clients.
# Prints each runner's summary and a combined closing line; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
logs=$(mktemp -d "${TMPDIR:-/tmp}/parley-tests.XXXXXX")

Interop/install-deps.sh || { echo "test-all: installing dependencies failed" >&2; exit 1; }

echo "== swift build"
swift build --build-tests 2>&1 | tee "$logs/build.log" | grep -E "error|warning:|Compiling|Build complete" | grep -v "^\[" || true
if [[ ${PIPESTATUS[0]} -ne 0 ]]; then
    echo "test-all: build failed (full log: $logs/build.log)" >&2
    tail -50 "$logs/build.log" >&2
    exit 1
fi

echo "== swift test (unit and component tests)"
swift test 2>&1 | tee "$logs/swift-test.log" | grep -E "^✘|^✔ Test run|error:" || true
swift_status=${PIPESTATUS[0]}

echo "== interop (Prosody + Parley + slixmpp)"
SKIP_INSTALL=1 Interop/run-tests.sh -q 2>&1 | tee "$logs/interop.log" | tail -25
interop_status=${PIPESTATUS[0]}

# A combined closing line: Swift Testing reports "Test run with N tests ... passed/failed",
# pytest "N passed, M failed".
swift_total=$(grep -oE "Test run with [0-9]+ tests?" "$logs/swift-test.log" | grep -oE "[0-9]+" | tail -1)
pytest_passed=$(grep -oE "[0-9]+ passed" "$logs/interop.log" | tail -1 | grep -oE "[0-9]+")
pytest_failed=$(grep -oE "[0-9]+ (failed|errors?)" "$logs/interop.log" | awk '{ total += $1 } END { print total + 0 }')
swift_total=${swift_total:-0}
pytest_passed=${pytest_passed:-0}
pytest_failed=${pytest_failed:-0}
swift_failed_tests=$(grep -E "^✘ Test .* failed" "$logs/swift-test.log" | grep -v "recorded an issue" | wc -l)
passed=$((swift_total - swift_failed_tests + pytest_passed))
failed=$((swift_failed_tests + pytest_failed))

echo "swift test exit status: $swift_status; interop exit status: $interop_status; logs in $logs"
if [[ $swift_status -ne 0 || $interop_status -ne 0 ]]; then
    [[ $failed -eq 0 ]] && failed=1
    echo "all: $passed passed, $failed failed"
    exit 1
fi
if [[ $swift_total -eq 0 || $pytest_passed -eq 0 ]]; then
    echo "test-all: a test layer ran no test" >&2
    echo "all: $passed passed, 1 failed"
    exit 1
fi
echo "all: $passed passed, 0 failed"
