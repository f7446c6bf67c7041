"""Rooms as Gajim's protocol library sees them: Interop/clients/nbxmpp_scenario.py drives
python3-nbxmpp (alice creates and configures the room, bob joins, chats, goes away, renames
himself, reads the subject and the archive and leaves, carol is kicked and then banned),
run once per MUC service under /usr/bin/python3; each test here is one step of that run.

The checks are on what nbxmpp parsed: its presence properties (muc_user role, affiliation
and jid, muc_status_codes, is_muc_self_presence / is_new_room / is_nickname_changed /
is_kicked), muc_subject, the MAM module's query result and the unwrapped archive messages
(properties.mam), disco info's muc_name, and the occupant list a client keeps from them
(nbxmpp keeps none itself; Gajim does it the same way). A failing step prints the script's
error and the library state it saw.

[parley] runs against rooms.localhost, [prosody] against Prosody's own MUC (the reference,
which keeps no archive here: no MAM step and no stanza-id check there).
"""

from __future__ import annotations

import pytest

from clients.runner import run_scenario

STEPS = ("connect", "create", "configure", "join", "presence", "message_to_guest",
         "message_to_owner", "nick_change", "nick_change_role", "subject", "mam", "kick", "ban",
         "leave")

_runs: dict = {}


def _scenario(stack, muc):
    key = (id(stack), muc.name)
    if key not in _runs:
        extra = () if muc.is_parley else ("--no-archive",)
        _runs[key] = run_scenario("nbxmpp_scenario.py", stack, room=muc.new_room("nbxmpp"),
                                  service=muc.domain, users=("alice", "bob", "carol"), extra=extra)
    return _runs[key]


@pytest.mark.parametrize("step", STEPS)
def test_nbxmpp(step, stack, muc):
    if step == "mam" and not muc.is_parley:
        pytest.skip(f"{muc.name}'s MUC keeps no archive in this set-up")
    _scenario(stack, muc).assert_step(step)
