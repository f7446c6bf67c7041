"""A private ejabberd 23.01 (the Debian package): config from Interop/ejabberd/ejabberd.yml.in
and a private ejabberdctl.cfg (Interop/ejabberd/ejabberdctl.cfg.in), started in the foreground
as the `ejabberd` user, accounts registered with `ejabberdctl register` once it is up.

Run directory layout (the directories are owned by the `ejabberd` user)::

    ejabberd.yml  ejabberdctl.cfg  ejabberd.stdout.log
    ejabberd-spool/   (Mnesia: accounts, rooms, archives; ejabberd.pid)
    ejabberd-logs/    (ejabberd.log, error.log, crash.log)

The process tree is `runuser` (the harness's child) -> `ejabberdctl` (bash) -> `beam.smp`.
A SIGTERM to runuser would orphan the Erlang VM, so the node is stopped by its own PID
(ejabberd writes it to ejabberd-spool/ejabberd.pid): SIGTERM makes it shut down cleanly in
a second or two, and runuser exits with it. Both PIDs are recorded as *.harness.pid for
run-tests.sh's clean-up.

Erlang distribution runs without epmd on a fixed loopback port (ERL_DIST_PORT, default
component port + 1) with a random cookie, so nothing stays behind and ejabberdctl commands
reach this node only, never a system ejabberd (which is neither started nor touched).
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Mapping

from .errors import HarnessError
from .paths import EJABBERD_CTL_TEMPLATE, EJABBERD_TEMPLATE
from .procs import LOOPBACK, ManagedProcess, format_tail, require_free_port, wait_for_ports
from .tls import make_ca_signed

_PLACEHOLDER = re.compile(r"@([A-Z][A-Z0-9_]*)@")

EJABBERD_USER = "ejabberd"

# Prosody's level names, as the harness uses them, to ejabberd's (loglevel option).
_LOG_LEVELS = {"debug": "debug", "info": "info", "warn": "warning", "warning": "warning",
               "error": "error", "notice": "notice", "critical": "critical", "none": "none"}


def _yaml_string_body(value: str) -> str:
    """Escape a value placed inside a double-quoted YAML string."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _shell_string_body(value: str) -> str:
    """Escape a value placed inside a double-quoted sh string (ejabberdctl.cfg is sourced)."""
    return re.sub(r'(["\\$`])', r"\\\1", value).replace("\n", " ")


def render_template(template: Path, values: Mapping[str, object], escape: Callable[[str], str]) -> str:
    """Fill every @NAME@ in the template; a placeholder without a value is an error."""
    text = template.read_text()
    missing = sorted({m.group(1) for m in _PLACEHOLDER.finditer(text)} - set(values))
    if missing:
        raise HarnessError(f"{template}: no value for placeholder(s) {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda m: escape(str(values[m.group(1)])), text)


class EjabberdServer:
    """ejabberd with a config in `run_dir`, listening on loopback only. Same interface as
    ProsodyServer: write_config, write_accounts, start, running, stop, describe_logs."""

    name = "ejabberd"

    def __init__(self, run_dir: Path, c2s_port: int, component_port: int,
                 vhost: str = "localhost", component_domain: str = "rooms.localhost",
                 component_secret: str = "interop-secret", log_level: str = "info",
                 dist_port: int | None = None, ejabberdctl: str = "ejabberdctl",
                 user: str = EJABBERD_USER):
        self.run_dir = Path(run_dir)
        self.c2s_port = c2s_port
        self.component_port = component_port
        self.vhost = vhost
        self.component_domain = component_domain
        self.component_secret = component_secret
        self.log_level = _LOG_LEVELS.get(log_level, log_level)
        self.dist_port = dist_port if dist_port is not None else component_port + 1
        # A second component listener with direct TLS (`tls: true`), for Parley's encrypted
        # link ([component] tls), under its own domain.
        self.tls_component_port = component_port + 3
        self.tls_component_domain = f"secure.{vhost}"
        self.certificate = None
        self.ejabberdctl = ejabberdctl
        self.user = user
        # One node name per port set: two runs on different ports never share a node.
        self.node = f"parley-interop-{c2s_port}@localhost"
        self.config_path = self.run_dir / "ejabberd.yml"
        self.ctl_config_path = self.run_dir / "ejabberdctl.cfg"
        self.spool_path = self.run_dir / "ejabberd-spool"
        self.logs_path = self.run_dir / "ejabberd-logs"
        self.log_path = self.logs_path / "ejabberd.log"
        self.err_path = self.logs_path / "error.log"
        self.crash_path = self.logs_path / "crash.log"
        self.stdout_path = self.run_dir / "ejabberd.stdout.log"
        self.pid_path = self.spool_path / "ejabberd.pid"          # written by ejabberd
        self.harness_pid_path = self.run_dir / "ejabberd.harness.pid"   # the Erlang VM
        self.process: ManagedProcess | None = None
        self._accounts: dict[str, str] = {}
        self._overwrite = True
        self._registered: set[str] = set()
        self._beam_pid: int | None = None

    # -- files -----------------------------------------------------------------------

    def _ids(self) -> tuple[int, int]:
        try:
            entry = pwd.getpwnam(self.user)
        except KeyError:
            raise HarnessError(f"no '{self.user}' user: is the ejabberd package installed? "
                               "(run Interop/install-deps.sh)") from None
        return entry.pw_uid, entry.pw_gid

    def _give(self, path: Path) -> None:
        """Hand a file or directory to the ejabberd user (a no-op unless we are root)."""
        if os.geteuid() == 0:
            uid, gid = self._ids()
            os.chown(path, uid, gid)

    def write_config(self) -> Path:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        # The ejabberd user must reach its files: let others traverse (not list) the run dir.
        mode = self.run_dir.stat().st_mode & 0o7777
        if mode & 0o011 != 0o011:
            self.run_dir.chmod(mode | 0o711)
        for directory in (self.spool_path, self.logs_path):
            directory.mkdir(parents=True, exist_ok=True)
            directory.chmod(0o750)
            self._give(directory)
        # The TLS listener's certificate, for the vhost and its subdomains, signed by a test CA
        # (ejabberd refuses self-signed ones); ejabberd reads certificate and key from one file.
        self.certificate = make_ca_signed(self.run_dir / "certs", self.vhost, [self.vhost, f"*.{self.vhost}"])
        pem = self.run_dir / "certs" / "ejabberd.pem"
        pem.write_text(self.certificate.certificate.read_text() + self.certificate.key.read_text())
        pem.chmod(0o600)
        self._give(pem)
        self._give(self.run_dir / "certs")
        cookie_path = self.run_dir / "ejabberd.cookie"
        if not cookie_path.exists():
            cookie_path.write_text(secrets.token_hex(16) + "\n")
            cookie_path.chmod(0o600)
        self.config_path.write_text(render_template(EJABBERD_TEMPLATE, {
            "LOG_LEVEL": self.log_level,
            "VHOST": self.vhost,
            "C2S_PORT": int(self.c2s_port),
            "COMPONENT_PORT": int(self.component_port),
            "COMPONENT_DOMAIN": self.component_domain,
            "COMPONENT_SECRET": self.component_secret,
            "TLS_COMPONENT_PORT": int(self.tls_component_port),
            "TLS_COMPONENT_DOMAIN": self.tls_component_domain,
            "CERTFILE": pem,
            "CA_FILE": self.certificate.authority,
        }, _yaml_string_body))
        self.ctl_config_path.write_text(render_template(EJABBERD_CTL_TEMPLATE, {
            "CONFIG_PATH": self.config_path,
            "PID_PATH": self.pid_path,
            "NODE": self.node,
            "DIST_PORT": int(self.dist_port),
            "COOKIE": cookie_path.read_text().strip(),
            "CONTRIB_PATH": self.spool_path / "contrib-modules",
        }, _shell_string_body))
        for path in (self.config_path, self.ctl_config_path):
            path.chmod(0o600)  # the component secret, the Erlang cookie
            self._give(path)
        return self.config_path

    def write_accounts(self, accounts: Mapping[str, str], overwrite: bool = True) -> list[str]:
        """Accounts live in ejabberd's database: remember them, and register them now if the
        node runs (else as soon as start() has it up). Returns the users registered now."""
        for user in accounts:
            if user != user.lower() or not user or "@" in user or "/" in user:
                raise HarnessError(f"account name {user!r} must be a lower-case JID localpart")
        self._accounts.update(accounts)
        self._overwrite = overwrite
        self._registered -= set(accounts)
        return self.register_accounts() if self.running() else []

    # -- ejabberdctl -------------------------------------------------------------------

    def _as_ejabberd(self, argv: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", self.user, "--", *argv]
        if pwd.getpwuid(os.geteuid()).pw_name == self.user:
            return argv
        raise HarnessError(f"ejabberd must be started as root or as the '{self.user}' user")

    def _ctl_argv(self, *command: str) -> list[str]:
        return self._as_ejabberd([
            self.ejabberdctl, "--ctl-config", str(self.ctl_config_path),
            "--config", str(self.config_path), "--logs", str(self.logs_path),
            "--spool", str(self.spool_path), "--node", self.node, *command])

    def ctl(self, *command: str, timeout: float = 30.0) -> tuple[int, str]:
        """Run one ejabberdctl command against this node: (exit status, output)."""
        try:
            done = subprocess.run(self._ctl_argv(*command), cwd=self.spool_path,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired:
            return 124, f"ejabberdctl {command[0]} did not finish within {timeout:.0f} s"
        return done.returncode, done.stdout.decode("utf-8", errors="replace").strip()

    def _register(self, user: str, password: str) -> str | None:
        """Register one account (about a second: each ejabberdctl starts an Erlang VM).
        Returns None, or what went wrong."""
        output = ""
        for _attempt in range(3):
            status, output = self.ctl("register", user, self.vhost, password)
            if status == 0:
                return None
            if "already registered" in output:
                if not self._overwrite:
                    return None
                status, output = self.ctl("change_password", user, self.vhost, password)
                if status == 0:
                    return None
            time.sleep(0.3)   # e.g. two ejabberdctl clients that drew the same node name
        return f"{user}: {output or 'failed'}"

    def register_accounts(self) -> list[str]:
        pending = {u: p for u, p in self._accounts.items() if u not in self._registered}
        if not pending:
            return []
        with ThreadPoolExecutor(max_workers=4) as pool:
            outcomes = dict(zip(pending, pool.map(lambda item: self._register(*item), pending.items())))
        failures = [problem for problem in outcomes.values() if problem]
        if failures:
            raise HarnessError("ejabberdctl register failed: " + "; ".join(failures)
                               + "\n" + self.describe_logs())
        self._registered.update(pending)
        return sorted(pending)

    # -- the node --------------------------------------------------------------------

    def describe_logs(self, lines: int = 40) -> str:
        return "\n".join(format_tail(p, lines) for p in
                         (self.stdout_path, self.crash_path, self.err_path, self.log_path)
                         if p.exists() and p.stat().st_size > 0) \
            or f"(no ejabberd logs in {self.run_dir})"

    def _check_access(self) -> None:
        """The ejabberd user must read its config and write its spool and log directories."""
        probe = self._as_ejabberd(["sh", "-c", 'test -r "$1" && test -w "$2" && test -w "$3"', "sh",
                                   str(self.config_path), str(self.spool_path), str(self.logs_path)])
        if subprocess.run(probe, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode != 0:
            raise HarnessError(
                f"the '{self.user}' user cannot use the run directory {self.run_dir} (its config "
                f"and ejabberd-spool/, ejabberd-logs/); every parent directory must be "
                f"searchable by others (mode o+x). Use a run directory under /tmp.")

    def start(self, timeout: float = 60.0) -> None:
        """Start ejabberd, wait until both the c2s and the component port accept TCP, then
        register the accounts given to write_accounts."""
        if shutil.which(self.ejabberdctl) is None and not Path(self.ejabberdctl).exists():
            raise HarnessError(f"'{self.ejabberdctl}' not found; run Interop/install-deps.sh")
        self._ids()
        if not self.config_path.exists() or not self.ctl_config_path.exists():
            self.write_config()
        self._check_access()
        require_free_port(self.c2s_port, "ejabberd c2s")
        require_free_port(self.component_port, "ejabberd component")
        require_free_port(self.dist_port, "ejabberd Erlang distribution")
        try:
            self.pid_path.unlink()
        except FileNotFoundError:
            pass
        self._beam_pid = None
        self.process = ManagedProcess(
            "ejabberd",
            # foreground-quiet: attached, only critical messages on stdout (the rest goes to
            # ejabberd-logs/); see this module's docstring for how it is stopped.
            self._ctl_argv("foreground-quiet"),
            log_path=self.stdout_path,
            cwd=self.spool_path,
            pid_path=self.run_dir / "ejabberd-runuser.harness.pid",
        )
        self.process.start()
        try:
            wait_for_ports(self.process, [self.c2s_port, self.component_port], timeout,
                           self.describe_logs)
            self._find_beam()
            self.register_accounts()
        except BaseException:
            self.stop()
            raise

    def _find_beam(self, timeout: float = 5.0) -> int:
        """The Erlang VM's PID, from the file ejabberd writes when it starts."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                pid = int(self.pid_path.read_text().strip())
                if self._is_ours(pid):
                    self._beam_pid = pid
                    self.harness_pid_path.write_text(f"{pid}\n")
                    return pid
            except (FileNotFoundError, ValueError):
                pass
            if time.monotonic() >= deadline:
                raise HarnessError(f"ejabberd wrote no usable PID to {self.pid_path}\n"
                                   f"{self.describe_logs()}")
            time.sleep(0.1)

    def _is_ours(self, pid: int) -> bool:
        """Is `pid` alive and an Erlang VM of this run (its command line names our spool)?"""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            return False
        return str(self.spool_path).encode() in cmdline

    def running(self) -> bool:
        return self.process is not None and self.process.running()

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM to the Erlang VM (a clean shutdown), wait for it and for runuser, SIGKILL
        whatever is left after `timeout` seconds. Returns runuser's exit status."""
        if self.process is None:
            return None
        beam = self._beam_pid
        if beam is None:
            try:
                candidate = int(self.pid_path.read_text().strip())
                beam = candidate if self._is_ours(candidate) else None
            except (FileNotFoundError, ValueError):
                beam = None
        if beam is not None and self._is_ours(beam):
            try:
                os.kill(beam, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + timeout
            while self._is_ours(beam) and time.monotonic() < deadline:
                time.sleep(0.1)
            if self._is_ours(beam):
                try:
                    os.kill(beam, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        status = self.process.stop(5.0)   # runuser: normally gone with the VM already
        if beam is None or not self._is_ours(beam):
            try:
                self.harness_pid_path.unlink()
            except FileNotFoundError:
                pass
        self._beam_pid = None
        return status

    @property
    def address(self) -> tuple[str, int]:
        return (LOOPBACK, self.c2s_port)
