#!/usr/bin/python3
"""Check ejabberd 23.01's mod_multicast (XEP-0033) as the multicast service of a component.

Starts a private ejabberd (Debian package) on loopback: c2s 32222, component 32347
(rooms.localhost trusted, other.localhost connected but not in the ACL), Erlang
distribution 32348 without epmd, node mcheck@localhost, as the ejabberd user. Then the same
checks as check_prosody.py, sent to the service JID multicast.localhost, and the benchmark.

  --limits remote   (default) limits: {remote: {message: infinite, presence: infinite}}
  --limits none     no limits option (XEP defaults: local 100, remote 20): shows the
                    over-limit error with 21 addresses

Usage: /usr/bin/python3 Benchmarks/multicast/check_ejabberd.py [--limits remote|none]
       [--no-bench] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import Report, Target, benchmark, port_free, run_checks, wait_port

C2S_PORT, COMPONENT_PORT, DIST_PORT = 32222, 32347, 32348
NODE = "mcheck@localhost"
VHOST, COMPONENT, SECRET = "localhost", "rooms.localhost", "mcheck-secret"
SERVICE = f"multicast.{VHOST}"

LIMITS = {
    "remote": """    ## A component's domain is not in `hosts`, so mod_multicast counts it as a
    ## *remote* sender (default limit 20 addresses); `local` is for the vhost's users.
    limits:
      remote:
        message: infinite
        presence: infinite
""",
    "none": "",
}

CONFIG = """
loglevel: {level}
hosts:
  - "{vhost}"
s2s_access: none
auth_method: [internal]
auth_password_format: plain
default_db: mnesia

listen:
  -
    port: {c2s}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls: false
    max_stanza_size: 1048576
    shaper: none
    access: c2s
  -
    port: {comp}
    ip: "127.0.0.1"
    module: ejabberd_service
    hosts:
      "{component}":
        password: "{secret}"
      "other.{vhost}":
        password: "{secret}"
    max_fsm_queue: 50000
    shaper: none
    ## Default true: a component that logs in for one of these hosts is routed ALL of
    ## them, so replies for other.localhost could land on rooms.localhost's stream.
    global_routes: false

acl:
  ## The component(s) allowed to use the multicast service: by domain. Stanzas from a
  ## component carry from='room@rooms.localhost/nick', whose server part matches.
  parley_components:
    server: "{component}"

access_rules:
  c2s:
    allow: all
  ## Everybody else (local users, other components, remote servers) is denied.
  multicast_components:
    allow: parley_components

api_permissions:
  "console commands":
    from:
      - ejabberd_ctl
    who: all
    what: "*"

shaper_rules:
  max_user_sessions: 10

modules:
  mod_disco: {{}}
  mod_roster: {{}}
  mod_multicast:
    ## Service JID: multicast.@HOST@ is the default (option `hosts`).
    access: multicast_components
{limits}"""

CTL_CONFIG = """
EJABBERD_CONFIG_PATH="{config}"
EJABBERD_PID_PATH="{pid}"
ERLANG_NODE="{node}"
ERL_DIST_PORT={dist}
ERL_OPTIONS="-setcookie {cookie} -kernel inet_dist_use_interface {{127,0,0,1}} -env ERL_CRASH_DUMP_BYTES 0"
CONTRIB_MODULES_PATH="{spool}/contrib-modules"
EJABBERD_BYPASS_WARNINGS=true
"""


class Ejabberd:
    def __init__(self, run: Path, limits: str, level: str):
        self.run = run
        self.config = run / "ejabberd.yml"
        self.ctl_config = run / "ejabberdctl.cfg"
        self.spool = run / "spool"
        self.logs = run / "logs"
        self.pid_file = self.spool / "ejabberd.pid"
        self.proc: subprocess.Popen | None = None
        self.beam: int | None = None
        pw = pwd.getpwnam("ejabberd")
        run.chmod(0o711)
        for d in (self.spool, self.logs):
            d.mkdir(mode=0o750)
            os.chown(d, pw.pw_uid, pw.pw_gid)
        self.config.write_text(CONFIG.format(level=level, vhost=VHOST, c2s=C2S_PORT,
                                             comp=COMPONENT_PORT, component=COMPONENT,
                                             secret=SECRET, limits=LIMITS[limits]))
        self.ctl_config.write_text(CTL_CONFIG.format(config=self.config, pid=self.pid_file,
                                                     node=NODE, dist=DIST_PORT, spool=self.spool,
                                                     cookie=secrets.token_hex(16)))
        for f in (self.config, self.ctl_config):
            f.chmod(0o600)
            os.chown(f, pw.pw_uid, pw.pw_gid)

    def argv(self, *command: str) -> list[str]:
        return ["runuser", "-u", "ejabberd", "--", "ejabberdctl",
                "--ctl-config", str(self.ctl_config), "--config", str(self.config),
                "--logs", str(self.logs), "--spool", str(self.spool), "--node", NODE, *command]

    def start(self) -> None:
        self.log = open(self.run / "ejabberd.stdout.log", "ab")
        self.proc = subprocess.Popen(self.argv("foreground-quiet"), cwd=self.spool,
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        wait_port(C2S_PORT, self.proc, 60, "ejabberd")
        wait_port(COMPONENT_PORT, self.proc, 60, "ejabberd")
        deadline = time.monotonic() + 10
        while self.beam is None:
            try:
                self.beam = int(self.pid_file.read_text().strip())
            except (FileNotFoundError, ValueError):
                if time.monotonic() > deadline:
                    raise RuntimeError("ejabberd wrote no pid file")
                time.sleep(0.1)
        print(f"ejabberd runuser pid {self.proc.pid}, beam.smp pid {self.beam}", flush=True)

    def ctl(self, *command: str) -> tuple[int, str]:
        done = subprocess.run(self.argv(*command), cwd=self.spool, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        return done.returncode, done.stdout.decode(errors="replace").strip()

    def register(self, accounts: dict[str, str]) -> None:
        def one(item):
            for _ in range(3):
                status, out = self.ctl("register", item[0], VHOST, item[1])
                if status == 0 or "already registered" in out:
                    return None
                time.sleep(0.3)
            return f"{item[0]}: {out}"
        with ThreadPoolExecutor(max_workers=4) as pool:
            problems = [p for p in pool.map(one, accounts.items()) if p]
        if problems:
            raise RuntimeError("ejabberdctl register failed: " + "; ".join(problems))

    def stop(self) -> None:
        if self.beam is not None:
            try:
                os.kill(self.beam, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if self.proc is not None:
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                if self.beam is not None:
                    try:
                        os.kill(self.beam, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                self.proc.kill()
                self.proc.wait(5)
            self.log.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limits", choices=sorted(LIMITS), default="remote")
    ap.add_argument("--no-bench", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the run directory")
    ap.add_argument("--log-level", default="info")
    args = ap.parse_args()
    for port in (C2S_PORT, COMPONENT_PORT, DIST_PORT):
        if not port_free(port):
            print(f"port {port} is in use", file=sys.stderr)
            return 2
    run = Path(tempfile.mkdtemp(prefix="mcheck-ejabberd-"))
    print(f"run directory: {run}", flush=True)
    server = Ejabberd(run, args.limits, args.log_level)
    users = {n: f"pw-{n}" for n in ("alice", "bob", "carol")}
    bench_users = {} if args.no_bench else {f"bench{i:02d}": f"pw-b{i}" for i in range(50)}
    report = Report()
    try:
        t0 = time.monotonic()
        server.start()
        server.register({**users, **bench_users})
        print(f"started and registered {len(users) + len(bench_users)} users in "
              f"{time.monotonic() - t0:.1f} s", flush=True)
        target = Target(server=VHOST, service=SERVICE, component=COMPONENT, c2s_port=C2S_PORT,
                        component_port=COMPONENT_PORT, secret=SECRET,
                        server_pid=lambda: server.beam, expect_dedup=None,
                        untrusted_component=f"other.{VHOST}")

        async def go():
            await run_checks(target, users, report,
                             over_limit=20 if args.limits == "none" else None)
            if args.limits != "none":
                # No limit: 2000 addresses go through (bounces: one per unknown JID).
                await no_limit_check(target, report, 2000)
            if bench_users:
                await benchmark(target, bench_users)

        asyncio.run(go())
    except Exception as error:
        traceback.print_exc()
        report.bad(f"aborted: {error!r}")
    finally:
        server.stop()
        err = server.logs / "error.log"
        if err.exists() and err.stat().st_size:
            print("ejabberd error.log:\n" + err.read_text(errors="replace")[-3000:])
        if not args.keep and not report.failed:
            shutil.rmtree(run, ignore_errors=True)
    print(f"\n{len(report.passed)} passed, {len(report.failed)} failed"
          + (f": {report.failed}" if report.failed else ""))
    return 1 if report.failed else 0


async def no_limit_check(t: Target, report: Report, n: int) -> None:
    """n addresses of unknown users: with no limit, n service-unavailable bounces come back."""
    from common import addresses_xml, component_login, error_of, local, msg
    comp = await component_login(t.component_port, t.component, t.secret)
    try:
        block = addresses_xml([("bcc", f"ghost{i}@{t.server}/x") for i in range(n)])
        comp.send(msg(f"room@{t.component}/bot", t.service, "many", block, stanza_id="big"))
        deadline = time.monotonic() + 30
        bounces = 0
        conds = set()
        while bounces < n and time.monotonic() < deadline:
            try:
                e = await comp.mailbox.expect(lambda e: local(e.tag) == "message", "bounce", 2)
            except AssertionError:
                break
            if e.get("type") == "error":
                bounces += 1
                conds.add(error_of(e)[:2] + (e.get("from", "").startswith("ghost"),))
        report.check(bounces == n, f"{n} addresses accepted (no limit): {bounces} bounces, "
                                   f"(type, condition, from=recipient): {sorted(conds)}")
    finally:
        await comp.close()


if __name__ == "__main__":
    sys.exit(main())
