"""Conversations: send a message to a contact (how a review request reaches a customer), find a
contact's conversations, read a conversation's messages.

A contact has one conversation per location; each message sent is kept so a test can see what
the customer would have received (``/_admin/entities/messages``).

- **Do not disturb.** HighLevel does not send to a contact whose DND is on for the message's channel
  (``dndSettings.<channel>.status`` active or permanent) or for every channel (``dnd: true``): the
  message is kept in the conversation, failed, with the error shown there (HighLevel's help article
  48000981696, "Troubleshooting SMS delivery": "When DND is enabled for a contact on the message
  channel or overall, HighLevel doesn't send the message and displays an error in the conversation
  screen"; article "DoNotDisturb (DND Split)": DND on means no automated or manual outbound
  message). The send is answered with the message's ids and ``status: "failed"``: the stricter
  reading for a client, which must look at the status, not only at the HTTP code.
- **Reading messages.** ``GET /conversations/{id}/messages`` answers newest first, ``limit`` a page
  (default 20), paged by ``lastMessageId``, the page inside a ``messages`` object as HighLevel's
  API reference shows it (marketplace.gohighlevel.com/docs/ghl/conversations/get-messages: "messages
  object required" holding lastMessageId, nextPage and messages[]). Email messages carry their
  HTML as ``body``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from emulators.common import maybe_drop
from emulators.highlevel import models as m
from emulators.highlevel.calls import CONVERSATIONS_VERSION, begin
from emulators.highlevel.errors import bad_request, not_found
from emulators.highlevel.store import Store, contact_id, now_iso

router = APIRouter()

_PHONE_CHANNELS = {"SMS", "RCS", "WhatsApp"}
# The channel of dndSettings each message type answers to.
_DND_CHANNEL = {"Email": "Email", "SMS": "SMS", "RCS": "SMS", "WhatsApp": "WhatsApp", "FB": "FB"}
_DND_ON = {"active", "permanent"}
# GetMessageResponseDto's numeric ``type`` and ``messageType`` per message type sent.
_MESSAGE_TYPES = {"SMS": (1, "TYPE_SMS"), "Email": (3, "TYPE_EMAIL"), "WhatsApp": (19, "TYPE_WHATSAPP"),
                  "RCS": (1, "TYPE_RCS"), "FB": (4, "TYPE_FACEBOOK"), "IG": (18, "TYPE_INSTAGRAM"),
                  "Custom": (1, "TYPE_CUSTOM_SMS"), "Live_Chat": (29, "TYPE_LIVE_CHAT"),
                  "TIKTOK": (1, "TYPE_TIKTOK")}


class SearchQuery(m.Query):
    locationId: str
    contactId: str | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20


class MessagesQuery(m.Query):
    lastMessageId: str | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    type: str | None = None


def dnd_blocks(contact: dict[str, Any], message_type: str) -> str | None:
    """Why the contact's do-not-disturb stops a message of this type, or None."""
    if contact.get("dnd") is True:
        return "Contact has DND enabled for all channels"
    channel = _DND_CHANNEL.get(message_type)
    setting = ((contact.get("dndSettings") or {}).get(channel) or {}) if channel else {}
    if str(setting.get("status") or "").lower() in _DND_ON:
        return f"Contact has DND enabled for {channel}"
    return None


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
        blocked = dnd_blocks(contact, dto.type)
        status = "failed" if blocked else "pending"
        message_id = contact_id()
        message = {
            "id": message_id, "conversationId": conv_id, "locationId": location, "contactId": contact["id"],
            "type": dto.type, "direction": "outbound", "status": status, "dateAdded": stamp, "source": "api",
            "seq": len(store.entities["messages"]),
            **dto.model_dump(exclude_unset=True, exclude={"status", "contactId", "type"}),
        }
        if blocked:
            message["error"] = blocked
        answer = {"conversationId": conv_id, "messageId": message_id, "msg": "Message queued successfully.",
                  "status": status}
        if dto.type == "Email":
            message["to"] = dto.emailTo or contact.get("email")
            answer["emailMessageId"] = message["emailMessageId"] = contact_id()
        elif dto.type in _PHONE_CHANNELS:
            message["to"] = dto.toNumber or contact.get("phone")
        store.put("messages", message)
    maybe_drop(request)
    return call.ok(answer)


def _message_view(message: dict[str, Any]) -> dict[str, Any]:
    """A stored message as GetMessageResponseDto shows it."""
    number, name = _MESSAGE_TYPES.get(message.get("type") or "", (1, "TYPE_SMS"))
    email = message.get("type") == "Email"
    view: dict[str, Any] = {
        "id": message["id"], "type": number, "messageType": name, "locationId": message["locationId"],
        "contactId": message["contactId"], "conversationId": message["conversationId"],
        "dateAdded": message["dateAdded"], "body": (message.get("html") or message.get("message") or "") if email
        else (message.get("message") or ""), "direction": message.get("direction", "outbound"),
        "status": message.get("status", "pending"), "contentType": "text/html" if email else "text/plain",
        "attachments": list(message.get("attachments") or []), "source": message.get("source", "api"),
    }
    if email and message.get("emailMessageId"):
        view["meta"] = {"email": {"messageIds": [message["emailMessageId"]]}}
    return view


def _newest_first(store: Store, conversation_id: str) -> list[dict[str, Any]]:
    rows = [msg for msg in store.entities["messages"].values() if msg.get("conversationId") == conversation_id]
    return sorted(rows, key=lambda msg: (msg["dateAdded"], msg.get("seq", 0)), reverse=True)


@router.get("/conversations/search")
async def search_conversations(request: Request) -> JSONResponse:
    call = await begin(request, version=CONVERSATIONS_VERSION)
    q = call.query(SearchQuery)
    store: Store = request.app.state.hl.store
    with store.lock:
        found = [c for c in store.in_location("conversations", q.locationId)
                 if q.contactId is None or c["contactId"] == q.contactId]
        conversations = []
        for conv in sorted(found, key=lambda c: c["dateAdded"], reverse=True)[: q.limit]:
            contact = store.get("contacts", conv["contactId"]) or {}
            messages = _newest_first(store, conv["id"])
            last = _message_view(messages[0]) if messages else {"body": "", "messageType": "TYPE_SMS"}
            name = contact.get("name") or ""
            conversations.append({
                "id": conv["id"], "contactId": conv["contactId"], "locationId": conv["locationId"],
                "lastMessageBody": last["body"], "lastMessageType": last["messageType"],
                "type": "TYPE_EMAIL" if last["messageType"] == "TYPE_EMAIL" else "TYPE_PHONE",
                "unreadCount": 0, "fullName": name, "contactName": name,
                "email": contact.get("email") or "", "phone": contact.get("phone") or "",
            })
    return call.ok({"conversations": conversations, "total": len(found)})


@router.get("/conversations/{conversation_id}/messages")
async def conversation_messages(conversation_id: str, request: Request) -> JSONResponse:
    store: Store = request.app.state.hl.store
    conversation = store.get("conversations", conversation_id)
    call = await begin(request, version=CONVERSATIONS_VERSION,
                       location=conversation["locationId"] if conversation else None)
    q = call.query(MessagesQuery)
    if conversation is None:
        raise call.fail(bad_request("Conversation not found"))
    wanted = {t.strip() for t in (q.type or "").split(",") if t.strip()}
    with store.lock:
        views = [_message_view(msg) for msg in _newest_first(store, conversation_id)]
    if wanted:
        views = [v for v in views if v["messageType"] in wanted]
    if q.lastMessageId:
        ids = [v["id"] for v in views]
        views = views[ids.index(q.lastMessageId) + 1:] if q.lastMessageId in ids else []
    page = views[: q.limit]
    return call.ok({"messages": {"lastMessageId": page[-1]["id"] if page else "",
                                 "nextPage": len(views) > len(page), "messages": page}})
