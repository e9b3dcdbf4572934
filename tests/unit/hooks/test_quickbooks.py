from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from airflow.sdk import Connection

from qbo_crm_sync.errors import (
    ApiError,
    AuthError,
    ConfigurationError,
    DuplicateName,
    RateLimited,
    StaleObject,
)
from qbo_crm_sync.hooks.http import RetryPolicy
from qbo_crm_sync.hooks.quickbooks import (
    QuickBooksHook,
    QuickBooksSettings,
    authorization_url,
    batch_item_id,
    fault_error,
    quote,
    request_id,
    token_is_fresh,
)
from tests.unit.hooks.fakes import ScriptedAdapter

SAMPLES = Path(__file__).resolve().parents[3] / ".." / "shared" / "specs" / "qbo" / "samples"
SECRET = "client-secret-never-logged"
FAST = RetryPolicy(max_attempts=3, initial_s=0.001, max_backoff_s=0.01)


def settings(**overrides) -> QuickBooksSettings:
    values = dict(
        client_id="client-id",
        client_secret=SECRET,
        base_url="https://qbo.test",
        token_url="https://oauth.test/oauth2/v1/tokens/bearer",
        redirect_uri="https://app.test/callback",
        retry=FAST,
    )
    return QuickBooksSettings(**(values | overrides))


class MemoryTokenStore:
    """The TokenStore contract without a database."""

    def __init__(self, tokens=None):
        self.tokens = dict(tokens or {})
        self.refresher_calls = 0

    def load(self, realm_id):
        return self.tokens.get(realm_id)

    def save(self, realm_id, token):
        self.tokens[realm_id] = dict(token)

    def refresh(self, realm_id, is_fresh, refresher):
        token = self.tokens.get(realm_id)
        if token is not None and is_fresh(token):
            return token
        self.refresher_calls += 1
        new = refresher(token)
        self.tokens[realm_id] = new
        return new

    def delete(self, realm_id):
        self.tokens.pop(realm_id, None)


def token(access="access-AAAA1111", refresh="refresh-RRRR2222", ttl=3600):
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "bearer",
        "expires_in": ttl,
        "expires_at": int(time.time()) + ttl,
    }


@pytest.fixture
def wire(monkeypatch):
    """Route every requests call (hook session and OAuth2Session alike) through a script."""

    def install(replies) -> ScriptedAdapter:
        adapter = ScriptedAdapter(replies)
        monkeypatch.setattr(
            requests.adapters.HTTPAdapter, "send", lambda _self, req, **kw: adapter.send(req, **kw)
        )
        return adapter

    return install


# ------------------------------------------------------------------------------------ query text


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("plain", "'plain'"),
        ("o'brien", r"'o\'brien'"),
        ("back\\slash", r"'back\\slash'"),
        ("a\\'b", r"'a\\\'b'"),
        ("", "''"),
    ],
)
def test_quote(value, literal):
    assert quote(value) == literal


def test_request_id_is_deterministic_and_fits_batch():
    rid = request_id("invoice", "inv_123", 2)
    assert rid == request_id("invoice", "inv_123", 2)
    assert rid != request_id("invoice", "inv_123", 3)
    assert rid != request_id("invoice", "inv_1232")
    assert len(rid) <= 36
    assert len(request_id("x" * 500)) <= 36


def test_batch_item_id_is_short_deterministic_and_distinct():
    # QBO refuses bIds over 10 characters in a batch that carries a requestid.
    bid = batch_item_id("receipt", 1, "64f0c2a4e9d1b5c378e421a7", 0)
    assert bid == batch_item_id("receipt", 1, "64f0c2a4e9d1b5c378e421a7", 0)
    assert len(bid) == 10 and bid.isalnum()
    ids = {batch_item_id("receipt", 1, f"{n:024x}", 0) for n in range(20_000)}
    assert len(ids) == 20_000


def test_ids_qbo_refuses_are_never_sent(wire):
    adapter = wire(lambda req: (200, {"BatchItemResponse": []}))
    hook = QuickBooksHook("123", MemoryTokenStore({"123": token()}), settings=settings())
    with pytest.raises(ValueError, match="bIds over 10"):
        hook.batch([{"bId": request_id("c", 1), "operation": "create", "Customer": {"DisplayName": "A"}}])
    with pytest.raises(ValueError, match="requestid"):
        hook.create("Customer", {"DisplayName": "A"}, "r" * 51)
    assert adapter.requests == []
    hook.batch([{"bId": batch_item_id("c", 1), "operation": "create", "Customer": {"DisplayName": "A"}}])
    sent = parse_qs(urlsplit(adapter.requests[-1].url).query)
    assert len(sent["requestid"][0]) <= 36


# ---------------------------------------------------------------------------------- fault mapping


def sample(name):
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"QBO samples not found at {SAMPLES}")
    return json.loads(path.read_text())


def test_duplicate_name_sample():
    err = fault_error(sample("fault.validation.duplicate-name.json"), 400)
    assert isinstance(err, DuplicateName) and err.code == "6240" and err.status == 400


@pytest.mark.parametrize(
    ("name", "code"),
    [("fault.validation.invalid-query.json", "4001"), ("fault.validation.unsupported-property.json", "2010")],
)
def test_validation_samples_are_api_errors(name, code):
    err = fault_error(sample(name), 400)
    assert type(err) is ApiError
    assert err.code == code and err.detail


def test_lower_case_401_sample_is_auth_error_without_the_detail():
    body = sample("fault.authentication.401.json")
    body["fault"]["error"][0]["detail"] = "Token expired: eyJleHBpcmVkLXRva2VuLXZhbHVl"
    err = fault_error(body, 401)
    assert isinstance(err, AuthError)
    assert "eyJleHBpcmVk" not in str(err)


def test_batch_sample_item_faults():
    items = sample("batch.response.json")["BatchItemResponse"]
    by_bid = {i["bId"]: i for i in items}
    assert type(fault_error(by_bid["bid2"])) is ApiError and fault_error(by_bid["bid2"]).code == "610"
    assert isinstance(fault_error(by_bid["bid3"]), StaleObject)


def test_throttle_fault_is_rate_limited():
    body = {"Fault": {"Error": [{"Message": "ThrottleExceeded", "code": "003001"}], "type": "SERVICE"}}
    assert isinstance(fault_error(body, 429), RateLimited)


# --------------------------------------------------------------------------------------- settings


def test_settings_from_connection_with_emulator_oauth_base():
    conn = Connection(
        conn_id="qbo_test",
        conn_type="quickbooks",
        login="cid",
        password=SECRET,
        extra=json.dumps(
            {
                "base_url": "http://127.0.0.1:8801/",
                "oauth_base_url": "http://127.0.0.1:8801",
                "redirect_uri": "http://localhost:8080/cb",
                "window_s": 6,
            }
        ),
    )
    s = QuickBooksSettings.from_connection(conn)
    assert s.client_id == "cid" and s.client_secret == SECRET
    assert s.base_url == "http://127.0.0.1:8801"
    assert s.authorize_url == "http://127.0.0.1:8801/connect/oauth2"
    assert s.token_url == "http://127.0.0.1:8801/oauth2/v1/tokens/bearer"
    assert s.revoke_url == "http://127.0.0.1:8801/v2/oauth2/tokens/revoke"
    assert s.redirect_uri == "http://localhost:8080/cb"
    assert s.window_s == 6.0


def test_settings_defaults_are_intuit_production():
    s = QuickBooksSettings.from_connection(
        Connection(conn_id="q", conn_type="quickbooks", login="c", password="p")
    )
    assert s.base_url == "https://quickbooks.api.intuit.com"
    assert s.token_url == "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
    assert (s.minor_version, s.requests_per_minute, s.concurrency, s.batch_per_minute) == (75, 500, 10, 40)


@pytest.mark.parametrize(
    ("login", "password", "field"), [("cid", None, "Client Secret"), (None, "pw", "Client ID")]
)
def test_missing_credentials_name_the_connection_and_field(login, password, field):
    conn = Connection(conn_id="qbo_prod", conn_type="quickbooks", login=login, password=password)
    with pytest.raises(ConfigurationError, match=f"qbo_prod.*{field}"):
        QuickBooksSettings.from_connection(conn)


def test_secrets_stay_out_of_repr():
    s = settings()
    store = MemoryTokenStore({"1": token()})
    hook = QuickBooksHook("1", store, settings=s)
    for text in (repr(s), str(s), repr(hook), str(hook)):
        assert SECRET not in text and "access-AAAA1111" not in text


def test_ui_field_behaviour():
    behaviour = QuickBooksHook.get_ui_field_behaviour()
    assert {"schema", "port"} <= set(behaviour["hidden_fields"])
    assert behaviour["relabeling"]["login"] == "Client ID"
    assert behaviour["relabeling"]["password"] == "Client Secret"
    assert QuickBooksHook.conn_type == "quickbooks" and QuickBooksHook.hook_name == "QuickBooks Online"


# ------------------------------------------------------------------------------------------ OAuth


def test_authorization_url_carries_client_scope_redirect_and_state():
    url = authorization_url(settings(authorize_url="https://auth.test/connect/oauth2"), "state-123")
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.netloc == "auth.test"
    assert query["client_id"] == ["client-id"] and query["state"] == ["state-123"]
    assert query["response_type"] == ["code"] and query["scope"] == ["com.intuit.quickbooks.accounting"]
    assert query["redirect_uri"] == ["https://app.test/callback"]
    assert SECRET not in url


def test_token_freshness_margin():
    now = time.time()
    assert token_is_fresh({"access_token": "a", "expires_at": now + 3600, "expires_in": 3600}, now)
    assert not token_is_fresh({"access_token": "a", "expires_at": now + 200, "expires_in": 3600}, now)
    assert token_is_fresh({"access_token": "a", "expires_at": now + 8, "expires_in": 10}, now)
    assert not token_is_fresh({"access_token": "a", "expires_at": now + 4, "expires_in": 10}, now)
    assert not token_is_fresh({"access_token": "a"}, now)


# ------------------------------------------------------------------------------------ hook (wired)


def test_query_pages_until_a_short_page(wire):
    def reply(req):
        query = parse_qs(urlsplit(req.url).query)["query"][0]
        start = int(query.split("STARTPOSITION ")[1].split()[0])
        rows = [{"Id": str(i)} for i in range(start, min(start + 1000, 2501))]
        return 200, {"QueryResponse": {"Customer": rows, "startPosition": start, "maxResults": len(rows)}}

    adapter = wire(reply)
    hook = QuickBooksHook("123", MemoryTokenStore({"123": token()}), settings=settings())
    rows = list(hook.query("SELECT * FROM Customer WHERE Active = true"))
    assert len(rows) == 2500 and rows[-1]["Id"] == "2500"
    assert len(adapter.requests) == 3
    first = parse_qs(urlsplit(adapter.requests[0].url).query)
    assert first["query"] == ["SELECT * FROM Customer WHERE Active = true STARTPOSITION 1 MAXRESULTS 1000"]
    assert first["minorversion"] == ["75"]
    assert hook.stats["read"] == 3
    with pytest.raises(ValueError):
        list(hook.query("SELECT * FROM Customer MAXRESULTS 10"))


def test_create_sends_requestid_minorversion_and_decimal_amounts(wire):
    adapter = wire([(200, {"SalesReceipt": {"Id": "9", "TotalAmt": 10.1}})])
    hook = QuickBooksHook("123", MemoryTokenStore({"123": token()}), settings=settings())
    created = hook.create("SalesReceipt", {"Line": [{"Amount": Decimal("10.10")}]}, request_id("sr", 1))
    assert created["Id"] == "9"
    sent = adapter.requests[0]
    assert urlsplit(sent.url).path == "/v3/company/123/salesreceipt"
    query = parse_qs(urlsplit(sent.url).query)
    assert query["requestid"] == [request_id("sr", 1)] and query["minorversion"] == ["75"]
    assert json.loads(sent.body) == {"Line": [{"Amount": 10.1}]}
    assert sent.headers["Authorization"] == "Bearer access-AAAA1111"
    assert hook.stats["write"] == 1


def test_update_void_and_cdc_shapes(wire):
    adapter = wire(
        lambda req: (
            200,
            {
                "Invoice": {"Id": "5", "SyncToken": "2"},
                "CDCResponse": [{"QueryResponse": [{"Customer": [{"Id": "1"}]}, {"Invoice": [{"Id": "5"}]}]}],
            },
        )
    )
    hook = QuickBooksHook("123", MemoryTokenStore({"123": token()}), settings=settings())
    hook.update("Invoice", {"Id": "5", "SyncToken": "1", "PrivateNote": "x"}, "rid-1", sparse=True)
    assert json.loads(adapter.requests[-1].body)["sparse"] is True
    hook.void_invoice("5", "2", "rid-2")
    void = parse_qs(urlsplit(adapter.requests[-1].url).query)
    assert void["operation"] == ["void"] and void["requestid"] == ["rid-2"]
    changed = hook.cdc(["Customer", "Invoice", "Payment"], datetime(2026, 1, 1, tzinfo=UTC))
    assert changed == {"Customer": [{"Id": "1"}], "Invoice": [{"Id": "5"}], "Payment": []}
    cdc_query = parse_qs(urlsplit(adapter.requests[-1].url).query)
    assert cdc_query["entities"] == ["Customer,Invoice,Payment"]
    assert cdc_query["changedSince"] == ["2026-01-01T00:00:00+00:00"]
    with pytest.raises(ValueError):
        hook.update("Invoice", {"Id": "5"}, "rid-3")


def test_batch_chunks_of_30_with_item_faults_in_order(wire):
    def reply(req):
        items = json.loads(req.body)["BatchItemRequest"]
        answers = []
        for item in reversed(items):  # order of answers is not the order of requests
            if item["Customer"]["DisplayName"].endswith("dup"):
                answers.append(
                    {
                        "bId": item["bId"],
                        "Fault": {
                            "Error": [{"Message": "Duplicate", "code": "6240"}],
                            "type": "ValidationFault",
                        },
                    }
                )
            else:
                answers.append({"bId": item["bId"], "Customer": {"Id": item["bId"]}})
        return 200, {"BatchItemResponse": answers}

    adapter = wire(reply)
    hook = QuickBooksHook("123", MemoryTokenStore({"123": token()}), settings=settings())
    items = [
        {
            "bId": batch_item_id("c", i),
            "operation": "create",
            "Customer": {"DisplayName": f"C{i}" + ("dup" if i % 20 == 0 else "")},
        }
        for i in range(65)
    ]
    results = hook.batch(items)
    assert len(adapter.requests) == 3
    assert [len(json.loads(r.body)["BatchItemRequest"]) for r in adapter.requests] == [30, 30, 5]
    assert [r["bId"] for r in results] == [i["bId"] for i in items]
    failed = [i for i, r in enumerate(results) if "error" in r]
    assert failed == [0, 20, 40, 60]
    assert all(isinstance(results[i]["error"], DuplicateName) for i in failed)
    assert hook.stats["batch"] == 3


def test_expired_token_is_refreshed_before_use_and_never_logged(wire, caplog):
    store = MemoryTokenStore({"123": token(ttl=-10)})
    replies = [
        (
            200,
            {
                "access_token": "access-NEW-9999",
                "refresh_token": "refresh-NEW-8888",
                "token_type": "bearer",
                "expires_in": 3600,
                "x_refresh_token_expires_in": 8640000,
            },
        ),
        (200, {"Customer": {"Id": "1"}}),
    ]
    adapter = wire(replies)
    hook = QuickBooksHook("123", store, settings=settings())
    with caplog.at_level(logging.DEBUG):
        assert hook.read("Customer", "1") == {"Id": "1"}
    token_request, api_request = adapter.requests
    assert token_request.url == "https://oauth.test/oauth2/v1/tokens/bearer"
    assert parse_qs(token_request.body)["grant_type"] == ["refresh_token"]
    assert token_request.headers["Authorization"].startswith("Basic ")
    assert api_request.headers["Authorization"] == "Bearer access-NEW-9999"
    assert store.tokens["123"]["refresh_token"] == "refresh-NEW-8888"
    assert store.tokens["123"]["expires_at"] >= time.time() + 3500
    for secret in ("access-NEW-9999", "refresh-NEW-8888", "refresh-RRRR2222", SECRET):
        assert secret not in caplog.text
    assert hook.stats["token"] == 1


def test_401_refreshes_once_then_succeeds(wire):
    store = MemoryTokenStore({"123": token()})
    adapter = wire(
        [
            (
                401,
                {
                    "fault": {
                        "error": [{"message": "AuthenticationFailed", "code": "3200"}],
                        "type": "AUTHENTICATION",
                    }
                },
            ),
            (
                200,
                {
                    "access_token": "access-2",
                    "refresh_token": "refresh-2",
                    "token_type": "bearer",
                    "expires_in": 3600,
                },
            ),
            (200, {"Customer": {"Id": "1"}}),
        ]
    )
    hook = QuickBooksHook("123", store, settings=settings())
    assert hook.read("Customer", "1")["Id"] == "1"
    assert [r.headers.get("Authorization", "")[:12] for r in adapter.requests] == [
        "Bearer acces",
        "Basic Y2xpZW",
        "Bearer acces",
    ]
    assert adapter.requests[2].headers["Authorization"] == "Bearer access-2"


def test_invalid_grant_says_reconnect(wire):
    store = MemoryTokenStore({"123": token(ttl=-10)})
    wire([(400, {"error": "invalid_grant"})])
    hook = QuickBooksHook("123", store, settings=settings())
    with pytest.raises(AuthError, match="realm 123 was revoked or superseded; reconnect the integration"):
        hook.read("Customer", "1")


def test_no_token_stored_is_an_auth_error(wire):
    wire([(200, {})])
    with pytest.raises(AuthError, match="connect"):
        QuickBooksHook("777", MemoryTokenStore(), settings=settings()).read("Customer", "1")


def test_stale_object_is_not_retried(wire):
    adapter = wire(
        [
            (
                400,
                {
                    "Fault": {
                        "Error": [{"Message": "Stale Object Error", "code": "5010"}],
                        "type": "ValidationFault",
                    }
                },
            )
        ]
    )
    hook = QuickBooksHook("123", MemoryTokenStore({"123": token()}), settings=settings())
    with pytest.raises(StaleObject):
        hook.update("Invoice", {"Id": "5", "SyncToken": "0"}, "rid")
    assert len(adapter.requests) == 1
