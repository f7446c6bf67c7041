"""Interop harness for Parley: a private Prosody (or ejabberd) on loopback with Parley
attached as its external component (XEP-0114), plus slixmpp clients for the tests.

Typical use::

    from harness import Stack, StackSettings

    settings = StackSettings.for_tests(run_dir)
    with Stack(settings) as stack:      # Prosody up, accounts written, Parley connected
        ...

`python3 -m harness --help` (run from Interop/) offers the same from the command line.
"""

from .ejabberd import EjabberdServer
from .errors import HarnessError
from .paths import INTEROP_DIR, REPO_ROOT, default_parley_bin
from .prosody import ProsodyServer, account_file, write_accounts
from .parley import ParleyService, write_parley_config
from .probe import ProbeClient, wait_for_component
from .stack import Stack, StackSettings

__all__ = [
    "HarnessError",
    "INTEROP_DIR",
    "REPO_ROOT",
    "default_parley_bin",
    "ProsodyServer",
    "EjabberdServer",
    "account_file",
    "write_accounts",
    "ParleyService",
    "write_parley_config",
    "ProbeClient",
    "wait_for_component",
    "Stack",
    "StackSettings",
]
