"""The Airflow-task glue: which integrations run, skips with reasons, needs_reauth on auth failure."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from qbo_crm_sync import runtime
from qbo_crm_sync.dag_factory import GROUP_ID, STEPS
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


# -- the run's closing verdict ----------------------------------------------------------------
def refs(*ids: int) -> list[dict]:
    return [{"integration_id": i, "location_id": f"loc-{i}", "realm_id": f"realm-{i}"} for i in ids]


def states(**by_index: str) -> dict[str, str]:
    """``i1="failed"`` → that stage state for every step of map index 1 (extract gets it, the rest follow)."""
    follow = {"success": "success", "failed": "upstream_failed", "skipped": "skipped"}
    out = {}
    for key, state in by_index.items():
        index = int(key[1:])
        for n, step in enumerate(STEPS):
            out[f"{step}_{index}"] = state if n == 0 else follow[state]
    return out


def test_outcomes_follow_each_integrations_own_stages() -> None:
    task_states = states(i0="success", i1="failed", i2="skipped") | {"load_3": "success", "extract_3": "success",
                                                                     "transform_3": "success", "report_3": None}
    outcomes = runtime.integration_outcomes(refs(10, 11, 12, 13), task_states, STEPS)
    assert [(o.outcome, o.stage) for o in outcomes] == [
        ("synced", None), ("failed", "extract"), ("skipped", "extract"), ("failed", "report")]
    assert outcomes[3].reason == "report ended without a state"


def test_a_failed_integration_fails_the_run_and_is_named() -> None:
    outcomes = runtime.integration_outcomes(refs(1, 2, 3), states(i0="success", i1="failed", i2="success"), STEPS)
    ok, message = runtime.verdict(outcomes, [])
    assert not ok
    assert message.startswith("1 of 3 integration(s) failed: integration 2 (location loc-2, realm realm-2): "
                              "failed at extract")
    assert message.endswith(". synced: integration 1 (location loc-1, realm realm-1), "
                            "integration 3 (location loc-3, realm realm-3)")


def test_nothing_synced_is_a_failure_not_a_quiet_success() -> None:
    ok, message = runtime.verdict([], [])
    assert not ok and message.startswith("Nothing synced: no integration is connected")

    skipped = runtime.integration_outcomes(refs(5), states(i0="skipped"), STEPS)
    stale = SimpleNamespace(id=6, location_id="loc-6", status="needs_reauth", status_reason="invalid_grant")
    ok, message = runtime.verdict(skipped, [stale])
    assert not ok
    assert "every integration was skipped: integration 5 (location loc-5, realm realm-5): skipped at extract" in message
    assert "left out: integration 6 (location loc-6) is needs_reauth: invalid_grant" in message


def test_a_run_that_synced_some_and_skipped_others_succeeds_and_says_so() -> None:
    outcomes = runtime.integration_outcomes(refs(1, 2), states(i0="success", i1="skipped"), STEPS)
    ok, message = runtime.verdict(outcomes, [])
    assert ok and message == ("1 integration(s) synced; skipped: integration 2 (location loc-2, realm realm-2): "
                              "skipped at extract")


class FakeTaskInstance(SimpleNamespace):
    """What the summary task asks of Airflow: the states of the group's tasks and the report XComs."""

    def get_task_states(self, dag_id: str, run_ids: list[str], task_group_id: str) -> dict:
        assert (dag_id, run_ids, task_group_id) == (self.dag_id, [self.run_id], GROUP_ID)
        return {self.run_id: self.task_states}

    def xcom_pull(self, task_ids: str, map_indexes: int) -> dict | None:
        assert task_ids == "report"
        return self.reports.get(map_indexes)


def test_summarise_names_the_reason_from_the_store(store: str) -> None:
    """An integration whose grant was revoked mid-run fails with the store's reason; the others are
    summarised with their report counts; integrations left out for needing reauthorization are named."""
    with db.connect(store) as conn:
        ok = integrations.register(conn, "loc-ok", "realm-ok")
        revoked = integrations.register(conn, "loc-revoked", "realm-revoked")
        stale = integrations.register(conn, "loc-stale", "realm-stale")
        old = integrations.register(conn, "loc-old", "realm-old")
        integrations.set_status(conn, revoked.id, "needs_reauth", "invalid_grant")
        integrations.set_status(conn, stale.id, "needs_reauth", "refresh token superseded")
        integrations.set_status(conn, old.id, "disconnected", "disconnected by a user")
        conn.commit()
    listed = [{"integration_id": i.id, "location_id": i.location_id, "realm_id": i.realm_id} for i in (ok, revoked)]
    ti = FakeTaskInstance(dag_id="qbo_customers_to_crm", run_id="manual__1",
                          task_states=states(i0="success", i1="failed"),
                          reports={0: {"run_status": "success", "rows_loaded": 4}})
    with pytest.raises(AirflowFailException) as failed:
        runtime.summarise(listed, {"ti": ti}, STEPS, GROUP_ID)
    message = str(failed.value)
    assert f"integration {revoked.id} (location loc-revoked, realm realm-revoked): failed at extract: " \
           "needs_reauth (invalid_grant)" in message
    assert f". synced: integration {ok.id} (location loc-ok" in message
    assert message.endswith(f". left out: integration {stale.id} (location loc-stale) is needs_reauth: "
                            "refresh token superseded")
    assert "loc-old" not in message  # a user's disconnect needs nobody

    ti.task_states = states(i0="success", i1="success")
    ti.reports[1] = {"run_status": "partial", "rows_failed": 1}
    with db.connect(store) as conn:
        integrations.set_status(conn, revoked.id, "connected", None)
        conn.commit()
    assert runtime.summarise(listed, {"ti": ti}, STEPS, GROUP_ID) == {
        "synced": [ok.id, revoked.id], "skipped": [], "left_out": [stale.id]}


def test_summarise_fails_when_the_integrations_task_handed_over_nothing(store: str) -> None:
    ti = FakeTaskInstance(dag_id="d", run_id="r", task_states={}, reports={})
    with pytest.raises(AirflowFailException, match="`integrations` task handed over no list"):
        runtime.summarise(None, {"ti": ti}, STEPS, GROUP_ID)


# -- the QuickBooks company is named, as on the QB Connect page -----------------------------------
def test_the_summary_names_each_quickbooks_company_and_falls_back_to_the_realm() -> None:
    named = {"integration_id": 1, "location_id": "loc-1", "realm_id": "realm-1", "company_name": "Alder & Sons"}
    bare = {"integration_id": 2, "location_id": "loc-2", "realm_id": "realm-2", "company_name": None}
    outcomes = runtime.integration_outcomes([named, bare], states(i0="success", i1="failed"), STEPS)
    assert outcomes[0].label == "integration 1 (location loc-1, Alder & Sons (realm realm-1))"
    assert outcomes[1].label == "integration 2 (location loc-2, realm realm-2)"
    ok, message = runtime.verdict(outcomes, [])
    assert not ok and message.endswith(". synced: integration 1 (location loc-1, Alder & Sons (realm realm-1))")


def test_summarise_names_the_stored_company(store: str, caplog: pytest.LogCaptureFixture) -> None:
    """The refs the `integrations` task hands over carry the company name; refs listed without it
    (an older run) are named from the store; an integration left out is named too."""
    with db.connect(store) as conn:
        ok = integrations.register(conn, "loc-ok", "realm-ok", company_name="Alder & Sons")
        failing = integrations.register(conn, "loc-fail", "realm-fail", company_name="Birch Ltd")
        stale = integrations.register(conn, "loc-stale", "realm-stale", company_name="Cedar Co")
        integrations.set_status(conn, stale.id, "needs_reauth", "invalid_grant")
        conn.commit()
    listed = runtime.connected_integrations()
    assert [(r["integration_id"], r["company_name"]) for r in listed] == [(ok.id, "Alder & Sons"),
                                                                           (failing.id, "Birch Ltd")]
    listed[1] = {k: v for k, v in listed[1].items() if k != "company_name"}
    ti = FakeTaskInstance(dag_id="qbo_customers_to_crm", run_id="manual__1",
                          task_states=states(i0="success", i1="failed"), reports={0: {"run_status": "success"}})
    with caplog.at_level(logging.INFO), pytest.raises(AirflowFailException) as failed:
        runtime.summarise(listed, {"ti": ti}, STEPS, GROUP_ID)
    message = str(failed.value)
    assert f"integration {failing.id} (location loc-fail, Birch Ltd (realm realm-fail)): failed at extract" in message
    assert f"synced: integration {ok.id} (location loc-ok, Alder & Sons (realm realm-ok))" in message
    assert f"integration {stale.id} (location loc-stale, Cedar Co (realm realm-stale)): left out" in caplog.text
