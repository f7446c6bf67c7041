"""An XMPP server (Prosody, or ejabberd with `server="ejabberd"`) plus Parley in one run
directory, brought up and down together.

Run directory layout::

    prosody.cfg.lua   prosody-data/   prosody.log  prosody.err  prosody.stdout.log
      or: ejabberd.yml  ejabberdctl.cfg  ejabberd-spool/  ejabberd-logs/  ejabberd.stdout.log
    parley.toml       parley.sqlite   parley.log
    *.harness.pid     (PIDs of the running children, removed when they stop)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from .ejabberd import EjabberdServer
from .errors import HarnessError
from .parley import ParleyService
from .paths import default_parley_bin
from .probe import wait_for_component
from .prosody import ProsodyServer

SERVERS = ("prosody", "ejabberd")

# The ports the tests use by default, one pair per server so that runs never collide
# (ejabberd also takes the component port + 1 for Erlang distribution).
DEFAULT_PORTS = {"prosody": (25222, 25347), "ejabberd": (26222, 26347)}

TEST_ACCOUNTS = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi")


def account_password(user: str) -> str:
    """The known password of a test account."""
    return f"{user}-secret"


@dataclass
class StackSettings:
    run_dir: Path
    c2s_port: int = 25222
    component_port: int = 25347
    vhost: str = "localhost"
    component_domain: str = "rooms.localhost"
    component_secret: str = "interop-secret"
    accounts: dict[str, str] = field(default_factory=dict)
    overwrite_accounts: bool = True
    parley_bin: Path | None = None          # None: Prosody only, no Parley
    parley_log_level: str = "debug"
    parley_extra_config: str = ""           # TOML appended to parley.toml (benchmarks lift [limits])
    prosody_log_level: str = "debug"
    prosody_start_timeout: float = 20.0
    parley_ready_timeout: float = 30.0
    server: str = "prosody"                 # the XMPP server: "prosody" or "ejabberd"
    ejabberd_log_level: str = "info"
    ejabberd_start_timeout: float = 60.0    # includes registering the accounts

    @classmethod
    def for_tests(cls, run_dir: Path, users=TEST_ACCOUNTS, **overrides) -> "StackSettings":
        settings = cls(run_dir=Path(run_dir).resolve(),
                       accounts={u: account_password(u) for u in users},
                       parley_bin=default_parley_bin())
        for key, value in overrides.items():
            setattr(settings, key, value)
        return settings

    @property
    def probe_account(self) -> tuple[str, str]:
        if not self.accounts:
            raise HarnessError("at least one account is needed to check that Parley is attached")
        user = sorted(self.accounts)[0]
        return user, self.accounts[user]


class Stack:
    """`with Stack(settings) as stack:` — the server up, accounts created, Parley attached.

    `stack.server` is a ProsodyServer or an EjabberdServer (same interface); `stack.prosody`
    is the same object, kept under its old name."""

    def __init__(self, settings: StackSettings):
        self.settings = settings
        s = settings
        self.run_dir = s.run_dir
        if s.server == "prosody":
            self.server = ProsodyServer(s.run_dir, s.c2s_port, s.component_port, vhost=s.vhost,
                                        component_domain=s.component_domain,
                                        component_secret=s.component_secret,
                                        log_level=s.prosody_log_level)
            self.server_start_timeout = s.prosody_start_timeout
        elif s.server == "ejabberd":
            self.server = EjabberdServer(s.run_dir, s.c2s_port, s.component_port, vhost=s.vhost,
                                         component_domain=s.component_domain,
                                         component_secret=s.component_secret,
                                         log_level=s.ejabberd_log_level)
            self.server_start_timeout = s.ejabberd_start_timeout
        else:
            raise HarnessError(f"unknown XMPP server {s.server!r}; known: {', '.join(SERVERS)}")
        self.server_name = s.server
        self.prosody = self.server   # the old name
        self.parley = (ParleyService(s.run_dir, s.parley_bin, s.component_domain, s.component_port,
                                     s.component_secret, log_level=s.parley_log_level,
                                     extra_config=s.parley_extra_config)
                       if s.parley_bin is not None else None)
        self.ready_answer: str | None = None

    def __enter__(self) -> "Stack":
        self.up()
        return self

    def __exit__(self, *exc) -> None:
        self.down()

    def write_files(self) -> None:
        """Configs and accounts, without starting anything."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.server.write_config()
        self.server.write_accounts(self.settings.accounts, overwrite=self.settings.overwrite_accounts)
        if self.parley is not None:
            self.parley.write_config()

    def up(self) -> None:
        if self.parley is not None:
            self.parley.check_binary()   # fail before starting anything
        self.write_files()
        try:
            self.server.start(timeout=self.server_start_timeout)
            if self.parley is not None:
                self.start_parley()
        except BaseException:
            self.down()
            raise

    def start_parley(self) -> None:
        """Start Parley and wait until it answers at its domain through the server."""
        assert self.parley is not None
        self.parley.start()
        self.wait_until_attached()

    def wait_until_attached(self, timeout: float | None = None) -> str:
        user, password = self.settings.probe_account
        parley = self.parley
        self.ready_answer = wait_for_component(
            self.settings.c2s_port, self.settings.vhost, user, password,
            self.settings.component_domain,
            timeout=self.settings.parley_ready_timeout if timeout is None else timeout,
            alive=(parley.running if parley is not None else None),
            describe_logs=self.describe_logs)
        return self.ready_answer

    def describe_logs(self, lines: int = 40) -> str:
        parts = []
        if self.parley is not None:
            if self.parley.process is not None and not self.parley.running():
                parts.append(f"parley exited with status {self.parley.process.returncode()}")
            parts.append(self.parley.describe_logs(lines))
        parts.append(self.server.describe_logs(lines))
        return "\n".join(parts)

    def problems(self) -> list[str]:
        """Children that were started and have exited since."""
        found = []
        for name, service in ((self.server_name, self.server), ("parley", self.parley)):
            if service is not None and service.process is not None and not service.running():
                found.append(f"{name} exited with status {service.process.returncode()}")
        return found

    def down(self) -> None:
        """Stop Parley first (so it does not see the server vanish), then the server."""
        if self.parley is not None:
            self.parley.stop()
        self.server.stop()

    def wait(self, poll: float = 0.5, should_stop=lambda: False) -> None:
        """Block until should_stop() or a child exits (then raise with the logs)."""
        while not should_stop():
            problems = self.problems()
            if problems:
                raise HarnessError("; ".join(problems) + "\n" + self.describe_logs())
            time.sleep(poll)
