"""HighLevelHook against the HighLevel emulator over HTTP."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest
import requests

from qbo_crm_sync.errors import ApiError, AuthError, CrmAccessDenied
from qbo_crm_sync.hooks.highlevel import DuplicateContact, HighLevelHook
from qbo_crm_sync.local.stack import HL_TOKEN

pytestmark = pytest.mark.integration

LOCATION = "loc-hooks-1"


def seed(base: str, **body) -> dict:
    response = requests.post(
        f"{base}/_admin/seed", json={"locations": [{"id": LOCATION, "token": HL_TOKEN}], **body}, timeout=30
    )
    response.raise_for_status()
    return response.json()


def sent(base: str, path: str = "") -> list[dict]:
    return requests.get(f"{base}/_admin/requests", params={"path": path}, timeout=5).json()["requests"]


def test_upsert_matches_by_email_and_tags(highlevel, hl_settings):
    seed(highlevel)
    hook = HighLevelHook(LOCATION, settings=hl_settings)
    first = hook.upsert_contact({"email": "ada@example.com", "firstName": "Ada"})
    again = hook.upsert_contact({"email": "ada@example.com", "lastName": "Lovelace"})
    assert first["new"] is True and again["new"] is False
    contact_id = first["contact"]["id"]
    assert again["contact"]["id"] == contact_id
    assert hook.find_duplicate(email="ada@example.com")["id"] == contact_id
    assert hook.find_duplicate(email="nobody@example.com") is None
    assert "review-requested" in hook.add_tags(contact_id, ["review-requested"])
    assert hook.get_contact(contact_id)["lastName"] == "Lovelace"
    assert hook.get_contact("does-not-exist") is None
    assert hook.stats["write"] == 3


def test_search_contacts_follows_the_cursor(highlevel, hl_settings):
    seed(highlevel, contacts=[{"email": f"p{i}@example.com", "firstName": f"P{i}"} for i in range(230)])
    hook = HighLevelHook(LOCATION, settings=hl_settings)
    found = list(hook.search_contacts(page_limit=100))
    assert len(found) == 230 and len({c["id"] for c in found}) == 230
    assert len(sent(highlevel, "/contacts/search")) == 3


def test_create_and_update_by_id_name_the_contact_holding_an_email_or_phone(highlevel, hl_settings):
    seed(highlevel, contacts=[{"email": "Bea@Example.com", "phone": "+1 415-555-0100", "tags": ["client"]}])
    hook = HighLevelHook(LOCATION, settings=hl_settings)
    (bea,) = hook.search_contacts()
    carl = hook.create_contact({"email": "carl@example.com", "firstName": "Carl", "tags": ["quickbooks"]})
    assert carl["id"] and carl["tags"] == ["quickbooks"] and carl["locationId"] == LOCATION
    with pytest.raises(DuplicateContact) as refused:
        hook.create_contact({"email": "dan@example.com", "phone": "+14155550100"})
    assert (refused.value.contact_id, refused.value.matching_field) == (bea["id"], "phone")
    with pytest.raises(DuplicateContact) as refused:
        hook.update_contact(carl["id"], {"email": "bea@example.com"})
    assert refused.value.contact_id == bea["id"] and refused.value.status == 400
    updated = hook.update_contact(carl["id"], {"lastName": "New", "tags": ["quickbooks", "vip"]})
    assert updated["lastName"] == "New" and updated["tags"] == ["quickbooks", "vip"]
    assert [r["method"] for r in sent(highlevel, "/contacts/") if r["path"] != "/contacts/search"] \
        == ["POST", "POST", "PUT", "PUT"]  # a refused create is not sent again


def test_contacts_updated_since_filters_and_pages_by_date_updated(highlevel, hl_settings):
    from datetime import UTC, datetime

    seed(highlevel, contacts=[{"email": f"u{i}@example.com", "dateUpdated": f"2024-03-{1 + i % 28:02d}T00:00:00Z"}
                              for i in range(120)])
    hook = HighLevelHook(LOCATION, settings=hl_settings)
    everyone = list(hook.contacts_updated_since(None, page_limit=50))
    assert len(everyone) == 120 and len(sent(highlevel, "/contacts/search")) == 3
    stamps = [c["dateUpdated"] for c in everyone]
    assert stamps == sorted(stamps)
    recent = list(hook.contacts_updated_since(datetime(2024, 3, 25, tzinfo=UTC)))
    assert {c["dateUpdated"][:10] for c in recent} == {f"2024-03-{d}" for d in range(25, 29)}
    assert len(recent) == sum(1 for i in range(120) if 1 + i % 28 >= 25)


def test_transactions_and_invoices_page_by_offset(highlevel, hl_settings):
    seed(
        highlevel,
        transactions=[{"amount": i + 1, "entitySourceType": "funnel"} for i in range(250)],
        invoices=[
            {"status": "sent", "items": [{"name": "Thing", "qty": 1, "amount": 10, "currency": "USD"}]}
            for _ in range(120)
        ],
    )
    hook = HighLevelHook(LOCATION, settings=hl_settings)
    txns = list(hook.transactions(entitySourceType="funnel"))
    assert len(txns) == 250 and len({t["_id"] for t in txns}) == 250
    assert len(sent(highlevel, "/payments/transactions")) == 3
    invoices = list(hook.invoices(status="sent"))
    assert len(invoices) == 120
    assert hook.get_invoice(invoices[0]["_id"])["_id"] == invoices[0]["_id"]
    assert list(hook.invoices(status="paid")) == []
    assert list(hook.orders()) == [] and list(hook.subscriptions()) == []


def test_send_message_uses_the_conversations_version(highlevel, hl_settings):
    seed(highlevel)
    hook = HighLevelHook(LOCATION, settings=hl_settings)
    contact = hook.upsert_contact({"email": "rev@example.com", "firstName": "Rev"})["contact"]
    answer = hook.send_message(
        {
            "type": "Email",
            "contactId": contact["id"],
            "status": "pending",
            "subType": "Email",
            "subject": "How did we do?",
            "html": "<p>Leave us a review</p>",
        }
    )
    assert answer.get("messageId") or answer.get("conversationId")


def test_validation_errors_are_typed_and_not_retried(highlevel, hl_settings):
    seed(highlevel)
    hook = HighLevelHook(LOCATION, settings=hl_settings)
    requests.delete(f"{highlevel}/_admin/requests", timeout=5)
    with pytest.raises(ApiError) as caught:
        hook.upsert_contact({"email": "x@example.com", "notAField": 1})
    assert caught.value.status == 422
    assert len(sent(highlevel, "/contacts/upsert")) == 1


def test_a_refused_crm_token_names_the_crm_connection_not_quickbooks(highlevel, hl_settings):
    hook = HighLevelHook(LOCATION, settings=replace(hl_settings, token="wrong-token"))
    with pytest.raises(CrmAccessDenied, match="crm_conn_id") as caught:
        hook.find_duplicate(email="a@example.com")
    assert not isinstance(caught.value, AuthError)  # an AuthError would mark the QBO grant needs_reauth


def test_burst_of_300_stays_under_the_limit(highlevel, hl_settings):
    """A 1-second window (100 requests) on both sides: 300 requests from 4 threads get no 429."""
    seed(highlevel)
    requests.post(f"{highlevel}/_admin/config", json={"window_s": 1.0}, timeout=5).raise_for_status()
    settings = replace(hl_settings, window_s=1.0)
    hooks = [HighLevelHook(LOCATION, settings=settings) for _ in range(4)]
    requests.delete(f"{highlevel}/_admin/requests", timeout=5)
    started = time.monotonic()

    def work(hook: HighLevelHook) -> None:
        for i in range(75):
            hook.find_duplicate(email=f"burst{i}@example.com")

    threads = [threading.Thread(target=work, args=(h,)) for h in hooks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    elapsed = time.monotonic() - started
    statuses = [r["status"] for r in sent(highlevel, "/contacts/search/duplicate")]
    assert len(statuses) == 300
    assert statuses.count(429) == 0
    assert elapsed >= 2.0  # three windows' worth of budget
    assert sum(h.stats["read"] for h in hooks) == 300


def test_server_announced_budget_is_followed(highlevel, hl_settings):
    """The server allows only 20 per window while the client was told 100: the headers win."""
    seed(highlevel)
    requests.post(f"{highlevel}/_admin/config", json={"window_s": 1.0, "burst_limit": 20}, timeout=5)
    hook = HighLevelHook(LOCATION, settings=replace(hl_settings, window_s=1.0))
    requests.delete(f"{highlevel}/_admin/requests", timeout=5)
    for i in range(50):
        hook.find_duplicate(email=f"slow{i}@example.com")
    statuses = [r["status"] for r in sent(highlevel, "/contacts/search/duplicate")]
    assert len(statuses) == 50 and 429 not in statuses


def test_the_daily_budget_is_read_from_every_answer_and_a_spent_day_is_not_retried(highlevel, hl_settings):
    from qbo_crm_sync.hooks.highlevel import DailyLimitReached

    seed(highlevel)
    requests.post(f"{highlevel}/_admin/config", json={"daily_limit": 3}, timeout=5).raise_for_status()
    hook = HighLevelHook(LOCATION, settings=hl_settings)
    hook.get_location()
    assert hook.daily is not None and (hook.daily.limit, hook.daily.remaining) == (3, 2)
    hook.get_location()
    hook.get_location()
    assert hook.daily.remaining == 0
    started = time.monotonic()
    with pytest.raises(DailyLimitReached) as spent:
        hook.get_location()
    assert time.monotonic() - started < 5 and spent.value.retry_after > 0  # not slept through
    assert hook.daily.remaining == 0 and hook.daily.resets_at.hour == 0  # the next UTC midnight
    assert len([r for r in sent(highlevel, "/locations") if r["status"] == 429]) == 1
