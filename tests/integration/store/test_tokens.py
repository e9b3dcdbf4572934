from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest
from cryptography.fernet import Fernet

from qbo_crm_sync.errors import AuthError, ConfigurationError
from qbo_crm_sync.store import db, integrations
from qbo_crm_sync.store.integrations import IntegrationNotFound
from qbo_crm_sync.store.sql import query
from qbo_crm_sync.store.tokens import Token, TokenStore

pytestmark = pytest.mark.integration

KEY = Fernet.generate_key().decode()


def make_token(access: str, refresh: str, expires_in: float) -> dict[str, Any]:
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "bearer",
        "expires_in": 3600,
        "expires_at": time.time() + expires_in,
        "x_refresh_token_expires_in": 8726400,
    }


@pytest.fixture
def store(db_url: str) -> TokenStore:
    return TokenStore(lambda: db.connect(db_url), KEY)


@pytest.fixture
def ids(conn: db.Connection) -> tuple[int, int, int]:
    """Three integrations: two locations on one QuickBooks company, and a third location elsewhere."""
    return (integrations.register(conn, "loc-1", "realm-1").id, integrations.register(conn, "loc-2", "realm-1").id,
            integrations.register(conn, "loc-3", "realm-3").id)


def test_round_trip_stores_only_ciphertext(store: TokenStore, db_url: str, ids: tuple[int, int, int]) -> None:
    one, two, three = ids
    token = make_token("access-AAAA-secret", "refresh-BBBB-secret", 3600)
    store.save(one, token)
    assert store.load(one) == token
    assert store.load(two) is None
    with psycopg.connect(db_url) as conn:
        ciphertext, expires = conn.execute(
            "SELECT ciphertext, access_expires_at FROM sync.oauth_token WHERE integration_id = %s", (one,)
        ).fetchone()
    assert b"access-AAAA-secret" not in bytes(ciphertext)
    assert b"refresh-BBBB-secret" not in bytes(ciphertext)
    assert expires is not None
    assert store.expiry(one)["version"] == 1
    store.save(one, token)
    assert store.expiry(one)["version"] == 2
    store.delete(one)
    assert store.load(one) is None


def test_reprs_hide_secrets(store: TokenStore, ids: tuple[int, int, int]) -> None:
    one, two, three = ids
    store.save(one, make_token("access-AAAA-secret", "refresh-BBBB-secret", 3600))
    loaded = store.load(one)
    assert isinstance(loaded, Token)
    for text in (repr(loaded), str(loaded), f"{loaded}", repr(store), repr([loaded])):
        assert "secret" not in text
        assert KEY not in text


def test_wrong_key_is_a_configuration_error(store: TokenStore, db_url: str, ids: tuple[int, int, int]) -> None:
    one, two, three = ids
    store.save(one, make_token("access-AAAA-secret", "refresh-BBBB-secret", 3600))
    other = TokenStore(lambda: db.connect(db_url), Fernet.generate_key().decode())
    with pytest.raises(
        ConfigurationError, match="SYNC_FERNET_KEY does not match the key the tokens were saved with"
    ):
        other.load(one)
    with pytest.raises(ConfigurationError, match="not a valid Fernet key"):
        TokenStore(lambda: db.connect(db_url), "not-a-key")


def test_rotated_keys_still_decrypt(store: TokenStore, db_url: str, ids: tuple[int, int, int]) -> None:
    one, two, three = ids
    token = make_token("a", "r", 3600)
    store.save(one, token)
    rotated = TokenStore(lambda: db.connect(db_url), f"{Fernet.generate_key().decode()},{KEY}")
    assert rotated.load(one) == token


def is_fresh(token: dict[str, Any]) -> bool:
    return token["expires_at"] - time.time() > 60


def test_two_workers_refreshing_at_once_call_the_token_endpoint_once(store: TokenStore, ids: tuple[int, int, int]) -> None:
    one, two, three = ids
    store.save(one, make_token("access-old", "refresh-1", -10))
    calls: list[str] = []
    barrier = threading.Barrier(2)
    results: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def refresher(current: dict[str, Any]) -> dict[str, Any]:
        calls.append(current["refresh_token"])
        time.sleep(0.3)  # the HTTP call: the other worker must be waiting on the row lock now
        return make_token("access-new", "refresh-2", 3600)

    def worker() -> None:
        barrier.wait()
        try:
            results.append(store.refresh(one, is_fresh, refresher))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert calls == ["refresh-1"]
    assert [r["access_token"] for r in results] == ["access-new", "access-new"]
    assert results[0] == results[1]
    assert store.load(one)["refresh_token"] == "refresh-2"


def test_a_failed_refresh_saves_nothing(store: TokenStore, ids: tuple[int, int, int]) -> None:
    one, two, three = ids
    token = make_token("access-old", "refresh-1", -10)
    store.save(one, token)

    def refresher(current: dict[str, Any]) -> dict[str, Any]:
        raise AuthError("invalid_grant")

    with pytest.raises(AuthError):
        store.refresh(one, is_fresh, refresher)
    assert store.load(one) == token
    assert store.expiry(one)["version"] == 1


def test_refresh_keeps_the_refresh_token_when_the_answer_omits_it(store: TokenStore, ids: tuple[int, int, int]) -> None:
    one, two, three = ids
    store.save(one, make_token("access-old", "refresh-1", -10))
    new = store.refresh(
        one, is_fresh, lambda current: {"access_token": "access-new", "expires_in": 3600}
    )
    assert new["refresh_token"] == "refresh-1"
    assert store.load(one) == new


def test_refresh_without_a_stored_token_needs_a_connect(store: TokenStore, ids: tuple[int, int, int]) -> None:
    one, two, three = ids
    with pytest.raises(AuthError, match="integration .* connect QuickBooks"):
        store.refresh(three, is_fresh, lambda current: current)


# -- one grant per integration ----------------------------------------------------------------
def test_integrations_of_one_company_keep_their_own_tokens(store: TokenStore, ids: tuple[int, int, int]) -> None:
    one, two, _ = ids
    store.save(one, make_token("access-one", "refresh-one", 3600))
    store.save(two, make_token("access-two", "refresh-two", 3600))
    assert store.load(one)["refresh_token"] == "refresh-one"
    assert store.load(two)["refresh_token"] == "refresh-two"
    deleted = store.delete(one)
    assert deleted is not None and deleted["refresh_token"] == "refresh-one"  # handed back to revoke it
    assert store.load(one) is None
    assert store.load(two)["refresh_token"] == "refresh-two"
    assert store.delete(one) is None


def test_saving_answers_the_token_it_replaces(store: TokenStore, ids: tuple[int, int, int]) -> None:
    one, _, _ = ids
    assert store.save(one, make_token("access-1", "refresh-1", 3600)) is None
    replaced = store.save(one, make_token("access-2", "refresh-2", 3600))
    assert replaced is not None and replaced["refresh_token"] == "refresh-1"
    assert store.expiry(one)["version"] == 2


def test_tokens_are_keyed_by_integration_only(store: TokenStore, ids: tuple[int, int, int]) -> None:
    with pytest.raises(TypeError, match="kept per integration"):
        store.load("realm-1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="kept per integration"):
        store.save("realm-1", make_token("a", "r", 3600))  # type: ignore[arg-type]
    with pytest.raises(IntegrationNotFound):
        store.save(max(ids) + 100, make_token("a", "r", 3600))


def test_integrations_of_one_company_refresh_without_waiting_for_each_other(
    store: TokenStore, ids: tuple[int, int, int], db_url: str
) -> None:
    """The refresh lock is the token row: while a refresh of one integration holds its row (here
    until the other refresh is done), the other integration of the same company refreshes; were it
    the same row, it would wait for the lock until the lock timeout failed it."""
    one, two, _ = ids
    store.save(one, make_token("access-1", "refresh-1", -10))
    store.save(two, make_token("access-2", "refresh-2", -10))
    with psycopg.connect(db_url) as holder:
        holder.execute(query("token_lock"), {"integration_id": one})  # a refresh of `one` in flight
        new = store.refresh(two, is_fresh, lambda current: make_token("access-2b", "refresh-2b", 3600))
        assert new["refresh_token"] == "refresh-2b"
        holder.rollback()
    assert store.load(one)["refresh_token"] == "refresh-1"
