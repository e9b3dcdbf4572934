"""Bearer token, Version header, the per-location request budget and lost answers after a write."""

from __future__ import annotations

import time

import pytest
import requests

from tests.emulators.highlevel_client import LOC, OTHER_LOC, OTHER_TOKEN, TOKEN, call, entities, headers

pytestmark = pytest.mark.integration

RATE_HEADERS = ("X-RateLimit-Limit-Daily", "X-RateLimit-Daily-Remaining", "X-RateLimit-Interval-Milliseconds",
                "X-RateLimit-Max", "X-RateLimit-Remaining")


def test_missing_or_wrong_token_is_401(highlevel: str) -> None:
    # The live API's body, without the "error" the document's UnauthorizedDTO shows
    # (GoHighLevel/highlevel-api-docs#213: {"statusCode": 401, "message": "Invalid JWT"}).
    url = f"{highlevel}/contacts/search/duplicate"
    params = {"locationId": LOC, "email": "a@example.com"}
    for sent in ({"Version": "2021-07-28"}, headers(token="not-the-token"), {"Authorization": "Basic abc"},
                 {"Authorization": TOKEN, "Version": "2021-07-28"}):
        answer = requests.get(url, params=params, headers=sent, timeout=5)
        assert answer.status_code == 401
        assert answer.json() == {"statusCode": 401, "message": "Invalid JWT"}


def test_documented_401_body_behind_a_switch(highlevel: str) -> None:
    # common-schemas.json UnauthorizedDTO example: the documented reading, kept as a switch.
    requests.post(f"{highlevel}/_admin/config", json={"unauthorized_body": "documented"}, timeout=5)
    answer = call(highlevel, "GET", "/contacts/search/duplicate", params={"locationId": LOC, "email": "a@b.co"},
                  token="not-the-token")
    assert answer.status_code == 401
    assert answer.json() == {"statusCode": 401, "message": "Invalid token: access token is invalid",
                             "error": "Unauthorized"}
    requests.post(f"{highlevel}/_admin/reset", timeout=5)
    assert requests.get(f"{highlevel}/_admin/config", timeout=5).json()["unauthorized_body"] == "live"


def test_version_header_is_required_and_per_api(highlevel: str) -> None:
    url = f"{highlevel}/contacts/search/duplicate"
    params = {"locationId": LOC, "email": "a@example.com"}
    missing = requests.get(url, params=params, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert missing.status_code == 400 and missing.json()["message"] == "Version header was not found"
    wrong = requests.get(url, params=params, headers=headers("2021-04-15"), timeout=5)
    assert wrong.status_code == 400 and "2021-07-28" in wrong.json()["message"]
    contact = call(highlevel, "POST", "/contacts/", json={"locationId": LOC, "email": "a@example.com"}).json()
    message = {"type": "SMS", "subType": "SMS", "contactId": contact["contact"]["id"], "status": "pending",
               "message": "hi"}
    assert call(highlevel, "POST", "/conversations/messages", json=message).status_code == 400
    assert call(highlevel, "POST", "/conversations/messages", json=message, version="2021-04-15").status_code == 400
    message["toNumber"] = "+15550001111"
    sent = call(highlevel, "POST", "/conversations/messages", json=message, version="2021-04-15")
    assert sent.status_code == 200 and {"messageId", "conversationId"} <= set(sent.json())


def test_every_answer_carries_the_budget_headers(highlevel: str) -> None:
    first = call(highlevel, "GET", "/contacts/search/duplicate", params={"locationId": LOC, "email": "x@y.co"})
    second = call(highlevel, "GET", "/contacts/search/duplicate", params={"locationId": LOC, "email": "x@y.co"})
    assert all(h in first.headers for h in RATE_HEADERS)
    assert first.headers["X-RateLimit-Max"] == "100"
    assert first.headers["X-RateLimit-Interval-Milliseconds"] == "10000"
    assert first.headers["X-RateLimit-Limit-Daily"] == "200000"
    assert int(second.headers["X-RateLimit-Remaining"]) == int(first.headers["X-RateLimit-Remaining"]) - 1
    assert int(second.headers["X-RateLimit-Daily-Remaining"]) == 200000 - 2
    refused = call(highlevel, "POST", "/contacts/search", json={"locationId": LOC})
    assert refused.status_code == 422 and "X-RateLimit-Remaining" in refused.headers


def test_burst_over_the_window_is_429_per_location(highlevel: str) -> None:
    config = requests.post(f"{highlevel}/_admin/config", json={"burst_limit": 3, "throttle_window_s": 1}, timeout=5)
    assert config.json()["burst_limit"] == 3

    def lookup(location: str) -> requests.Response:
        token = OTHER_TOKEN if location == OTHER_LOC else TOKEN
        return call(highlevel, "GET", "/contacts/search/duplicate", params={"locationId": location, "email": "a@b.co"},
                    token=token)

    assert [lookup(LOC).status_code for _ in range(3)] == [200, 200, 200]
    refused = lookup(LOC)
    assert refused.status_code == 429
    assert refused.json() == {"statusCode": 429, "message": "Too many requests"}
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["X-RateLimit-Max"] == "3"
    assert refused.headers["X-RateLimit-Interval-Milliseconds"] == "1000"
    assert lookup(OTHER_LOC).status_code == 200  # another location has its own budget
    time.sleep(1.1)
    assert lookup(LOC).status_code == 200


def test_daily_budget_is_enforced(highlevel: str) -> None:
    requests.post(f"{highlevel}/_admin/config", json={"daily_limit": 2}, timeout=5)
    params = {"locationId": LOC, "email": "a@b.co"}
    codes = [call(highlevel, "GET", "/contacts/search/duplicate", params=params).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_reset_restores_the_default_budget(highlevel: str) -> None:
    requests.post(f"{highlevel}/_admin/config", json={"burst_limit": 1}, timeout=5)
    requests.post(f"{highlevel}/_admin/reset", timeout=5)
    assert requests.get(f"{highlevel}/_admin/config", timeout=5).json()["burst_limit"] == 100


def test_write_committed_but_answer_lost(highlevel: str) -> None:
    requests.post(f"{highlevel}/_admin/faults", json={"drop_after_commit_rate": 1.0, "paths": ["/contacts/upsert"]},
                  timeout=5).raise_for_status()
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        call(highlevel, "POST", "/contacts/upsert", json={"locationId": LOC, "email": "lost@example.com"})
    requests.post(f"{highlevel}/_admin/faults", json={"drop_after_commit_rate": 0.0}, timeout=5)
    stored = entities(highlevel, "contacts", LOC)
    assert [c["email"] for c in stored] == ["lost@example.com"]
    again = call(highlevel, "POST", "/contacts/upsert", json={"locationId": LOC, "email": "lost@example.com"})
    assert again.json()["new"] is False and again.json()["contact"]["id"] == stored[0]["id"]


def test_unknown_route_answers_like_nest(highlevel: str) -> None:
    answer = call(highlevel, "GET", "/contacts/x/unknown-thing")
    assert answer.status_code == 404 and answer.json()["message"].startswith("Cannot GET")
