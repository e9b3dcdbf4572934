"""Which CRM contact a QBO customer is written to, and what the write carries (pure rules).

Decided against the mirror (mirror.py) before anything is sent, in this order:

1. **The customer's own contact.** A customer synced before is mapped to its contact in
   ``sync.entity_map``; that contact is updated by id, so a corrected email changes the contact
   instead of creating a second one. When the new email belongs to another CRM contact, neither
   contact is touched and the row is skipped saying which contact holds it: merging two people is
   for a person to decide in the CRM.
2. **Same email.** Otherwise a contact with the customer's email (whatever its case) is the same
   person: it is updated by id and linked to the customer.
3. **Same phone, same person.** Otherwise a contact holding the customer's phone is the same person
   only when nothing says it is not: it has no email, or the customer has none, and it has no name
   or the same name (compared without case, accents or word order). It is updated and linked,
   which adds the customer's email to a contact that had none.
4. **Otherwise a new contact.** When the phone belongs to another person (a contact with a
   different email, or with a different name), the contact is created without the phone, and the
   row says whose phone it is; a customer with no email is then skipped, as nothing would be left
   to reach or match them by.

A contact already synced to another QBO customer is never taken over: that row is skipped naming
the customer. What is written keeps what the CRM has: the email is left out when the contact holds
it already (its spelling is kept), the phone when the contact holds it already or another contact
does (saying so), ``source`` is only set on a create, and tags are never replaced: a create carries
the integration's tag, a contact linked for the first time gets its own tags plus the integration's
(the update operation replaces tags, so they are sent whole), and later updates send no tags at all.

Every plan reserves the email and phone it gives a contact, so a later customer of the same chunk
(one thread plans, several write) sees them as taken: two customers sharing a phone in one batch
end as two contacts, the first with the phone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qbo_crm_sync.flows.contacts.mirror import Contact, ContactIndex, email_key, name_tokens
from qbo_crm_sync.flows.contacts.names import SOURCE, TAG
from qbo_crm_sync.flows.contacts_transform import phone_digits

# Contact fields an update by id may carry (PUT /contacts/{id}; companyName is accepted although
# the published UpdateContactDto lacks it).
UPDATE_FIELDS = ("firstName", "lastName", "name", "email", "phone", "companyName", "address1", "city", "state",
                 "postalCode", "country")


@dataclass(frozen=True)
class Plan:
    source_id: str
    action: str  # "create", "update" or "skip"
    reason: str
    contact_id: str | None = None  # the contact an update writes to
    body: dict[str, Any] = field(default_factory=dict)
    reserved: Contact | None = None  # the email, phone and name the write gives a contact
    # Contacts a skip rests on, read again before it stands (a search never shows a deletion).
    confirm: tuple[str, ...] = ()


def plan(index: ContactIndex, source_id: str, payload: dict[str, Any]) -> Plan:
    """Decide the write for one customer and reserve what it takes, in one step under the index lock."""
    with index.lock:
        index.release(source_id)
        decided = _decide(index, source_id, payload)
        if decided.reserved is not None:
            index.reserve(source_id, decided.reserved, decided.contact_id)
        return decided


@dataclass(frozen=True)
class _Customer:
    source_id: str
    payload: dict[str, Any]
    email: str | None
    phone: str | None
    digits: str | None
    name: frozenset[str]

    @classmethod
    def of(cls, source_id: str, payload: dict[str, Any]) -> _Customer:
        phone = payload.get("phone") or None
        name = name_tokens(payload.get("firstName"), payload.get("lastName")) or name_tokens(payload.get("name"))
        return cls(source_id, payload, email_key(payload.get("email")), phone, phone_digits(phone), name)

    def reservation(self, body: dict[str, Any], target: Contact | None = None) -> Contact:
        """The email and phone the written contact will hold: sent now, or already its own."""
        email = email_key(body.get("email")) or (self.email if target and target.email == self.email else None)
        phone = body.get("phone") or (self.phone if target and target.holds_phone(self.phone, self.digits) else None)
        return Contact(None, email=email, phone=phone, digits=phone_digits(phone),
                       first_name=self.payload.get("firstName"), last_name=self.payload.get("lastName"),
                       pending_for=self.source_id)


def _decide(index: ContactIndex, source_id: str, payload: dict[str, Any]) -> Plan:
    me = _Customer.of(source_id, payload)
    mapped_id = index.contact_of(source_id)
    mapped = index.get(mapped_id)
    gone = f"; its earlier contact {mapped_id} is no longer in the CRM" if mapped_id and mapped is None else ""
    holder = index.by_email(me.email, excluding=source_id)

    if mapped is not None:
        if holder is not None and holder.id != mapped.id:
            reason = (f"email {me.email} belongs to {holder.describe()}, not to this customer's "
                      f"{mapped.describe()}: neither contact was changed (merge them in the CRM if they are one "
                      "person)")
            return Plan(source_id, "skip", reason, confirm=tuple(c.id for c in (mapped, holder) if c.id))
        return _update(index, me, mapped, "this customer's contact", link=False)
    if holder is not None:
        taken = _taken_by_another(index, me, holder, "email")
        return _skip(me, taken + gone) if taken else _update(index, me, holder, "found by email", True, gone)

    holders = index.by_phone(me.phone, me.digits, excluding=source_id)
    same = [c for c in holders if _same_person(c, me)]
    if same:
        taken = _taken_by_another(index, me, same[0], "phone")
        if taken:
            return _skip(me, taken + gone)
        how = "found by phone, same name" if me.name and name_tokens(same[0].first_name, same[0].last_name) \
            else "found by phone"
        return _update(index, me, same[0], how, True, gone)
    if holders and not me.email:
        return _skip(me, f"phone {me.phone} belongs to {holders[0].describe()}, another person "
                         f"({_why_another(holders[0], me)}), and the customer has no email: no contact written")
    return _create(me, holders[0] if holders else None, gone)


def _same_person(contact: Contact, me: _Customer) -> bool:
    """A contact found by phone is this customer unless its email or its name says otherwise."""
    if contact.email and me.email:
        return contact.email == me.email
    theirs = name_tokens(contact.first_name, contact.last_name)
    return not theirs or not me.name or theirs == me.name


def _why_another(contact: Contact, me: _Customer) -> str:
    return "a different email" if contact.email and me.email else "a different name"


def _taken_by_another(index: ContactIndex, me: _Customer, contact: Contact, by: str) -> str | None:
    """Why ``contact`` cannot be this customer's, when another QBO customer has it; else None."""
    if contact.id is None:
        return f"same {by} as QBO customer {contact.pending_for}, whose contact is written in this run"
    others = sorted(index.customers_of(contact) - {me.source_id})
    if not others:
        return None
    return f"same {by} as {contact.describe()}, which QBO customer {others[0]} is synced to"


def _skip(me: _Customer, reason: str) -> Plan:
    return Plan(me.source_id, "skip", reason)


def _create(me: _Customer, phone_holder: Contact | None, gone: str) -> Plan:
    body = {**me.payload, "source": SOURCE, "tags": [TAG]}
    reason = "created contact"
    if phone_holder is not None:
        body.pop("phone", None)
        reason += (f" without phone {me.phone}: it belongs to {phone_holder.describe()}, another person "
                   f"({_why_another(phone_holder, me)})")
    return Plan(me.source_id, "create", reason + gone, body=body, reserved=me.reservation(body))


def _update(index: ContactIndex, me: _Customer, target: Contact, how: str, link: bool, gone: str = "") -> Plan:
    body = {k: v for k, v in me.payload.items() if k in UPDATE_FIELDS}
    notes: list[str] = []
    if me.email and target.email == me.email:
        body.pop("email", None)  # already there, spelt as the CRM has it
    elif me.email and target.email:
        notes.append(f"email changed from {target.email} to {me.email}")
    elif me.email:
        notes.append(f"email {me.email} added")
    if me.phone:
        others = [c for c in index.by_phone(me.phone, me.digits, excluding=me.source_id) if c.id != target.id]
        if target.holds_phone(me.phone, me.digits):
            body.pop("phone", None)  # already there, written as the CRM has it
        elif others:
            body.pop("phone", None)
            notes.append(f"phone {me.phone} left out: it belongs to {others[0].describe()}")
    if link and TAG not in target.tags:
        body["tags"] = [*target.tags, TAG]
        notes.append(f"kept its tags ({', '.join(target.tags)}) and added {TAG}" if target.tags else f"tagged {TAG}")
    reason = f"updated {target.describe()} ({how})" + "".join(f"; {n}" for n in notes) + gone
    return Plan(me.source_id, "update", reason, contact_id=target.id, body=body,
                reserved=me.reservation(body, target))
