"""Conversations: send a message to a contact (how a review request reaches a customer).

A contact has one conversation per location; each message sent is kept so a test can see what
the customer would have received.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from emulators.common import maybe_drop
from emulators.highlevel import models as m
from emulators.highlevel.calls import CONVERSATIONS_VERSION, begin
from emulators.highlevel.errors import bad_request, not_found
from emulators.highlevel.store import Store, contact_id, now_iso

router = APIRouter()

_PHONE_CHANNELS = {"SMS", "RCS", "WhatsApp"}


@router.post("/conversations/messages")
async def send_message(request: Request) -> JSONResponse:
    store: Store = request.app.state.hl.store
    call = await begin(request, version=CONVERSATIONS_VERSION, body=True, locate=lambda raw: (
        store.location_for("contacts", str(raw.get("contactId"))) if isinstance(raw, dict) else None))
    dto = call.body(m.SendMessage)
    with store.lock:
        contact = store.get("contacts", dto.contactId)
        if not contact:
            raise call.fail(not_found("Contact"))
        if dto.type == "Email" and not (dto.emailTo or contact.get("email")):
            raise call.fail(bad_request("Contact does not have an email address"))
        if dto.type in _PHONE_CHANNELS and not (dto.toNumber or contact.get("phone")):
            raise call.fail(bad_request("Contact does not have a phone number"))
        location = contact["locationId"]
        stamp = now_iso()
        conv_id = store.conversation_of.get((location, contact["id"]))
        if not conv_id:
            conv_id = contact_id()
            store.conversation_of[(location, contact["id"])] = conv_id
            store.put("conversations", {"id": conv_id, "locationId": location, "contactId": contact["id"],
                                        "dateAdded": stamp})
        message_id = contact_id()
        message = {
            "id": message_id, "conversationId": conv_id, "locationId": location, "contactId": contact["id"],
            "type": dto.type, "direction": "outbound", "status": "pending", "dateAdded": stamp,
            **dto.model_dump(exclude_unset=True, exclude={"status", "contactId", "type"}),
        }
        answer = {"conversationId": conv_id, "messageId": message_id, "msg": "Message queued successfully.",
                  "status": "pending"}
        if dto.type == "Email":
            message["to"] = dto.emailTo or contact.get("email")
            answer["emailMessageId"] = message["emailMessageId"] = contact_id()
        elif dto.type in _PHONE_CHANNELS:
            message["to"] = dto.toNumber or contact.get("phone")
        store.put("messages", message)
    maybe_drop(request)
    return call.ok(answer)
