#!/usr/bin/env bash
# Runs every test Parley has, on a fresh Debian 12 machine or a developer's:
#   1. installs what is missing (Interop/install-deps.sh: apt and pip),
#   2. builds Parley and its tests,
#   3. swift test: unit tests (parser, model, router, configuration) and
#      component tests (the real component over loopback against a scripted server),
#      then short libFuzzer runs over the parser and the rooms, and over the whole
#      service behind the router (Fuzz/),
#   4. the interop suite: a real Prosody with Parley attached, driven by slixmpp clients,
#   5. the same interop suite with Parley attached to a real ejabberd (run as root: the
#      harness starts ejabberd as the ejabberd user).
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

echo "== fuzz smoke (libFuzzer, 20,000 executions; Fuzz/run-fuzzer.sh runs 10 million)"
RUNS=20000 Fuzz/run-fuzzer.sh >"$logs/fuzz.log" 2>&1
fuzz_status=$?
grep -E "^stat::number_of_executed_units|no crash|ERROR|SUMMARY" "$logs/fuzz.log" | head -5

echo "== router fuzz smoke (seeds replayed through the whole service, then libFuzzer 2,000 executions)"
{ "$(swift build --show-bin-path)/parley-fuzz-router" Fuzz/corpus Fuzz/corpus-router && RUNS=2000 Fuzz/run-router-fuzzer.sh; } \
    >"$logs/router-fuzz.log" 2>&1
router_fuzz_status=$?
grep -E "replayed|^stat::number_of_executed_units|no crash|FAILED|ERROR|SUMMARY|Parley wrote" "$logs/router-fuzz.log" | head -6

# pytest's closing summary line of a log, e.g. "3 failed, 240 passed, 9 xfailed in 160.42s".
pytest_summary() {
    grep -E "(passed|failed|error|skipped|xfailed|deselected|no tests ran).* in [0-9.]+s" "$1" \
        | tail -1 | sed -E 's/^=+ //; s/ =+$//'
}
# "<passed> <failed>" from that line (errors count as failed).
pytest_counts() {
    local summary passed failed
    summary=$(pytest_summary "$1")
    passed=$(grep -oE "(^|[ ,])[0-9]+ passed" <<<"$summary" | grep -oE "[0-9]+" | head -1)
    failed=$(grep -oE "[0-9]+ (failed|errors?)" <<<"$summary" | awk '{ total += $1 } END { print total + 0 }')
    echo "${passed:-0} ${failed:-0}"
}

# The interop suite once per XMPP server; each run prints its failures and summary.
declare -A interop_status interop_passed interop_failed
interop_servers=(prosody ejabberd)
for server in "${interop_servers[@]}"; do
    echo "== interop ($server + Parley + slixmpp)"
    INTEROP_SERVER=$server SKIP_INSTALL=1 Interop/run-tests.sh -q >"$logs/interop-$server.log" 2>&1
    interop_status[$server]=$?
    grep -E "^(FAILED|ERROR) " "$logs/interop-$server.log" | head -40
    echo "$server: $(pytest_summary "$logs/interop-$server.log" || true) (exit status ${interop_status[$server]})"
    read -r interop_passed[$server] interop_failed[$server] < <(pytest_counts "$logs/interop-$server.log")
done

# A combined closing line: Swift Testing reports "Test run with N tests ... passed/failed",
# pytest "N passed, M failed".
swift_total=$(grep -oE "Test run with [0-9]+ tests?" "$logs/swift-test.log" | grep -oE "[0-9]+" | tail -1)
swift_total=${swift_total:-0}
swift_failed_tests=$(grep -E "^✘ Test .* failed" "$logs/swift-test.log" | grep -v "recorded an issue" | wc -l)
passed=$((swift_total - swift_failed_tests))
failed=$swift_failed_tests
any_failed=0
[[ $swift_status -ne 0 ]] && any_failed=1
[[ $fuzz_status -ne 0 ]] && any_failed=1
[[ $router_fuzz_status -ne 0 ]] && any_failed=1
statuses="swift test exit status: $swift_status; fuzz smoke exit status: $fuzz_status; router fuzz exit status: $router_fuzz_status"
for server in "${interop_servers[@]}"; do
    passed=$((passed + interop_passed[$server]))
    failed=$((failed + interop_failed[$server]))
    statuses+="; interop ($server) exit status: ${interop_status[$server]}"
    [[ ${interop_status[$server]} -ne 0 ]] && any_failed=1
done

echo "$statuses; logs in $logs"
if [[ $any_failed -ne 0 ]]; then
    [[ $failed -eq 0 ]] && failed=1
    echo "all: $passed passed, $failed failed"
    exit 1
fi
for server in "${interop_servers[@]}"; do
    if [[ ${interop_passed[$server]} -eq 0 ]]; then
        echo "test-all: the interop suite ran no test against $server" >&2
        echo "all: $passed passed, 1 failed"
        exit 1
    fi
done
if [[ $swift_total -eq 0 ]]; then
    echo "test-all: swift test ran no test" >&2
    echo "all: $passed passed, 1 failed"
    exit 1
fi
echo "all: $passed passed, 0 failed"
