"""In-memory state of the emulated HighLevel account: locations with their tokens and settings,
entities by kind, indexed for matching.

Every entity is kept in the API's own JSON shape. One re-entrant lock guards all of it; handlers
hold it for the few microseconds a read or a write takes.

A location exists only once it is seeded (``/_admin/seed`` or ``/_admin/locations/{id}``); the API
never creates one. Each location has exactly one Private Integration Token and a token belongs to
exactly one location: a Sub-Account PIT opens that sub-account only (the contacts endpoints accept
"the Access Token generated with user type as Sub-Account (OR) Private Integration Token of
Sub-Account"; GoHighLevel/highlevel-api-docs#213 and n8n-io/n8n#11353 show the refusal for any
other location). Tokens look like the UI's: ``pit-`` and a UUID.
"""

from __future__ import annotations

import random
import string
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

KINDS = ("contacts", "transactions", "orders", "subscriptions", "invoices", "conversations", "messages")
_ALNUM = string.ascii_letters + string.digits
MATCH_FIELDS = ("email", "phone")
# The location's duplicate-contact setting: which fields identify a contact, in priority order.
DEFAULT_MATCHING = ["email", "phone"]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def contact_id() -> str:
    """Contact ids look like ``seD4PfOuKoVMLkEZqohJ``: 20 letters and digits."""
    return "".join(random.choices(_ALNUM, k=20))


def object_id() -> str:
    """Payment and invoice ids are 24 hex digits, like MongoDB ObjectIds."""
    return f"{random.getrandbits(96):024x}"


def email_key(email: str | None) -> str | None:
    return email.strip().lower() if email else None


def phone_key(phone: str | None) -> str | None:
    """Phones are stored as given but matched on their digits, so '+1 888-888-8888' finds '+18888888888'."""
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    return digits or None


def location_of(entity: dict[str, Any]) -> str | None:
    return entity.get("locationId") or entity.get("altId")


def new_token() -> str:
    return f"pit-{uuid.uuid4()}"


class LocationError(ValueError):
    """A location or token that cannot be seeded as asked."""


def matching_order(value: Any) -> list[str]:
    """Validate a ``contactMatching`` setting: one or both of email and phone, in priority order."""
    if (not isinstance(value, list) or not value or len(set(value)) != len(value)
            or any(v not in MATCH_FIELDS for v in value)):
        raise LocationError('contactMatching must be ["email", "phone"], ["phone", "email"], ["email"] or ["phone"]')
    return list(value)


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.locations: dict[str, dict[str, Any]] = {}
            self.tokens: dict[str, str] = {}  # token -> its location
            self.entities: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS}
            self.by_email: dict[tuple[str, str], str] = {}
            self.by_phone: dict[tuple[str, str], str] = {}
            self.invoice_numbers: dict[str, int] = {}
            self.conversation_of: dict[tuple[str, str], str] = {}

    # --- generic access ---------------------------------------------------------------------------

    def get(self, kind: str, entity_id: str) -> dict[str, Any] | None:
        return self.entities[kind].get(entity_id)

    def put(self, kind: str, entity: dict[str, Any]) -> dict[str, Any]:
        key = entity.get("id") or entity.get("_id")
        self.entities[kind][key] = entity
        return entity

    # --- locations and their tokens ---------------------------------------------------------------

    def add_location(self, fields: dict[str, Any]) -> tuple[str, str]:
        """Create or change a location; answer its id and token.

        ``token`` sets (or rotates) the location's token, else a new location gets a fresh one and
        an existing one keeps its own. ``contactMatching`` and ``allowDuplicateContact`` are the
        location's duplicate-contact settings; other fields (``name``...) are kept as given."""
        with self.lock:
            loc = fields.get("id")
            if not isinstance(loc, str) or not loc:
                raise LocationError("every location needs an id")
            settings = {k: v for k, v in fields.items() if k != "token"}
            if "contactMatching" in settings:
                settings["contactMatching"] = matching_order(settings["contactMatching"])
            token = fields.get("token") or self.token_of(loc) or new_token()
            owner = self.tokens.get(token)
            if owner is not None and owner != loc:
                raise LocationError(f"token already belongs to location {owner}: a token opens one location")
            self.locations[loc] = {"name": loc, "contactMatching": list(DEFAULT_MATCHING)} \
                | self.locations.get(loc, {}) | settings
            for old in [t for t, owned in self.tokens.items() if owned == loc and t != token]:
                del self.tokens[old]
            self.tokens[token] = loc
            return loc, token

    def token_of(self, location: str) -> str | None:
        return next((t for t, owned in self.tokens.items() if owned == location), None)

    def owner_of(self, token: str) -> str | None:
        return self.tokens.get(token)

    def contact_matching(self, location: str) -> list[str]:
        return list(self.locations.get(location, {}).get("contactMatching") or DEFAULT_MATCHING)

    def in_location(self, kind: str, location: str) -> list[dict[str, Any]]:
        return [e for e in self.entities[kind].values() if location_of(e) == location]

    def location_for(self, kind: str, entity_id: str) -> str | None:
        entity = self.entities[kind].get(entity_id)
        return location_of(entity) if entity else None

    # --- contact indexes --------------------------------------------------------------------------

    def index_contact(self, contact: dict[str, Any], before: dict[str, Any] | None = None) -> None:
        loc = contact["locationId"]
        if before:
            old_email, old_phone = email_key(before.get("email")), phone_key(before.get("phone"))
            if old_email and self.by_email.get((loc, old_email)) == contact["id"]:
                del self.by_email[(loc, old_email)]
            if old_phone and self.by_phone.get((loc, old_phone)) == contact["id"]:
                del self.by_phone[(loc, old_phone)]
        email, phone = email_key(contact.get("email")), phone_key(contact.get("phone"))
        if email:
            self.by_email.setdefault((loc, email), contact["id"])
        if phone:
            self.by_phone.setdefault((loc, phone), contact["id"])

    def contact_by_email(self, location: str, email: str | None) -> dict[str, Any] | None:
        key = email_key(email)
        cid = self.by_email.get((location, key)) if key else None
        return self.entities["contacts"].get(cid) if cid else None

    def contact_by_phone(self, location: str, phone: str | None) -> dict[str, Any] | None:
        key = phone_key(phone)
        cid = self.by_phone.get((location, key)) if key else None
        return self.entities["contacts"].get(cid) if cid else None

    def next_invoice_number(self, location: str) -> int:
        taken = {str(i.get("invoiceNumber")) for i in self.in_location("invoices", location)}
        n = self.invoice_numbers.get(location, 0) + 1
        while str(n) in taken:
            n += 1
        self.invoice_numbers[location] = n
        return n

    # --- admin views ------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            per_location: dict[str, dict[str, int]] = {}
            for kind, rows in self.entities.items():
                for entity in rows.values():
                    loc = location_of(entity) or "?"
                    counts = per_location.setdefault(loc, dict.fromkeys(KINDS, 0))
                    counts[kind] += 1
            return {
                "locations": list(self.locations.values()),
                "counts": {kind: len(rows) for kind, rows in self.entities.items()},
                "per_location": per_location,
            }

    def listing(self, kind: str, location: str | None) -> list[dict[str, Any]]:
        with self.lock:
            rows = self.entities[kind].values()
            return [dict(e) for e in rows if location is None or location_of(e) == location]
