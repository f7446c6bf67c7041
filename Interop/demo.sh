#!/usr/bin/env bash
# Runs Parley for real on this machine: builds it, starts a private Prosody on 127.0.0.1
# (c2s 15222, component 15347) with Parley attached as rooms.localhost, creates the
# accounts alice, bob and carol (password "parley") if they do not exist yet, prints how
# to connect a client, and stays in the foreground until Ctrl-C or SIGTERM, then stops both.
#
# Prosody offers STARTTLS (not required) with a self-signed certificate for localhost,
# made with openssl on the first run (<run dir>/certs/localhost.crt and .key) and reused
# afterwards; the banner prints its SHA-256 fingerprint and how to trust it. SIGHUP to the
# demo's Prosody reloads its config (mod_posix); SIGHUP to this script stops the demo.
#
# Data (accounts, rooms, archive), the certificate and logs persist in <repo>/var/demo.
#
# Environment:
#   BUILD_CONFIG=debug|release   swift build configuration (default: debug)
#   PARLEY_BIN=path              use this binary and skip the build
#   SKIP_INSTALL=1               do not run Interop/install-deps.sh
#   PARLEY_LOG_LEVEL=level       Parley's --log-level (default: info)
#   DEMO_DIR=path                run directory (default: <repo>/var/demo)
set -euo pipefail

INTEROP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$INTEROP_DIR")
PYTHON=${PYTHON:-python3}
BUILD_CONFIG=${BUILD_CONFIG:-debug}
DEMO_DIR=${DEMO_DIR:-$REPO_ROOT/var/demo}

if [[ "${SKIP_INSTALL:-0}" != "1" ]]; then
    "$INTEROP_DIR/install-deps.sh"
fi

if [[ -z "${PARLEY_BIN:-}" ]]; then
    if ! command -v swift >/dev/null 2>&1; then
        echo "demo: no 'swift' on PATH; install a Swift toolchain or set PARLEY_BIN" >&2
        exit 1
    fi
    echo "demo: swift build -c $BUILD_CONFIG (in $REPO_ROOT)"
    (cd "$REPO_ROOT" && swift build -c "$BUILD_CONFIG")
    PARLEY_BIN="$(cd "$REPO_ROOT" && swift build -c "$BUILD_CONFIG" --show-bin-path)/parley"
fi
if [[ ! -x "$PARLEY_BIN" ]]; then
    echo "demo: no Parley binary at $PARLEY_BIN" >&2
    exit 1
fi

cd "$INTEROP_DIR"
# exec: the harness itself receives Ctrl-C / SIGTERM and stops Parley, then Prosody.
exec "$PYTHON" -m harness demo \
    --run-dir "$DEMO_DIR" \
    --parley-bin "$PARLEY_BIN" \
    --parley-log-level "${PARLEY_LOG_LEVEL:-info}"
