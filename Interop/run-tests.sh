#!/usr/bin/env bash
# Runs Parley's interop tests: a private XMPP server on 127.0.0.1 with the Parley binary
# attached as rooms.localhost, driven by slixmpp clients. The server is Prosody 0.12
# (c2s 25222, component 25347) or, with INTEROP_SERVER=ejabberd, ejabberd 23.01 (c2s 26222,
# component 26347, Erlang distribution 26348), run as the ejabberd user (so run this as root).
#
#   Interop/run-tests.sh [pytest arguments...]     e.g.  -k ping   or   -x
#
# Environment:
#   PARLEY_BIN     the binary to test (default: <repo>/.build/debug/parley); nothing is built here
#   SKIP_INSTALL=1 do not run Interop/install-deps.sh first
#   INTEROP_SERVER=prosody|ejabberd   the XMPP server (default prosody)
#   INTEROP_MUC=parley|prosody|parley,prosody   the MUC services the room tests run against
#                  (default: both under Prosody, parley under ejabberd)
#   INTEROP_NO_PARLEY=1   the server only (the room tests against its MUC); Parley's tests skip
#   INTEROP_RUN_DIR, INTEROP_KEEP_RUN_DIR=1, INTEROP_C2S_PORT, INTEROP_COMPONENT_PORT,
#   INTEROP_EJABBERD_LOG_LEVEL, INTEROP_TEST_TIMEOUT: see tests/conftest.py (a failing run
#   always keeps its run directory)
#
# Exits with pytest's status. Whatever happens, no server or Parley started here is left
# running: the harness stops them, and this script kills any that a crashed run left behind.
set -uo pipefail

INTEROP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$INTEROP_DIR")
PYTHON=${PYTHON:-python3}

if [[ "${SKIP_INSTALL:-0}" != "1" ]]; then
    "$INTEROP_DIR/install-deps.sh" || { echo "run-tests: install-deps.sh failed" >&2; exit 1; }
fi

INTEROP_SERVER=${INTEROP_SERVER:-prosody}
case "$INTEROP_SERVER" in
    prosody) ;;
    ejabberd)
        if [[ $(id -u) -ne 0 && $(id -un) != ejabberd ]]; then
            echo "run-tests: INTEROP_SERVER=ejabberd runs ejabberd as the ejabberd user: run this as root" >&2
            exit 2
        fi
        ;;
    *) echo "run-tests: INTEROP_SERVER must be prosody or ejabberd, not '$INTEROP_SERVER'" >&2; exit 2 ;;
esac
export INTEROP_SERVER

PARLEY_BIN=${PARLEY_BIN:-$REPO_ROOT/.build/debug/parley}
if [[ "${INTEROP_NO_PARLEY:-0}" == "1" ]]; then
    echo "run-tests: INTEROP_NO_PARLEY=1: $INTEROP_SERVER only; tests that need Parley are skipped" >&2
elif [[ ! -f "$PARLEY_BIN" || ! -x "$PARLEY_BIN" ]]; then
    echo "run-tests: no Parley binary at $PARLEY_BIN" >&2
    echo "run-tests: build it first (swift build in $REPO_ROOT) or set PARLEY_BIN" >&2
    exit 2
else
    PARLEY_BIN=$(realpath "$PARLEY_BIN")
    export PARLEY_BIN
fi

created_run_dir=0
if [[ -z "${INTEROP_RUN_DIR:-}" ]]; then
    INTEROP_RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/parley-interop.XXXXXX")
    created_run_dir=1
fi
INTEROP_RUN_DIR=$(realpath "$INTEROP_RUN_DIR")
export INTEROP_RUN_DIR

pytest_pid=""
status=1

# Kill what a run left behind: the harness records each child's PID in <run dir>/*.harness.pid
# and removes the file once the child has stopped (for ejabberd: runuser and the Erlang VM,
# which SIGTERM shuts down cleanly). A PID is only killed if its command line still names
# this run directory (so a recycled PID is never hit).
stop_leftovers() {
    local pidfile pid i
    for pidfile in "$INTEROP_RUN_DIR"/*.harness.pid; do
        [[ -f "$pidfile" ]] || continue
        pid=$(<"$pidfile")
        if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
            && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$INTEROP_RUN_DIR"; then
            echo "run-tests: stopping leftover $(basename "$pidfile" .harness.pid) (pid $pid)" >&2
            kill -TERM "$pid" 2>/dev/null
            for ((i = 0; i < 50; i++)); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -KILL "$pid" 2>/dev/null
        fi
        rm -f "$pidfile"
    done
}

finish() {
    if [[ -n "$pytest_pid" ]] && kill -0 "$pytest_pid" 2>/dev/null; then
        kill -TERM "$pytest_pid" 2>/dev/null
        wait "$pytest_pid" 2>/dev/null
    fi
    stop_leftovers
    if [[ $created_run_dir == 1 ]]; then
        if [[ $status == 0 && "${INTEROP_KEEP_RUN_DIR:-0}" != "1" ]]; then
            rm -rf "$INTEROP_RUN_DIR"
        else
            echo "run-tests: logs and data kept in $INTEROP_RUN_DIR" >&2
        fi
    fi
}
trap finish EXIT

# Ctrl-C or SIGTERM: ask pytest to stop the way Ctrl-C does (it then tears the stack down).
interrupt() {
    [[ -n "$pytest_pid" ]] && kill -INT "$pytest_pid" 2>/dev/null
}
trap interrupt INT TERM

cd "$INTEROP_DIR"
# In the background so that the traps above run at once; conftest.py restores Python's
# Ctrl-C handling, which a non-interactive shell turns off for background commands.
"$PYTHON" -m pytest -v tests "$@" &
pytest_pid=$!
while true; do
    wait "$pytest_pid"
    status=$?
    kill -0 "$pytest_pid" 2>/dev/null || break   # wait was only interrupted by a signal
done
pytest_pid=""
exit "$status"
