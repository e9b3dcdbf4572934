"""Payments: transaction filters and offset paging, single reads, orders' altType quirk, subscriptions."""

from __future__ import annotations

import pytest

from tests.emulators.highlevel_client import LOC, OTHER_LOC, OTHER_TOKEN, call, seed

pytestmark = pytest.mark.integration

ALT = {"altId": LOC, "altType": "location"}


def _txn(day: int, source: str, **extra: object) -> dict:
    stamp = f"2024-02-{day:02d}T12:00:00.000Z"
    return {"altId": LOC, "amount": day, "entitySourceType": source, "createdAt": stamp, "updatedAt": stamp, **extra}


@pytest.fixture
def seeded(highlevel: str) -> dict:
    return seed(highlevel, transactions=[
        _txn(1, "funnel", contactId="c1"), _txn(2, "funnel", contactId="c2"),
        _txn(3, "membership", subscriptionId="sub_1"), _txn(4, "calendar"), _txn(5, "invoice"),
        _txn(6, "funnel", liveMode=True), {"altId": OTHER_LOC, "amount": 99, "entitySourceType": "funnel"},
    ], orders=[{"altId": LOC, "amount": 40, "sourceType": "funnel", "sourceId": "form1", "contactId": "c1"}],
        subscriptions=[{"altId": LOC, "amount": 9, "entitySourceType": "membership", "contactId": "c1"},
                       {"altId": LOC, "amount": 19, "entitySourceType": "funnel", "contactId": "c2"}])


def _list(base: str, **params: object) -> dict:
    answer = call(base, "GET", "/payments/transactions", params={**ALT, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_transactions_filter_and_page_newest_first(highlevel: str, seeded: dict) -> None:
    everything = _list(highlevel)
    assert everything["totalCount"] == 6 and len(everything["data"]) == 6  # default limit is 10
    assert [t["amount"] for t in everything["data"]] == [6, 5, 4, 3, 2, 1]
    pages = [_list(highlevel, limit=4, offset=offset) for offset in (0, 4, 8)]
    assert [[t["amount"] for t in p["data"]] for p in pages] == [[6, 5, 4, 3], [2, 1], []]
    assert all(p["totalCount"] == 6 for p in pages)
    assert [t["amount"] for t in _list(highlevel, entitySourceType="funnel")["data"]] == [6, 2, 1]
    assert [t["amount"] for t in _list(highlevel, subscriptionId="sub_1")["data"]] == [3]
    assert [t["amount"] for t in _list(highlevel, contactId="c2")["data"]] == [2]
    assert [t["amount"] for t in _list(highlevel, startAt="2024-02-02", endAt="2024-02-04")["data"]] == [4, 3, 2]
    assert [t["amount"] for t in _list(highlevel, paymentMode="live")["data"]] == [6]


def test_transactions_need_alt_id_and_type(highlevel: str, seeded: dict) -> None:
    answer = call(highlevel, "GET", "/payments/transactions", params={"altId": LOC})
    assert answer.status_code == 422
    assert "altType should not be empty" in answer.json()["message"]
    bad_day = call(highlevel, "GET", "/payments/transactions", params={**ALT, "startAt": "02/01/2024"})
    assert bad_day.status_code == 422


def test_single_transaction_nests_its_source(highlevel: str, seeded: dict) -> None:
    tid = seeded["transactions"][0]
    got = call(highlevel, "GET", f"/payments/transactions/{tid}", params=ALT)
    assert got.status_code == 200
    assert got.json()["_id"] == tid and got.json()["entitySource"]["type"] == "funnel"
    other = {"altId": OTHER_LOC, "altType": "location"}
    not_there = call(highlevel, "GET", f"/payments/transactions/{tid}", params=other, token=OTHER_TOKEN)
    assert not_there.status_code == 400  # the other location's token finds no such transaction there
    assert call(highlevel, "GET", f"/payments/transactions/{tid}", params=other).status_code == 403


def test_order_read_requires_alt_type_unlike_its_document(highlevel: str, seeded: dict) -> None:
    oid = seeded["orders"][0]
    refused = call(highlevel, "GET", f"/payments/orders/{oid}", params={"altId": LOC})
    assert refused.status_code == 422
    body = refused.json()
    assert body["name"] == "UnprocessableEntityException" and "altType should not be empty" in body["message"]
    got = call(highlevel, "GET", f"/payments/orders/{oid}", params=ALT).json()
    assert got["source"] == {"type": "funnel", "id": "form1"}
    listed = call(highlevel, "GET", "/payments/orders", params={"altId": LOC, "contactId": "c1"}).json()
    assert listed["totalCount"] == 1 and listed["data"][0]["_id"] == oid


def test_subscriptions_list(highlevel: str, seeded: dict) -> None:
    answer = call(highlevel, "GET", "/payments/subscriptions", params={**ALT, "entitySourceType": "membership"})
    assert answer.status_code == 200
    assert [s["amount"] for s in answer.json()["data"]] == [9] and answer.json()["totalCount"] == 1
