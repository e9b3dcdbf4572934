"""The CRM's daily budget: a backfill stops before it, leaves the reserve, and resumes where it stopped."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from qbo_crm_sync.flows.backfill import csv_import
from qbo_crm_sync.store import db
from tests.integration.flows.conftest import Env


@pytest.fixture
def imports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "import"
    folder.mkdir()
    monkeypatch.setenv("SYNC_IMPORT_DIR", str(folder))
    return folder


def daily_limit(env: Env, limit: int) -> None:
    requests.post(f"{env.hl_url}/_admin/config", json={"daily_limit": limit}, timeout=5).raise_for_status()


def test_stops_at_the_daily_budget_and_resumes_on_the_next_trigger(env: Env, imports: Path) -> None:
    rows = "\n".join(f"Person {n},Person,Number{n},p{n}@example.com" for n in range(40))
    (imports / "people.csv").write_text("display_name,first_name,last_name,email\n" + rows + "\n", encoding="utf-8")
    used_before = len(env.requests_log(env.hl_url))  # connecting read the location
    daily_limit(env, used_before + 30)
    params = {"csv_file": "people.csv", "dry_run": False, "chunk_size": 10, "daily_reserve": 5}

    job = env.job(csv_import.FLOW)
    job.params = params
    first = csv_import.load(job)
    first_run = job.run_id
    assert first["status"] == "paused" and first["resume_at"] and "daily budget" in first["status_reason"]
    written = len(env.crm("contacts"))
    assert 0 < written < 40
    log = env.requests_log(env.hl_url)
    assert all(r["status"] != 429 for r in log)  # stopped before the limit, not at it
    assert len(log) <= used_before + 30 - 5  # the reserve was left for the scheduled flows
    with db.connect(env.db_url) as conn:
        state = conn.execute("SELECT * FROM sync.backfill WHERE flow = %s", (csv_import.FLOW,)).fetchone()
    assert state["status"] == "paused" and state["resume_at"] is not None and state["rows_done"] <= 40

    daily_limit(env, 10_000)  # the next day
    job = env.job(csv_import.FLOW)
    job.params = params
    second = csv_import.load(job)
    assert second["status"] == "done"
    emails = [c["email"] for c in env.crm("contacts")]
    assert sorted(emails) == sorted(f"p{n}@example.com" for n in range(40))  # every one exactly once
    with db.connect(env.db_url) as conn:
        # The second run went on from the saved position: nothing the first one loaded was seen again.
        again = conn.execute(
            "SELECT count(*) AS n FROM sync.row_event AS e WHERE e.run_id = %s AND e.source_id IN "
            "(SELECT source_id FROM sync.row_event WHERE run_id = %s AND status = 'loaded')",
            (job.run_id, first_run)).fetchone()["n"]
        assert again == 0
        state = conn.execute("SELECT * FROM sync.backfill WHERE flow = %s", (csv_import.FLOW,)).fetchone()
        loaded = conn.execute("SELECT count(*) AS n FROM sync.row_status WHERE flow = %s AND status = 'loaded'",
                              (csv_import.FLOW,)).fetchone()["n"]
    assert state["status"] == "done" and state["rows_done"] == 40 and loaded == 40
