"""An encrypted component link: Parley opens direct TLS (OpenSSL) to ejabberd's
`ejabberd_service` listener with `tls: true`, checks the certificate against a CA file or
a pinned fingerprint, and refuses a certificate it was not told to trust."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from harness.parley import write_parley_config
from harness.parley_features import parley_bin, wait_until

pytestmark = pytest.mark.server_only("ejabberd", reason="Prosody 0.12 offers no direct TLS on component ports")


def _start(stack, directory: Path, tls: str) -> tuple[subprocess.Popen, Path]:
    server = stack.server
    directory.mkdir(parents=True, exist_ok=True)
    config = write_parley_config(
        directory / "parley.toml", server.tls_component_domain, server.tls_component_port,
        stack.settings.component_secret, directory / "parley.sqlite")
    text = config.read_text().replace("[storage]", tls + "\n\n[storage]")
    config.write_text(text)
    log_path = directory / "parley.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([str(parley_bin()), "run", "--config", str(config), "--log-level", "info"],
                                   stdout=log, stderr=subprocess.STDOUT)
    return process, log_path


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.mark.parametrize("how", ["ca_file", "fingerprint"])
async def test_parley_attaches_over_tls_and_serves_clients(stack, alice, tmp_path, how):
    certificate = stack.server.certificate
    tls = "tls = true\n" + (f'tls_ca_file = "{certificate.authority}"' if how == "ca_file"
                            else f'tls_fingerprint = "sha256:{certificate.sha256}"')
    process, log_path = _start(stack, tmp_path / how, tls)
    try:
        async def online() -> bool:
            return f"component {stack.server.tls_component_domain} is online" in log_path.read_text(errors="replace")
        await wait_until(online, timeout=20, interval=0.2, what="Parley attached over TLS")
        log = log_path.read_text(errors="replace")
        assert "TLS to the server established (TLSv1.3" in log or "TLS to the server established (TLSv1.2" in log, log
        # A client reaches the service through the encrypted link.
        reply = await alice.ping(stack.server.tls_component_domain)
        assert reply["type"] == "result", reply
        version = await alice.version(stack.server.tls_component_domain)
        assert version["software_version"]["name"] == "Parley", version
    finally:
        _stop(process)


@pytest.mark.parametrize("how", ["untrusted", "wrong_pin"])
async def test_a_certificate_parley_was_not_told_to_trust_is_refused(stack, tmp_path, how):
    if how == "untrusted":
        # The system's CAs do not know the test's self-signed certificate.
        tls, expected = "tls = true", "the server's certificate is not trusted"
    else:
        tls, expected = 'tls = true\ntls_fingerprint = "sha256:' + ":".join(["AB"] * 32) + '"', "is not the pinned one"
    process, log_path = _start(stack, tmp_path / how, tls)
    try:
        async def refused() -> bool:
            return expected in log_path.read_text(errors="replace")
        await wait_until(refused, timeout=20, interval=0.2, what="the certificate refused")
        await asyncio.sleep(0.5)
        assert "is online" not in log_path.read_text(errors="replace")
    finally:
        _stop(process)
