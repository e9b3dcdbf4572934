"""Contacts: duplicate rules, upsert matching, search paging and validation, tags."""

from __future__ import annotations

import pytest

from tests.emulators.highlevel_client import LOC, OTHER_LOC, call, entities, seed

pytestmark = pytest.mark.integration


def upsert(base: str, **fields: object) -> dict:
    answer = call(base, "POST", "/contacts/upsert", json={"locationId": LOC, **fields})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_upsert_matches_by_email_then_by_phone(highlevel: str) -> None:
    first = upsert(highlevel, email="Ann@Example.com", firstName="Ann", phone="+1 555-000-1111")
    assert first["new"] is True and first["traceId"]
    contact = first["contact"]
    assert contact["email"] == "ann@example.com"  # kept lower-cased, matched case-insensitively
    assert contact["phone"] == "+1 555-000-1111"  # phones are kept as given

    by_email = upsert(highlevel, email="ANN@example.com", lastName="Lee")
    assert by_email["new"] is False and by_email["contact"]["id"] == contact["id"]
    assert by_email["contact"]["name"] == "Ann Lee"

    by_phone = upsert(highlevel, phone="+15550001111", city="Austin")
    assert by_phone["new"] is False and by_phone["contact"]["id"] == contact["id"]
    assert by_phone["contact"]["city"] == "Austin"

    elsewhere = call(highlevel, "POST", "/contacts/upsert", json={"locationId": OTHER_LOC, "email": "ann@example.com"})
    assert elsewhere.json()["new"] is True  # matching stays within the location
    fresh = upsert(highlevel, email="bob@example.com")
    assert fresh["new"] is True and fresh["contact"]["id"] != contact["id"]
    assert len(entities(highlevel, "contacts", LOC)) == 2


def test_create_refuses_a_duplicate_email(highlevel: str) -> None:
    created = call(highlevel, "POST", "/contacts/", json={"locationId": LOC, "email": "dup@example.com"})
    assert created.status_code == 201
    again = call(highlevel, "POST", "/contacts/", json={"locationId": LOC, "email": "DUP@example.com"})
    assert again.status_code == 400
    body = again.json()
    assert body["message"] == "This location does not allow duplicated contacts."
    assert body["meta"]["contactId"] == created.json()["contact"]["id"]
    assert body["meta"]["matchingField"] == "email"


def test_bodies_are_validated_like_the_api(highlevel: str) -> None:
    answer = call(highlevel, "POST", "/contacts/upsert",
                  json={"email": "not-an-email", "customField": [], "dnd": "yes"})
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "Unprocessable Entity" and body["statusCode"] == 422
    assert set(body["message"]) >= {"locationId should not be empty", "email must be an email",
                                    "property customField should not exist", "dnd must be a boolean value"}
    nested = call(highlevel, "PUT", "/contacts/nope", json={"dndSettings": {"SMS": {"status": "maybe"}}})
    assert nested.status_code == 422
    assert nested.json()["message"] == ["dndSettings.SMS.status must be one of the following values: "
                                         "active, inactive, permanent"]


def test_get_update_and_unknown_contact(highlevel: str) -> None:
    cid = upsert(highlevel, email="c@example.com", firstName="Cy")["contact"]["id"]
    updated = call(highlevel, "PUT", f"/contacts/{cid}", json={"companyName": "Cy Co", "tags": ["A", "b"]})
    assert updated.status_code == 200 and updated.json()["succeded"] is True
    got = call(highlevel, "GET", f"/contacts/{cid}").json()["contact"]
    assert got["companyName"] == "Cy Co" and got["tags"] == ["a", "b"]
    missing = call(highlevel, "GET", "/contacts/doesNotExist000000000")
    assert missing.status_code == 400 and missing.json()["message"] == "Contact not found"


def test_tags_add_and_remove(highlevel: str) -> None:
    cid = upsert(highlevel, email="t@example.com", tags=["customer"])["contact"]["id"]
    added = call(highlevel, "POST", f"/contacts/{cid}/tags", json={"tags": ["Review-Requested", "customer"]})
    assert added.status_code == 201 and added.json()["tags"] == ["customer", "review-requested"]
    removed = call(highlevel, "DELETE", f"/contacts/{cid}/tags", json={"tags": ["customer"]})
    assert removed.status_code == 200 and removed.json()["tags"] == ["review-requested"]


def test_search_needs_location_and_page_limit(highlevel: str) -> None:
    answer = call(highlevel, "POST", "/contacts/search", json={"locationId": LOC})
    assert answer.status_code == 422
    assert "pageLimit should not be empty" in answer.json()["message"]
    no_location = call(highlevel, "POST", "/contacts/search", json={"pageLimit": 10})
    assert no_location.status_code == 422 and "locationId should not be empty" in no_location.json()["message"]
    both = call(highlevel, "POST", "/contacts/search",
                json={"locationId": LOC, "pageLimit": 10, "page": 1, "searchAfter": [1, "x"]})
    assert both.status_code == 422


def test_search_filters_and_pages(highlevel: str) -> None:
    seed(highlevel, contacts=[
        {"locationId": LOC, "email": f"p{i}@example.com", "firstName": f"P{i}", "tags": ["vip"] if i % 2 else [],
         "dateAdded": f"2024-01-0{i + 1}T00:00:00.000Z"} for i in range(5)
    ] + [{"locationId": OTHER_LOC, "email": "other@example.com"}])
    everything = call(highlevel, "POST", "/contacts/search", json={"locationId": LOC, "pageLimit": 2}).json()
    assert everything["total"] == 5 and [c["email"] for c in everything["contacts"]] == ["p0@example.com",
                                                                                         "p1@example.com"]
    page3 = call(highlevel, "POST", "/contacts/search", json={"locationId": LOC, "pageLimit": 2, "page": 3}).json()
    assert [c["email"] for c in page3["contacts"]] == ["p4@example.com"]
    cursor = everything["contacts"][-1]["searchAfter"]
    after = call(highlevel, "POST", "/contacts/search",
                 json={"locationId": LOC, "pageLimit": 2, "searchAfter": cursor}).json()
    assert [c["email"] for c in after["contacts"]] == ["p2@example.com", "p3@example.com"]
    vip = call(highlevel, "POST", "/contacts/search", json={
        "locationId": LOC, "pageLimit": 10,
        "filters": [{"field": "tags", "operator": "eq", "value": "vip"},
                    {"group": "OR", "filters": [{"field": "email", "operator": "eq", "value": "P1@example.com"},
                                                {"field": "email", "operator": "contains", "value": "p3"}]}],
    }).json()
    assert sorted(c["email"] for c in vip["contacts"]) == ["p1@example.com", "p3@example.com"]


def test_duplicate_lookup_by_email_or_number(highlevel: str) -> None:
    cid = upsert(highlevel, email="d@example.com", phone="+1 (555) 123-4567")["contact"]["id"]

    def lookup(**params: str) -> dict:
        answer = call(highlevel, "GET", "/contacts/search/duplicate", params={"locationId": LOC, **params})
        assert answer.status_code == 200
        return answer.json()

    assert lookup(email="D@example.com")["contact"]["id"] == cid
    assert lookup(number="+15551234567")["contact"]["id"] == cid
    assert lookup(email="nobody@example.com")["contact"] is None
    missing = call(highlevel, "GET", "/contacts/search/duplicate", params={"email": "d@example.com"})
    assert missing.status_code == 422
