"""The demo (`Interop/demo.sh`, `python3 -m harness demo`) as a Dino or Conversations user
meets it: STARTTLS with the self-signed certificate the demo made, verified by the client,
a room on rooms.localhost, and a reload signal that does not stop the demo's Prosody.
Runs its own demo on other ports and in its own directory; Prosody only (the demo is)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import slixmpp

from harness.parley_features import parley_bin, wait_until
from harness.web import fetch

INTEROP = Path(__file__).resolve().parents[1]
C2S_PORT = int(os.environ.get("INTEROP_DEMO_C2S_PORT", "31222"))
COMPONENT_PORT = int(os.environ.get("INTEROP_DEMO_COMPONENT_PORT", "31347"))

pytestmark = pytest.mark.server_only("prosody", reason="the demo runs Prosody")


class TLSClient(slixmpp.ClientXMPP):
    """STARTTLS only, the demo's certificate as the only trusted CA."""

    def __init__(self, ca: Path):
        super().__init__("bob@localhost/demo-check", "parley")
        self.ca_certs = str(ca)
        self.enable_plaintext = False
        self.enable_direct_tls = False
        self.enable_starttls = True
        self.register_plugin("xep_0045")
        self.register_plugin("xep_0199")
        self.started = asyncio.get_running_loop().create_future()
        self.add_event_handler("session_start", lambda _: self.started.done() or self.started.set_result(True))
        self.add_event_handler("ssl_invalid_cert", lambda e: self.started.done() or self.started.set_exception(
            AssertionError(f"certificate refused: {e}")))


async def test_the_demo_offers_verified_starttls_and_survives_sighup(tmp_path):
    run_dir = tmp_path / "demo"
    log = open(tmp_path / "demo.out", "w")
    demo = subprocess.Popen(
        [sys.executable, "-m", "harness", "demo", "--run-dir", str(run_dir), "--c2s-port", str(C2S_PORT),
         "--component-port", str(COMPONENT_PORT), "--parley-bin", str(parley_bin())],
        cwd=INTEROP, stdout=log, stderr=subprocess.STDOUT)
    client = None
    try:
        async def ready() -> bool:
            return "Press Ctrl-C" in (tmp_path / "demo.out").read_text(errors="replace")
        await wait_until(ready, timeout=45, interval=0.3, what="the demo's banner")
        banner = (tmp_path / "demo.out").read_text(errors="replace")
        certificate = run_dir / "certs" / "localhost.crt"
        assert certificate.exists(), banner
        assert "SHA-256" in banner or "sha256" in banner.lower(), banner
        logs = f"http://127.0.0.1:{COMPONENT_PORT + 2}/logs/"
        assert logs in banner, banner
        index = await fetch(logs)
        assert index.status == 200 and "<h1>Rooms</h1>" in index.body, index.status

        client = TLSClient(certificate)
        client.connect(host="127.0.0.1", port=C2S_PORT)
        await asyncio.wait_for(client.started, 20)
        ssl_object = client.transport.get_extra_info("ssl_object")
        assert ssl_object is not None and ssl_object.version().startswith("TLS"), "not encrypted"
        client.send_presence()
        await asyncio.wait_for(client.plugin["xep_0045"].join_muc_wait("democheck@rooms.localhost", "Bob",
                                                                     maxstanzas=0), 15)

        # The usual "reload" signal reloads the demo's Prosody instead of ending it.
        prosody_pid = int((run_dir / "prosody.pid").read_text().strip())
        os.kill(prosody_pid, signal.SIGHUP)
        await asyncio.sleep(1.0)
        os.kill(prosody_pid, 0)  # still there
        pong = await client.plugin["xep_0199"].ping("rooms.localhost", timeout=10)
        assert pong is not None
        assert demo.poll() is None, "the demo stopped"
    finally:
        if client is not None:
            client.disconnect()
            await asyncio.sleep(0.3)
        demo.send_signal(signal.SIGTERM)
        try:
            demo.wait(20)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait()
        log.close()
