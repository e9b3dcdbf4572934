from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from qbo_crm_sync.store import db, staging, tracking
from qbo_crm_sync.store.integrations import Integration
from qbo_crm_sync.store.tracking import Outcome

pytestmark = pytest.mark.integration

T0 = datetime(2024, 6, 1, 12, tzinfo=UTC)


def customer(integration_id: int, n: int, name: str | None = None) -> dict[str, Any]:
    raw = {
        "Id": str(n),
        "DisplayName": name or f"Customer {n}",
        "PrimaryEmailAddr": {"Address": f"c{n}@example.com"},
        "MetaData": {"CreateTime": "2024-06-01T05:00:00-07:00"},
    }
    return {
        "integration_id": integration_id,
        "source_id": raw["Id"],
        "raw": raw,
        "display_name": raw["DisplayName"],
        "email": raw["PrimaryEmailAddr"]["Address"],
        "created_at_source": T0 + timedelta(minutes=n),
        "updated_at_source": T0 + timedelta(minutes=n),
    }


def staged(conn: db.Connection, integration_id: int) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        "SELECT * FROM staging.qbo_customer WHERE integration_id = %s", [integration_id]
    ).fetchall()
    return {r["source_id"]: r for r in rows}


def test_upsert_counts_inserted_updated_unchanged(conn: db.Connection, integration: Integration) -> None:
    rows = [customer(integration.id, n) for n in range(1, 6)]
    assert staging.upsert(conn, "qbo_customer", rows) == staging.UpsertResult(5, 0, 0)
    before = staged(conn, integration.id)
    assert before["3"]["payload_hash"] == staging.payload_hash(rows[2]["raw"])
    assert before["3"]["raw"]["PrimaryEmailAddr"] == {"Address": "c3@example.com"}

    rows[1] = customer(integration.id, 2, name="Renamed")
    rows.append(customer(integration.id, 6))
    result = staging.upsert(conn, "staging.qbo_customer", rows)
    assert result == staging.UpsertResult(inserted=1, updated=1, unchanged=4)
    after = staged(conn, integration.id)
    assert after["2"]["display_name"] == "Renamed"
    assert after["2"]["staged_at"] > before["2"]["staged_at"]
    # untouched: same row version, same staged_at
    assert after["1"]["staged_at"] == before["1"]["staged_at"]
    assert staging.changed_since(conn, "qbo_customer", integration.id, after["2"]["staged_at"])[0][
        "source_id"
    ] in {
        "2",
        "6",
    }


def test_the_last_duplicate_in_a_batch_wins(conn: db.Connection, integration: Integration) -> None:
    rows = [customer(integration.id, 1), customer(integration.id, 1, name="Second")]
    assert staging.upsert(conn, "qbo_customer", rows) == staging.UpsertResult(1, 0, 0)
    assert staged(conn, integration.id)["1"]["display_name"] == "Second"


def test_unknown_columns_and_tables_are_refused(conn: db.Connection, integration: Integration) -> None:
    with pytest.raises(ValueError, match="no column"):
        staging.upsert(conn, "qbo_customer", [customer(integration.id, 1) | {"colour": "red"}])
    with pytest.raises(ValueError, match="No table staging.nope"):
        staging.upsert(conn, "nope", [customer(integration.id, 1)])
    assert staging.upsert(conn, "qbo_customer", []) == staging.UpsertResult(0, 0, 0)


def test_upsert_handles_large_batches(conn: db.Connection, integration: Integration) -> None:
    rows = [customer(integration.id, n) for n in range(20_000)]
    assert staging.upsert(conn, "qbo_customer", rows).inserted == 20_000
    assert staging.upsert(conn, "qbo_customer", rows).unchanged == 20_000


def test_pending_selects_rows_to_process(conn: db.Connection, integration: Integration) -> None:
    rows = [customer(integration.id, n) for n in range(1, 7)]
    staging.upsert(conn, "qbo_customer", rows)
    assert [r["source_id"] for r in staging.pending(conn, "qbo_customer", integration.id, "contacts")] == [
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
    ]
    hashes = {r["source_id"]: r["payload_hash"] for r in staged(conn, integration.id).values()}
    outcomes = [
        Outcome("1", "loaded", target_id="c-1", payload_hash=hashes["1"]),
        Outcome("2", "rejected", "invalid email", payload_hash=hashes["2"]),
        Outcome("3", "failed", "HTTP 503", payload_hash=hashes["3"]),
        Outcome("4", "dead", "gave up", payload_hash=hashes["4"]),
        Outcome("5", "skipped", "created before connect", payload_hash=hashes["5"]),
        Outcome("6", "loaded", target_id="c-6", payload_hash=hashes["6"]),
    ]
    with conn.transaction():
        tracking.record(conn, None, integration.id, "contacts", outcomes)
    pending = staging.pending(conn, "qbo_customer", integration.id, "contacts")
    assert [(r["source_id"], r["last_status"], r["last_attempts"]) for r in pending] == [("3", "failed", 1)]

    # a changed source row comes back whatever its last outcome; other flows are unaffected
    staging.upsert(
        conn, "qbo_customer", [customer(integration.id, 2, "Fixed"), customer(integration.id, 4, "New")]
    )
    assert [r["source_id"] for r in staging.pending(conn, "qbo_customer", integration.id, "contacts")] == [
        "2",
        "3",
        "4",
    ]
    assert len(staging.pending(conn, "qbo_customer", integration.id, "backfill")) == 6
    assert len(staging.pending(conn, "qbo_customer", integration.id, "contacts", limit=1)) == 1
