from __future__ import annotations

import json
import logging
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from airflow.sdk import Connection

from qbo_crm_sync.errors import (
    ApiError,
    ConfigurationError,
    ConnectionFailed,
    CrmAccessDenied,
    RateLimited,
)
from qbo_crm_sync.hooks.highlevel import HighLevelHook, HighLevelSettings
from qbo_crm_sync.hooks.http import RetryPolicy
from tests.unit.hooks.fakes import ScriptedAdapter, mount

TOKEN = "pit-0123456789abcdef"
FAST = RetryPolicy(max_attempts=3, initial_s=0.001, max_backoff_s=0.01)


def wired(replies, **overrides) -> tuple[HighLevelHook, ScriptedAdapter]:
    values = dict(
        token=TOKEN, base_url="https://hl.test", retry=FAST, window_s=overrides.pop("window_s", 10.0)
    )
    hook = HighLevelHook(
        overrides.pop("location_id", "loc-1"), settings=HighLevelSettings(**(values | overrides))
    )
    adapter = mount(hook.get_conn().session, ScriptedAdapter(replies))
    return hook, adapter


def query_of(request) -> dict[str, list[str]]:
    return parse_qs(urlsplit(request.url).query)


# --------------------------------------------------------------------------------------- settings


def test_settings_from_connection():
    conn = Connection(
        conn_id="hl",
        conn_type="highlevel",
        password=TOKEN,
        extra=json.dumps({"base_url": "http://127.0.0.1:8802/", "window_s": 1}),
    )
    s = HighLevelSettings.from_connection(conn)
    assert s.token == TOKEN and s.base_url == "http://127.0.0.1:8802" and s.window_s == 1.0
    assert (s.version, s.conversations_version, s.requests_per_window) == ("2021-07-28", "2021-04-15", 100)
    default = HighLevelSettings.from_connection(Connection(conn_id="hl", conn_type="highlevel", password="x"))
    assert default.base_url == "https://services.leadconnectorhq.com" and default.window_s == 10.0


def test_missing_token_names_connection_and_field():
    with pytest.raises(ConfigurationError, match="hl_prod.*Private Integration Token"):
        HighLevelSettings.from_connection(Connection(conn_id="hl_prod", conn_type="highlevel"))


def test_token_stays_out_of_repr_and_logs(caplog):
    hook, _ = wired([(503, {"message": "down"}), (200, {"contact": {"id": "c1"}})])
    with caplog.at_level(logging.DEBUG):
        hook.get_contact("c1")
    for text in (repr(hook), str(hook), repr(hook.settings), str(hook.settings), caplog.text):
        assert TOKEN not in text
    assert "GET /contacts/c1 -> 503" in caplog.text


def test_ui_field_behaviour():
    behaviour = HighLevelHook.get_ui_field_behaviour()
    assert behaviour["relabeling"]["password"] == "Private Integration Token"
    assert HighLevelHook.conn_type == "highlevel" and HighLevelHook.hook_name == "HighLevel (LeadConnector)"


# ----------------------------------------------------------------------------------------- calls


def test_upsert_fills_location_and_sends_version_header():
    hook, adapter = wired([(200, {"new": True, "contact": {"id": "c1"}, "traceId": "t"})])
    answer = hook.upsert_contact({"email": "a@b.test", "firstName": "A"})
    assert answer["contact"]["id"] == "c1" and answer["new"] is True
    sent = adapter.requests[0]
    assert urlsplit(sent.url).path == "/contacts/upsert"
    assert json.loads(sent.body) == {"email": "a@b.test", "firstName": "A", "locationId": "loc-1"}
    assert sent.headers["Version"] == "2021-07-28" and sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert hook.stats["write"] == 1


def test_send_message_uses_conversations_version_and_is_not_resent_after_a_lost_answer():
    hook, adapter = wired([requests.ReadTimeout("slow"), (200, {"messageId": "m"})])
    with pytest.raises(ConnectionFailed):
        hook.send_message({"type": "Email", "contactId": "c1", "subject": "s", "html": "h"})
    assert len(adapter.requests) == 1
    assert adapter.requests[0].headers["Version"] == "2021-04-15"


def test_transactions_page_with_offsets_and_alt_params():
    def reply(req):
        q = query_of(req)
        offset, limit = int(q["offset"][0]), int(q["limit"][0])
        data = [{"_id": str(i)} for i in range(offset, min(offset + limit, 230))]
        return 200, {"data": data, "totalCount": 230}

    hook, adapter = wired(reply)
    rows = list(hook.transactions("2026-01-01", "2026-01-31", entitySourceType="funnel"))
    assert len(rows) == 230 and len(adapter.requests) == 3
    q = query_of(adapter.requests[0])
    assert q["altId"] == ["loc-1"] and q["altType"] == ["location"] and q["locationId"] == ["loc-1"]
    assert (
        q["startAt"] == ["2026-01-01"]
        and q["endAt"] == ["2026-01-31"]
        and q["entitySourceType"] == ["funnel"]
    )


def test_invoices_use_total_and_status():
    def reply(req):
        q = query_of(req)
        offset = int(q["offset"][0])
        return 200, {
            "invoices": [{"_id": str(i)} for i in range(offset, min(offset + 100, 150))],
            "total": 150,
        }

    hook, adapter = wired(reply)
    assert len(list(hook.invoices(status="sent"))) == 150
    q = query_of(adapter.requests[0])
    assert (
        q["status"] == ["sent"]
        and q["altType"] == ["location"]
        and urlsplit(adapter.requests[0].url).path == "/invoices/"
    )


def test_find_duplicate_and_missing_contact():
    hook, adapter = wired(
        [(200, {"contact": None}), (404, {"statusCode": 404, "message": "Contact not found"})]
    )
    assert hook.find_duplicate(email="x+1@y.test") is None
    assert query_of(adapter.requests[0])["email"] == ["x+1@y.test"]
    assert hook.get_contact("nope") is None


@pytest.mark.parametrize(
    ("status", "body", "kind", "text"),
    [
        (
            422,
            {"statusCode": 422, "message": ["altType should not be empty", "altType must be a string"]},
            ApiError,
            "altType should not be empty; altType must be a string",
        ),
        (400, {"statusCode": 400, "message": "Bad Request"}, ApiError, "Bad Request"),
        (
            401,
            {"statusCode": 401, "message": "Invalid token: access token is invalid", "error": "Unauthorized"},
            CrmAccessDenied,
            "Invalid token",
        ),
    ],
)
def test_error_bodies_map_to_types(status, body, kind, text):
    hook, adapter = wired([(status, body)])
    with pytest.raises(kind, match=text) as caught:
        hook.add_tags("c1", ["review-requested"])
    assert len(adapter.requests) == 1
    if kind is ApiError:
        assert caught.value.status == status


def test_429_is_retried_and_rate_limited_after_attempts():
    hook, adapter = wired([(429, {"message": "Too many"}, {"Retry-After": "0"})])
    with pytest.raises(RateLimited):
        hook.get_contact("c1")
    assert len(adapter.requests) == FAST.max_attempts


def test_remaining_zero_pauses_the_location():
    headers = {
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Interval-Milliseconds": "300",
        "X-RateLimit-Max": "100",
    }
    hook, adapter = wired([(200, {"contact": {}}, headers), (200, {"contact": {}})])
    hook.get_contact("c1")
    started = time.monotonic()
    hook.get_contact("c2")
    assert time.monotonic() - started >= 0.28


def test_remaining_zero_from_our_own_burst_does_not_pause():
    # The throttle already waits until our oldest request leaves the window; a pause of a whole
    # interval from the last answer would leave the budget idle for as long as the burst took.
    full = {"X-RateLimit-Max": "3", "X-RateLimit-Interval-Milliseconds": "60000"}
    hook, _ = wired(
        [
            (200, {"contact": {}}, full | {"X-RateLimit-Remaining": "2"}),
            (200, {"contact": {}}, full | {"X-RateLimit-Remaining": "1"}),
            (200, {"contact": {}}, full | {"X-RateLimit-Remaining": "0"}),
        ],
        base_url="https://hl-own-burst.test",
        location_id="loc-own-burst",
    )
    for n in range(3):
        hook.get_contact(f"c{n}")
    assert hook.get_conn().throttle.paused_for("loc-own-burst") == 0.0


def test_remaining_zero_from_someone_else_pauses_for_the_interval():
    headers = {"X-RateLimit-Max": "100", "X-RateLimit-Remaining": "0", "X-RateLimit-Interval-Milliseconds": "60000"}
    hook, _ = wired([(200, {"contact": {}}, headers)], base_url="https://hl-shared.test", location_id="loc-shared")
    hook.get_contact("c1")
    assert hook.get_conn().throttle.paused_for("loc-shared") > 50


def test_server_max_lowers_the_budget():
    hook, _ = wired(
        [(200, {"contact": {}}, {"X-RateLimit-Max": "7", "X-RateLimit-Remaining": "6"})],
        base_url="https://hl-max.test",
        location_id="loc-max",
    )
    hook.get_contact("c1")
    throttle = hook.get_conn().throttle
    assert throttle.limit_for("loc-max") == 7
    assert throttle.limit_for("another-location") == 100


def test_conversation_messages_page_by_last_message_id_in_either_shape():
    """The API reference nests the page in ``messages``; the OpenAPI document does not: both read."""
    pages = {None: (["m5", "m4"], True), "m4": (["m3", "m2"], True), "m2": (["m1"], False)}

    def reply(req):
        q = query_of(req)
        last = q.get("lastMessageId", [None])[0]
        ids, more = pages[last]
        page = {"lastMessageId": ids[-1], "nextPage": more, "messages": [{"id": i} for i in ids]}
        return 200, ({"messages": page} if last != "m4" else page)

    hook, adapter = wired(reply)
    assert [m["id"] for m in hook.conversation_messages("conv1", page_limit=2)] == ["m5", "m4", "m3", "m2", "m1"]
    assert [urlsplit(r.url).path for r in adapter.requests] == ["/conversations/conv1/messages"] * 3
    assert all(r.headers["Version"] == "2021-04-15" for r in adapter.requests)


def test_conversations_of_a_contact():
    hook, adapter = wired([(200, {"conversations": [{"id": "conv1", "contactId": "c1"}], "total": 1})])
    assert [c["id"] for c in hook.conversations_of("c1")] == ["conv1"]
    q = query_of(adapter.requests[0])
    assert q["locationId"] == ["loc-1"] and q["contactId"] == ["c1"]
    assert adapter.requests[0].headers["Version"] == "2021-04-15"
