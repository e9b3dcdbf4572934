"""The review request rules (flows/reviews/decide.py), the message (render.py) and how a contact is
reached (crm.reach): pure functions, no I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from qbo_crm_sync.flows.reviews import crm, render
from qbo_crm_sync.flows.reviews.decide import Claim, Invoice, Payment, decide, first_invoice, settling_payment
from qbo_crm_sync.flows.reviews.shared import payment_of
from qbo_crm_sync.store.integrations import DEFAULT_SETTINGS

CONNECTED = datetime(2026, 3, 1, 9, tzinfo=UTC)
LATER = CONNECTED + timedelta(days=2)


def inv(id: str, day: int, total: str = "100", balance: str = "0", payments: tuple[str, ...] = (),
        deleted: bool = False) -> Invoice:
    return Invoice(id, "C1", f"10{id}", date(2026, 2, day), Decimal(total), Decimal(balance), payments, deleted)


def pay(id: str, *invoices: str, at: datetime = LATER, **kw: object) -> Payment:
    return Payment(id, "C1", Decimal("100"), tuple(invoices), created_at=at, **kw)  # type: ignore[arg-type]


def verdict(payment: Payment, invoices: list[Invoice], others: tuple[Payment, ...] = (), on: bool = True,
            claim: Claim | None = None):
    known = {p.id: p for p in (*others, payment)}
    return decide(payment, invoices, known, connected_at=CONNECTED, auto_send_at_payment=on, claim=claim)


def test_the_first_invoice_is_the_earliest_by_txn_date_then_id() -> None:
    assert first_invoice([inv("7", 5), inv("3", 9), inv("12", 5)]).id == "7"  # 7 < 12 as QBO numbers them
    assert first_invoice([inv("9", 5), inv("10", 5)]).id == "9"
    # Deleted invoices and zero-amount ones (a voided invoice is zeroed) are no purchase.
    assert first_invoice([inv("1", 1, deleted=True), inv("2", 2, total="0"), inv("3", 3)]).id == "3"
    assert first_invoice([inv("1", 1, deleted=True)]) is None


def test_a_payment_that_settles_the_first_invoice_is_due() -> None:
    v = verdict(pay("P1", "1"), [inv("1", 1, payments=("P1",)), inv("2", 3)])
    assert v.due and v.customer_id == "C1" and v.invoice_id == "1"


def test_payments_of_later_invoices_never_trigger_a_request() -> None:
    v = verdict(pay("P2", "2"), [inv("1", 1, balance="100"), inv("2", 3, payments=("P2",))])
    assert v.status == "skipped" and "not the customer's first invoice (invoice 101 (Id 1))" in v.reason


def test_a_partial_payment_does_not_and_the_settling_one_does() -> None:
    invoices = [inv("1", 1, balance="40", payments=("P1",))]
    first = verdict(pay("P1", "1"), invoices)
    assert first.status == "skipped" and "40.00 of 100.00 open" in first.reason
    paid = [inv("1", 1, balance="0", payments=("P1", "P2"))]
    p1, p2 = pay("P1", "1", at=LATER), pay("P2", "1", at=LATER + timedelta(hours=1))
    assert verdict(p2, paid, (p1,)).due
    # The earlier partial payment seen again (edited, say) did not settle it.
    again = verdict(p1, paid, (p2,))
    assert again.status == "skipped" and "paid in full by payment P2" in again.reason
    assert settling_payment(paid[0], {"P1": p1, "P2": p2}) == p2


def test_voided_and_deleted_payments_cancel() -> None:
    voided = payment_of({"Id": "P1", "CustomerRef": {"value": "C1"}, "TotalAmt": 0, "Line": [],
                         "PrivateNote": "Voided", "MetaData": {"CreateTime": LATER.isoformat()}})
    assert voided.voided and voided.cancelled == "voided"
    v = verdict(voided, [inv("1", 1, balance="100")])
    assert v.status == "skipped" and "voided" in v.reason
    gone = payment_of({"domain": "QBO", "status": "Deleted", "Id": "P1"})
    assert gone.deleted and verdict(gone, [inv("1", 1)]).status == "skipped"
    # A voided payment no longer settles the invoice for another one.
    assert settling_payment(inv("1", 1, payments=("P1", "P2")), {"P1": pay("P1", "1", at=LATER + timedelta(1)),
                                                                 "P2": pay("P2", "1", voided=True)}).id == "P1"


def test_the_box_at_the_moment_of_the_payment_decides() -> None:
    v = verdict(pay("P1", "1"), [inv("1", 1, payments=("P1",))], on=False)
    assert v.status == "skipped" and "auto_send_review was off" in v.reason and "ticking it later" in v.reason
    early = verdict(pay("P1", "1", at=CONNECTED - timedelta(minutes=1)), [inv("1", 1, payments=("P1",))])
    assert early.status == "skipped" and "before the integration was connected" in early.reason


def test_at_most_one_request_per_customer() -> None:
    invoices = [inv("1", 1, payments=("P1",))]
    sent = Claim("C1", "P0", "sent", "m-1", "Email", "ann@example.com")
    v = verdict(pay("P1", "1"), invoices, claim=sent)
    assert v.status == "skipped" and "at most one" in v.reason and "m-1" in v.reason
    doubt = Claim("C1", "P0", "sending", channel="SMS")
    assert verdict(pay("P1", "1"), invoices, claim=doubt).status == "skipped"
    # Its own request: loaded while sent (even after a void), due while in doubt (the load asks the CRM).
    own = Claim("C1", "P1", "sent", "m-1", "Email", "ann@example.com")
    assert verdict(pay("P1", "1"), invoices, claim=own).status == "loaded"
    voided = verdict(pay("P1", voided=True), invoices, claim=own)
    assert voided.status == "loaded" and "voided in QuickBooks after it went out" in voided.reason
    assert verdict(pay("P1", "1"), invoices, claim=Claim("C1", "P1", "sending")).due
    # Provably not sent: as if never claimed.
    assert verdict(pay("P1", "1"), invoices, claim=Claim("C1", "P9", "not_sent")).due


def test_unapplied_payments_and_unknown_invoices() -> None:
    assert "applied to no invoice" in verdict(pay("P1"), [inv("1", 1)]).reason
    missing = verdict(pay("P1", "8"), [inv("1", 1, balance="100")])
    assert missing.status == "failed" and "not mirrored yet" in missing.reason


# -- the message -------------------------------------------------------------------------------

def test_email_fills_the_templates_escapes_text_and_carries_the_marker() -> None:
    settings = {**DEFAULT_SETTINGS, "review_link": "https://g.page/r/x?a=1&b=2",
                "review_email_template": "Hi {first_name} <3\n\nReview {company}: {review_link}\nThanks {{team}}"}
    mark = render.marker(4, "58")
    message = render.email(settings, "cont1", "Zoë", "Ñandú & Sons", mark)
    body = message.body
    assert (body["type"], body["subType"], body["contactId"], body["status"]) == ("Email", "Email", "cont1", "pending")
    assert body["subject"] == "How did we do, Zoë?"
    assert body["html"].startswith("<p>Hi Zoë &lt;3</p>\n<p>Review Ñandú &amp; Sons: "
                                   '<a href="https://g.page/r/x?a=1&amp;b=2">https://g.page/r/x?a=1&amp;b=2</a><br>\n'
                                   "Thanks {team}</p>")
    assert f"<!-- {mark} -->" in body["html"] and mark == render.marker(4, "58") != render.marker(4, "59")


def test_sms_is_the_text_and_missing_names_read_naturally() -> None:
    settings = {**DEFAULT_SETTINGS, "review_link": "https://g.page/r/x"}
    message = render.sms(settings, "cont1", None, None)
    assert message.body == {"type": "SMS", "subType": "SMS", "status": "pending", "contactId": "cont1",
                            "message": "Hi there, thank you for choosing us! Would you take a minute to leave us a "
                                       "review? https://g.page/r/x"}


@pytest.mark.parametrize(("contact", "expected"), [
    ({"email": "a@b.co", "phone": "+15550100"}, ("due", "Email", "a@b.co")),
    ({"phone": "+15550100"}, ("due", "SMS", "+15550100")),
    ({"email": " ", "phone": ""}, ("rejected", None, None)),
    ({"email": "a@b.co", "dnd": True}, ("skipped", "Email", "a@b.co")),
    ({"email": "a@b.co", "dndSettings": {"Email": {"status": "active"}}}, ("skipped", "Email", "a@b.co")),
    ({"email": "a@b.co", "dndSettings": {"SMS": {"status": "active"}}}, ("due", "Email", "a@b.co")),
    ({"phone": "+1555", "dndSettings": {"SMS": {"status": "permanent"}}}, ("skipped", "SMS", "+1555")),
    ({"phone": "+1555", "dndSettings": {"SMS": {"status": "inactive"}}}, ("due", "SMS", "+1555")),
])
def test_how_a_contact_is_reached(contact: dict, expected: tuple) -> None:
    way = crm.reach(contact)
    assert (way.status, way.channel, way.address) == expected
