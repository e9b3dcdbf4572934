"""Conversations: sending respects do-not-disturb; a contact's conversations and their messages
can be read back, newest first, paged by lastMessageId."""

from __future__ import annotations

import pytest

from tests.emulators.highlevel_client import LOC, OTHER_TOKEN, call, entities, seed

pytestmark = pytest.mark.integration

V = "2021-04-15"


def send(base: str, contact_id: str, kind: str = "SMS", **fields: object):
    body = {"type": kind, "subType": kind, "contactId": contact_id, "status": "pending", **fields}
    return call(base, "POST", "/conversations/messages", json=body, version=V)


def test_do_not_disturb_keeps_the_message_failed_and_says_so(highlevel: str) -> None:
    email_off, all_off, sms_off = seed(highlevel, contacts=[
        {"locationId": LOC, "email": "a@example.com", "phone": "+15550001", "dndSettings": {"Email": {"status": "active"}}},
        {"locationId": LOC, "email": "b@example.com", "dnd": True},
        {"locationId": LOC, "phone": "+15550003", "dndSettings": {"SMS": {"status": "permanent"},
                                                                  "Email": {"status": "inactive"}}},
    ])["contacts"]
    refused = send(highlevel, email_off, "Email", subject="Hi", html="<p>x</p>")
    assert refused.status_code == 200 and refused.json()["status"] == "failed"
    assert send(highlevel, email_off, "SMS", message="x").json()["status"] == "pending"  # SMS is not off
    assert send(highlevel, all_off, "Email", subject="Hi", html="<p>x</p>").json()["status"] == "failed"
    assert send(highlevel, sms_off, "SMS", message="x").json()["status"] == "failed"
    kept = {m["contactId"]: m for m in entities(highlevel, "messages", LOC) if m["status"] == "failed"}
    assert kept[email_off]["error"] == "Contact has DND enabled for Email"
    assert kept[all_off]["error"] == "Contact has DND enabled for all channels"


def test_a_contacts_conversation_and_its_messages_read_back(highlevel: str) -> None:
    contact, other = seed(highlevel, contacts=[{"locationId": LOC, "email": "c@example.com", "phone": "+15550008", "firstName": "Cy"},
                                               {"locationId": LOC, "phone": "+15550009"}])["contacts"]
    sent = [send(highlevel, contact, "SMS" if n % 2 else "Email", message=f"m{n}", subject="s", html=f"<p>m{n}</p>")
            .json()["messageId"] for n in range(5)]
    send(highlevel, other, message="not yours")
    found = call(highlevel, "GET", "/conversations/search", params={"locationId": LOC, "contactId": contact},
                 version=V)
    assert found.status_code == 200
    (conversation,) = found.json()["conversations"]
    assert conversation["contactId"] == contact and conversation["email"] == "c@example.com"
    assert conversation["lastMessageBody"] == "<p>m4</p>" and conversation["lastMessageType"] == "TYPE_EMAIL"
    assert found.json()["total"] == 1

    path = f"/conversations/{conversation['id']}/messages"
    page = call(highlevel, "GET", path, params={"limit": 2}, version=V).json()["messages"]
    assert [m["id"] for m in page["messages"]] == sent[:2:-1][:2] and page["nextPage"] is True
    rest = call(highlevel, "GET", path, params={"limit": 10, "lastMessageId": page["lastMessageId"]},
                version=V).json()["messages"]
    assert [m["id"] for m in rest["messages"]] == sent[2::-1] and rest["nextPage"] is False
    email, sms = page["messages"]
    assert (email["messageType"], email["type"], email["body"], email["contentType"]) == (
        "TYPE_EMAIL", 3, "<p>m4</p>", "text/html")
    assert (sms["messageType"], sms["type"], sms["body"], sms["direction"]) == ("TYPE_SMS", 1, "m3", "outbound")
    only_sms = call(highlevel, "GET", path, params={"type": "TYPE_SMS"}, version=V).json()["messages"]["messages"]
    assert [m["id"] for m in only_sms] == [sent[3], sent[1]]


def test_reading_conversations_needs_the_locations_token_and_version(highlevel: str) -> None:
    (contact,) = seed(highlevel, contacts=[{"locationId": LOC, "email": "d@example.com"}])["contacts"]
    conversation = send(highlevel, contact, "Email", subject="s", html="h").json()["conversationId"]
    assert call(highlevel, "GET", "/conversations/search", params={"locationId": LOC}).status_code == 400  # version
    assert call(highlevel, "GET", "/conversations/search", params={"contactId": contact},
                version=V).status_code == 422  # locationId is required
    assert call(highlevel, "GET", f"/conversations/{conversation}/messages", version=V,
                token=OTHER_TOKEN).status_code == 403
    assert call(highlevel, "GET", "/conversations/nope/messages", version=V).status_code == 400
