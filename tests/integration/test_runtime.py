"""The Airflow-task glue: which integrations run, skips with reasons, needs_reauth on auth failure."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from qbo_crm_sync import runtime
from qbo_crm_sync.errors import AuthError
from qbo_crm_sync.store import db, integrations, tracking


@pytest.fixture
def store(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SYNC_DATABASE_URL", db_url)
    return db_url


def context(task_id: str = "extract") -> dict:
    ti = SimpleNamespace(dag_id="qbo_customers_to_crm", run_id="manual__1", task_id=task_id)
    return {"ti": ti}


def test_only_connected_integrations_run_others_are_logged(store: str, caplog: pytest.LogCaptureFixture) -> None:
    with db.connect(store) as conn:
        ok = integrations.register(conn, "loc-ok", "realm-ok")
        stale = integrations.register(conn, "loc-stale", "realm-stale")
        integrations.set_status(conn, stale.id, "needs_reauth", "refresh token superseded")
        conn.commit()
    with caplog.at_level(logging.WARNING):
        refs = runtime.connected_integrations()
    assert [r["integration_id"] for r in refs] == [ok.id]
    assert "refresh token superseded" in caplog.text and "loc-stale" in caplog.text


def test_a_step_for_an_integration_no_longer_connected_is_skipped(store: str) -> None:
    with db.connect(store) as conn:
        gone = integrations.register(conn, "loc-gone", "realm-gone")
        integrations.set_status(conn, gone.id, "disconnected", "disconnected by a user")
        conn.commit()
    with pytest.raises(AirflowSkipException, match="disconnected by a user"):
        runtime.run_step("contacts", "extract", {"integration_id": gone.id}, context())


def test_auth_failure_marks_the_integration_needs_reauth(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from qbo_crm_sync.flows import contacts

    with db.connect(store) as conn:
        integration = integrations.register(conn, "loc-auth", "realm-auth")
        conn.commit()

    def revoked(job):  # noqa: ANN001
        raise AuthError("QuickBooks authorization for realm realm-auth was revoked or superseded")

    monkeypatch.setattr(contacts, "extract", revoked)
    with pytest.raises(AirflowFailException, match="needs reauthorization"):
        runtime.run_step("contacts", "extract", {"integration_id": integration.id}, context())
    with db.connect(store) as conn:
        after = integrations.get(conn, integration.id)
        runs = conn.execute("SELECT status FROM sync.run WHERE integration_id = %s", (integration.id,)).fetchall()
    assert after.status == "needs_reauth" and "revoked" in after.status_reason
    assert [r["status"] for r in runs] == ["failed"]


def test_steps_of_one_dag_run_share_a_run_row(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from qbo_crm_sync.flows import contacts

    with db.connect(store) as conn:
        integration = integrations.register(conn, "loc-run", "realm-run")
        conn.commit()
    monkeypatch.setattr(contacts, "extract", lambda job: {"extracted": 3})
    monkeypatch.setattr(contacts, "transform", lambda job: {"transformed": 3})
    ref = {"integration_id": integration.id}
    first = runtime.run_step("contacts", "extract", ref, context("extract"))
    second = runtime.run_step("contacts", "transform", first, context("transform"))
    assert first["run_id"] == second["run_id"]
    with db.connect(store) as conn:
        run = tracking.get_run(conn, first["run_id"])
    assert run["counts"] == {"extracted": 3, "transformed": 3}
    assert set(run["timings"]) == {"extract_s", "transform_s"}


def test_the_integrations_task_migrates_a_new_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """A deployment's first DAG run needs no separate migration step."""
    from tests.support import test_database

    with test_database() as url:
        monkeypatch.setenv("SYNC_DATABASE_URL", url)
        assert runtime.connected_integrations() == []
        with db.connect(url) as conn:
            applied = conn.execute("SELECT count(*) AS n FROM sync.schema_migration").fetchone()["n"]
        assert applied >= 4
