"""Interop test session: one private XMPP server (Prosody, or ejabberd with
INTEROP_SERVER=ejabberd) with Parley attached, shared by all tests, plus slixmpp clients
for named accounts.

Tests may be `async def`: they run on one session-wide asyncio loop (no pytest-asyncio
needed), each under a deadline (INTEROP_TEST_TIMEOUT, default 60 s).

Environment:
    PARLEY_BIN              Parley binary (default <repo>/.build/debug/parley)
    INTEROP_SERVER          the XMPP server Parley is attached to: prosody (default) or
                            ejabberd (the Debian package, run privately as the ejabberd user)
    INTEROP_RUN_DIR         run directory (default: a new temporary directory, removed
                            after a fully passing session unless INTEROP_KEEP_RUN_DIR=1)
    INTEROP_C2S_PORT        the server's c2s port (default 25222 Prosody, 26222 ejabberd)
    INTEROP_COMPONENT_PORT  its component port (default 25347 Prosody, 26347 ejabberd;
                            ejabberd also uses this port + 1 for Erlang distribution)
    INTEROP_EJABBERD_LOG_LEVEL  ejabberd's loglevel (default info; debug logs every stanza)
    INTEROP_NO_PARLEY=1     start the server only: tests that need Parley (fixture `service`,
                            `muc` [parley], `restart_parley`) are skipped; for checking the
                            room tests against Prosody's MUC without a working Parley build
    INTEROP_MUC             the MUC services the room tests (test_muc_*.py) run against,
                            comma-separated: parley (rooms.localhost), prosody
                            (conference.localhost, Prosody's own MUC, the reference);
                            default both under Prosody. Under ejabberd: parley only (the
                            default), or ejabberd (its own mod_muc at conference.localhost,
                            opt-in and unmarked: the markers describe Prosody's MUC).
                            `-k parley` / `-k prosody` select the same way.

Room tests take the `muc` fixture and run once per service (test ids end in [parley] or
[prosody]). Markers (named so that `-k parley`/`-k prosody` never match them):
    @pytest.mark.muc_only("parley", reason=...)    run against those services only
    @pytest.mark.muc_xfail("prosody", reason=..., raises=...)
                                                   a known difference of that service:
                                                   strict xfail there (an unexpected pass fails)
Any test, by the XMPP server the session runs against:
    @pytest.mark.server_only("prosody", reason=...)   skipped under the other servers
    @pytest.mark.server_xfail("ejabberd", reason=..., raises=None, strict=True)
                                                   what that server itself does differently
                                                   (its error texts, its own answers, its
                                                   routing): an xfail under that server only
"""

from __future__ import annotations

import asyncio
import inspect
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import HarnessError, Stack, StackSettings  # noqa: E402
from harness.stack import DEFAULT_PORTS, SERVERS  # noqa: E402
from harness.procs import format_tail  # noqa: E402
from harness.muc import MucService  # noqa: E402
from harness.xmpp import Client, XMPPTimeout  # noqa: E402

TEST_TIMEOUT = float(os.environ.get("INTEROP_TEST_TIMEOUT", "60"))

# run-tests.sh starts pytest in the background, and a non-interactive shell starts
# background commands with SIGINT ignored; restore Ctrl-C so that an interrupted run
# still tears Prosody and Parley down.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


class _Session:
    loop: asyncio.AbstractEventLoop | None = None
    stack: Stack | None = None
    run_dir: Path | None = None
    temporary_run_dir = False
    failures = 0


def _run(coro, timeout: float = TEST_TIMEOUT):
    """Run a coroutine on the session loop, bounded by `timeout` seconds."""
    assert _Session.loop is not None, "the interop_loop fixture has not run"
    return _Session.loop.run_until_complete(asyncio.wait_for(coro, timeout))


# -- running async tests ----------------------------------------------------------------

@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    kwargs = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    try:
        _run(pyfuncitem.obj(**kwargs), TEST_TIMEOUT)
    except asyncio.TimeoutError:
        pytest.fail(f"test did not finish within {TEST_TIMEOUT:.0f} s (INTEROP_TEST_TIMEOUT)",
                    pytrace=False)
    return True


@pytest.fixture(scope="session", autouse=True)
def interop_loop():
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    _Session.loop = loop
    yield loop
    # Let closing transports finish, then close the loop.
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.wait(pending, timeout=5))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
    asyncio.set_event_loop(None)
    _Session.loop = None


# -- the stack ----------------------------------------------------------------------------

def _server() -> str:
    """The XMPP server of this session (INTEROP_SERVER, default prosody)."""
    name = os.environ.get("INTEROP_SERVER", "prosody").strip().lower() or "prosody"
    if name not in SERVERS:
        raise pytest.UsageError(f"INTEROP_SERVER: unknown server {name!r}; known: {', '.join(SERVERS)}")
    return name


def _settings() -> StackSettings:
    configured = os.environ.get("INTEROP_RUN_DIR")
    if configured:
        run_dir = Path(configured)
        run_dir.mkdir(parents=True, exist_ok=True)
    else:
        run_dir = Path(tempfile.mkdtemp(prefix="parley-interop-"))
        _Session.temporary_run_dir = True
    _Session.run_dir = run_dir.resolve()
    overrides = {}
    if _no_parley():
        overrides["parley_bin"] = None
    server = _server()
    c2s_port, component_port = DEFAULT_PORTS[server]
    component_port = int(os.environ.get("INTEROP_COMPONENT_PORT", str(component_port)))
    return StackSettings.for_tests(
        run_dir,
        server=server,
        c2s_port=int(os.environ.get("INTEROP_C2S_PORT", str(c2s_port))),
        component_port=component_port,
        ejabberd_log_level=os.environ.get("INTEROP_EJABBERD_LOG_LEVEL", "info"),
        # Parley's /health (ejabberd takes the component port + 1 for Erlang distribution).
        # max_connections: test_setup.py holds more than this many to see the rest refused.
        parley_extra_config=(f'[http]\nlisten = "127.0.0.1:{http_port(component_port)}"\nmax_connections = 32\n'
                             f'[service]\nadmins = ["{SERVICE_ADMIN}@localhost"]'),
        **overrides,
    )


# The test stack's service admin ([service] admins): an owner of every room.
SERVICE_ADMIN = "grace"


def http_port(component_port: int) -> int:
    """Where the test stack's Parley serves HTTP (`[http] listen`)."""
    return component_port + 2


def _no_parley() -> bool:
    return os.environ.get("INTEROP_NO_PARLEY") == "1"


def _require_parley(the_stack: Stack) -> None:
    if the_stack.parley is None:
        pytest.skip("no Parley in this run (INTEROP_NO_PARLEY=1)")


@pytest.fixture(scope="session")
def stack(interop_loop) -> Stack:
    """The server (Prosody or ejabberd) up with the test accounts (alice … heidi, password
    <user>-secret) and Parley attached and answering at rooms.localhost. Started once per
    session."""
    the_stack = Stack(_settings())
    try:
        the_stack.up()
    except HarnessError as error:
        _Session.failures += 1
        pytest.exit(f"interop stack did not come up (run dir {the_stack.run_dir}):\n{error}",
                    returncode=1)
    _Session.stack = the_stack
    yield the_stack
    the_stack.down()


@pytest.fixture(autouse=True)
def service_processes_alive(request):
    """Before each test: the server must be up, and a Parley that died in an earlier test is
    started again (so one crash does not hide the rest). After each test: a child that
    died during it makes the test error. Log tails are in the "interop logs" section."""
    if "stack" not in request.fixturenames:
        yield
        return
    the_stack: Stack = request.getfixturevalue("stack")
    if not the_stack.server.running():
        pytest.exit(f"{the_stack.server_name} is gone: " + "; ".join(the_stack.problems()),
                    returncode=1)
    if the_stack.parley is not None and not the_stack.parley.running():
        try:
            the_stack.start_parley()
        except HarnessError as error:
            pytest.exit(f"Parley died and did not come back:\n{error}", returncode=1)
    yield
    problems = the_stack.problems()
    if problems:
        pytest.fail("during this test: " + "; ".join(problems)
                    + " (log tails in the 'interop logs' section below)", pytrace=False)


@pytest.fixture
def service(stack) -> str:
    """Parley's service JID."""
    _require_parley(stack)
    return stack.settings.component_domain


# -- MUC services: Parley and the reference (the server's own MUC) ---------------------------------

# Per server: the MUC services the room tests may run against, and the default selection.
# Prosody's mod_muc is the reference the markers describe; ejabberd's mod_muc is there
# to be tried by hand (INTEROP_MUC=ejabberd), without markers of its own.
MUC_SERVICES = {"prosody": ("parley", "prosody"), "ejabberd": ("parley", "ejabberd")}
DEFAULT_MUC_SERVICES = {"prosody": ("parley", "prosody"), "ejabberd": ("parley",)}


def _selected_muc_services() -> list[str]:
    server = _server()
    known = MUC_SERVICES[server]
    raw = os.environ.get("INTEROP_MUC", ",".join(DEFAULT_MUC_SERVICES[server]))
    names = [name.strip().lower() for name in raw.split(",") if name.strip()]
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise pytest.UsageError(f"INTEROP_MUC: unknown MUC service(s) {', '.join(unknown)} "
                                f"under INTEROP_SERVER={server}; known: {', '.join(known)}")
    return [name for name in known if name in names]


def pytest_configure(config):
    _server()                  # a bad INTEROP_SERVER or INTEROP_MUC is a usage error,
    _selected_muc_services()   # reported once
    config.addinivalue_line("markers", "muc_only(*services, reason): run this room test only "
                            "against the named MUC services (parley, prosody)")
    config.addinivalue_line("markers", "muc_xfail(*services, reason, raises=None): a known "
                            "difference of the named MUC services; strict xfail there")
    config.addinivalue_line("markers", "server_only(*servers, reason): run this test only "
                            "when Parley is attached to one of the named XMPP servers "
                            "(prosody, ejabberd); skipped under the others")
    config.addinivalue_line("markers", "server_xfail(*servers, reason, raises=None, "
                            "strict=True): what the named XMPP servers themselves do "
                            "differently; an xfail when the session runs against them")


def pytest_collection_modifyitems(config, items):
    """server_only / server_xfail: by the XMPP server of this session; and the twin test
    (test_setup.py) last, whatever files sort after it: its twin leaves /health at 503."""
    items.sort(key=lambda item: item.name.startswith("test_a_twin_attached_under_the_same_domain"))
    server = _server()
    for item in items:
        only = item.get_closest_marker("server_only")
        if only is not None and server not in only.args:
            reason = only.kwargs.get("reason", "")
            item.add_marker(pytest.mark.skip(
                reason=f"only against {', '.join(only.args)}, not {server}"
                       + (f": {reason}" if reason else "")))
        for mark in item.iter_markers("server_xfail"):
            if server in mark.args:
                item.add_marker(pytest.mark.xfail(
                    reason=f"{server}: {mark.kwargs.get('reason', '')}",
                    strict=mark.kwargs.get("strict", True), raises=mark.kwargs.get("raises")))


def pytest_generate_tests(metafunc):
    if "muc" not in metafunc.fixturenames:
        return
    names = _selected_muc_services()
    only = metafunc.definition.get_closest_marker("muc_only")
    if only is not None:
        names = [name for name in names if name in only.args]
    params = []
    for name in names:
        marks = []
        for mark in metafunc.definition.iter_markers("muc_xfail"):
            if name in mark.args:
                marks.append(pytest.mark.xfail(reason=mark.kwargs.get("reason", ""), strict=True,
                                               raises=mark.kwargs.get("raises")))
        params.append(pytest.param(name, id=name, marks=marks))
    metafunc.parametrize("muc", params, indirect=True)


@pytest.fixture
def muc(request, stack) -> MucService:
    """The MUC service under test: Parley at rooms.localhost, or the server's own MUC at
    conference.localhost (Prosody's is the reference the room tests are checked against)."""
    if request.param == "parley":
        _require_parley(stack)
        return MucService("parley", stack.settings.component_domain)
    return MucService(request.param, f"conference.{stack.settings.vhost}")


def _restart_parley(the_stack: Stack) -> None:
    if the_stack.parley is None:
        raise HarnessError("this stack has no Parley to restart")
    the_stack.parley.stop()
    the_stack.start_parley()


@pytest.fixture
def restart_parley(stack):
    """`await restart_parley()`: stop Parley (SIGTERM) and start it again on the same
    database, returning once it answers through the server again. The server and the
    clients' connections stay up; Parley's rooms lose their occupants."""
    _require_parley(stack)

    async def restart() -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, _restart_parley, stack)
    return restart


# -- clients -------------------------------------------------------------------------------

class ClientFactory:
    """`await connect("bob")` inside a test; every client is disconnected after the test."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.clients: list[Client] = []

    async def __call__(self, user: str, resource: str | None = None, **options) -> Client:
        settings = self.stack.settings
        if user not in settings.accounts:
            raise KeyError(f"no test account {user!r}; known: {', '.join(settings.accounts)}")
        jid = f"{user}@{settings.vhost}" + (f"/{resource}" if resource else "")
        client = await Client.login(jid, settings.accounts[user], settings.c2s_port, **options)
        self.clients.append(client)
        return client

    def close_all(self) -> None:
        for client in self.clients:
            try:
                _run(client.disconnect(), timeout=5)
            except Exception:
                client.abort()
        self.clients.clear()


@pytest.fixture
def connect(stack):
    factory = ClientFactory(stack)
    yield factory
    factory.close_all()


def _named_client(user: str):
    @pytest.fixture(name=user)
    def fixture(connect) -> Client:
        return _run(connect(user), timeout=20)
    fixture.__doc__ = f"A connected client for {user}@localhost."
    return fixture


alice = _named_client("alice")
bob = _named_client("bob")
carol = _named_client("carol")
dave = _named_client("dave")
erin = _named_client("erin")


# -- reporting ---------------------------------------------------------------------------------

def pytest_runtest_logreport(report):
    if report.failed:
        _Session.failures += 1


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _Session.run_dir is None:
        return
    if _Session.failures or exitstatus not in (0, 5):
        terminalreporter.section("interop logs")
        for name in ("parley.log", "prosody.log", "prosody.err", "prosody.stdout.log",
                     "ejabberd.stdout.log", "ejabberd-logs/crash.log", "ejabberd-logs/error.log",
                     "ejabberd-logs/ejabberd.log"):
            path = _Session.run_dir / name
            if path.exists():
                terminalreporter.write_line(format_tail(path, 60))
        terminalreporter.write_line(f"run directory kept: {_Session.run_dir}")


def pytest_unconfigure(config):
    keep = os.environ.get("INTEROP_KEEP_RUN_DIR") == "1"
    if (_Session.temporary_run_dir and _Session.run_dir is not None and not keep
            and _Session.failures == 0):
        shutil.rmtree(_Session.run_dir, ignore_errors=True)


__all__ = ["XMPPTimeout"]
