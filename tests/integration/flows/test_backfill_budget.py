"""The CRM's daily budget: a backfill stops before it, leaves the reserve, and resumes where it stopped."""

from __future__ import annotations

import csv
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


def rejected_lines(path: str) -> list[tuple[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return [(row["line"], row["status"]) for row in csv.DictReader(handle)]


def test_a_resumed_run_keeps_the_rows_rejected_before_its_pause(env: Env, imports: Path) -> None:
    # Lines 5 and 41 (people 3 and 39) have neither email nor phone: one before the pause, one after.
    rows = "\n".join(f"Person {n},Person,Number{n}," + ("" if n in (3, 39) else f"p{n}@example.com")
                     for n in range(40))
    (imports / "people.csv").write_text("display_name,first_name,last_name,email\n" + rows + "\n", encoding="utf-8")
    daily_limit(env, len(env.requests_log(env.hl_url)) + 30)
    params = {"csv_file": "people.csv", "dry_run": False, "chunk_size": 10, "daily_reserve": 5}

    job = env.job(csv_import.FLOW)
    job.params = params
    first = csv_import.load(job)
    assert first["status"] == "paused" and first["rows_done"] < 40
    assert rejected_lines(first["rejected_file"]) == [("5", "rejected")]

    daily_limit(env, 10_000)  # the deferred task goes on the next day, in the same Airflow run
    resumed = env.job(csv_import.FLOW)
    resumed.ctx, resumed.params = job.ctx, params
    second = csv_import.load(resumed)
    assert second["status"] == "done" and second["rejected_file"] == first["rejected_file"]
    assert rejected_lines(second["rejected_file"]) == [("5", "rejected"), ("41", "rejected")]
    assert second["rejected_rows"] == 2

    # A retry reading chunks again (a crash before their position was saved) adds no second copy.
    again = env.job(csv_import.FLOW)
    again.ctx, again.params = job.ctx, params
    third = csv_import.load(again)
    assert third["rows_unchanged"] == 40
    assert rejected_lines(third["rejected_file"]) == [("5", "rejected"), ("41", "rejected")]
    assert sorted(c["email"] for c in env.crm("contacts")) == sorted(
        f"p{n}@example.com" for n in range(40) if n not in (3, 39))
