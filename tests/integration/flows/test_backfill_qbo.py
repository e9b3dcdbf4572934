"""The historical pull: every customer QuickBooks had before connecting, paged from the QBO emulator."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import requests

from qbo_crm_sync.flows.backfill import qbo_history
from qbo_crm_sync.hooks.highlevel import HighLevelSettings
from qbo_crm_sync.local.sandbox import highlevel_settings
from tests.integration.flows.conftest import Env

WINDOW_S = 1.0  # HighLevel's 10 s window shortened, in the emulator and the client alike


@pytest.fixture
def hl_settings(highlevel: str) -> HighLevelSettings:
    requests.post(f"{highlevel}/_admin/config", json={"throttle_window_s": WINDOW_S}, timeout=5).raise_for_status()
    return highlevel_settings(highlevel, window_s=WINDOW_S)


@pytest.fixture(autouse=True)
def imports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SYNC_IMPORT_DIR", str(tmp_path))
    return tmp_path


def test_pulls_every_page_of_old_customers_once(env: Env) -> None:
    before = (env.integration.connected_at - timedelta(days=400)).isoformat()
    old = [{"DisplayName": f"Old Customer {n}", "GivenName": "Old", "FamilyName": f"Customer{n}",
            "PrimaryEmailAddr": {"Address": f"old{n}@example.com"}, "Active": n % 10 != 0,
            "MetaData": {"CreateTime": before, "LastUpdatedTime": before}} for n in range(1150)]
    env.seed_qbo("Customer", old)
    env.seed_qbo("Customer", [{"DisplayName": "New Customer", "PrimaryEmailAddr": {"Address": "new@example.com"}}])
    env.clear_requests(env.qbo_url)

    job = env.job(qbo_history.FLOW)
    job.params = {"dry_run": False, "customers": "active", "chunk_size": 500}
    assert qbo_history.check(job)["rows_total"] == 1035
    counts = qbo_history.load(job)
    assert counts["status"] == "done" and counts["rows_loaded"] == 1035
    emails = sorted(c["email"] for c in env.crm("contacts"))
    assert emails == sorted(f"old{n}@example.com" for n in range(1150) if n % 10)  # inactive and new ones left out
    queries = [parse_qs(r["query"])["query"][0] for r in env.requests_log(env.qbo_url, "/query")]
    pages = [q for q in queries if q.startswith("SELECT * FROM Customer")]
    assert len(pages) == 2 and all("Active = true" in q and "MAXRESULTS 1000" in q for q in pages)

    env.clear_requests(env.hl_url)
    job = env.job(qbo_history.FLOW)
    job.params = {"dry_run": False, "customers": "all", "chunk_size": 1000}
    again = qbo_history.load(job)
    assert (again["rows_unchanged"], again["rows_loaded"]) == (1035, 115)  # only the inactive ones are new
    emails = sorted(c["email"] for c in env.crm("contacts"))
    assert emails == sorted(f"old{n}@example.com" for n in range(1150))  # inactive ones too, nobody twice


def test_a_past_data_interval_is_extracted_exactly_and_keeps_the_watermark(env: Env) -> None:
    """A scheduled contacts run over a past range (``airflow backfill create``) reads exactly that
    window and neither moves the watermark back nor jumps it over what was not read."""
    from datetime import UTC, datetime

    from qbo_crm_sync import runtime
    from qbo_crm_sync.flows import contacts
    from qbo_crm_sync.store import db, watermarks

    connected = env.integration.connected_at
    inside = (connected + timedelta(hours=1)).isoformat()
    outside = (connected + timedelta(hours=3)).isoformat()
    env.seed_qbo("Customer", [
        {"DisplayName": "In Range", "PrimaryEmailAddr": {"Address": "in@example.com"},
         "MetaData": {"CreateTime": inside, "LastUpdatedTime": inside}},
        {"DisplayName": "Later", "PrimaryEmailAddr": {"Address": "later@example.com"},
         "MetaData": {"CreateTime": outside, "LastUpdatedTime": outside}},
    ])
    start, end = connected + timedelta(minutes=30), connected + timedelta(hours=2)
    context = {"data_interval_start": start, "data_interval_end": end, "dag_run": type("R", (), {"run_type": "backfill"})}
    assert runtime.past_data_interval(context) == (start.astimezone(UTC), end.astimezone(UTC))
    assert runtime.past_data_interval({"data_interval_start": datetime.now(UTC) - timedelta(minutes=5),
                                       "data_interval_end": datetime.now(UTC)}) is None  # a current run
    with db.connect(env.db_url) as conn:
        mark = watermarks.advance(conn, env.integration.id, contacts.STREAM, connected)
        conn.commit()

    job = env.job(contacts.FLOW)
    job.params = {"data_interval": runtime.past_data_interval(context)}
    env.clear_requests(env.qbo_url)
    counts = contacts.extract(job)
    assert counts["extracted"] == 1
    assert (counts["window_start"], counts["window_end"]) == (start.isoformat(), end.isoformat())
    with db.connect(env.db_url) as conn:
        assert watermarks.get(conn, env.integration.id, contacts.STREAM) == mark  # a gap before it: not moved
        staged = [r["email"] for r in conn.execute("SELECT email FROM staging.qbo_customer").fetchall()]
    assert staged == ["in@example.com"]
