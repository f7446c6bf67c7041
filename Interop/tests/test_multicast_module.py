"""mod_parley_multicast's shared copy text, checked with Prosody's own util.stanza and no
server (Interop/prosody/mod_parley_multicast_spec.lua): every copy is byte for byte what
Prosody would write, a change a module makes during the fan-out shows in later copies, a
stanza kept after the fan-out is written plainly, and Prosody's serializer is restored
when the last host unloads the module (unless another module wrapped it since). The interop tests in test_multicast.py run it through Prosody."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "Interop" / "prosody" / "mod_parley_multicast_spec.lua"
MODULE = REPO / "Config" / "prosody" / "mod_parley_multicast.lua"


@pytest.mark.parametrize("case", [
    "copies_are_what_prosody_writes",
    "a_change_during_the_loop_shows_in_later_copies",
    "a_stanza_kept_after_the_loop_is_written_plainly",
    "the_last_host_to_unload_restores_prosody",
    "a_wrapper_installed_later_by_another_module_is_kept",
    "the_option_turns_it_off",
])
def test_shared_copy_text(case):
    run = subprocess.run(["lua5.4", str(SPEC), str(MODULE), case], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0 and run.stdout.strip() == f"ok {case}", run.stdout + run.stderr
