"""Running the client-library scenario scripts (nbxmpp_scenario.py, aioxmpp_scenario.py)
from pytest: the scripts need the Debian interpreter (python3-nbxmpp and python3-aioxmpp
import only under /usr/bin/python3), pytest runs under another one, so each scenario runs
once as a subprocess and its JSON lines are kept for the per-step tests.

Environment: INTEROP_CLIENT_PYTHON (default /usr/bin/python3), the interpreter for the
scripts; INTEROP_CLIENT_TIMEOUT (default 15), the bound of every wait inside a script.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CLIENTS_DIR = Path(__file__).resolve().parent
CLIENT_PYTHON = os.environ.get("INTEROP_CLIENT_PYTHON", "/usr/bin/python3")
WAIT_TIMEOUT = float(os.environ.get("INTEROP_CLIENT_TIMEOUT", "15"))
# The whole script: every step's waits are bounded, this only catches a stuck interpreter.
RUN_TIMEOUT = 300.0


@dataclass
class ScenarioRun:
    script: str
    command: list[str]
    status: int | None = None          # None: killed after RUN_TIMEOUT
    steps: dict[str, dict] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    summary: dict | None = None
    fatal: str | None = None
    stdout_tail: str = ""
    stderr: str = ""
    seconds: float = 0.0

    def describe_end(self) -> str:
        how = ("was killed after %.0f s" % RUN_TIMEOUT if self.status is None
               else f"exited with status {self.status}")
        return (f"{self.script} {how} after {self.seconds:.1f} s; steps reported: "
                f"{', '.join(self.order) or 'none'}\n--- stderr (tail) ---\n{self.stderr[-3000:]}"
                f"\n--- stdout (tail) ---\n{self.stdout_tail}")

    def assert_step(self, name: str) -> dict:
        """The step's record if it passed; otherwise the test fails with the script's
        own account of it (its error text and the library state it saw)."""
        if self.fatal:
            pytest.fail(f"{self.script} could not run: {self.fatal} (set INTEROP_CLIENT_PYTHON "
                        f"to an interpreter with the library; Interop/install-deps.sh installs "
                        f"the Debian packages)", pytrace=False)
        record = self.steps.get(name)
        if record is None:
            pytest.fail(f"{self.script} never reported step {name!r}: {self.describe_end()}",
                        pytrace=False)
        if record.get("skipped"):
            pytest.fail(f"step {name!r} was not run: {record.get('error')}", pytrace=False)
        if not record.get("ok"):
            detail = json.dumps(record.get("detail"), indent=1, default=str)
            if len(detail) > 6000:
                detail = detail[:6000] + " …"
            pytest.fail(f"{self.script}, step {name!r}: {record.get('error')}\n"
                        f"library state seen in this step:\n{detail}", pytrace=False)
        return record


def run_scenario(script: str, stack, *, room: str, service: str, users: tuple[str, ...],
                 extra: tuple[str, ...] = ()) -> ScenarioRun:
    """Run Interop/clients/<script> against the session's server (its c2s port and
    accounts, whatever server INTEROP_SERVER chose) and collect its JSON lines."""
    from harness.procs import LOOPBACK   # the harness binds everything to loopback

    settings = stack.settings
    command = [CLIENT_PYTHON, str(CLIENTS_DIR / script),
               "--host", LOOPBACK, "--port", str(settings.c2s_port), "--domain", settings.vhost,
               "--room", room, "--service", service, "--timeout", str(WAIT_TIMEOUT), *extra]
    for user in users:
        command += ["--account", f"{user}={settings.accounts[user]}"]
    run = ScenarioRun(script=script, command=command)
    if not Path(CLIENT_PYTHON).exists():
        run.fatal = f"no interpreter {CLIENT_PYTHON}"
        return run
    started = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT,
                              cwd=str(CLIENTS_DIR), stdin=subprocess.DEVNULL)
        stdout, run.stderr, run.status = done.stdout, done.stderr, done.returncode
    except subprocess.TimeoutExpired as expired:
        stdout = _text(expired.stdout)
        run.stderr = _text(expired.stderr)
    run.seconds = time.monotonic() - started
    run.stdout_tail = stdout[-3000:]
    for line in stdout.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if "step" in record:
            run.steps[record["step"]] = record
            run.order.append(record["step"])
        elif "summary" in record:
            run.summary = record["summary"]
        elif "fatal" in record:
            run.fatal = record["fatal"]
    if run.status == 2 and not run.fatal and not run.steps:
        run.fatal = run.stderr.strip()[-2000:] or "exit status 2"
    return run


def _text(data) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data
