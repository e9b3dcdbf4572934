"""Migration 0006 moves the per-company token rows of an existing store to integrations."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet

from qbo_crm_sync.store import db
from qbo_crm_sync.store.migrate import discover, migrate
from qbo_crm_sync.store.tokens import TokenStore
from tests import support

pytestmark = pytest.mark.integration

KEY = Fernet.generate_key().decode()


def _token(refresh: str) -> bytes:
    token = {"access_token": f"access-{refresh}", "refresh_token": refresh, "expires_at": time.time() + 3600}
    return Fernet(KEY).encrypt(json.dumps(token).encode())


def test_token_rows_move_to_one_integration_each_and_the_rest_ask_for_their_own(tmp_path: Path) -> None:
    before = tmp_path / "before_0006"
    before.mkdir()
    for migration in discover():
        if migration.version < 6:
            shutil.copy(migration.path, before / migration.path.name)
    with support.test_database() as url:
        migrate(url, directory=before)
        with psycopg.connect(url) as conn:
            ids = {}
            for location, realm, status in (("loc-a", "111", "connected"), ("loc-b", "111", "connected"),
                                            ("loc-c", "222", "needs_reauth"), ("loc-d", "333", "disconnected"),
                                            ("loc-e", "444", "connected")):
                ids[location] = conn.execute(
                    "INSERT INTO sync.integration (location_id, realm_id, status) VALUES (%s, %s, %s) RETURNING id",
                    (location, realm, status)).fetchone()[0]
            # loc-b changed last: of the two connected integrations of company 111, it gets the grant.
            conn.execute("UPDATE sync.integration SET updated_at = now() + interval '1 minute' WHERE id = %s",
                         (ids["loc-b"],))
            for realm in ("111", "222", "333", "999"):  # 999: a company no integration names any more
                conn.execute("INSERT INTO sync.oauth_token (realm_id, ciphertext) VALUES (%s, %s)",
                             (realm, _token(f"refresh-{realm}")))
        assert migrate(url)[0] == "0006_tokens_per_integration"

        tokens = TokenStore(lambda: db.connect(url), KEY)
        assert tokens.load(ids["loc-b"])["refresh_token"] == "refresh-111"
        assert tokens.load(ids["loc-c"])["refresh_token"] == "refresh-222"
        # A disconnected integration keeps the grant it never revoked, so a reconnect revokes it.
        assert tokens.load(ids["loc-d"])["refresh_token"] == "refresh-333"
        assert tokens.load(ids["loc-a"]) is None and tokens.load(ids["loc-e"]) is None
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM sync.oauth_token").fetchone()[0] == 3
            states = dict(conn.execute("SELECT location_id, status FROM sync.integration").fetchall())
            reason = conn.execute("SELECT status_reason FROM sync.integration WHERE id = %s",
                                  (ids["loc-a"],)).fetchone()[0]
        # loc-a had been borrowing loc-b's grant: it now asks for its own instead of failing later.
        assert states == {"loc-a": "needs_reauth", "loc-b": "connected", "loc-c": "needs_reauth",
                          "loc-d": "disconnected", "loc-e": "connected"}
        assert f"grant went to integration {ids['loc-b']}" in reason
