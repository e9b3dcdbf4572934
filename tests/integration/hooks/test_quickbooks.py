"""QuickBooksHook against the QuickBooks emulator over HTTP, tokens in the real TokenStore."""

from __future__ import annotations

import threading
import time
from urllib.parse import parse_qs

import pytest
import requests

from qbo_crm_sync.errors import ApiError, AuthError, ConnectionFailed, DuplicateName
from qbo_crm_sync.hooks.http import RetryPolicy
from qbo_crm_sync.hooks.quickbooks import QuickBooksHook, batch_item_id, quote, request_id, revoke
from qbo_crm_sync.store import db
from qbo_crm_sync.store.tokens import TokenStore
from tests.integration.conftest import HOOK_LOCATION, connect_integration

pytestmark = pytest.mark.integration

TOKEN_PATH = "/oauth2/v1/tokens/bearer"


def sent(base: str, path: str) -> list[dict]:
    return requests.get(f"{base}/_admin/requests", params={"path": path}, timeout=5).json()["requests"]


def set_faults(base: str, **faults) -> None:
    requests.post(f"{base}/_admin/faults", json=faults, timeout=5).raise_for_status()


def clear_faults(base: str) -> None:
    set_faults(base, error_rate=0.0, drop_after_commit_rate=0.0, storm_until=0.0, paths=[])


def configure(base: str, **config) -> None:
    requests.post(f"{base}/_admin/config", json=config, timeout=5).raise_for_status()


def seed_customers(base: str, realm: str, n: int, prefix: str = "Seeded") -> None:
    customers = [
        {"DisplayName": f"{prefix} {i:05d}", "PrimaryEmailAddr": {"Address": f"c{i}@example.test"}}
        for i in range(n)
    ]
    requests.post(
        f"{base}/_admin/seed", json={"realmId": realm, "Customer": customers}, timeout=60
    ).raise_for_status()


def refreshes(base: str) -> list[dict]:
    return [r for r in sent(base, TOKEN_PATH) if r["method"] == "POST"]


def make_stale(store: TokenStore, key: int) -> dict:
    token = dict(store.load(key))
    token["expires_at"] = int(time.time()) - 10
    store.save(key, token)
    return token


# ------------------------------------------------------------------------------------------- OAuth


def test_code_flow_connects_then_revoke_disconnects(qbo, qbo_settings, token_store, db_url):
    integration = connect_integration(qbo_settings, token_store, db_url, HOOK_LOCATION)
    realm, key = integration.realm_id, integration.id
    stored = token_store.load(key)
    assert stored["access_token"] and stored["refresh_token"]
    assert stored["expires_at"] > time.time() + 3000
    hook = QuickBooksHook(realm, token_store, settings=qbo_settings, token_key=key)
    assert hook.count("Customer") >= 0

    assert revoke(qbo_settings, token_store, key) is True
    assert token_store.load(key) is None
    old = requests.get(
        f"{qbo}/v3/company/{realm}/query",
        params={"query": "SELECT * FROM Customer"},
        headers={"Authorization": f"Bearer {stored['access_token']}", "Accept": "application/json"},
        timeout=5,
    )
    assert old.status_code == 401
    with pytest.raises(AuthError):
        QuickBooksHook(realm, token_store, settings=qbo_settings, token_key=key).count("Customer")


# ------------------------------------------------------------------------------------------- reads


def test_query_pages_over_2500_customers(qbo, realm, hook):
    seed_customers(qbo, realm, 2500)
    requests.delete(f"{qbo}/_admin/requests", timeout=5)
    total = hook.count("Customer")
    assert total >= 2500
    rows = list(hook.query("SELECT * FROM Customer"))
    assert len(rows) == total
    assert len({r["Id"] for r in rows}) == total
    pages = [r for r in sent(qbo, "/query") if "STARTPOSITION" in parse_qs(r["query"])["query"][0]]
    assert len(pages) == total // 1000 + 1
    assert hook.stats["read"] == len(pages) + 1


def test_quoted_literal_finds_the_name(qbo, realm, hook):
    created = hook.create("Customer", {"DisplayName": "Miles O'Brien \\ Sons"}, request_id("cust", "obrien"))
    found = hook.query_one(f"SELECT * FROM Customer WHERE DisplayName = {quote(created['DisplayName'])}")
    assert found is not None and found["Id"] == created["Id"]


# ------------------------------------------------------------------------------------------ writes


def test_create_replay_with_the_same_requestid_returns_the_same_entity(qbo, hook):
    rid = request_id("customer", "replay-1")
    first = hook.create("Customer", {"DisplayName": "Replay Customer"}, rid)
    second = hook.create("Customer", {"DisplayName": "Replay Customer"}, rid)
    assert first["Id"] == second["Id"]
    assert hook.count("Customer", f"DisplayName = {quote('Replay Customer')}") == 1
    writes = sent(qbo, "/customer")
    assert all(parse_qs(w["query"])["minorversion"] == ["75"] for w in writes)
    assert {parse_qs(w["query"])["requestid"][0] for w in writes} == {rid}


def test_batch_of_65_items_is_3_requests_with_per_item_faults(qbo, hook):
    hook.create("Customer", {"DisplayName": "Taken Name"}, request_id("customer", "taken"))
    items = [
        {
            "bId": batch_item_id("batch-customer", i),
            "operation": "create",
            "Customer": {"DisplayName": "Taken Name" if i == 31 else f"Batch Customer {i}"},
        }
        for i in range(65)
    ]
    results = hook.batch(items)
    assert len(sent(qbo, "/batch")) == 3
    assert [r["bId"] for r in results] == [i["bId"] for i in items]
    assert isinstance(results[31]["error"], DuplicateName)
    ok = [r for i, r in enumerate(results) if i != 31]
    assert all("error" not in r and r["Customer"]["Id"] for r in ok)
    assert hook.stats["batch"] == 3


def test_update_and_void_keep_sync_tokens(qbo, hook):
    customer = hook.create("Customer", {"DisplayName": "Sparse Person"}, request_id("c", "sparse"))
    updated = hook.update(
        "Customer",
        {"Id": customer["Id"], "SyncToken": customer["SyncToken"], "CompanyName": "Sparse Co"},
        request_id("c", "sparse", 1),
        sparse=True,
    )
    assert updated["CompanyName"] == "Sparse Co" and updated["SyncToken"] != customer["SyncToken"]
    with pytest.raises(ApiError) as stale:
        hook.update(
            "Customer",
            {"Id": customer["Id"], "SyncToken": customer["SyncToken"], "CompanyName": "X"},
            request_id("c", "sparse", 2),
            sparse=True,
        )
    assert stale.value.code == "5010"


# --------------------------------------------------------------------------------- retries & faults


def test_429_storm_is_waited_out(qbo, hook):
    hook.count("Customer")
    set_faults(qbo, storm_s=2)
    started = time.monotonic()
    assert hook.count("Customer") >= 0
    assert time.monotonic() - started >= 1.5
    statuses = [r["status"] for r in sent(qbo, "/query")]
    assert 429 in statuses and statuses[-1] == 200
    assert hook.stats["retries"] >= 1


def test_5xx_is_retried(qbo, hook):
    hook.count("Customer")
    set_faults(qbo, error_rate=1.0, paths=["/query"])

    def heal_then_wait(seconds):
        clear_faults(qbo)
        time.sleep(seconds)

    hook.get_conn().sleep = heal_then_wait
    assert hook.count("Customer") >= 0
    statuses = [r["status"] for r in sent(qbo, "/query")]
    assert statuses[-2:] == [503, 200]
    assert hook.stats["retries"] == 1


def test_400_is_not_retried(qbo, hook):
    requests.delete(f"{qbo}/_admin/requests", timeout=5)
    with pytest.raises(ApiError) as caught:
        hook.query_one("SELECT * FROM Custmoer")
    assert caught.value.status == 400 and caught.value.code.startswith("400")
    assert len(sent(qbo, "/query")) == 1
    assert hook.stats["retries"] == 0


def test_answer_lost_after_commit_is_retried_without_a_duplicate(qbo, hook):
    set_faults(qbo, drop_after_commit_rate=1.0, paths=["/customer"])

    def heal_then_wait(seconds):
        clear_faults(qbo)
        time.sleep(seconds)

    hook.get_conn().sleep = heal_then_wait
    rid = request_id("customer", "dropped-1")
    created = hook.create("Customer", {"DisplayName": "Dropped Answer"}, rid)
    posts = [r for r in sent(qbo, "/customer") if r["method"] == "POST"]
    assert len(posts) == 2 and all(parse_qs(p["query"])["requestid"] == [rid] for p in posts)
    assert hook.stats["retries"] == 1
    assert hook.count("Customer", f"DisplayName = {quote('Dropped Answer')}") == 1
    assert hook.read("Customer", created["Id"])["DisplayName"] == "Dropped Answer"


def test_lost_answer_surfaces_as_connection_failed_once_attempts_run_out(
    qbo, realm, token_store, qbo_settings, qbo_integration
):
    from dataclasses import replace

    one_shot = QuickBooksHook(
        realm, token_store, settings=replace(qbo_settings, retry=RetryPolicy(max_attempts=1)),
        token_key=qbo_integration.id,
    )
    set_faults(qbo, drop_after_commit_rate=1.0, paths=["/customer"])
    rid = request_id("customer", "dropped-2")
    with pytest.raises(ConnectionFailed):
        one_shot.create("Customer", {"DisplayName": "Lost Once"}, rid)
    clear_faults(qbo)
    again = QuickBooksHook(realm, token_store, settings=qbo_settings, token_key=qbo_integration.id).create(
        "Customer", {"DisplayName": "Lost Once"}, rid
    )
    assert again["DisplayName"] == "Lost Once"
    assert one_shot.count("Customer", f"DisplayName = {quote('Lost Once')}") == 1


# ------------------------------------------------------------------------------------------ tokens


def test_short_lived_access_token_is_refreshed_transparently(qbo, qbo_settings, token_store, db_url):
    configure(qbo, access_token_ttl_s=1)
    integration = connect_integration(qbo_settings, token_store, db_url, HOOK_LOCATION)
    hook = QuickBooksHook(integration.realm_id, token_store, settings=qbo_settings, token_key=integration.id)
    hook.count("Customer")
    time.sleep(1.2)
    hook.count("Customer")  # expired locally: refreshed before sending
    assert len(refreshes(qbo)) >= 2  # the code exchange plus at least one refresh
    assert hook.stats["token"] >= 1


def test_401_from_the_api_triggers_one_refresh(qbo, qbo_settings, token_store, db_url):
    configure(qbo, access_token_ttl_s=1)
    integration = connect_integration(qbo_settings, token_store, db_url, HOOK_LOCATION)
    token = dict(token_store.load(integration.id))
    token["expires_at"], token["expires_in"] = int(time.time()) + 3600, 3600  # we believe it is fresh
    token_store.save(integration.id, token)
    configure(qbo, access_token_ttl_s=3600)
    time.sleep(1.1)
    requests.delete(f"{qbo}/_admin/requests", timeout=5)
    hook = QuickBooksHook(integration.realm_id, token_store, settings=qbo_settings, token_key=integration.id)
    assert hook.count("Customer") >= 0
    assert [r["status"] for r in sent(qbo, "/query")] == [401, 200]
    assert len(refreshes(qbo)) == 1


def test_two_workers_refreshing_at_once_refresh_exactly_once(
    qbo, db_url, fernet_key, qbo_settings, realm, qbo_integration
):
    store_a = TokenStore(lambda: db.connect(db_url), fernet_key)
    store_b = TokenStore(lambda: db.connect(db_url), fernet_key)
    key = qbo_integration.id
    make_stale(store_a, key)
    requests.delete(f"{qbo}/_admin/requests", timeout=5)
    hooks = [
        QuickBooksHook(realm, store_a, settings=qbo_settings, token_key=key),
        QuickBooksHook(realm, store_b, settings=qbo_settings, token_key=key),
    ]
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def work(hook: QuickBooksHook) -> None:
        barrier.wait()
        try:
            outcomes.append(hook.count("Customer"))
            outcomes.append(hook.count("Customer"))
        except Exception as exc:  # collected and asserted below
            outcomes.append(exc)

    threads = [threading.Thread(target=work, args=(h,)) for h in hooks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(isinstance(o, int) for o in outcomes), outcomes
    token_calls = refreshes(qbo)
    assert len(token_calls) == 1 and token_calls[0]["status"] == 200
    assert sum(h.stats["token"] for h in hooks) == 1


def test_superseded_refresh_token_is_an_auth_error(qbo, qbo_settings, token_store, realm, qbo_integration):
    key = qbo_integration.id
    old = make_stale(token_store, key)
    QuickBooksHook(realm, token_store, settings=qbo_settings, token_key=key).count("Customer")  # rotates it
    token_store.save(key, old)  # a stale copy, e.g. restored from a backup
    with pytest.raises(AuthError, match=f"realm {realm} was revoked or superseded; reconnect"):
        QuickBooksHook(realm, token_store, settings=qbo_settings, token_key=key).count("Customer")


def test_client_budget_keeps_a_busy_realm_under_the_limit(qbo, realm, token_store, qbo_settings, qbo_integration):
    """30 requests per 1-second window on both sides: 60 requests from 6 threads meet no 429."""
    from dataclasses import replace

    configure(qbo, window_s=1.0, requests_per_window=30)
    settings = replace(qbo_settings, window_s=1.0, requests_per_minute=30, concurrency=4)
    hooks = [QuickBooksHook(realm, token_store, settings=settings, token_key=qbo_integration.id) for _ in range(6)]
    hooks[0].count("Customer")  # token fetched once, before the burst
    requests.delete(f"{qbo}/_admin/requests", timeout=5)
    started = time.monotonic()

    def work(hook: QuickBooksHook) -> None:
        for _ in range(10):
            hook.count("Customer")

    threads = [threading.Thread(target=work, args=(h,)) for h in hooks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    statuses = [r["status"] for r in sent(qbo, "/query")]
    assert len(statuses) == 60 and 429 not in statuses
    assert time.monotonic() - started >= 1.0


def test_per_second_budget_keeps_the_realm_under_10_requests_a_second(qbo, realm, token_store, qbo_settings,
                                                                      qbo_integration):
    """QBO's 10 requests per second per realm, on a 30 s window (so its "second" lasts 0.5 s) on both
    sides: 60 requests from 8 threads never put more than 10 into any such second, and meet no 429."""
    from dataclasses import replace

    window_s, per_second = 30.0, 10
    second = window_s / 60
    configure(qbo, window_s=window_s, requests_per_second=per_second, requests_per_window=500)
    settings = replace(qbo_settings, window_s=window_s, requests_per_second=per_second, requests_per_minute=500,
                       concurrency=10)
    hooks = [QuickBooksHook(realm, token_store, settings=settings, token_key=qbo_integration.id) for _ in range(8)]
    hooks[0].count("Customer")  # token fetched once, before the burst
    time.sleep(second)  # that request's second is over
    requests.delete(f"{qbo}/_admin/requests", timeout=5)

    def work(hook: QuickBooksHook, n: int) -> None:
        for _ in range(n):
            hook.count("Customer")

    threads = [threading.Thread(target=work, args=(h, 8 if i < 4 else 7)) for i, h in enumerate(hooks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    log = sent(qbo, "/query")
    assert len(log) == 60 and [r for r in log if r["status"] != 200] == []
    arrivals = sorted(r["t"] for r in log)
    busiest = max(sum(1 for t in arrivals[i:] if t - start < second) for i, start in enumerate(arrivals))
    assert busiest <= per_second
    assert arrivals[-1] - arrivals[0] >= (60 // per_second - 1) * second
