#!/usr/bin/env bash
# Installs what Parley's build and its interop harness need on Debian 12 (run as root).
# Idempotent and quiet when everything is already present.
#
#   Debian: libexpat1-dev libssl-dev libsqlite3-dev prosody lua-dbi-sqlite3 ejabberd
#           python3-nbxmpp python3-aioxmpp chromium (the browser tests) wrk (the web benchmark)
#   Python: slixmpp pytest prometheus_client (the official parser of /metrics)
#           playwright (drives the Debian chromium; it cannot download its own browsers here)
#
# Installing the prosody or ejabberd package may start (or try to start) a system Prosody
# or ejabberd on the default ports (5222, 5269, 5280, ...; ejabberd also registers its node
# with epmd). The harness never uses those ports or that node: its private servers listen on
# 25222/25347 (Prosody) and 26222/26347/26348 (ejabberd, Erlang distribution without epmd,
# its own node name and cookie), so whether a system server runs or not does not matter,
# and the harness neither starts, stops nor touches it.
set -euo pipefail

DEBIAN_PACKAGES=(libexpat1-dev libssl-dev libsqlite3-dev prosody lua-dbi-sqlite3 ejabberd
                 python3-nbxmpp python3-aioxmpp chromium wrk)
PYTHON_MODULES=(slixmpp pytest prometheus_client playwright)
PYTHON="${PYTHON:-python3}"

missing_debian=()
for package in "${DEBIAN_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing_debian+=("$package")
    fi
done

if ((${#missing_debian[@]} > 0)); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "install-deps: missing Debian packages (${missing_debian[*]}); run this script as root" >&2
        exit 1
    fi
    echo "install-deps: installing Debian packages: ${missing_debian[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing_debian[@]}"
fi

missing_python=()
for module in "${PYTHON_MODULES[@]}"; do
    if ! "$PYTHON" -c "import $module" >/dev/null 2>&1; then
        missing_python+=("$module")
    fi
done

if ((${#missing_python[@]} > 0)); then
    if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
        echo "install-deps: installing python3-pip"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq python3-pip
    fi
    echo "install-deps: installing Python packages: ${missing_python[*]}"
    pip_flags=(--quiet --disable-pip-version-check --root-user-action=ignore)
    # A Debian system Python is "externally managed" (PEP 668); pyenv or a venv is not.
    "$PYTHON" -m pip install "${pip_flags[@]}" "${missing_python[@]}" 2>/dev/null \
        || "$PYTHON" -m pip install "${pip_flags[@]}" --break-system-packages "${missing_python[@]}"
fi
