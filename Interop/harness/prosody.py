"""A private Prosody 0.12: config from Interop/prosody/prosody.cfg.lua.in, accounts
written straight into its data directory, started in the foreground."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Mapping

from .errors import HarnessError
from .paths import PROSODY_TEMPLATE, REPO_ROOT
from .procs import LOOPBACK, ManagedProcess, format_tail, require_free_port, wait_for_ports

_PLACEHOLDER = re.compile(r"@([A-Z][A-Z0-9_]*)@")


def render_config(values: Mapping[str, object], template: Path = PROSODY_TEMPLATE) -> str:
    """Fill every @NAME@ in the template; a placeholder without a value is an error."""
    text = template.read_text()
    missing = sorted({m.group(1) for m in _PLACEHOLDER.finditer(text)} - set(values))
    if missing:
        raise HarnessError(f"{template}: no value for placeholder(s) {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda m: _lua_string_body(str(values[m.group(1)])), text)


def _lua_string_body(value: str) -> str:
    """Escape a value that the template places inside a double-quoted Lua string
    (ports and levels pass through unchanged)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def encode_path_part(part: str) -> str:
    """Prosody's util.datamanager encoding of hosts and user names in file names:
    every non-alphanumeric byte becomes %xx (lower-case hex), so "rooms.localhost"
    is stored as "rooms%2elocalhost"."""
    return "".join(
        chr(b) if (0x30 <= b <= 0x39 or 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A) else f"%{b:02x}"
        for b in part.encode("utf-8"))


def _lua_quote(value: str) -> str:
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\{code:03d}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def account_file(data_path: Path, host: str, user: str) -> Path:
    return data_path / encode_path_part(host) / "accounts" / f"{encode_path_part(user)}.dat"


def write_accounts(data_path: Path, host: str, accounts: Mapping[str, str],
                   overwrite: bool = True) -> list[str]:
    """Write internal_plain account files, byte for byte as `prosodyctl register`
    writes them. Returns the users written (existing ones are kept if not overwrite).
    Prosody reads these on each login, so this works while it runs too."""
    written = []
    for user, password in accounts.items():
        if user != user.lower() or not user or "@" in user or "/" in user:
            raise HarnessError(f"account name {user!r} must be a lower-case JID localpart")
        path = account_file(data_path, host, user)
        if path.exists() and not overwrite:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'return {{\n\t["password"] = {_lua_quote(password)};\n}};\n', encoding="utf-8")
        written.append(user)
    return written


class ProsodyServer:
    """Prosody with a config in `run_dir`, listening on loopback only."""

    def __init__(self, run_dir: Path, c2s_port: int, component_port: int,
                 vhost: str = "localhost", component_domain: str = "rooms.localhost",
                 component_secret: str = "interop-secret", log_level: str = "debug",
                 prosody_bin: str = "prosody"):
        self.run_dir = run_dir
        self.c2s_port = c2s_port
        self.component_port = component_port
        self.vhost = vhost
        self.component_domain = component_domain
        self.component_secret = component_secret
        self.log_level = log_level
        self.prosody_bin = prosody_bin
        self.config_path = run_dir / "prosody.cfg.lua"
        self.data_path = run_dir / "prosody-data"
        self.log_path = run_dir / "prosody.log"
        self.err_path = run_dir / "prosody.err"
        self.stdout_path = run_dir / "prosody.stdout.log"
        self.process: ManagedProcess | None = None
        # Demo only (`harness demo` sets them; the tests keep plain TCP and Prosody's default
        # signal handling). A certificate and key for the virtual host: STARTTLS is offered
        # but not required.
        self.tls_certificate: Path | None = None
        self.tls_key: Path | None = None
        # Load mod_posix (safe with run_as_root): SIGHUP reloads the config instead of
        # killing Prosody, SIGTERM/SIGINT shut it down cleanly.
        self.posix_signals = False

    def write_config(self) -> Path:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.data_path.mkdir(parents=True, exist_ok=True)
        # An empty certificate directory keeps certmanager from logging errors.
        (self.run_dir / "certs").mkdir(exist_ok=True)
        self.config_path.write_text(render_config({
            "RUN_DIR": self.run_dir,
            "DATA_PATH": self.data_path,
            "C2S_PORT": self.c2s_port,
            "COMPONENT_PORT": self.component_port,
            "LOG_LEVEL": self.log_level,
            "VHOST": self.vhost,
            "COMPONENT_DOMAIN": self.component_domain,
            "COMPONENT_SECRET": self.component_secret,
            "PLUGIN_PATH": REPO_ROOT / "Config" / "prosody",
            "TLS_CERTIFICATE": self.tls_certificate or "",
            "TLS_KEY": self.tls_key or "",
            "POSIX_SIGNALS": "true" if self.posix_signals else "false",
        }))
        self.config_path.chmod(0o600)  # it holds the component secret
        return self.config_path

    def write_accounts(self, accounts: Mapping[str, str], overwrite: bool = True) -> list[str]:
        return write_accounts(self.data_path, self.vhost, accounts, overwrite=overwrite)

    def describe_logs(self, lines: int = 40) -> str:
        return "\n".join(format_tail(p, lines) for p in (self.stdout_path, self.err_path, self.log_path)
                         if p.exists()) or f"(no Prosody logs in {self.run_dir})"

    def start(self, timeout: float = 20.0) -> None:
        """Start Prosody and wait until both the c2s and the component port accept TCP."""
        if shutil.which(self.prosody_bin) is None and not Path(self.prosody_bin).exists():
            raise HarnessError(f"'{self.prosody_bin}' not found; run Interop/install-deps.sh")
        if not self.config_path.exists():
            self.write_config()
        require_free_port(self.c2s_port, "Prosody c2s")
        require_free_port(self.component_port, "Prosody component")
        self.process = ManagedProcess(
            "prosody",
            # -F: stay in the foreground (0.12 also has -D to daemonize).
            [self.prosody_bin, "-F", "--config", str(self.config_path)],
            log_path=self.stdout_path,
            cwd=self.run_dir,
            pid_path=self.run_dir / "prosody.harness.pid",
        )
        self.process.start()
        try:
            wait_for_ports(self.process, [self.c2s_port, self.component_port], timeout,
                           self.describe_logs)
        except HarnessError:
            self.stop()
            raise

    def running(self) -> bool:
        return self.process is not None and self.process.running()

    def stop(self, timeout: float = 10.0) -> int | None:
        return self.process.stop(timeout) if self.process else None

    @property
    def address(self) -> tuple[str, int]:
        return (LOOPBACK, self.c2s_port)
