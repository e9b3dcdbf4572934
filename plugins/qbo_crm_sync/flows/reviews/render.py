"""The review request itself: the integration's templates filled in, as the conversations API takes it.

Templates are plain text with ``{first_name}``, ``{company}`` and ``{review_link}`` (checked when
saved, store/integrations.py). The email's HTML is built from the escaped text, the link made a link,
and carries the request's marker in an HTML comment, so that the request can be recognised among
the contact's messages when the answer to its send was lost. The SMS is the text as written.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qbo_crm_sync.store.integrations import DEFAULT_SETTINGS

EMAIL = "Email"
SMS = "SMS"
_BLANK_LINE = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class Message:
    channel: str  # Email or SMS
    body: dict[str, Any]  # POST /conversations/messages

    @property
    def text(self) -> str:
        return str(self.body.get("html") or self.body.get("message") or "")


def marker(integration_id: int, customer_id: str) -> str:
    """What identifies a customer's one review request inside the message: stable, opaque."""
    digest = hashlib.sha256(f"review-request\x1f{integration_id}\x1f{customer_id}".encode()).hexdigest()[:16]
    return f"qbo-crm-sync review-request {digest}"


def _setting(settings: Mapping[str, Any], key: str) -> str:
    return str(settings.get(key) or DEFAULT_SETTINGS[key])


def _values(first_name: str | None, company: str | None, link: str) -> dict[str, str]:
    return {"first_name": (first_name or "").strip() or "there", "company": (company or "").strip() or "us",
            "review_link": link}


def email(settings: Mapping[str, Any], contact_id: str, first_name: str | None, company: str | None,
          mark: str) -> Message:
    link = str(settings.get("review_link") or "")
    values = _values(first_name, company, link)
    subject = _setting(settings, "review_email_subject").format_map(values)
    escaped = {k: html.escape(v) for k, v in values.items()}
    escaped["review_link"] = f'<a href="{html.escape(link, quote=True)}">{html.escape(link)}</a>'
    text = html.escape(_setting(settings, "review_email_template").replace("\r\n", "\n"), quote=False)
    filled = text.format_map(escaped)
    paragraphs = [p.strip("\n").replace("\n", "<br>\n") for p in _BLANK_LINE.split(filled) if p.strip()]
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs) + f"\n<!-- {mark} -->"
    return Message(EMAIL, {"type": EMAIL, "subType": EMAIL, "status": "pending", "contactId": contact_id,
                           "subject": subject, "html": body})


def sms(settings: Mapping[str, Any], contact_id: str, first_name: str | None, company: str | None) -> Message:
    values = _values(first_name, company, str(settings.get("review_link") or ""))
    text = _setting(settings, "review_sms_template").replace("\r\n", "\n").format_map(values)
    return Message(SMS, {"type": SMS, "subType": SMS, "status": "pending", "contactId": contact_id,
                         "message": text})
