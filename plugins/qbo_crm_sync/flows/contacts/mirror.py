"""The CRM location's contacts as the contacts flow knows them: ``sync.crm_contact_mirror``.

Who holds which email and phone decides every write (plan.py), so it must be known before writing,
at almost no cost in requests:

- the first time, and again every ``FULL_EVERY`` (which also forgets contacts deleted in the CRM:
  a search never reports a deletion), every contact is listed through ``POST /contacts/search``,
  500 a page, following the ``searchAfter`` cursor;
- otherwise one search for the contacts whose ``dateUpdated`` is at or after the start of the last
  refresh, less ``OVERLAP``: the search index trails writes a little, and this host's clock may
  differ from HighLevel's. ``dateUpdated`` is a filter field of HighLevel's search guide (range
  operator) and every write moves it, so nothing changed is missed; usually one page;
- during a load, before each chunk of writes, the contacts changed since the newest change seen so
  far (HighLevel's own timestamps, so without overlap): the load decides on a view seconds old,
  and the next load's refresh, with its overlap, catches what the index had not shown yet;
- every write the flow makes puts the contact, as HighLevel answered it, into the mirror in the
  same transaction as the row's outcome.

Emails are kept lower-cased (HighLevel matches them without regard to case and keeps the contact's
own spelling), phones both in E.164 (read as the transform reads QBO phones, in the contact's
country) and as bare digits (what HighLevel itself compares).

Within a load, :class:`ContactIndex` holds the mirrored contacts that matter to one chunk, the
entity map around them, and the reservations of writes planned but not yet answered, behind one
lock: the writes run on several threads and one contact's answer can change the next one's plan.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from qbo_crm_sync.flows.contacts_transform import phone_digits, phone_e164
from qbo_crm_sync.flows.extraction import parse_time
from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.hooks.highlevel import SEARCH_PAGE_MAX
from qbo_crm_sync.store import tracking, watermarks
from qbo_crm_sync.store.db import Connection
from qbo_crm_sync.store.sql import query

log = logging.getLogger(__name__)

STREAM = "crm_contact_mirror"
FULL_EVERY = timedelta(days=7)
OVERLAP = timedelta(minutes=5)
_TAG_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class Contact:
    """A CRM contact as far as matching goes; ``id`` None is a reservation: the details a write
    planned in this load is about to give some contact, on behalf of QBO customer ``pending_for``."""

    id: str | None
    email: str | None = None
    phone: str | None = None
    digits: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    tags: tuple[str, ...] = ()
    date_added: datetime | None = None
    date_updated: datetime | None = None
    pending_for: str | None = None

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)

    def holds_phone(self, e164: str | None, digits: str | None) -> bool:
        return bool((e164 and self.phone == e164) or (digits and self.digits == digits))

    def describe(self) -> str:
        if self.id is None:
            return f"the contact being written for QBO customer {self.pending_for} in this run"
        return f"CRM contact {self.id}" + (f" ({self.name})" if self.name else "")


def email_key(value: Any) -> str | None:
    return value.strip().lower() or None if isinstance(value, str) else None


def from_api(contact: dict[str, Any]) -> Contact:
    """A contact as HighLevel answers it (search, get, create or update) → :class:`Contact`."""
    raw_phone = contact.get("phone") if isinstance(contact.get("phone"), str) else None
    country = contact.get("country") if isinstance(contact.get("country"), str) else None
    tags = contact.get("tags") if isinstance(contact.get("tags"), list) else []
    return Contact(
        id=str(contact["id"]),
        email=email_key(contact.get("email")),
        phone=phone_e164(raw_phone, country if country and len(country) == 2 else None) or (raw_phone or None),
        digits=phone_digits(raw_phone),
        first_name=contact.get("firstName") or None,
        last_name=contact.get("lastName") or None,
        tags=tuple(str(t).replace(_TAG_SEPARATOR, " ") for t in tags if str(t).strip()),
        date_added=parse_time(contact.get("dateAdded")),
        date_updated=parse_time(contact.get("dateUpdated")),
    )


def _from_row(row: dict[str, Any]) -> Contact:
    return Contact(row["contact_id"], row["email"], row["phone"], row["phone_digits"], row["first_name"],
                   row["last_name"], tuple(row["tags"] or ()), row["date_added"], row["date_updated"])


# ------------------------------------------------------------------------------------ the store


def put(conn: Connection, integration_id: int, contacts: Sequence[Contact], seen_at: datetime | None = None) -> int:
    """Mirror these contacts; of two sightings of one contact the later in ``contacts`` counts."""
    rows = list({c.id: c for c in contacts if c.id}.values())
    if rows:
        conn.execute(query("crm_contacts_mirror_upsert"), {
            "integration_id": integration_id,
            "seen_at": seen_at or datetime.now(UTC),
            "contact_ids": [c.id for c in rows],
            "emails": [c.email for c in rows],
            "phones": [c.phone for c in rows],
            "phone_digits": [c.digits for c in rows],
            "first_names": [c.first_name for c in rows],
            "last_names": [c.last_name for c in rows],
            "tags": [_TAG_SEPARATOR.join(c.tags) for c in rows],
            "dates_added": [c.date_added for c in rows],
            "dates_updated": [c.date_updated for c in rows],
        })
    return len(rows)


def forget(conn: Connection, integration_id: int, contact_ids: Sequence[str] = (),
           unseen_since: datetime | None = None) -> None:
    """Drop contacts gone from the CRM: these ids, and every contact not seen since ``unseen_since``."""
    if contact_ids or unseen_since:
        conn.execute(query("crm_contacts_mirror_forget"), {
            "integration_id": integration_id, "contact_ids": list(contact_ids), "unseen_since": unseen_since})


# ------------------------------------------------------------------------------------ refreshing


@dataclass(frozen=True)
class Refresh:
    how: str  # "full" or "changes"
    contacts: int
    newest: datetime  # where the next in-load refresh starts: the newest dateUpdated seen


def refresh(job: Job) -> Refresh:
    """Bring the mirror up to date at the start of a load: a full listing when there is none yet
    (or the last is older than FULL_EVERY), else the changes since the last refresh began."""
    iid = job.integration.id
    with job.connect() as conn:
        mark = watermarks.read(conn, iid, STREAM)
    started = datetime.now(UTC)
    full_at = parse_time((mark.state if mark else {}).get("full_at"))
    full = mark is None or mark.value is None or full_at is None or started - full_at > FULL_EVERY
    since = None if full else mark.value - OVERLAP  # type: ignore[union-attr, operator]
    seen, newest = _list(job, since, started)
    with job.connect() as conn:
        if full:
            forget(conn, iid, unseen_since=started)
        watermarks.advance(conn, iid, STREAM, started,
                           state={"full_at": (started if full else full_at).isoformat()})  # type: ignore[union-attr]
        conn.commit()
    how = "full" if full else "changes"
    log.info("CRM contact mirror refreshed (%s): %d contact(s) read", how, seen)
    return Refresh(how, seen, newest or since or started - OVERLAP)


def refresh_since(job: Job, since: datetime) -> Refresh:
    """The contacts changed at or after ``since`` (HighLevel's time) into the mirror, within a load."""
    seen, newest = _list(job, since, datetime.now(UTC))
    return Refresh("changes", seen, max(newest or since, since))


def _list(job: Job, since: datetime | None, seen_at: datetime) -> tuple[int, datetime | None]:
    """Page the contacts changed since ``since`` (all when None) into the mirror, a commit a page;
    answer how many were read and the newest ``dateUpdated`` among them."""
    iid = job.integration.id
    seen, newest = 0, None
    for page in _pages(job.crm.contacts_updated_since(since, page_limit=SEARCH_PAGE_MAX)):
        contacts = [from_api(c) for c in page]
        with job.connect() as conn:
            put(conn, iid, contacts, seen_at)
            conn.commit()
        seen += len(contacts)
        stamps = [c.date_updated for c in contacts if c.date_updated]
        if stamps:
            newest = max([*stamps, newest] if newest else stamps)
    return seen, newest


def _pages(contacts: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    page: list[dict[str, Any]] = []
    for contact in contacts:
        page.append(contact)
        if len(page) == SEARCH_PAGE_MAX:
            yield page
            page = []
    if page:
        yield page


# ------------------------------------------------------------------------------------ one chunk


def name_tokens(*parts: str | None) -> frozenset[str]:
    """A name compared without regard to case, accents, punctuation or order ("Doe, Jané" is "jane doe")."""
    text = unicodedata.normalize("NFKD", " ".join(p for p in parts if p)).casefold()
    text = "".join(ch if ch.isalnum() else " " for ch in text if not unicodedata.combining(ch))
    return frozenset(text.split())


class ContactIndex:
    """The contacts, entity map and reservations one chunk of writes is planned against.

    A chunk's index holds the few hundred contacts its customers' emails and phones name, keyed by
    email and phone once per change; reservations (one per customer planned) are scanned. Every
    method takes the lock; hold :attr:`lock` around a plan and its reservation."""

    def __init__(self, contacts: Iterable[Contact], contact_of: dict[str, str],
                 customers_of: dict[str, set[str]]) -> None:
        self.lock = threading.RLock()
        self._contacts: dict[str, Contact] = {c.id: c for c in contacts if c.id}
        self._keys: tuple[dict[str, list[Contact]], dict[str, list[Contact]]] | None = None
        self._pending: dict[str, Contact] = {}
        self._pending_target: dict[str, str] = {}
        self._contact_of = dict(contact_of)
        self._customers_of = {k: set(v) for k, v in customers_of.items()}

    def _keyed(self) -> tuple[dict[str, list[Contact]], dict[str, list[Contact]]]:
        """Real contacts by email and by phone (E.164, and digits as ``#digits``), oldest first."""
        if self._keys is None:
            by_email: dict[str, list[Contact]] = {}
            by_phone: dict[str, list[Contact]] = {}
            for c in sorted(self._contacts.values(), key=_age):
                if c.email:
                    by_email.setdefault(c.email, []).append(c)
                for key in {c.phone, f"#{c.digits}" if c.digits else None} - {None}:
                    by_phone.setdefault(key, []).append(c)  # type: ignore[arg-type]
            self._keys = (by_email, by_phone)
        return self._keys

    def _reservations(self, excluding: str | None) -> list[Contact]:
        return [c for s, c in self._pending.items() if s != excluding]

    def get(self, contact_id: str | None) -> Contact | None:
        with self.lock:
            return self._contacts.get(contact_id) if contact_id else None

    def by_email(self, email: str | None, excluding: str | None = None) -> Contact | None:
        """The contact holding ``email`` (the oldest, as HighLevel's duplicate rule finds it), else a
        reservation of it by another customer of this chunk."""
        if not email:
            return None
        with self.lock:
            found = self._keyed()[0].get(email)
            if found:
                return found[0]
            return next((c for c in self._reservations(excluding) if c.email == email), None)

    def by_phone(self, e164: str | None, digits: str | None, excluding: str | None = None) -> list[Contact]:
        """Every contact holding this phone (same E.164 or same digits), oldest first, then reservations."""
        if not e164 and not digits:
            return []
        with self.lock:
            by_phone = self._keyed()[1]
            found = {c.id: c for key in (e164, f"#{digits}" if digits else None) if key
                     for c in by_phone.get(key, ())}
            real = sorted(found.values(), key=_age)
            return real + [c for c in self._reservations(excluding) if c.holds_phone(e164, digits)]

    def contact_of(self, customer_id: str) -> str | None:
        with self.lock:
            return self._contact_of.get(customer_id)

    def customers_of(self, contact: Contact) -> set[str]:
        """The QBO customers synced to this contact, or whose planned write goes to it."""
        with self.lock:
            if contact.id is None:
                return {contact.pending_for} if contact.pending_for else set()
            planned = {s for s, target in self._pending_target.items() if target == contact.id}
            return set(self._customers_of.get(contact.id, ())) | planned

    def reserve(self, customer_id: str, contact: Contact, target_id: str | None = None) -> None:
        """Hold the details a planned write gives a contact (``target_id`` when it updates one)."""
        with self.lock:
            self._pending[customer_id] = replace(contact, id=None, pending_for=customer_id)
            if target_id:
                self._pending_target[customer_id] = target_id

    def release(self, customer_id: str) -> None:
        with self.lock:
            self._pending.pop(customer_id, None)
            self._pending_target.pop(customer_id, None)

    def written(self, customer_id: str, contact: Contact) -> None:
        """A write answered: the contact as it is now, synced to ``customer_id``."""
        with self.lock:
            self.release(customer_id)
            self._contacts[contact.id] = contact  # type: ignore[index]
            self._keys = None
            old = self._contact_of.get(customer_id)
            if old and old != contact.id:
                self._customers_of.get(old, set()).discard(customer_id)
            self._contact_of[customer_id] = contact.id  # type: ignore[assignment]
            self._customers_of.setdefault(contact.id, set()).add(customer_id)  # type: ignore[arg-type]

    def put(self, contact: Contact, customers: set[str] | None = None) -> None:
        """A contact the CRM showed outside the mirror, with the QBO customers synced to it."""
        with self.lock:
            self._contacts[contact.id] = contact  # type: ignore[index]
            self._keys = None
            if customers:
                self._customers_of.setdefault(contact.id, set()).update(customers)  # type: ignore[arg-type]

    def forget(self, contact_id: str) -> None:
        with self.lock:
            self._contacts.pop(contact_id, None)
            self._keys = None


def _age(contact: Contact) -> tuple[bool, datetime, str]:
    """Oldest first, as HighLevel's duplicate rule picks among contacts sharing a detail."""
    return (contact.date_added is None, contact.date_added or datetime.min.replace(tzinfo=UTC), contact.id or "")


def index_for(job: Job, customer_ids: Sequence[str], payloads: Sequence[dict[str, Any]]) -> ContactIndex:
    """The index one chunk is planned against: mirrored contacts holding its emails or phones or
    mapped to its customers, and the entity map both ways around them."""
    iid = job.integration.id
    emails = sorted({e for p in payloads if (e := email_key(p.get("email")))})
    phones = sorted({p["phone"] for p in payloads if p.get("phone")})
    digits = sorted({d for p in payloads if (d := phone_digits(p.get("phone")))})
    with job.connect() as conn:
        mapped = tracking.entity_map_get(conn, iid, "customer", list(customer_ids), "contact")
        contact_of = {sid: row["target_id"] for sid, row in mapped.items()}
        rows = conn.execute(query("crm_contacts_mirror_match"), {
            "integration_id": iid, "emails": emails, "phones": phones, "phone_digits": digits,
            "contact_ids": sorted(set(contact_of.values())),
        }).fetchall()
        contacts = [_from_row(r) for r in rows]
        targets = tracking.entity_map_by_target(conn, iid, "contact", [c.id for c in contacts if c.id])
    customers_of = {cid: {r["source_id"] for r in found if r["source_type"] == "customer"}
                    for cid, found in targets.items()}
    return ContactIndex(contacts, contact_of, customers_of)
