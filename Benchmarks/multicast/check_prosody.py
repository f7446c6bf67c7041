#!/usr/bin/python3
"""Check Config/prosody/mod_parley_multicast.lua against a private Prosody 0.12.

Starts Prosody on loopback (c2s 31222, component 31347) with the module loaded globally,
a trusted component rooms.localhost and parley_multicast_max_addresses = 100, then:
disco#info, a bcc message multicast with one unknown recipient (bounce), to/cc/bcc and
delivered='true' handling, duplicates, presence multicast, a c2s sender (forbidden), an IQ
(not multicast), a uri-only address, 101 addresses (over the limit), and a benchmark:
1000 multicast messages to 50 online users vs 50,000 unicast stanzas from the component.

Usage: /usr/bin/python3 Benchmarks/multicast/check_prosody.py [--no-bench] [--keep]
Exit status 0 when every check passed. The run directory (config, logs) is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

from common import Report, Target, benchmark, port_free, run_checks, wait_port

REPO = Path(__file__).resolve().parents[2]
PLUGIN_DIR = REPO / "Config" / "prosody"
C2S_PORT, COMPONENT_PORT = 31222, 31347
VHOST, COMPONENT, SECRET = "localhost", "rooms.localhost", "mcheck-secret"
MAX_ADDRESSES = 100

CONFIG = """
run_as_root = true          -- this check may run as root; prosody -F runs in the foreground
daemonize = false
pidfile = "{run}/prosody.pid"
data_path = "{run}/data"
certificates = "{run}/certs"
plugin_paths = {{ "{plugins}" }}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {c2s} }}
component_ports = {{ {comp} }}
component_interfaces = {{ "127.0.0.1" }}
s2s_ports = {{ }}
c2s_direct_tls_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
-- Loaded globally: every VirtualHost gets it (Components do not inherit global modules).
modules_enabled = {{ "roster"; "saslauth"; "disco"; "parley_multicast" }}
modules_disabled = {{ "posix"; "s2s" }}   -- mod_posix refuses to run as root
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
storage = "internal"
log = {{ {{ levels = {{ min = "{level}" }}; to = "file"; filename = "{run}/prosody.log" }} }}

parley_multicast_components = {{ "{component}" }}
parley_multicast_max_addresses = {max_addresses}

VirtualHost "{vhost}"

Component "{component}"
	component_secret = "{secret}"

-- Connected like Parley, but not listed in parley_multicast_components.
Component "other.{vhost}"
	component_secret = "{secret}"
"""


def write_account(data: Path, host: str, user: str, password: str) -> None:
    """internal_plain storage, as prosodyctl register writes it ('.' is '%2e' in names)."""
    enc = lambda s: "".join(c if c.isalnum() else "%%%02x" % ord(c) for c in s)
    path = data / enc(host) / "accounts" / f"{enc(user)}.dat"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'return {{\n\t["password"] = "{password}";\n}};\n')


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-bench", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the run directory")
    ap.add_argument("--log-level", default="info")
    args = ap.parse_args()

    for port in (C2S_PORT, COMPONENT_PORT):
        if not port_free(port):
            print(f"port {port} is in use", file=sys.stderr)
            return 2
    run = Path(tempfile.mkdtemp(prefix="mcheck-prosody-"))
    (run / "certs").mkdir()
    cfg = run / "prosody.cfg.lua"
    cfg.write_text(CONFIG.format(run=run, plugins=PLUGIN_DIR, c2s=C2S_PORT, comp=COMPONENT_PORT,
                                 level=args.log_level, component=COMPONENT, vhost=VHOST,
                                 secret=SECRET, max_addresses=MAX_ADDRESSES))
    users = {n: f"pw-{n}" for n in ("alice", "bob", "carol")}
    bench_users = {f"bench{i:02d}": f"pw-b{i}" for i in range(50)}
    for u, p in {**users, **bench_users}.items():
        write_account(run / "data", VHOST, u, p)
    print(f"run directory: {run}", flush=True)

    log = open(run / "prosody.stdout.log", "ab")
    proc = subprocess.Popen(["prosody", "-F", "--config", str(cfg)], cwd=run,
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    print(f"prosody pid {proc.pid}", flush=True)
    report = Report()
    try:
        wait_port(C2S_PORT, proc, 20, "prosody")
        wait_port(COMPONENT_PORT, proc, 20, "prosody")
        target = Target(server=VHOST, service=VHOST, component=COMPONENT, c2s_port=C2S_PORT,
                        component_port=COMPONENT_PORT, secret=SECRET,
                        server_pid=lambda: proc.pid, expect_dedup=True,
                        untrusted_component=f"other.{VHOST}")

        async def go():
            await run_checks(target, users, report, over_limit=MAX_ADDRESSES)
            if not args.no_bench:
                await benchmark(target, bench_users)

        asyncio.run(go())
    except Exception as error:
        traceback.print_exc()
        report.bad(f"aborted: {error!r}")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()
        errors = [l for l in (run / "prosody.log").read_text(errors="replace").splitlines()
                  if "\terror\t" in l or "Traceback" in l]
        if errors:
            print("prosody logged errors:\n  " + "\n  ".join(errors[:20]))
        if not args.keep and not report.failed:
            shutil.rmtree(run, ignore_errors=True)
    print(f"\n{len(report.passed)} passed, {len(report.failed)} failed"
          + (f": {report.failed}" if report.failed else ""))
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
