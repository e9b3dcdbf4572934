"""Locations and their tokens: a Private Integration Token opens its own location only, locations
exist only once seeded, and the Version values the official SDK sends are accepted."""

from __future__ import annotations

import pytest
import requests

from tests.emulators.highlevel_client import (
    LOC,
    OTHER_LOC,
    OTHER_TOKEN,
    TOKEN,
    call,
    configure,
    entities,
    seed,
)
from tests.support import emulator_process

pytestmark = pytest.mark.integration

FORBIDDEN = {"statusCode": 403, "message": "The token does not have access to this location."}
ALT = {"altId": OTHER_LOC, "altType": "location"}


def test_a_token_opens_its_own_location_only(highlevel: str) -> None:
    # GoHighLevel/highlevel-api-docs#213 (GET /invoices/:invoiceId) and n8n-io/n8n#11353 (contacts):
    # a valid token on another location's data answers 403 with this body.
    theirs = call(highlevel, "POST", "/contacts/upsert", json={"locationId": OTHER_LOC, "email": "o@example.com"},
                  token=OTHER_TOKEN).json()["contact"]["id"]
    seed(highlevel, transactions=[{"altId": OTHER_LOC, "amount": 5}])
    refused = [
        call(highlevel, "POST", "/contacts/upsert", json={"locationId": OTHER_LOC, "email": "x@example.com"}),
        call(highlevel, "GET", "/contacts/search/duplicate", params={"locationId": OTHER_LOC, "email": "o@example.com"}),
        call(highlevel, "POST", "/contacts/search", json={"locationId": OTHER_LOC, "pageLimit": 10}),
        call(highlevel, "GET", f"/contacts/{theirs}"),
        call(highlevel, "PUT", f"/contacts/{theirs}", json={"city": "Oslo"}),
        call(highlevel, "POST", f"/contacts/{theirs}/tags", json={"tags": ["mine"]}),
        call(highlevel, "GET", "/payments/transactions", params=ALT),
        call(highlevel, "GET", "/invoices/", params={**ALT, "limit": "10", "offset": "0"}),
        call(highlevel, "POST", "/conversations/messages", version="2021-04-15", json={
            "type": "Email", "subType": "Email", "contactId": theirs, "status": "pending", "html": "<p>hi</p>"}),
        # a request naming two locations is judged on both
        call(highlevel, "GET", "/payments/transactions", params={"altId": LOC, "altType": "location",
                                                                 "locationId": OTHER_LOC}),
    ]
    assert [(r.status_code, r.json()) for r in refused] == [(403, FORBIDDEN)] * len(refused)
    stored = entities(highlevel, "contacts", OTHER_LOC)
    assert [(c["email"], c.get("city"), c["tags"]) for c in stored] == [("o@example.com", None, [])]
    assert entities(highlevel, "contacts", LOC) == [] and entities(highlevel, "messages") == []
    own = call(highlevel, "GET", f"/contacts/{theirs}", token=OTHER_TOKEN)
    assert own.status_code == 200 and own.json()["contact"]["id"] == theirs


def test_an_unknown_location_is_refused_and_never_created(highlevel: str) -> None:
    # Before, any locationId was created on first use; the live API has no such thing: the token's
    # location is the only one it opens (same sources as above).
    for answer in (
        call(highlevel, "POST", "/contacts/upsert", json={"locationId": "locNobody", "email": "a@example.com"}),
        call(highlevel, "GET", "/payments/transactions", params={"altId": "locNobody", "altType": "location"}),
    ):
        assert (answer.status_code, answer.json()) == (403, FORBIDDEN)
    assert sorted(loc["id"] for loc in entities(highlevel, "locations")) == [LOC, OTHER_LOC]
    assert entities(highlevel, "contacts") == []


def test_unknown_entity_ids_are_answered_within_the_token_location(highlevel: str) -> None:
    # An id that names no location cannot be refused for its location: it is simply not found.
    missing = call(highlevel, "GET", "/contacts/noSuchContact0000000")
    assert missing.status_code == 400 and missing.json()["message"] == "Contact not found"


def test_the_v3_refusal_is_a_switch(highlevel: str) -> None:
    # n8n-io/n8n#37571: the v3 custom-objects endpoints answered 401 "This location is not accessible
    # from this token." for the same mistake; kept as the other reading.
    configure(highlevel, foreign_location="401")
    answer = call(highlevel, "GET", "/contacts/search/duplicate", params={"locationId": OTHER_LOC, "email": "a@b.co"})
    assert (answer.status_code, answer.json()) == (401, {"statusCode": 401,
                                                         "message": "This location is not accessible from this token."})
    assert requests.post(f"{highlevel}/_admin/config", json={"foreign_location": "402"}, timeout=5).status_code == 422


def test_tokens_are_seeded_per_location(highlevel: str) -> None:
    # A Sub-Account PIT belongs to its sub-account: one token, one location (highlevel-api-docs#213).
    answer = requests.post(f"{highlevel}/_admin/seed", json={"locations": [{"id": "locThird", "name": "Third"}]},
                           timeout=5).json()
    issued = answer["tokens"]["locThird"]
    assert issued.startswith("pit-") and issued not in (TOKEN, OTHER_TOKEN)
    assert requests.get(f"{highlevel}/_admin/tokens", params={"locationId": "locThird"}, timeout=5).json() == {
        "locationId": "locThird", "token": issued}
    assert requests.get(f"{highlevel}/_admin/tokens", timeout=5).json()["tokens"] == {
        LOC: TOKEN, OTHER_LOC: OTHER_TOKEN, "locThird": issued}
    lookup = {"locationId": "locThird", "email": "a@b.co"}
    assert call(highlevel, "GET", "/contacts/search/duplicate", params=lookup, token=issued).status_code == 200
    again = requests.post(f"{highlevel}/_admin/seed", json={"locations": [{"id": "locThird"}]}, timeout=5).json()
    assert again["tokens"]["locThird"] == issued  # seeding again keeps the token
    rotated = requests.post(f"{highlevel}/_admin/locations/locThird", json={"token": "pit-rotated"}, timeout=5)
    assert rotated.json()["token"] == "pit-rotated"
    assert call(highlevel, "GET", "/contacts/search/duplicate", params=lookup, token=issued).status_code == 401
    assert call(highlevel, "GET", "/contacts/search/duplicate", params=lookup, token="pit-rotated").status_code == 200
    shared = requests.post(f"{highlevel}/_admin/seed", json={"locations": [{"id": "locFourth", "token": TOKEN}]},
                           timeout=5)
    assert shared.status_code == 422 and LOC in shared.json()["detail"]
    orphan = requests.post(f"{highlevel}/_admin/seed", json={"transactions": [{"altId": "locNobody", "amount": 1}]},
                           timeout=5)
    assert orphan.status_code == 422 and "locNobody" in orphan.json()["detail"]
    assert "locNobody" not in {loc["id"] for loc in entities(highlevel, "locations")}


def test_the_budget_is_the_token_location(highlevel: str) -> None:
    # The burst limit is counted per resource (docs/oauth/Authorization.md): a token spends its own
    # location's budget even on requests the location check refuses.
    configure(highlevel, burst_limit=2, throttle_window_s=5)
    params = {"locationId": OTHER_LOC, "email": "a@b.co"}
    assert [call(highlevel, "GET", "/contacts/search/duplicate", params=params).status_code for _ in range(3)] == [
        403, 403, 429]
    own = call(highlevel, "GET", "/contacts/search/duplicate", params=params, token=OTHER_TOKEN)
    assert own.status_code == 200 and own.headers["X-RateLimit-Remaining"] == "1"


def test_the_sdk_default_version_is_accepted(highlevel: str) -> None:
    # @gohighlevel/api-client sends Version 2023-02-21 on every request since 3.0.0 (dist/lib/HighLevel.js:
    # apiVersion: config.apiVersion || '2023-02-21'), a version HighLevel's versioning page lists as
    # supported for the public API (marketplace.gohighlevel.com/docs/2023-02-21/Versioning).
    sdk = "2023-02-21"
    contact = call(highlevel, "POST", "/contacts/upsert", json={"locationId": LOC, "email": "v@example.com"},
                   version=sdk)
    assert contact.status_code == 200
    message = {"type": "Email", "subType": "Email", "contactId": contact.json()["contact"]["id"], "status": "pending",
               "html": "<p>hi</p>"}
    answers = [
        call(highlevel, "GET", "/payments/transactions", params={"altId": LOC, "altType": "location"}, version=sdk),
        call(highlevel, "GET", "/invoices/", params={"altId": LOC, "altType": "location", "limit": "5", "offset": "0"},
             version=sdk),
        call(highlevel, "POST", "/conversations/messages", json=message, version=sdk),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200]
    # The OpenAPI documents list one value per operation: that reading is a switch.
    configure(highlevel, version_check="documented")
    refused = call(highlevel, "GET", "/payments/transactions", params={"altId": LOC, "altType": "location"},
                   version=sdk)
    assert refused.status_code == 400 and refused.json()["message"] == "Version header must be 2021-07-28"
    assert call(highlevel, "POST", "/conversations/messages", json=message, version=sdk).status_code == 400
    assert call(highlevel, "POST", "/conversations/messages", json=message, version="2021-04-15").status_code == 200


def test_locations_given_at_start_survive_a_reset() -> None:
    with emulator_process("emulators.highlevel", "--location", "locBoot=pit-boot") as base:
        lookup = {"locationId": "locBoot", "email": "a@b.co"}
        assert call(base, "GET", "/contacts/search/duplicate", params=lookup, token="pit-boot").status_code == 200
        requests.post(f"{base}/_admin/reset", timeout=5).raise_for_status()
        assert call(base, "GET", "/contacts/search/duplicate", params=lookup, token="pit-boot").status_code == 200
        assert [loc["id"] for loc in entities(base, "locations")] == ["locBoot"]
