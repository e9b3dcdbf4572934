"""Review requests, the CRM side: whose contact a customer is, how to reach it, and whether a
request whose send went unanswered reached the CRM.

**The contact.** A customer synced before has its contact in the entity map. A customer the
integration itself created from a CRM contact (an invoice or receipt payer) is that contact: found
by its email with HighLevel's duplicate search. Any other customer goes through the contacts flow's
own steps (flows/contacts: checks, then the mirror-based rules that never overwrite another person),
recorded as a contacts run of this DAG run. The contact is then read afresh (``GET /contacts/{id}``:
a search does not carry the do-not-disturb settings, GoHighLevel/highlevel-api-docs#43).

**A send in doubt** (claimed, sent, no answer) is settled by asking the CRM, never by sending
blindly. It went out if the contact carries the ``review-requested`` tag (added only after the CRM
accepted a request), or if the contact's conversations hold an outbound message on the claimed
channel dated from the claim on: one carrying the request's marker for certain, any other as a
precaution (a second request is worse than none). Only when the CRM shows neither is the request
provably not sent, and sent again. A read that fails leaves the doubt for the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from qbo_crm_sync.errors import ApiError, AuthError, RetryableError
from qbo_crm_sync.flows.extraction import parse_time
from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.flows.reviews.render import EMAIL, SMS
from qbo_crm_sync.flows.reviews.shared import TAG
from qbo_crm_sync.store import outbox, staging, tracking
from qbo_crm_sync.store.sql import query

log = logging.getLogger(__name__)

CONTACTS_FLOW = "contacts"
# HighLevel's clock and ours may differ: messages this much older than the claim still count.
CLOCK_SKEW = timedelta(minutes=10)
# A claim this old can no longer be overtaken by its own send still on its way (the client gives up
# after 60 s): only then does a CRM without the message prove that it did not go out.
SETTLED_AFTER = timedelta(minutes=3)
QBO_IDS_PER_QUERY = 100
_DND_ON = ("active", "permanent")
_MESSAGE_TYPES = {EMAIL: ("TYPE_EMAIL", 3), SMS: ("TYPE_SMS", 1)}


@dataclass(frozen=True)
class Found:
    """A customer's CRM contact, or why there is none (``status``: the row's status then)."""

    contact_id: str | None
    status: str = "loaded"
    reason: str = ""


@dataclass(frozen=True)
class Reach:
    """How a review request reaches a contact, or why it cannot (``status`` skipped or rejected)."""

    channel: str | None
    address: str | None
    status: str = "due"
    reason: str = ""


def reach(contact: Mapping[str, Any]) -> Reach:
    """Email when the contact has one, else SMS; neither: rejected; do-not-disturb on that channel
    (or on all of them): skipped."""
    email = str(contact.get("email") or "").strip()
    phone = str(contact.get("phone") or "").strip()
    if email:
        channel, address = EMAIL, email
    elif phone:
        channel, address = SMS, phone
    else:
        return Reach(None, None, "rejected", "the CRM contact has neither an email nor a phone to send the "
                                             "review request to")
    if contact.get("dnd") is True:
        return Reach(channel, address, "skipped", "the CRM contact is marked do-not-disturb (all channels)")
    setting = (contact.get("dndSettings") or {}).get(channel) or {}
    if isinstance(setting, dict) and str(setting.get("status") or "").lower() in _DND_ON:
        return Reach(channel, address, "skipped", f"the CRM contact is marked do-not-disturb for {channel} "
                                                  f"({address}), the channel it would be asked on")
    return Reach(channel, address)


def has_tag(contact: Mapping[str, Any], tag: str = TAG) -> bool:
    return tag in {str(t).strip().lower() for t in contact.get("tags") or []}


# ------------------------------------------------------------------------------ the contact


def contacts_for(job: Job, customer_ids: Sequence[str]) -> dict[str, Found]:
    """Each customer's CRM contact id, found or created by the contacts flow's rules."""
    iid = job.integration.id
    ids = sorted(set(customer_ids))
    with job.connect() as conn:
        mapped = tracking.entity_map_get(conn, iid, "customer", ids, "contact")
    found = {cid: Found(row["target_id"]) for cid, row in mapped.items()}
    missing = [c for c in ids if c not in found]
    if missing:
        found.update(_payers(job, missing))
        missing = [c for c in missing if c not in found]
    if missing:
        found.update(_through_contacts_flow(job, missing))
    return found


def _payers(job: Job, customer_ids: list[str]) -> dict[str, Found]:
    """Customers the integration created from CRM contacts (by email): their contact, by that email."""
    iid = job.integration.id
    with job.connect() as conn:
        by_target = tracking.entity_map_by_target(conn, iid, "customer", customer_ids)
    out: dict[str, Found] = {}
    for cid in customer_ids:
        emails = [r["source_id"] for r in by_target.get(cid, []) if r["source_type"] == "contact_email"]
        if not emails:
            continue
        try:
            contact = job.crm.find_duplicate(email=emails[0])
        except (RetryableError, ApiError) as exc:
            if isinstance(exc, AuthError):
                raise
            out[cid] = Found(None, "failed", f"looking up the CRM contact with email {emails[0]} failed: {exc} "
                                             "(retried next run)")
            continue
        if contact and contact.get("id"):
            out[cid] = Found(str(contact["id"]))
            with job.connect() as conn:
                tracking.entity_map_put(conn, [{
                    "integration_id": iid, "source_system": "quickbooks", "source_type": "customer",
                    "source_id": cid, "target_system": "highlevel", "target_type": "contact",
                    "target_id": str(contact["id"])}])
                conn.commit()
    return out


def _through_contacts_flow(job: Job, customer_ids: list[str]) -> dict[str, Found]:
    """Write these customers' contacts as the contacts flow does (its checks, its rules), as a
    contacts run of this run, and answer the contact each got or why none."""
    from qbo_crm_sync.flows.contacts import transform_customers, write_contacts
    from qbo_crm_sync.flows.job import Job as FlowJob

    iid = job.integration.id
    rows = _customer_rows(job, customer_ids)
    unknown = [c for c in customer_ids if c not in {r["source_id"] for r in rows}]
    with job.connect() as conn:
        run_id = tracking.start_run(conn, iid, CONTACTS_FLOW, job.ctx)
        conn.commit()
    writer = FlowJob(db_url=job.db_url, integration=job.integration, run_id=run_id, ctx=job.ctx, flow=CONTACTS_FLOW,
                     qbo_hook=job.qbo_hook, crm_hook=job.crm_hook)
    counts: dict[str, Any] = {}
    status = "success"
    try:
        if rows:
            counts.update(transform_customers(writer, rows))
            with job.connect() as conn:
                items = [i for i in outbox.waiting(conn, iid, CONTACTS_FLOW) if i.source_id in set(customer_ids)]
            if items:
                counts.update(write_contacts(writer, items))
    except BaseException:
        status = "failed"
        raise
    finally:
        with job.connect() as conn:
            tracking.finish_run(conn, run_id, status, {**counts, "for": "review requests"})
            conn.commit()
    with job.connect() as conn:
        mapped = tracking.entity_map_get(conn, iid, "customer", customer_ids, "contact")
        rows_now = {r["source_id"]: r for r in conn.execute(query("row_status_get"), {
            "integration_id": iid, "flow": CONTACTS_FLOW, "source_ids": customer_ids}).fetchall()}
    out: dict[str, Found] = {}
    for cid in customer_ids:
        if cid in mapped:
            out[cid] = Found(mapped[cid]["target_id"])
        elif cid in unknown:
            out[cid] = Found(None, "failed", f"QBO customer {cid} could not be read (retried next run)")
        else:
            row = rows_now.get(cid) or {}
            status = row.get("status") or "failed"
            status = status if status in ("rejected", "skipped") else "failed"
            out[cid] = Found(None, status, f"no CRM contact for QBO customer {cid}: "
                                           f"{row.get('reason') or 'the contacts flow wrote none'}")
    return out


def _customer_rows(job: Job, customer_ids: list[str]) -> list[dict[str, Any]]:
    """The customers as the contacts flow takes them: staged by it, else read from QBO by id."""
    from qbo_crm_sync.hooks.quickbooks import quote

    iid = job.integration.id
    with job.connect() as conn:
        rows = list(conn.execute(query("reviews_customers_staged"),
                                 {"integration_id": iid, "source_ids": customer_ids}).fetchall())
    have = {r["source_id"] for r in rows}
    rest = [c for c in customer_ids if c not in have]
    for start in range(0, len(rest), QBO_IDS_PER_QUERY):
        chunk = rest[start:start + QBO_IDS_PER_QUERY]
        # A QBO query, not SQL: every literal goes through quote().
        select = ("SELECT * FROM Customer WHERE Id IN (" + ", ".join(quote(c) for c in chunk)  # noqa: S608
                  + ") AND Active IN (true, false)")
        for customer in job.qbo.query(select):
            meta = customer.get("MetaData") or {}
            rows.append({"source_id": str(customer["Id"]), "raw": customer, "payload_hash": staging.payload_hash(customer),
                         "created_at_source": parse_time(meta.get("CreateTime"))})
    return rows


# ------------------------------------------------------------------------------ a send in doubt


@dataclass(frozen=True)
class Evidence:
    """What the CRM shows about a request in doubt: ``sent`` True/False, or None when it could not tell."""

    sent: bool | None
    reason: str
    message_id: str | None = None
    conversation_id: str | None = None


def ask_crm(job: Job, claim: Mapping[str, Any], settled: bool = True) -> Evidence:
    """Did the claimed request reach the CRM? See the module's doc. ``settled`` False (right after
    the send's answer was lost) or a claim younger than SETTLED_AFTER: only a positive answer counts,
    as the request may still be on its way."""
    contact_id, channel, mark = claim["contact_id"], claim["channel"], claim["marker"]
    since: datetime = claim["claimed_at"] - CLOCK_SKEW
    try:
        contact = job.crm.get_contact(contact_id)
        if contact is None:
            return Evidence(None, f"CRM contact {contact_id} no longer exists: whether the review request went "
                                  "out cannot be told (needs a look)")
        if has_tag(contact):
            return Evidence(True, f"the CRM contact carries the {TAG} tag")
        wanted_type, wanted_number = _MESSAGE_TYPES[channel]
        other: Evidence | None = None
        for conversation in job.crm.conversations_of(contact_id):
            for message in job.crm.conversation_messages(str(conversation["id"])):
                added = parse_time(message.get("dateAdded"))
                if added is not None and added < since:
                    break
                if message.get("direction") != "outbound":
                    continue
                if message.get("messageType") != wanted_type and message.get("type") != wanted_number:
                    continue
                if mark in str(message.get("body") or ""):
                    return Evidence(True, f"the CRM holds the request as message {message.get('id')}",
                                    message.get("id"), str(conversation["id"]))
                if other is None:
                    other = Evidence(True, f"the CRM holds an outbound {channel} message to the contact from "
                                           f"then ({message.get('id')}): taken as the request",
                                     message.get("id"), str(conversation["id"]))
    except (RetryableError, ApiError) as exc:
        if isinstance(exc, AuthError):
            raise
        return Evidence(None, f"asking the CRM whether the review request went out failed: {exc} (asked again "
                              "next run)")
    if other is not None:
        return other
    if not settled or datetime.now(UTC) - claim["claimed_at"] < SETTLED_AFTER:
        return Evidence(None, f"the CRM shows no {channel} message to the contact yet (asked again next run)")
    return Evidence(False, f"the CRM holds no {channel} message to the contact since the claim")
