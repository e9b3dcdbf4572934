"""QBO payments → CRM review requests, end to end over both emulators and a real PostgreSQL.

What counts is the CRM's message log (``/_admin/entities/messages``): what was sent, to whom, how
many times."""

from __future__ import annotations

import threading
import time
from typing import Any

from qbo_crm_sync.flows import reviews
from qbo_crm_sync.hooks.quickbooks import request_id
from qbo_crm_sync.store import db, integrations
from tests.integration.flows.conftest import Env, run_cycle

LINK = "https://g.page/r/NanduLandscaping/review"


# -- the world ----------------------------------------------------------------------------------

def set_review(env: Env, on: bool = True, **settings: Any) -> None:
    """Tick (or untick) the box as a person would, then let a second pass: QBO stamps whole seconds."""
    with db.connect(env.db_url) as conn:
        integrations.update_settings(conn, env.integration.id, {"auto_send_review": on, "review_link": LINK,
                                                                **settings}, by="test")
        conn.commit()
    time.sleep(1.05)


def customer(env: Env, first: str, last: str, email: str | None = None, phone: str | None = None) -> str:
    body: dict[str, Any] = {"GivenName": first, "FamilyName": last, "DisplayName": f"{first} {last}"}
    if email:
        body["PrimaryEmailAddr"] = {"Address": email}
    if phone:
        body["PrimaryPhone"] = {"FreeFormNumber": phone}
    (cid,) = env.seed_qbo("Customer", [body])
    return cid


def invoice(env: Env, customer_id: str, amount: float, day: str) -> str:
    (iid,) = env.seed_qbo("Invoice", [{
        "CustomerRef": {"value": customer_id}, "TxnDate": day,
        "Line": [{"DetailType": "SalesItemLineDetail", "Amount": amount,
                  "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": amount}}],
    }])
    return iid


def pay(env: Env, customer_id: str, invoice_id: str, amount: float) -> str:
    """A payment recorded in QuickBooks through its API, applied to one invoice."""
    hook = env.job("qbo-user").qbo
    body = {"CustomerRef": {"value": customer_id}, "TotalAmt": amount,
            "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}]}
    return str(hook.create("Payment", body, request_id=request_id("test-pay", customer_id, invoice_id, time.time()))["Id"])


def void(env: Env, payment_id: str) -> None:
    hook = env.job("qbo-user").qbo
    current = hook.read("Payment", payment_id)
    (answer,) = hook.batch([{"bId": "void1", "operation": "update", "optionsData": "void",
                             "Payment": {"Id": payment_id, "SyncToken": current["SyncToken"], "sparse": True}}])
    assert "error" not in answer, answer
    assert answer["Payment"]["TotalAmt"] == 0


def messages(env: Env) -> list[dict[str, Any]]:
    return env.crm("messages")


def contact_of(env: Env, contact_id: str) -> dict[str, Any]:
    return next(c for c in env.crm("contacts") if c["id"] == contact_id)


def status(env: Env) -> dict[str, dict[str, Any]]:
    return env.row_status("reviews")


def requests_of(env: Env) -> dict[str, dict[str, Any]]:
    with db.connect(env.db_url) as conn:
        rows = conn.execute("SELECT * FROM sync.review_request WHERE integration_id = %s",
                            (env.integration.id,)).fetchall()
    return {r["customer_id"]: r for r in rows}


def age_claims(env: Env, minutes: int = 10) -> None:
    """Let time pass for the claims in doubt (a send still on its way can no longer land)."""
    with db.connect(env.db_url) as conn:
        conn.execute("UPDATE sync.review_request SET claimed_at = claimed_at - make_interval(mins => %s) "
                     "WHERE integration_id = %s", (minutes, env.integration.id))
        conn.commit()


# -- the rules ----------------------------------------------------------------------------------

def test_first_invoice_paid_in_one_payment_asks_once(env: Env) -> None:
    set_review(env)
    cid = customer(env, "Zoë", "D'Arcy", "zoe@example.com", "(415) 555-0101")
    first = invoice(env, cid, 250, "2026-01-10")
    invoice(env, cid, 90, "2026-02-01")
    payment = pay(env, cid, first, 250)
    counts = run_cycle(env, reviews)
    assert counts["queued"] == 1 and counts["review_requests_sent"] == 1

    (sent,) = messages(env)
    assert sent["type"] == "Email" and sent["to"] == "zoe@example.com" and sent["status"] == "pending"
    assert sent["subject"] == "How did we do, Zoë?"
    assert LINK in sent["html"] and "Zoë" in sent["html"]
    contact = contact_of(env, sent["contactId"])
    assert contact["email"] == "zoe@example.com" and set(contact["tags"]) == {"quickbooks", "review-requested"}
    row = status(env)[payment]
    assert row["status"] == "loaded" and row["target_id"] == sent["id"] and "email to zoe@example.com" in row["reason"]
    assert requests_of(env)[cid]["state"] == "sent" and requests_of(env)[cid]["tagged"]
    # The contact was written by the contacts flow's rules, as a contacts run of this run.
    assert env.row_status("contacts")[cid]["status"] == "loaded"

    again = run_cycle(env, reviews)
    assert again.get("to_load", 0) == 0 and len(messages(env)) == 1


def test_two_partial_payments_ask_after_the_second_only(env: Env) -> None:
    set_review(env)
    cid = customer(env, "Siobhán", "O'Brien", "siobhan@example.com")
    first = invoice(env, cid, 300, "2026-01-05")
    p1 = pay(env, cid, first, 100)
    run_cycle(env, reviews)
    assert messages(env) == []
    assert status(env)[p1]["status"] == "skipped" and "200.00 of 300.00 open" in status(env)[p1]["reason"]

    p2 = pay(env, cid, first, 200)
    run_cycle(env, reviews)
    (sent,) = messages(env)
    assert sent["to"] == "siobhan@example.com"
    assert status(env)[p2]["status"] == "loaded" and status(env)[p1]["status"] == "skipped"


def test_a_later_invoice_paid_first_asks_nothing_until_the_first_is_paid(env: Env) -> None:
    set_review(env)
    cid = customer(env, "Łukasz", "Żółć", "lukasz@example.com")
    first = invoice(env, cid, 80, "2026-01-02")
    second = invoice(env, cid, 120, "2026-01-20")
    p_second = pay(env, cid, second, 120)
    run_cycle(env, reviews)
    assert messages(env) == []
    assert "not the customer's first invoice" in status(env)[p_second]["reason"]

    p_first = pay(env, cid, first, 80)
    run_cycle(env, reviews)
    assert [m["to"] for m in messages(env)] == ["lukasz@example.com"]
    assert status(env)[p_first]["status"] == "loaded"


def test_a_payment_while_the_box_was_off_is_never_asked_about(env: Env) -> None:
    set_review(env, on=False)
    cid = customer(env, "Renée", "O'Connor", "renee@example.com")
    first = invoice(env, cid, 40, "2026-01-03")
    early = pay(env, cid, first, 40)
    run_cycle(env, reviews)
    assert status(env)[early]["status"] == "skipped"
    assert "auto_send_review was off" in status(env)[early]["reason"]

    set_review(env, on=True)
    run_cycle(env, reviews)
    assert messages(env) == []  # ticking it later sends nothing for past payments
    # …while a payment made with the box ticked is asked about.
    other = customer(env, "Björn", "Ångström", "bjorn@example.com")
    pay(env, other, invoice(env, other, 60, "2026-01-04"), 60)
    run_cycle(env, reviews)
    assert [m["to"] for m in messages(env)] == ["bjorn@example.com"]
    assert status(env)[early]["status"] == "skipped"


def test_a_payment_voided_before_the_request_went_out_cancels_it(env: Env) -> None:
    set_review(env)
    cid = customer(env, "Jürgen", "Groß", "jurgen@example.com")
    first = invoice(env, cid, 500, "2026-01-07")
    payment = pay(env, cid, first, 500)
    counts = run_cycle(env, reviews, steps=("extract", "transform"))
    assert counts["queued"] == 1

    void(env, payment)
    run_cycle(env, reviews)
    assert messages(env) == []
    assert status(env)[payment]["status"] == "skipped" and "voided" in status(env)[payment]["reason"]
    assert requests_of(env) == {}


def test_a_payment_voided_after_the_request_went_out_changes_nothing(env: Env) -> None:
    set_review(env)
    cid = customer(env, "Chloé", "Mäkelä", "chloe@example.com")
    payment = pay(env, cid, invoice(env, cid, 75, "2026-01-08"), 75)
    run_cycle(env, reviews)
    void(env, payment)
    run_cycle(env, reviews)
    assert len(messages(env)) == 1
    assert "voided in QuickBooks after it went out" in status(env)[payment]["reason"]


def test_a_contact_without_email_is_asked_by_sms(env: Env) -> None:
    set_review(env)
    cid = customer(env, "Dũng", "Nguyễn", phone="(212) 555-0142")
    payment = pay(env, cid, invoice(env, cid, 35, "2026-01-09"), 35)
    run_cycle(env, reviews)
    (sent,) = messages(env)
    assert sent["type"] == "SMS" and sent["to"] == "+12125550142"
    assert sent["message"].startswith("Hi Dũng, thank you for choosing") and sent["message"].endswith(LINK)
    assert status(env)[payment]["status"] == "loaded"


def test_a_customer_with_neither_email_nor_phone_is_rejected(env: Env) -> None:
    set_review(env)
    cid = customer(env, "Walk-in", "Customer")
    payment = pay(env, cid, invoice(env, cid, 20, "2026-01-11"), 20)
    run_cycle(env, reviews)
    assert messages(env) == []
    row = status(env)[payment]
    assert row["status"] == "rejected" and "no CRM contact" in row["reason"] and "email or phone" in row["reason"]


def test_a_contact_without_a_channel_in_the_crm_is_rejected(env: Env) -> None:
    """The customer's mapped contact lost its email and phone in the CRM."""
    set_review(env)
    (contact_id,) = env.seed_crm("contacts", [{"locationId": env.integration.location_id, "firstName": "Ana"}])
    cid = customer(env, "Ana", "São João", "ana@example.com")
    with db.connect(env.db_url) as conn:
        from qbo_crm_sync.store import tracking

        tracking.entity_map_put(conn, [{"integration_id": env.integration.id, "source_system": "quickbooks",
                                        "source_type": "customer", "source_id": cid, "target_system": "highlevel",
                                        "target_type": "contact", "target_id": contact_id}])
        conn.commit()
    payment = pay(env, cid, invoice(env, cid, 20, "2026-01-11"), 20)
    run_cycle(env, reviews)
    assert messages(env) == []
    assert status(env)[payment]["status"] == "rejected" and "neither an email nor a phone" in status(env)[payment]["reason"]


def test_a_do_not_disturb_contact_is_skipped(env: Env) -> None:
    set_review(env)
    env.seed_crm("contacts", [{"locationId": env.integration.location_id, "firstName": "Mary-Jane",
                               "lastName": "van der Berg", "email": "mj@example.com", "tags": ["vip"],
                               "dndSettings": {"Email": {"status": "active", "message": "unsubscribed"}}}])
    cid = customer(env, "Mary-Jane", "van der Berg", "mj@example.com", "(312) 555-0100")
    payment = pay(env, cid, invoice(env, cid, 99, "2026-01-12"), 99)
    run_cycle(env, reviews)
    assert messages(env) == []
    row = status(env)[payment]
    assert row["status"] == "skipped" and "do-not-disturb for Email" in row["reason"]
    (contact,) = env.crm("contacts")
    assert "review-requested" not in contact["tags"] and "vip" in contact["tags"]  # found, never overwritten


def test_a_payer_the_integration_created_from_a_crm_contact_is_asked_at_that_contact(env: Env) -> None:
    """An invoice payer's QBO customer came from a CRM contact (found by email): that contact is
    asked, with its tags kept."""
    set_review(env)
    (contact_id,) = env.seed_crm("contacts", [{"locationId": env.integration.location_id, "firstName": "François",
                                               "email": "Francois@Example.com", "tags": ["wholesale"]}])
    cid = customer(env, "François", "L'Écuyer", "francois@example.com")
    with db.connect(env.db_url) as conn:
        from qbo_crm_sync.store import tracking

        tracking.entity_map_put(conn, [{"integration_id": env.integration.id, "source_system": "highlevel",
                                        "source_type": "contact_email", "source_id": "francois@example.com",
                                        "target_system": "quickbooks", "target_type": "customer", "target_id": cid}])
        conn.commit()
    pay(env, cid, invoice(env, cid, 410, "2026-01-13"), 410)
    run_cycle(env, reviews)
    (sent,) = messages(env)
    assert sent["contactId"] == contact_id
    assert contact_of(env, contact_id)["tags"] == ["wholesale", "review-requested"]
    assert len(env.crm("contacts")) == 1


# -- exactly once under faults --------------------------------------------------------------------

def test_a_send_refused_before_it_was_processed_goes_out_once_after_the_crm_is_asked(env: Env) -> None:
    """The messages endpoint answers 503 without sending: the request is in doubt until the CRM
    shows it holds no such message; then it goes out once. Replaying the run changes nothing."""
    set_review(env)
    cid = customer(env, "Ana", "Lima", "ana.lima@example.com")
    payment = pay(env, cid, invoice(env, cid, 150, "2026-01-14"), 150)
    env.faults(env.hl_url, error_rate=1.0, paths=["/conversations/messages"])
    first = run_cycle(env, reviews)
    env.faults(env.hl_url, error_rate=0.0, paths=[])
    assert messages(env) == [] and first["sends_in_doubt"] == 1
    assert status(env)[payment]["status"] == "failed" and "in doubt" in status(env)[payment]["reason"]
    assert requests_of(env)[cid]["state"] == "sending"

    run_cycle(env, reviews)  # too soon to tell: a send could still be on its way
    assert messages(env) == [] and requests_of(env)[cid]["state"] == "sending"

    age_claims(env)
    again = run_cycle(env, reviews)
    assert again["review_requests_sent"] == 1 and again["sends_resent"] == 1
    assert len(messages(env)) == 1 and status(env)[payment]["status"] == "loaded"
    assert requests_of(env)[cid]["sends"] == 2

    for _ in range(2):  # replays: the whole run, and the load alone
        run_cycle(env, reviews)
        run_cycle(env, reviews, steps=("load",))
    assert len(messages(env)) == 1


def test_a_send_whose_answer_is_lost_after_the_crm_kept_it_is_never_sent_again(env: Env) -> None:
    set_review(env)
    cid = customer(env, "Mary", "Ann", "mary.ann@example.com")
    payment = pay(env, cid, invoice(env, cid, 64, "2026-01-15"), 64)
    env.faults(env.hl_url, drop_after_commit_rate=1.0, paths=["/conversations/messages"])
    counts = run_cycle(env, reviews)
    env.faults(env.hl_url, drop_after_commit_rate=0.0, paths=[])
    (sent,) = messages(env)
    assert counts["sends_confirmed"] == 1
    row = status(env)[payment]
    assert row["status"] == "loaded" and row["target_id"] == sent["id"] and "no answer to the send" in row["reason"]
    assert requests_of(env)[cid]["state"] == "sent" and requests_of(env)[cid]["message_id"] == sent["id"]
    assert "review-requested" in contact_of(env, sent["contactId"])["tags"]

    age_claims(env)
    run_cycle(env, reviews)
    run_cycle(env, reviews, steps=("load",))
    assert len(messages(env)) == 1


def test_overlapping_runs_send_one_request(env: Env) -> None:
    set_review(env)
    customers = [customer(env, f"Pat{n}", "Doe", f"pat{n}@example.com") for n in range(3)]
    for n, cid in enumerate(customers):
        pay(env, cid, invoice(env, cid, 10 + n, "2026-01-17"), 10 + n)
    run_cycle(env, reviews, steps=("extract", "transform"))
    jobs = [env.job(reviews.FLOW, f"overlap-{n}") for n in range(3)]
    errors: list[BaseException] = []

    def load(job: Any) -> None:
        try:
            reviews.transform(job)
            reviews.load(job)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=load, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert sorted(m["to"] for m in messages(env)) == [f"pat{n}@example.com" for n in range(3)]
    assert {r["state"] for r in requests_of(env).values()} == {"sent"}


def test_unticking_the_box_before_the_request_went_out_stops_it(env: Env) -> None:
    set_review(env)
    cid = customer(env, "Kim", "Park", "kim@example.com")
    payment = pay(env, cid, invoice(env, cid, 45, "2026-01-18"), 45)
    run_cycle(env, reviews, steps=("extract", "transform"))
    set_review(env, on=False)
    run_cycle(env, reviews, steps=("load",))
    assert messages(env) == []
    assert "turned off before the review request went out" in status(env)[payment]["reason"]


def test_cdc_at_its_cap_reads_the_same_changes_by_query(env: Env) -> None:
    """More than 1,000 changes since the last run: CDC answers its cap, the extract reads the same
    changes by query and still sees the payment that settles the first invoice."""
    set_review(env)
    run_cycle(env, reviews)  # the first run lists the invoices in full
    cid = customer(env, "Lee", "Cap", "lee@example.com")
    invoice_ids = env.seed_qbo("Invoice", [{
        "CustomerRef": {"value": cid}, "TxnDate": f"2026-0{1 + n // 28 % 9}-{1 + n % 28:02d}",
        "Line": [{"DetailType": "SalesItemLineDetail", "Amount": 10,
                  "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": 10}}]} for n in range(520)])
    env.seed_qbo("Payment", [{"CustomerRef": {"value": cid}, "TotalAmt": 10,
                              "Line": [{"Amount": 10, "LinkedTxn": [{"TxnId": i, "TxnType": "Invoice"}]}]}
                             for i in invoice_ids])
    counts = run_cycle(env, reviews)
    assert counts["qbo_changes"] == "query" and counts["extracted"] == 520
    assert [m["to"] for m in messages(env)] == ["lee@example.com"]


def test_a_send_in_doubt_whose_contact_carries_the_tag_counts_as_sent(env: Env) -> None:
    """The CRM did not answer the send; meanwhile the contact was tagged review-requested (the
    tag comes only once a request went out): the request is taken as sent and never sent again."""
    set_review(env)
    cid = customer(env, "Ines", "Sá", "ines@example.com")
    payment = pay(env, cid, invoice(env, cid, 70, "2026-01-21"), 70)
    env.faults(env.hl_url, error_rate=1.0, paths=["/conversations/messages"])
    run_cycle(env, reviews)
    env.faults(env.hl_url, error_rate=0.0, paths=[])
    contact_id = requests_of(env)[cid]["contact_id"]
    env.job("crm-user").crm.add_tags(contact_id, ["review-requested"])
    age_claims(env)
    run_cycle(env, reviews)
    assert messages(env) == []
    assert status(env)[payment]["status"] == "loaded" and "carries the review-requested tag" in status(env)[payment]["reason"]
    assert requests_of(env)[cid]["state"] == "sent"


def test_a_past_data_interval_asks_about_its_payments_only_and_keeps_the_watermark(env: Env) -> None:
    """A run over a past range (``airflow backfill create``) reads the payments QuickBooks changed in
    that range, by query, asks about them, and leaves the watermark to the current runs."""
    from datetime import timedelta
    from urllib.parse import parse_qs

    from qbo_crm_sync.flows.reviews.shared import STREAM
    from qbo_crm_sync.store import watermarks

    set_review(env)
    run_cycle(env, reviews)  # the current runs keep the invoice mirror
    with db.connect(env.db_url) as conn:
        mark = watermarks.get(conn, env.integration.id, STREAM)
    assert mark is not None
    start, end = mark + timedelta(minutes=30), mark + timedelta(hours=2)

    def paid_at(first: str, email: str, at: Any) -> str:
        cid = customer(env, first, "Range", email)
        iid = invoice(env, cid, 120, "2026-01-12")
        (pid,) = env.seed_qbo("Payment", [{
            "CustomerRef": {"value": cid}, "TotalAmt": 120,
            "Line": [{"Amount": 120, "LinkedTxn": [{"TxnId": iid, "TxnType": "Invoice"}]}],
            "MetaData": {"CreateTime": at.isoformat(), "LastUpdatedTime": at.isoformat()}}])
        return pid

    before = paid_at("Before", "before@example.com", start - timedelta(minutes=10))
    inside = paid_at("Inside", "inside@example.com", start + timedelta(minutes=30))
    after = paid_at("After", "after@example.com", end)

    job = env.job(reviews.FLOW)
    job.params = {"data_interval": (start, end)}
    env.clear_requests(env.qbo_url)
    counts, _ = env.run_cycle(reviews, job=job)
    assert counts["extracted"] == 1 and counts["review_requests_sent"] == 1
    assert [m["to"] for m in messages(env)] == ["inside@example.com"]
    assert set(status(env)) == {inside}
    queries = [parse_qs(r["query"])["query"][0] for r in env.requests_log(env.qbo_url, "/query")]
    assert any(q.startswith("SELECT * FROM Payment WHERE MetaData.LastUpdatedTime >=") and
               "MetaData.LastUpdatedTime <" in q for q in queries)
    with db.connect(env.db_url) as conn:
        assert watermarks.get(conn, env.integration.id, STREAM) == mark  # left to the current runs

    run_cycle(env, reviews)  # the next current run goes on from the watermark and sees the rest
    assert sorted(m["to"] for m in messages(env)) == ["after@example.com", "before@example.com",
                                                      "inside@example.com"]
    assert set(status(env)) == {before, inside, after}
