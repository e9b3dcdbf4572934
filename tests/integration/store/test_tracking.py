from __future__ import annotations

import pytest

from qbo_crm_sync.store import db, integrations, tracking
from qbo_crm_sync.store.integrations import Integration
from qbo_crm_sync.store.tracking import Outcome, RunContext

pytestmark = pytest.mark.integration

CTX = RunContext("qbo_contacts", "scheduled__2024-06-01T12:00:00+00:00", "load")


def events(conn: db.Connection, source_id: str) -> list[tuple]:
    rows = conn.execute(
        "SELECT status, attempt, run_id, dag_id, task_id FROM sync.row_event WHERE source_id = %s ORDER BY id",
        [source_id],
    ).fetchall()
    return [(r["status"], r["attempt"], r["run_id"], r["dag_id"], r["task_id"]) for r in rows]


def test_the_same_dag_run_reuses_its_run_row(conn: db.Connection, integration: Integration) -> None:
    run_id = tracking.start_run(conn, integration.id, "contacts", CTX)
    tracking.finish_run(conn, run_id, "failed", {"loaded": 1}, {"load": 1.5})
    assert tracking.start_run(conn, integration.id, "contacts", CTX) == run_id
    run = tracking.get_run(conn, run_id)
    assert run is not None and run["status"] == "running" and run["finished_at"] is None

    assert tracking.start_run(conn, integration.id, "invoices", CTX) != run_id
    other = integrations.register(conn, "loc-2", "realm-2")
    assert tracking.start_run(conn, other.id, "contacts", CTX) != run_id
    manual = [tracking.start_run(conn, integration.id, "contacts", RunContext.manual()) for _ in range(2)]
    assert len(set(manual)) == 2

    tracking.finish_run(conn, run_id, "success", {"loaded": 2}, {"load": 0.5})
    run = tracking.get_run(conn, run_id)
    assert run["status"] == "success" and run["counts"] == {"loaded": 2} and run["finished_at"]
    with pytest.raises(ValueError):
        tracking.finish_run(conn, run_id, "great")


def test_failures_count_attempts_and_die_after_max(conn: db.Connection, integration: Integration) -> None:
    run_id = tracking.start_run(conn, integration.id, "contacts", CTX)
    for expected in (1, 2):
        counts = tracking.record(
            conn,
            run_id,
            integration.id,
            "contacts",
            [Outcome("7", "failed", "HTTP 503", payload_hash="h1")],
            max_attempts=3,
        )
        assert counts == {"failed": 1}
        assert tracking.row_status(conn, integration.id, "contacts", ["7"])["7"]["attempts"] == expected
    counts = tracking.record(
        conn,
        run_id,
        integration.id,
        "contacts",
        [Outcome("7", "failed", "HTTP 503", payload_hash="h1")],
        max_attempts=3,
    )
    assert counts == {"dead": 1}
    state = tracking.row_status(conn, integration.id, "contacts", ["7"])["7"]
    assert (state["status"], state["attempts"], state["reason"], state["last_run_id"]) == (
        "dead",
        3,
        "HTTP 503",
        run_id,
    )
    assert events(conn, "7") == [
        ("failed", 1, run_id, "qbo_contacts", "load"),
        ("failed", 2, run_id, "qbo_contacts", "load"),
        ("dead", 3, run_id, "qbo_contacts", "load"),
    ]

    assert tracking.revive(conn, integration.id, "contacts") == ["7"]
    tracking.record(
        conn, run_id, integration.id, "contacts", [Outcome("7", "loaded", target_id="c-7", payload_hash="h1")]
    )
    state = tracking.row_status(conn, integration.id, "contacts", ["7"])["7"]
    assert (state["status"], state["attempts"], state["target_id"], state["reason"]) == (
        "loaded",
        1,
        "c-7",
        None,
    )
    assert len(events(conn, "7")) == 4


def test_a_changed_payload_restarts_the_attempt_count(conn: db.Connection, integration: Integration) -> None:
    for _ in range(2):
        tracking.record(
            conn, None, integration.id, "contacts", [Outcome("8", "failed", "boom", payload_hash="h1")]
        )
    tracking.record(
        conn, None, integration.id, "contacts", [Outcome("8", "failed", "boom", payload_hash="h2")]
    )
    assert tracking.row_status(conn, integration.id, "contacts", ["8"])["8"]["attempts"] == 1


def test_large_batches_and_summary(conn: db.Connection, integration: Integration) -> None:
    run_id = tracking.start_run(conn, integration.id, "contacts", CTX)
    outcomes = [Outcome(str(n), "loaded", target_id=f"c-{n}", payload_hash="h") for n in range(12_000)]
    outcomes += [
        Outcome(f"r{n}", "rejected", "invalid email" if n % 2 else "missing name") for n in range(10)
    ]
    counts = tracking.record(conn, run_id, integration.id, "contacts", outcomes)
    assert counts == {"loaded": 12_000, "rejected": 10}
    assert tracking.status_counts(conn, integration.id, "contacts") == {"loaded": 12_000, "rejected": 10}
    assert tracking.summary(conn, run_id) == {
        "run_id": run_id,
        "total": 12_010,
        "by_status": {"loaded": 12_000, "rejected": 10},
        "by_reason": {"loaded": {"": 12_000}, "rejected": {"invalid email": 5, "missing name": 5}},
    }


def test_unknown_statuses_are_refused(conn: db.Connection, integration: Integration) -> None:
    with pytest.raises(ValueError, match="not one of"):
        tracking.record(conn, None, integration.id, "contacts", [Outcome("1", "done")])


def test_entity_map(conn: db.Connection, integration: Integration) -> None:
    base = {
        "integration_id": integration.id,
        "source_system": "qbo",
        "source_type": "customer",
        "target_system": "highlevel",
        "target_type": "contact",
    }
    assert (
        tracking.entity_map_put(
            conn,
            [
                base | {"source_id": "1", "target_id": "c-1", "sync_token": 0},
                base | {"source_id": "2", "target_id": "c-2"},
            ],
        )
        == 2
    )
    found = tracking.entity_map_get(conn, integration.id, "customer", ["1", "2", "3"], "contact")
    assert {k: v["target_id"] for k, v in found.items()} == {"1": "c-1", "2": "c-2"}
    assert found["1"]["sync_token"] == "0"

    tracking.entity_map_put(conn, [base | {"source_id": "1", "target_id": "c-1", "payload_hash": "h"}])
    row = tracking.entity_map_get(conn, integration.id, "customer", ["1"], "contact")["1"]
    assert (row["sync_token"], row["payload_hash"]) == ("0", "h")
    assert tracking.entity_map_get(conn, integration.id, "customer", ["1"], "invoice") == {}
    assert tracking.entity_map_get(conn, integration.id, "customer", [], "contact") == {}
    by_target = tracking.entity_map_by_target(conn, integration.id, "contact", ["c-2"])
    assert [r["source_id"] for r in by_target["c-2"]] == ["2"]
    with pytest.raises(ValueError, match="target_id"):
        tracking.entity_map_put(conn, [base | {"source_id": "3"}])


def test_save_validation(conn: db.Connection, integration: Integration) -> None:
    run_id = tracking.start_run(conn, integration.id, "contacts", CTX)
    result = {
        "success": False,
        "statistics": {"evaluated_expectations": 2, "successful_expectations": 1},
        "results": [
            {"expectation_config": {"type": "expect_column_values_to_not_be_null"}, "success": False}
        ],
    }
    saved = tracking.save_validation(conn, run_id, "contacts", result)
    row = conn.execute("SELECT * FROM sync.validation_result WHERE id = %s", [saved]).fetchone()
    assert (row["run_id"], row["suite"], row["success"]) == (run_id, "contacts", False)
    assert row["statistics"]["evaluated_expectations"] == 2 and row["results"][0]["success"] is False
