"""XEP-0045 §7.8.2: mediated invitations through the room, with the password of a
password-protected room, and declines passed back to the inviter."""

from __future__ import annotations

from harness.muc import (NS_MUC_USER, bare, create_room, describe, join, send_decline, send_invite, sender,
                         user_child)


def _bare(client) -> str:
    return bare(str(client.jid))


async def _invitation(client, room: str):
    return await client.expect_message(lambda m: sender(m) == room and user_child(m, "invite") is not None,
                                       what=f"invitation from {room}")


async def test_mediated_invitation_is_passed_on_to_the_invitee_from_the_room(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")

    send_invite(alice, room, _bare(bob), reason="Hey Hecate, this is the place for all good witches!")

    invitation = await _invitation(bob, room)
    invite = user_child(invitation, "invite")
    # §7.8.2: the room adds a 'from' with "the bare JID, full JID, or occupant JID of the
    # inviter" (Prosody gives the occupant JID in a semi-anonymous room; Parley the full JID).
    inviter = invite.get("from")
    assert inviter in (str(alice.jid), _bare(alice), f"{room}/Alice"), describe(invitation)
    if muc.is_parley:
        assert inviter == str(alice.jid), describe(invitation)
    assert invite.get("to") is None or bare(invite.get("to")) == _bare(bob), invitation
    assert invite.findtext(f"{{{NS_MUC_USER}}}reason") == "Hey Hecate, this is the place for all good witches!"
    assert user_child(invitation, "password") is None, "an open room's invitation carries a password"


async def test_invitation_to_a_password_room_carries_the_password(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice", config={
        "muc#roomconfig_passwordprotectedroom": True, "muc#roomconfig_roomsecret": "cauldronburn"})

    send_invite(alice, room, _bare(bob))

    invitation = await _invitation(bob, room)
    assert user_child(invitation, "password") is not None, invitation
    assert user_child(invitation, "password").text == "cauldronburn"
    await join(bob, room, "Bob", password="cauldronburn")


async def test_invitee_declines_and_the_inviter_is_told(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    send_invite(alice, room, _bare(bob))
    await _invitation(bob, room)

    send_decline(bob, room, _bare(alice), reason="Sorry, I'm too busy right now.")

    declined = await alice.expect_message(lambda m: sender(m) == room and user_child(m, "decline") is not None,
                                          what=f"decline from {room}")
    decline = user_child(declined, "decline")
    assert bare(decline.get("from")) == _bare(bob), declined
    assert decline.findtext(f"{{{NS_MUC_USER}}}reason") == "Sorry, I'm too busy right now."


async def test_admins_invitation_to_a_members_only_room_makes_the_invitee_a_member(alice, bob, muc):
    # §7.8.2: "If the room is members-only, the service MAY also add the invitee to the
    # member list" (both services do).
    room = muc.new_room()
    await create_room(alice, room, "Alice", config={"muc#roomconfig_membersonly": True})

    send_invite(alice, room, _bare(bob))
    await _invitation(bob, room)

    entered = await join(bob, room, "Bob")
    assert entered.item.affiliation == "member", entered.summary()
