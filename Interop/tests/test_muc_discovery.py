"""XEP-0045 §6: discovering the service, its public rooms, and a room's identity, features
and `muc#roominfo` form."""

from __future__ import annotations

import pytest

from harness.muc import (FORM_ROOMINFO, NS_MUC, assert_error, assert_result, create_room,
                         disco_features, disco_identities, disco_info_forms, disco_items_all,
                         expect_groupchat, is_subject_change, join, send_subject)

OPEN_ROOM = {
    "muc#roomconfig_publicroom": True, "muc#roomconfig_persistentroom": False,
    "muc#roomconfig_membersonly": False, "muc#roomconfig_moderatedroom": False,
    "muc#roomconfig_passwordprotectedroom": False, "muc#roomconfig_roomsecret": "",
    "muc#roomconfig_whois": "moderators",
}
CLOSED_ROOM = {
    "muc#roomconfig_publicroom": False, "muc#roomconfig_persistentroom": True,
    "muc#roomconfig_membersonly": True, "muc#roomconfig_moderatedroom": True,
    "muc#roomconfig_passwordprotectedroom": True, "muc#roomconfig_roomsecret": "secret",
    "muc#roomconfig_whois": "anyone",
}
# §15.2.3 feature pairs: (feature of OPEN_ROOM, feature of CLOSED_ROOM).
FEATURE_PAIRS = [
    ("muc_public", "muc_hidden"), ("muc_temporary", "muc_persistent"),
    ("muc_open", "muc_membersonly"), ("muc_unmoderated", "muc_moderated"),
    ("muc_unsecured", "muc_passwordprotected"), ("muc_semianonymous", "muc_nonanonymous"),
]


async def test_service_identifies_itself_as_a_text_conference_service_speaking_muc(alice, muc):
    reply = await alice.disco_info(muc.domain)

    assert_result(reply, "disco#info on the service")
    assert ("conference", "text") in {(c, t) for c, t, _name in disco_identities(reply)}, disco_identities(reply)
    assert NS_MUC in disco_features(reply), disco_features(reply)


async def test_service_lists_public_rooms_but_not_hidden_ones(alice, muc):
    public = muc.new_room("public")
    hidden = muc.new_room("hidden")
    await create_room(alice, public, "Alice", config={"muc#roomconfig_publicroom": True,
                                                       "muc#roomconfig_roomname": "Public Coven"})
    await create_room(alice, hidden, "Alice", config={"muc#roomconfig_publicroom": False,
                                                       "muc#roomconfig_roomname": "Hidden Coven"})

    reply, items = await disco_items_all(alice, muc.domain)

    assert_result(reply, "disco#items on the service")
    listed = dict(items)
    assert public in listed, f"{public} not listed: {sorted(listed)}"
    assert listed[public] == "Public Coven", listed[public]
    assert hidden not in listed, f"the hidden room {hidden} is listed"


async def test_room_identifies_itself_as_a_text_conference_with_its_name(alice, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice", config={"muc#roomconfig_roomname": "The Coven"})

    reply = await alice.disco_info(room)

    assert_result(reply, "disco#info on the room")
    assert ("conference", "text", "The Coven") in disco_identities(reply), disco_identities(reply)
    assert NS_MUC in disco_features(reply)


@pytest.mark.parametrize("config,which", [pytest.param(OPEN_ROOM, 0, id="open"),
                                          pytest.param(CLOSED_ROOM, 1, id="closed")])
async def test_room_features_describe_its_configuration(alice, muc, config, which):
    room = muc.new_room()
    await create_room(alice, room, "Alice", config=config)

    reply = await alice.disco_info(room)

    assert_result(reply, "disco#info on the room")
    features = disco_features(reply)
    for pair in FEATURE_PAIRS:
        assert pair[which] in features, f"{pair[which]} missing: {sorted(features)}"
        assert pair[1 - which] not in features, f"{pair[1 - which]} advertised: {sorted(features)}"


async def test_room_info_form_reports_the_description_and_the_number_of_occupants(alice, bob, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice", config={"muc#roomconfig_roomdesc": "A place for witches"})
    await join(bob, room, "Bob")

    reply = await alice.disco_info(room)

    forms = disco_info_forms(reply)
    assert FORM_ROOMINFO in forms, f"no muc#roominfo form: {reply}"
    info = forms[FORM_ROOMINFO]
    assert info.type == "result"
    assert info.value("muc#roominfo_description") == "A place for witches"
    assert info.value("muc#roominfo_occupants") == "2"


@pytest.mark.muc_xfail("prosody", reason="Prosody 0.12's muc#roominfo form has no muc#roominfo_subject")
async def test_room_info_form_reports_the_subject(alice, muc):
    room = muc.new_room()
    await create_room(alice, room, "Alice")
    send_subject(alice, room, "Toil and trouble")
    await expect_groupchat(alice, room, is_subject_change, what="the subject change")

    reply = await alice.disco_info(room)

    info = disco_info_forms(reply).get(FORM_ROOMINFO)
    assert info is not None, f"no muc#roominfo form: {reply}"
    assert info.value("muc#roominfo_subject") == "Toil and trouble", info.fields.keys()


async def test_disco_info_on_a_room_that_does_not_exist_is_item_not_found(alice, muc):
    reply = await alice.disco_info(muc.new_room("nowhere"))

    assert_error(reply, "cancel", "item-not-found")
