"""The demo's self-signed certificate, made with the `openssl` command line tool (Debian
package `openssl`, which the prosody package pulls in through ssl-cert): created on the
first run, reused while it is valid."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .errors import HarnessError

# Apple platforms reject server certificates valid for longer than 825 days.
VALID_DAYS = 825


@dataclass
class Certificate:
    certificate: Path
    key: Path
    created: bool          # made by this run (False: an earlier run's, reused)
    sha256: str            # "AB:CD:..." as `openssl x509 -fingerprint -sha256` prints it


def _openssl(*args: str) -> subprocess.CompletedProcess:
    if shutil.which("openssl") is None:
        raise HarnessError("'openssl' not found; install the Debian package openssl")
    return subprocess.run(["openssl", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=60)


def _still_valid(cert: Path, key: Path) -> bool:
    """Both files there and the certificate valid for at least another day."""
    if not (cert.is_file() and key.is_file()):
        return False
    return _openssl("x509", "-in", str(cert), "-noout", "-checkend", "86400").returncode == 0


def sha256_fingerprint(cert: Path) -> str:
    done = _openssl("x509", "-in", str(cert), "-noout", "-fingerprint", "-sha256")
    if done.returncode != 0 or "=" not in done.stdout:
        raise HarnessError(f"openssl cannot read {cert}: {done.stderr.strip()}")
    return done.stdout.strip().split("=", 1)[1]


def ensure_self_signed(directory: Path, name: str, dns_names: Sequence[str],
                       ip_addresses: Sequence[str] = ()) -> Certificate:
    """`<directory>/<name>.crt` and `.key` (mode 0600): a self-signed end-entity certificate
    (CN=name, subjectAltName = the DNS names and IP addresses). Made if missing or about to
    expire, otherwise left as it is, so that clients that accepted it keep trusting it."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    created = False
    if not _still_valid(cert, key):
        directory.mkdir(parents=True, exist_ok=True)
        new_cert, new_key = cert.with_suffix(".crt.new"), key.with_suffix(".key.new")
        alt_names = ",".join([f"DNS:{d}" for d in dns_names] + [f"IP:{i}" for i in ip_addresses])
        # -config /dev/null: only the extensions given here, not the CA defaults of openssl.cnf.
        done = _openssl(
            "req", "-x509", "-config", os.devnull, "-newkey", "rsa:2048", "-nodes",
            "-keyout", str(new_key), "-out", str(new_cert), "-days", str(VALID_DAYS),
            "-subj", f"/CN={name}",
            "-addext", f"subjectAltName={alt_names}",
            "-addext", "basicConstraints=critical,CA:FALSE",
            "-addext", "keyUsage=critical,digitalSignature,keyEncipherment",
            "-addext", "extendedKeyUsage=serverAuth")
        if done.returncode != 0:
            raise HarnessError(f"openssl could not make a certificate in {directory}:\n"
                               f"{done.stderr.strip()}")
        # Readable by its owner only: the demo's Prosody runs as the same user (root with
        # run_as_root, or whoever started the demo), so it can read it.
        new_key.chmod(0o600)
        new_cert.chmod(0o644)
        new_key.replace(key)
        new_cert.replace(cert)
        created = True
    return Certificate(certificate=cert, key=key, created=created, sha256=sha256_fingerprint(cert))


@dataclass
class SignedCertificate:
    authority: Path        # the CA's certificate (what a client trusts)
    certificate: Path      # the server's, signed by that CA
    key: Path
    sha256: str            # of the server's certificate, "AB:CD:..."


def make_ca_signed(directory: Path, name: str, dns_names: Sequence[str]) -> SignedCertificate:
    """A throwaway CA and a server certificate it signed (CN=name, subjectAltName = the DNS
    names), for servers that refuse self-signed certificates (ejabberd's pkix does)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_cert, ca_key = directory / "test-ca.crt", directory / "test-ca.key"
    cert, key, request = directory / f"{name}.crt", directory / f"{name}.key", directory / f"{name}.csr"
    extensions = directory / f"{name}.ext"
    steps = [
        ("req", "-x509", "-config", os.devnull, "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key),
         "-out", str(ca_cert), "-days", str(VALID_DAYS), "-subj", "/CN=Parley interop test CA",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"),
        ("req", "-new", "-config", os.devnull, "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(request), "-subj", f"/CN={name}"),
    ]
    for step in steps:
        done = _openssl(*step)
        if done.returncode != 0:
            raise HarnessError(f"openssl could not make the test CA in {directory}:\n{done.stderr.strip()}")
    extensions.write_text(
        "subjectAltName=" + ",".join(f"DNS:{d}" for d in dns_names) + "\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n")
    done = _openssl("x509", "-req", "-in", str(request), "-CA", str(ca_cert), "-CAkey", str(ca_key),
                    "-CAcreateserial", "-out", str(cert), "-days", str(VALID_DAYS), "-extfile", str(extensions))
    if done.returncode != 0:
        raise HarnessError(f"openssl could not sign the test certificate:\n{done.stderr.strip()}")
    key.chmod(0o600)
    return SignedCertificate(authority=ca_cert, certificate=cert, key=key, sha256=sha256_fingerprint(cert))
