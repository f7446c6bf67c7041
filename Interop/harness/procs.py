"""Child processes, ports and logs: start with output to a file, wait (bounded) for a
TCP port, stop with SIGTERM then SIGKILL, read the tail of a log."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

from .errors import HarnessError

LOOPBACK = "127.0.0.1"

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child before exec: ask Linux to SIGTERM it when the harness dies,
    so that a killed test run does not leave Prosody or Parley behind."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except Exception:  # best effort; not Linux, or no prctl
        pass


class ManagedProcess:
    """One child process whose stdout and stderr go to a log file."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path, cwd: Path,
                 pid_path: Path | None = None, env: dict[str, str] | None = None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = log_path
        self.cwd = cwd
        self.pid_path = pid_path
        self.env = env
        self.popen: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def start(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            raise HarnessError(f"{self.name} is already running (pid {self.popen.pid})")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"--- harness: starting {' '.join(self.argv)}\n".encode())
            log.flush()
            try:
                self.popen = subprocess.Popen(
                    self.argv,
                    cwd=self.cwd,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    # Own process group: a Ctrl-C in the terminal reaches the harness,
                    # which then stops the children in order.
                    start_new_session=True,
                    preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
                )
            except OSError as error:
                raise HarnessError(f"cannot start {self.name} ({self.argv[0]}): {error}") from error
        if self.pid_path is not None:
            self.pid_path.write_text(f"{self.popen.pid}\n")

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def returncode(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGTERM, wait up to `timeout` seconds, then SIGKILL. Returns the exit status."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            try:
                self.popen.send_signal(signal.SIGTERM)
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                try:
                    self.popen.wait(timeout=5.0)
                except subprocess.TimeoutExpired:
                    pass
            except ProcessLookupError:
                pass
        if self.pid_path is not None and self.popen.poll() is not None:
            try:
                self.pid_path.unlink()
            except FileNotFoundError:
                pass
        return self.popen.poll()


def port_accepts(port: int, host: str = LOOPBACK, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_free_port(port: int, what: str, host: str = LOOPBACK) -> None:
    if port_accepts(port, host, timeout=0.3):
        raise HarnessError(
            f"{what} port {host}:{port} is already in use; is a Prosody from an earlier "
            f"run still up? (look for it with: ss -ltnp 'sport = :{port}')")


def wait_for_ports(process: ManagedProcess, ports: Sequence[int], timeout: float,
                   describe_logs) -> None:
    """Wait until every port accepts TCP, failing early if the process exits."""
    deadline = time.monotonic() + timeout
    pending = list(ports)
    while pending:
        if not process.running():
            raise HarnessError(
                f"{process.name} exited with status {process.returncode()} before "
                f"port(s) {', '.join(map(str, pending))} opened\n{describe_logs()}")
        pending = [p for p in pending if not port_accepts(p)]
        if not pending:
            return
        if time.monotonic() >= deadline:
            raise HarnessError(
                f"{process.name} did not open port(s) {', '.join(map(str, pending))} on "
                f"{LOOPBACK} within {timeout:.0f} s\n{describe_logs()}")
        time.sleep(0.1)


def log_tail(path: Path, lines: int = 40) -> str:
    """The last `lines` lines of a log file, or a note that it is missing."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 256 * 1024))
            text = f.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return f"(no {path.name} yet)"
    tail = text.splitlines()[-lines:]
    # Keep pathological lines (100 KB stanzas in a debug log) readable.
    tail = [line if len(line) <= 600 else line[:600] + f"... [{len(line)} chars]" for line in tail]
    return "\n".join(tail) if tail else f"({path.name} is empty)"


def format_tail(path: Path, lines: int = 40) -> str:
    return f"--- last lines of {path} ---\n{log_tail(path, lines)}\n--- end of {path.name} ---"
