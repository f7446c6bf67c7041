"""Parley as an external component: its TOML config and its process."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import HarnessError
from .procs import LOOPBACK, ManagedProcess, format_tail


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def write_parley_config(path: Path, domain: str, port: int, secret: str, database: Path,
                        host: str = LOOPBACK, extra: str = "") -> Path:
    """Write the config that `parley run --config` reads (see shared DESIGN, §4); `extra`
    (TOML tables) is appended."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "[component]\n"
        f"domain = {_toml_string(domain)}\n"
        f"host = {_toml_string(host)}\n"
        f"port = {int(port)}\n"
        f"secret = {_toml_string(secret)}\n"
        "\n"
        "[storage]\n"
        f"database = {_toml_string(str(database.resolve()))}\n"
        + (f"\n{extra}\n" if extra else ""))
    path.chmod(0o600)  # it holds the component secret
    return path


class ParleyService:
    """`parley run --config <toml> --log-level <level>`, output to parley.log."""

    def __init__(self, run_dir: Path, parley_bin: Path, component_domain: str,
                 component_port: int, secret: str, log_level: str = "debug", extra_config: str = ""):
        self.run_dir = run_dir
        self.parley_bin = Path(parley_bin)
        self.component_domain = component_domain
        self.component_port = component_port
        self.secret = secret
        self.log_level = log_level
        self.extra_config = extra_config
        self.config_path = run_dir / "parley.toml"
        self.database_path = run_dir / "parley.sqlite"
        self.log_path = run_dir / "parley.log"
        self.process: ManagedProcess | None = None

    def write_config(self) -> Path:
        return write_parley_config(self.config_path, self.component_domain, self.component_port,
                                   self.secret, self.database_path, extra=self.extra_config)

    def check_binary(self) -> None:
        if not self.parley_bin.is_file() or not os.access(self.parley_bin, os.X_OK):
            raise HarnessError(
                f"Parley binary not found at {self.parley_bin}; build it with `swift build` "
                f"in the repository root or point PARLEY_BIN at it")

    def describe_logs(self, lines: int = 60) -> str:
        return format_tail(self.log_path, lines)

    def start(self) -> None:
        """Start Parley; use wait_for_component (probe.py) to know when it is attached."""
        self.check_binary()
        if not self.config_path.exists():
            self.write_config()
        self.process = ManagedProcess(
            "parley",
            [str(self.parley_bin), "run", "--config", str(self.config_path),
             "--log-level", self.log_level],
            log_path=self.log_path,
            cwd=self.run_dir,
            pid_path=self.run_dir / "parley.harness.pid",
        )
        self.process.start()

    def running(self) -> bool:
        return self.process is not None and self.process.running()

    def stop(self, timeout: float = 10.0) -> int | None:
        return self.process.stop(timeout) if self.process else None
