"""Rooms as aioxmpp's MUC client sees them: Interop/clients/aioxmpp_scenario.py drives
python3-aioxmpp's MUCClient and Room (alice creates and configures the room, bob joins,
chats, goes away, renames himself, reads the subject and leaves with Room.leave(), carol is
kicked and then banned, dave joins late for the history), run once per MUC service under
/usr/bin/python3; each test here is one step of that run.

The checks are on aioxmpp's own state: Room.me, Room.members, Room.muc_subject(_setter),
Room.muc_joined, Occupant.role / affiliation / direct_jid / presence_state, and the signals
(on_muc_enter with its status codes, on_join, on_presence_changed, on_nick_changed,
on_topic_changed, on_message, on_leave and on_exit with muc_leave_mode and
muc_status_codes). Two things aioxmpp does its own way are checked as such:
- Room.leave() sends its unavailable presence to the *bare* room JID and waits for on_exit
  (step `leave`);
- Room.me.direct_jid is the bare form of the JID in the room's self-presence item, so it is
  only set if the room tells every occupant their own JID, also in semi-anonymous rooms
  (steps `self_jid_owner`, `self_jid_guest`).
aioxmpp reads history on join, not MAM (step `join_history`).
"""

from __future__ import annotations

import pytest

from clients.runner import run_scenario

STEPS = ("connect", "create", "configure", "self_jid_owner", "join", "self_jid_guest", "presence",
         "message_to_guest", "message_to_owner", "nick_change", "subject", "join_history", "kick",
         "ban", "leave")

_runs: dict = {}


def _scenario(stack, muc):
    key = (id(stack), muc.name)
    if key not in _runs:
        _runs[key] = run_scenario("aioxmpp_scenario.py", stack, room=muc.new_room("aioxmpp"),
                                  service=muc.domain, users=("alice", "bob", "carol", "dave"))
    return _runs[key]


@pytest.mark.parametrize("step", STEPS)
def test_aioxmpp(step, stack, muc):
    _scenario(stack, muc).assert_step(step)
