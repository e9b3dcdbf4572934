"""In-memory state of the emulated HighLevel account: entities by kind, indexed for matching.

Every entity is kept in the API's own JSON shape. One re-entrant lock guards all of it; handlers
hold it for the few microseconds a read or a write takes.
"""

from __future__ import annotations

import random
import string
import threading
from datetime import UTC, datetime
from typing import Any

KINDS = ("contacts", "transactions", "orders", "subscriptions", "invoices", "conversations", "messages")
_ALNUM = string.ascii_letters + string.digits


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


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.locations: dict[str, dict[str, Any]] = {}
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
        loc = location_of(entity)
        if loc and loc not in self.locations:
            self.locations[loc] = {"id": loc, "name": loc}
        return entity

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
