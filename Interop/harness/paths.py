"""Where things are: the repository, the Interop directory, the Parley binary."""

from __future__ import annotations

import os
from pathlib import Path

INTEROP_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = INTEROP_DIR.parent
PROSODY_TEMPLATE = INTEROP_DIR / "prosody" / "prosody.cfg.lua.in"
EJABBERD_TEMPLATE = INTEROP_DIR / "ejabberd" / "ejabberd.yml.in"
EJABBERD_CTL_TEMPLATE = INTEROP_DIR / "ejabberd" / "ejabberdctl.cfg.in"


def default_parley_bin() -> Path:
    """`$PARLEY_BIN` if set, else the debug build in the repository."""
    configured = os.environ.get("PARLEY_BIN")
    if configured:
        return Path(configured).expanduser().resolve()
    return REPO_ROOT / ".build" / "debug" / "parley"
