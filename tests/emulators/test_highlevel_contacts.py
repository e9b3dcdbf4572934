"""Contacts: duplicate rules, upsert matching, search paging and validation, tags."""

from __future__ import annotations

import pytest
import requests

from tests.emulators.highlevel_client import LOC, OTHER_LOC, OTHER_TOKEN, call, entities, seed

pytestmark = pytest.mark.integration


def upsert(base: str, **fields: object) -> dict:
    answer = call(base, "POST", "/contacts/upsert", json={"locationId": LOC, **fields})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_upsert_matches_by_email_then_by_phone(highlevel: str) -> None:
    first = upsert(highlevel, email="Ann@Example.com", firstName="Ann", phone="+1 555-000-1111")
    assert first["new"] is True and first["traceId"]
    contact = first["contact"]
    assert contact["email"] == "Ann@Example.com"  # kept as given, matched case-insensitively
    assert contact["phone"] == "+1 555-000-1111"  # phones are kept as given

    by_email = upsert(highlevel, email="ANN@example.com", lastName="Lee")
    assert by_email["new"] is False and by_email["contact"]["id"] == contact["id"]
    assert by_email["contact"]["name"] == "Ann Lee"

    by_phone = upsert(highlevel, phone="+15550001111", city="Austin")
    assert by_phone["new"] is False and by_phone["contact"]["id"] == contact["id"]
    assert by_phone["contact"]["city"] == "Austin"

    elsewhere = call(highlevel, "POST", "/contacts/upsert", json={"locationId": OTHER_LOC, "email": "ann@example.com"},
                     token=OTHER_TOKEN)
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


def _set_matching(base: str, order: list[str]) -> None:
    requests.post(f"{base}/_admin/locations/{LOC}", json={"contactMatching": order}, timeout=5).raise_for_status()


def test_upsert_keeps_the_email_contact_and_ignores_a_phone_owned_by_another(highlevel: str) -> None:
    # contacts OpenAPI, POST /contacts/upsert: when one contact has the email and another the phone,
    # "the API will update the contact that matches the first field in the configured sequence, and
    # ignore the second field to prevent duplication" (default sequence: email, then phone).
    by_email = upsert(highlevel, email="eve@example.com", phone="+15550000001", firstName="Eve")["contact"]
    by_phone = upsert(highlevel, email="pat@example.com", phone="+15550000002", firstName="Pat")["contact"]
    answer = upsert(highlevel, email="EVE@example.com", phone="+1 555-000-0002", city="Lima")
    assert answer["new"] is False and answer["contact"]["id"] == by_email["id"]
    stored = {c["id"]: c for c in entities(highlevel, "contacts", LOC)}
    assert len(stored) == 2
    assert stored[by_email["id"]]["phone"] == "+15550000001" and stored[by_email["id"]]["city"] == "Lima"
    assert stored[by_phone["id"]]["phone"] == "+15550000002" and "city" not in stored[by_phone["id"]]
    # a phone nobody else has is written as usual
    assert upsert(highlevel, email="eve@example.com", phone="+15550000009")["contact"]["phone"] == "+15550000009"


def test_upsert_follows_a_phone_first_setting(highlevel: str) -> None:
    # Same description: the sequence is the location's "Allow Duplicate Contact" setting.
    by_email = upsert(highlevel, email="eve@example.com", firstName="Eve")["contact"]
    by_phone = upsert(highlevel, email="pat@example.com", phone="+15550000002", firstName="Pat")["contact"]
    _set_matching(highlevel, ["phone", "email"])
    answer = upsert(highlevel, email="eve@example.com", phone="+15550000002", city="Lima")
    assert answer["contact"]["id"] == by_phone["id"]
    stored = {c["id"]: c for c in entities(highlevel, "contacts", LOC)}
    assert stored[by_phone["id"]]["email"] == "pat@example.com"  # the email is the ignored second field
    assert "city" not in stored[by_email["id"]] and stored[by_phone["id"]]["city"] == "Lima"


def test_upsert_with_an_email_only_setting_never_matches_by_phone(highlevel: str) -> None:
    upsert(highlevel, email="eve@example.com", phone="+15550000001")
    _set_matching(highlevel, ["email"])
    other = upsert(highlevel, email="zed@example.com", phone="+15550000001")
    assert other["new"] is True
    phone_only = upsert(highlevel, phone="+15550000001")
    assert phone_only["new"] is True and len(entities(highlevel, "contacts", LOC)) == 3
    found = call(highlevel, "GET", "/contacts/search/duplicate", params={"locationId": LOC, "number": "+15550000001"})
    assert found.json()["contact"] is None
    bad = requests.post(f"{highlevel}/_admin/locations/{LOC}", json={"contactMatching": ["name"]}, timeout=5)
    assert bad.status_code == 422


def test_email_case_is_kept_with_a_lower_cased_copy(highlevel: str) -> None:
    # ContactCreate webhook example in the specs: "email": "JohnDeo@gmail.comm", as it was written.
    contact = call(highlevel, "POST", "/contacts/", json={"locationId": LOC, "email": "JohnDeo@Gmail.com"}).json()
    assert contact["contact"]["email"] == "JohnDeo@Gmail.com"
    assert contact["contact"]["emailLowerCase"] == "johndeo@gmail.com"
    again = upsert(highlevel, email="johndeo@gmail.com", firstName="John")
    assert again["new"] is False and again["contact"]["email"] == "johndeo@gmail.com"  # the upsert's own spelling
    assert again["contact"]["emailLowerCase"] == "johndeo@gmail.com"


def test_duplicate_lookup_needs_an_email_or_a_number(highlevel: str) -> None:
    # Both parameters are optional in the document, but a lookup by nothing is the documented 400,
    # never a 200 with no contact that would read as "no duplicate".
    for params in ({"locationId": LOC}, {"locationId": LOC, "email": "", "number": ""}):
        answer = call(highlevel, "GET", "/contacts/search/duplicate", params=params)
        assert answer.status_code == 400 and answer.json()["statusCode"] == 400


def test_search_refuses_unknown_fields(highlevel: str) -> None:
    # highlevel-api-docs#170 ("Invalid field contact_name") and #289 ("Invalid field additional_phones"):
    # 400 with message, error, statusCode and traceId; not an empty page.
    upsert(highlevel, email="s@example.com", firstName="Sam")
    for flt in ({"field": "contact_name", "operator": "eq", "value": "sam"},
                {"group": "OR", "filters": [{"field": "email", "operator": "eq", "value": "s@example.com"},
                                            {"field": "emial", "operator": "eq", "value": "s@example.com"}]}):
        answer = call(highlevel, "POST", "/contacts/search", json={"locationId": LOC, "pageLimit": 5, "filters": [flt]})
        assert answer.status_code == 400, answer.text
        body = answer.json()
        assert body["message"] in ("Invalid field contact_name", "Invalid field emial")
        assert body["error"] == "Bad Request" and body["statusCode"] == 400 and body["traceId"]
    # The fields of the search guide's table, DND fields (#279) and customFields.<id> are searchable.
    cid = upsert(highlevel, email="s@example.com", customFields=[{"id": "cfTier", "field_value": "gold"}])
    known = [{"field": "firstNameLowerCase", "operator": "eq", "value": "sam"},
             {"field": "customFields.cfTier", "operator": "eq", "value": "gold"},
             {"field": "dndSettings.Email.status", "operator": "not_exists"}]
    found = call(highlevel, "POST", "/contacts/search", json={"locationId": LOC, "pageLimit": 5, "filters": known})
    assert found.status_code == 200 and [c["id"] for c in found.json()["contacts"]] == [cid["contact"]["id"]]
