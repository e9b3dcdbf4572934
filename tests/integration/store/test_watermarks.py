from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from qbo_crm_sync.store import db, watermarks
from qbo_crm_sync.store.integrations import Integration

pytestmark = pytest.mark.integration

T0 = datetime(2024, 6, 1, 12, tzinfo=UTC)


def test_watermarks_never_move_backwards(conn: db.Connection, integration: Integration) -> None:
    assert watermarks.get(conn, integration.id, "qbo_customer") is None
    assert watermarks.get_state(conn, integration.id, "qbo_customer") == {}

    assert watermarks.advance(conn, integration.id, "qbo_customer", T0, {"seen": ["1"]}) == T0
    assert (
        watermarks.advance(conn, integration.id, "qbo_customer", T0 - timedelta(hours=1), {"seen": []}) == T0
    )
    assert watermarks.get(conn, integration.id, "qbo_customer") == T0
    assert watermarks.get_state(conn, integration.id, "qbo_customer") == {"seen": ["1"]}

    later = T0 + timedelta(minutes=5)
    assert watermarks.advance(conn, integration.id, "qbo_customer", later) == later
    assert watermarks.get_state(conn, integration.id, "qbo_customer") == {"seen": ["1"]}

    assert watermarks.advance(conn, integration.id, "qbo_customer", T0, {"reset": True}, force=True) == T0
    found = watermarks.read(conn, integration.id, "qbo_customer")
    assert found is not None and (found.value, found.state) == (T0, {"reset": True})


def test_streams_are_independent(conn: db.Connection, integration: Integration) -> None:
    watermarks.advance(conn, integration.id, "a", T0)
    assert watermarks.get(conn, integration.id, "b") is None


def test_naive_times_are_refused(conn: db.Connection, integration: Integration) -> None:
    with pytest.raises(ValueError, match="timezone"):
        watermarks.advance(conn, integration.id, "a", datetime(2024, 1, 1))
