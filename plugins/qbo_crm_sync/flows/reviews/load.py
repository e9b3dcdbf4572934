"""Review requests, load: each queued request checked again, claimed, sent through the CRM's
conversations API, and the contact tagged ``review-requested``.

**At most one per customer, ever.** The fact lives in ``sync.review_request``, one row per
(integration, customer) under a primary key. Everything below runs under a per-integration
advisory lock, so runs that overlap take turns. For each queued request, in order:

1. its verdict is taken again from what the store holds now (a payment voided or deleted since,
   a request made meanwhile, the box unticked since: nothing is sent);
2. a claim left ``sending`` by an earlier load (the CRM's answer was lost, or the worker died) is
   settled first by asking the CRM (crm.ask_crm): sent, or provably not sent, or still unknown (then
   nothing happens until the next run asks again);
3. the contact is found or created (crm.contacts_for) and read afresh: its channel (email, else SMS)
   and do-not-disturb decide; a contact already tagged ``review-requested`` was asked before;
4. the claim row is written ``sending`` and committed, and only then is the message sent. The send
   is never retried blindly (the hook does not resend a request whose answer was lost);
5. the answer settles the claim: ``sent`` (or ``undelivered`` when the CRM kept the message but did
   not deliver it), or ``not_sent`` when the CRM refused the request outright; a lost answer leaves
   it ``sending`` and the CRM is asked at once, and again next run if it cannot tell yet;
6. the contact gets the tag (added to its tags) once the request went out, or next run if that
   request fails.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from qbo_crm_sync.errors import ApiError, AuthError, RateLimited, RetryableError
from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.flows.qbo_customers import advisory_lock
from qbo_crm_sync.flows.reviews import crm, render
from qbo_crm_sync.flows.reviews.shared import FLOW, TAG, claims_of, payments_staged
from qbo_crm_sync.flows.reviews.transform import verdicts
from qbo_crm_sync.store import integrations, outbox, tracking
from qbo_crm_sync.store.sql import query
from qbo_crm_sync.store.tracking import Outcome

log = logging.getLogger(__name__)


@dataclass
class _Tally:
    sent: int = 0
    confirmed: int = 0  # sends in doubt the CRM showed had gone out
    resent: int = 0  # sends in doubt the CRM showed had not, sent again
    in_doubt: int = 0
    outcomes: list[Outcome] = field(default_factory=list)


def load(job: Job) -> dict[str, Any]:
    with advisory_lock(job.db_url, f"reviews_load:{job.integration.id}"):
        return _load_locked(job)


def _load_locked(job: Job) -> dict[str, Any]:
    iid = job.integration.id
    tally = _Tally()
    tagged = _tag_pending(job)
    with job.connect() as conn:
        items = outbox.waiting(conn, iid, FLOW)
    if not items:
        log.info("No review request to send")
        return {"to_load": 0, "tagged_late": tagged}
    log.info("%d review request(s) to send", len(items))
    for item in items:
        outcome = _one(job, item, tally)
        with job.connect() as conn:
            tracking.record(conn, job.run_id, iid, FLOW, [outcome])
            if outcome.status != "failed":
                outbox.remove(conn, iid, FLOW, [item.source_id])
            conn.commit()
        tally.outcomes.append(outcome)
    by_status: dict[str, int] = {}
    for o in tally.outcomes:
        by_status[o.status] = by_status.get(o.status, 0) + 1
    result = {"to_load": len(items), "review_requests_sent": tally.sent, "sends_confirmed": tally.confirmed,
              "sends_resent": tally.resent, "sends_in_doubt": tally.in_doubt, "tagged_late": tagged,
              **{f"load_{k}": v for k, v in by_status.items()}}
    log.info("Review requests: %s", result)
    return result


def _outcome(item: outbox.Item, status: str, reason: str, target_id: str | None = None) -> Outcome:
    return Outcome(item.source_id, status, reason, target_id=target_id, payload_hash=item.payload_hash)


def _recheck(job: Job, item: outbox.Item, customer_id: str) -> tuple[Any, dict[str, Any] | None, dict[str, Any]]:
    """The payment's verdict from what the store holds now, the customer's claim, the current settings."""
    iid = job.integration.id
    with job.connect() as conn:
        payment = payments_staged(conn, iid, [], [item.source_id]).get(item.source_id)
        claim = next((c for c in claims_of(conn, iid, [customer_id]) if c["customer_id"] == customer_id), None)
        verdict = verdicts(conn, job, [payment])[0] if payment is not None else None
        current = integrations.get(conn, iid)
    return verdict, claim, (current or job.integration).settings


def _one(job: Job, item: outbox.Item, tally: _Tally) -> Outcome:
    iid = job.integration.id
    pid = item.source_id
    customer_id = str(item.payload.get("customer_id") or "")
    verdict, claim, settings = _recheck(job, item, customer_id)
    if verdict is not None and verdict.due and claim is not None and claim["state"] == "sending":
        settled = _settle_doubt(job, item, claim, tally)
        if settled is not None:
            return settled
        # Provably not sent: judged again as if it had never been claimed (voided meanwhile, say).
        verdict, claim, settings = _recheck(job, item, customer_id)
    if verdict is None:
        return _outcome(item, "failed", "payment no longer staged (read again next run)")
    if not verdict.due:
        return _outcome(item, verdict.status, verdict.reason)
    if settings.get("auto_send_review") is not True:
        return _outcome(item, "skipped", "auto_send_review was turned off before the review request went out")
    if not settings.get("review_link"):
        return _outcome(item, "failed", "no review link is set for this integration (QB Connect page, review "
                                        "requests): the request waits for one")
    found = crm.contacts_for(job, [customer_id]).get(customer_id) or crm.Found(None, "failed", "no contact found")
    if found.contact_id is None:
        return _outcome(item, found.status, found.reason)
    try:
        contact = job.crm.get_contact(found.contact_id)
    except (RetryableError, ApiError) as exc:
        if isinstance(exc, AuthError):
            raise
        return _outcome(item, "failed", f"reading CRM contact {found.contact_id} failed: {exc} (retried next run)")
    if contact is None:
        return _outcome(item, "failed", f"CRM contact {found.contact_id} of QBO customer {customer_id} no longer "
                                        "exists (retried next run)")
    if crm.has_tag(contact):
        return _outcome(item, "skipped", f"CRM contact {found.contact_id} already carries the {TAG} tag: asked for "
                                         "a review before", found.contact_id)
    way = crm.reach(contact)
    if way.status != "due":
        return _outcome(item, way.status, way.reason, found.contact_id)
    assert way.channel is not None
    mark = render.marker(iid, customer_id)
    company = job.integration.company_name or job.integration.location_name
    first_name = contact.get("firstName")
    message = (render.email(settings, found.contact_id, first_name, company, mark) if way.channel == render.EMAIL
               else render.sms(settings, found.contact_id, first_name, company))
    with job.connect() as conn:
        claimed = conn.execute(query("reviews_claim_put"), {
            "integration_id": iid, "customer_id": customer_id, "payment_id": pid,
            "invoice_id": item.payload.get("invoice_id") or "", "contact_id": found.contact_id,
            "channel": way.channel, "address": way.address, "marker": mark, "run_id": job.run_id,
        }).fetchone()
        conn.commit()
    if claimed is None:
        # Another load claimed the customer between the check and now: never a second request.
        return _outcome(item, "skipped", "at most one review request per customer: another run claimed this "
                                         "customer's request")
    return _send(job, item, claimed, message, tally, resent=claimed["sends"] > 1)


def _send(job: Job, item: outbox.Item, claim: Mapping[str, Any], message: render.Message, tally: _Tally,
          resent: bool = False) -> Outcome:
    to = f"{'email' if message.channel == render.EMAIL else 'SMS'} to {claim['address']}"
    try:
        answer = job.crm.send_message(message.body)
    except AuthError:
        raise
    except RateLimited as exc:  # refused before it was processed: nothing went out
        _settle(job, claim, "not_sent", reason=f"the CRM refused it: {exc}")
        return _outcome(item, "failed", f"the CRM throttled the review request, nothing was sent: {exc} "
                                        "(retried next run)")
    except RetryableError as exc:
        log.warning("The CRM's answer to the review request for customer %s was lost (%s): asking the CRM",
                    claim["customer_id"], exc)
        # Only what the CRM shows counts now: a request still on its way could land after a look.
        evidence = crm.ask_crm(job, claim, settled=False)
        return _after_doubt(job, item, claim, evidence, tally, f"no answer to the send ({exc}); ")
    except ApiError as exc:
        _settle(job, claim, "not_sent", reason=f"the CRM refused it ({exc.status}): {exc}")
        return _outcome(item, "failed", f"the CRM refused the review request ({exc.status}): {exc} (retried next run)")
    message_id = str(answer.get("messageId") or "") or None
    if str(answer.get("status") or "").lower() == "failed":
        # Not tagged: the contact was not asked. Never sent again either: the CRM holds the message.
        _settle(job, claim, "undelivered", message_id, answer.get("conversationId"),
                "the CRM kept the message but did not deliver it")
        return _outcome(item, "skipped", f"the CRM did not deliver the review request ({to}, message {message_id}: "
                                         "status failed, e.g. do-not-disturb set meanwhile); not sent again",
                        message_id)
    _settle(job, claim, "sent", message_id, answer.get("conversationId"))
    tally.sent += 1
    tally.resent += 1 if resent else 0
    tagged = _tag(job, claim)
    return _outcome(item, "loaded", f"review request sent by {to} (message {message_id})"
                    + ("" if tagged else f"; tagging the contact {TAG} failed (retried next run)"), message_id)


def _settle_doubt(job: Job, item: outbox.Item, claim: Mapping[str, Any], tally: _Tally) -> Outcome | None:
    """A claim left ``sending``: None when the request provably did not go out (it may be sent now)."""
    evidence = crm.ask_crm(job, claim)
    if evidence.sent is False:
        _settle(job, claim, "not_sent", reason=evidence.reason)
        log.info("Review request for customer %s provably not sent (%s): sending it", claim["customer_id"],
                 evidence.reason)
        return None
    return _after_doubt(job, item, claim, evidence, tally, "")


def _after_doubt(job: Job, item: outbox.Item, claim: Mapping[str, Any], evidence: crm.Evidence, tally: _Tally,
                 prefix: str) -> Outcome:
    if evidence.sent is True:
        _settle(job, claim, "sent", evidence.message_id, evidence.conversation_id, evidence.reason)
        tally.confirmed += 1
        tagged = _tag(job, claim)
        return _outcome(item, "loaded", f"{prefix}review request sent to {claim['address']} ({evidence.reason})"
                        + ("" if tagged else f"; tagging the contact {TAG} failed (retried next run)"),
                        evidence.message_id)
    tally.in_doubt += 1
    return _outcome(item, "failed", f"{prefix}{evidence.reason}; the review request is in doubt and is not sent "
                                    "again until the CRM shows it did not go out")


def _settle(job: Job, claim: Mapping[str, Any], state: str, message_id: str | None = None,
            conversation_id: Any = None, reason: str | None = None) -> None:
    with job.connect() as conn:
        conn.execute(query("reviews_claim_settle"), {
            "integration_id": job.integration.id, "customer_id": claim["customer_id"], "state": state,
            "message_id": message_id, "conversation_id": str(conversation_id) if conversation_id else None,
            "reason": reason})
        conn.commit()


def _tag(job: Job, claim: Mapping[str, Any]) -> bool:
    """Add the review-requested tag to the contact (its other tags stay); False when that failed."""
    try:
        job.crm.add_tags(claim["contact_id"], [TAG])
    except (RetryableError, ApiError) as exc:
        if isinstance(exc, AuthError):
            raise
        log.warning("Tagging CRM contact %s %s failed: %s", claim["contact_id"], TAG, exc)
        return False
    with job.connect() as conn:
        conn.execute(query("reviews_claim_tagged"),
                     {"integration_id": job.integration.id, "customer_id": claim["customer_id"]})
        conn.commit()
    return True


def _tag_pending(job: Job) -> int:
    """Tag the contacts of requests that went out while tagging failed."""
    with job.connect() as conn:
        rows = conn.execute(query("reviews_claims_untagged"), {"integration_id": job.integration.id}).fetchall()
    return sum(1 for row in rows if _tag(job, row))
