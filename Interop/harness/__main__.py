"""Command line: `python3 -m harness COMMAND` from Interop/.

    up       Prosody (+ Parley unless --no-parley) in a run dir, until Ctrl-C / SIGTERM;
             --server ejabberd: ejabberd instead (ports 26222/26347 unless given; as root)
    demo     the same with the demo's settings: ports 15222/15347, <repo>/var/demo,
             alice/bob/carol with password "parley", STARTTLS with a self-signed
             certificate (made once, in <run dir>/certs), SIGHUP reloads Prosody
    config   only write the configs and account files into a run dir
    probe    ask a running Prosody whether the component answers
"""

from __future__ import annotations

import argparse
import secrets
import signal
import sys
import tempfile
import threading
from pathlib import Path

from .errors import HarnessError
from .paths import REPO_ROOT, default_parley_bin
from .probe import wait_for_component
from .stack import DEFAULT_PORTS, SERVERS, TEST_ACCOUNTS, Stack, StackSettings, account_password
from .tls import Certificate, ensure_self_signed

DEMO_DIR = REPO_ROOT / "var" / "demo"
DEMO_ACCOUNTS = ("alice", "bob", "carol")
DEMO_PASSWORD = "parley"


def _add_stack_options(parser: argparse.ArgumentParser, c2s: int, component: int, users, log_level: str):
    parser.add_argument("--run-dir", type=Path, help="directory for configs, data and logs "
                        "(default: a new temporary directory)")
    parser.add_argument("--c2s-port", type=int, default=c2s)
    parser.add_argument("--component-port", type=int, default=component)
    parser.add_argument("--accounts", default=",".join(users),
                        help="comma-separated user names to create on localhost")
    parser.add_argument("--password", help="password for every account "
                        "(default: <user>-secret, as in the tests)")
    parser.add_argument("--secret", help="component secret shared by Prosody and Parley")
    parser.add_argument("--parley-bin", type=Path, default=None,
                        help="Parley binary (default: $PARLEY_BIN or <repo>/.build/debug/parley)")
    parser.add_argument("--no-parley", action="store_true", help="start Prosody only")
    parser.add_argument("--parley-log-level", default=log_level)
    parser.add_argument("--prosody-log-level", default=log_level)
    parser.add_argument("--ready-timeout", type=float, default=30.0,
                        help="seconds to wait for Parley to answer through Prosody")


def _add_server_option(parser: argparse.ArgumentParser) -> None:
    """--server for `up` and `config`; their ports then default to that server's."""
    parser.add_argument("--server", choices=SERVERS, default="prosody",
                        help="the XMPP server Parley is attached to (default: prosody; "
                             "ejabberd runs as the ejabberd user, so run this as root)")
    parser.set_defaults(c2s_port=None, component_port=None)


def _settings(args, run_dir: Path, overwrite_accounts: bool) -> StackSettings:
    users = [u.strip() for u in args.accounts.split(",") if u.strip()]
    server = getattr(args, "server", "prosody")
    c2s_port, component_port = DEFAULT_PORTS[server]
    settings = StackSettings(
        run_dir=run_dir.resolve(),
        server=server,
        c2s_port=args.c2s_port if args.c2s_port is not None else c2s_port,
        component_port=args.component_port if args.component_port is not None else component_port,
        accounts={u: args.password if args.password is not None else account_password(u) for u in users},
        overwrite_accounts=overwrite_accounts,
        parley_bin=None if args.no_parley else (args.parley_bin or default_parley_bin()).resolve(),
        parley_log_level=args.parley_log_level,
        prosody_log_level=args.prosody_log_level,
        parley_ready_timeout=args.ready_timeout,
    )
    if args.secret:
        settings.component_secret = args.secret
    return settings


def _persistent_secret(run_dir: Path) -> str:
    """A component secret made once per demo directory and kept there."""
    path = run_dir / "component-secret"
    if path.exists():
        return path.read_text().strip()
    run_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(16)
    path.write_text(secret + "\n")
    path.chmod(0o600)
    return secret


def _run_foreground(stack: Stack, banner) -> int:
    stop = threading.Event()

    def on_signal(signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        # Startup itself is bounded; a signal during it stops everything once it returns.
        stack.up()
        if stop.is_set():
            return 0
        banner(stack)
        sys.stdout.flush()
        stack.wait(should_stop=stop.is_set)
        print(f"\nStopping Parley and {stack.server_name} ...", flush=True)
        return 0
    except HarnessError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        stack.down()


def _print_up_banner(stack: Stack) -> None:
    s = stack.settings
    print(f"{stack.server_name} listening on 127.0.0.1:{s.c2s_port} (c2s), "
          f"127.0.0.1:{s.component_port} (component)")
    if stack.parley is not None:
        print(f"Parley attached as {s.component_domain} ({stack.ready_answer})")
    print(f"Accounts: {', '.join(f'{u}@{s.vhost} / {p}' for u, p in s.accounts.items())}")
    print(f"Run directory: {stack.run_dir}")
    print("Press Ctrl-C to stop.")


def _print_demo_banner(stack: Stack, cert: Certificate) -> None:
    s = stack.settings
    users = sorted(s.accounts)
    print()
    print("=" * 72)
    print(" Parley is running, attached to a private Prosody.")
    print()
    print(f" Log in as {users[0]}@{s.vhost}, password {s.accounts[users[0]]}, "
          f"server 127.0.0.1 port {s.c2s_port}")
    print(f"   (also: {', '.join(f'{u}@{s.vhost}' for u in users[1:])}, same password)")
    print(f" Join rooms at {s.component_domain}, e.g. lobby@{s.component_domain}")
    print()
    print(" TLS: STARTTLS is offered (plaintext still accepted), with a self-signed")
    print(f"   certificate for {s.vhost}, "
          + ("made now" if cert.created else "made on an earlier run and kept") + ":")
    print(f"   {cert.certificate}")
    print(f"   SHA-256 {cert.sha256}")
    print("   Gajim, Conversations: accept it when the client asks, after comparing the")
    print("     fingerprint. (Conversations on a phone: `adb reverse tcp:15222 tcp:15222`.)")
    print("   Dino, go-sendxmpp and others that only trust the system store: add it there,")
    print(f"     cp {cert.certificate} /usr/local/share/ca-certificates/parley-demo.crt"
          " && update-ca-certificates")
    print(f"     (go-sendxmpp also takes SSL_CERT_FILE={cert.certificate}).")
    print("   It is kept until it expires or is deleted, so a client trusts it once.")
    print()
    if stack.parley is not None:
        print(f" Web logs: http://127.0.0.1:{s.component_port + 2}/logs/ -- in a room's configuration,")
        print("   turn on \"Publish the archive on the web\" (public rooms without a password).")
        print()
    print(f" Data and logs: {stack.run_dir}")
    print(f"   Parley log:  {stack.parley.log_path if stack.parley else '-'}")
    print(f"   Prosody log: {stack.prosody.log_path}")
    print(" Press Ctrl-C to stop.")
    print("=" * 72, flush=True)


def cmd_up(args) -> int:
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="parley-interop-"))
    stack = Stack(_settings(args, run_dir, overwrite_accounts=True))
    return _run_foreground(stack, _print_up_banner)


def cmd_demo(args) -> int:
    run_dir = (args.run_dir or DEMO_DIR).resolve()
    if args.password is None:
        args.password = DEMO_PASSWORD
    settings = _settings(args, run_dir, overwrite_accounts=False)
    if not args.secret:
        settings.component_secret = _persistent_secret(run_dir)
    # /health, /metrics and the web logs, next to the component port.
    settings.parley_extra_config = f'[http]\nlisten = "127.0.0.1:{settings.component_port + 2}"\n'
    stack = Stack(settings)
    # Demo only: STARTTLS with a self-signed certificate made on the first run, in the
    # directory Prosody indexes for certificates, and mod_posix, so that SIGHUP reloads
    # Prosody's config instead of killing it.
    cert = ensure_self_signed(run_dir / "certs", settings.vhost,
                              [settings.vhost, settings.component_domain], ["127.0.0.1"])
    stack.prosody.tls_certificate, stack.prosody.tls_key = cert.certificate, cert.key
    stack.prosody.posix_signals = True
    return _run_foreground(stack, lambda running: _print_demo_banner(running, cert))


def cmd_config(args) -> int:
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="parley-interop-"))
    stack = Stack(_settings(args, run_dir, overwrite_accounts=True))
    stack.write_files()
    print(stack.prosody.config_path)
    if stack.parley is not None:
        print(stack.parley.config_path)
    return 0


def cmd_probe(args) -> int:
    try:
        answer = wait_for_component(args.c2s_port, "localhost", args.user,
                                    args.password or account_password(args.user),
                                    args.component, timeout=args.timeout)
    except HarnessError as error:
        print(f"not ready: {error}", file=sys.stderr)
        return 1
    print(f"ready: {answer}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m harness", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run Prosody and Parley until Ctrl-C")
    _add_stack_options(up, 25222, 25347, TEST_ACCOUNTS, "debug")
    _add_server_option(up)
    up.set_defaults(func=cmd_up)

    demo = commands.add_parser("demo", help="run the demo (ports 15222/15347, var/demo)")
    _add_stack_options(demo, 15222, 15347, DEMO_ACCOUNTS, "info")
    demo.set_defaults(func=cmd_demo)

    config = commands.add_parser("config", help="only write configs and accounts")
    _add_stack_options(config, 25222, 25347, TEST_ACCOUNTS, "debug")
    _add_server_option(config)
    config.set_defaults(func=cmd_config)

    probe = commands.add_parser("probe", help="does the component answer through Prosody?")
    probe.add_argument("--c2s-port", type=int, default=25222)
    probe.add_argument("--user", default="alice")
    probe.add_argument("--password")
    probe.add_argument("--component", default="rooms.localhost")
    probe.add_argument("--timeout", type=float, default=5.0)
    probe.set_defaults(func=cmd_probe)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except HarnessError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
