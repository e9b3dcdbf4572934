from __future__ import annotations

from collections.abc import Iterator

import pytest

from qbo_crm_sync.store import db, integrations
from qbo_crm_sync.store.integrations import Integration


@pytest.fixture
def conn(db_url: str) -> Iterator[db.Connection]:
    """An autocommit connection to the emptied test database."""
    with db.connect(db_url, autocommit=True) as connection:
        yield connection


@pytest.fixture
def integration(conn: db.Connection) -> Integration:
    return integrations.register(conn, "loc-1", "realm-1")
