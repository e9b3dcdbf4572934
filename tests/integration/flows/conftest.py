"""Fixtures for flow tests: a connected integration over both emulators, and a way to run cycles."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.hooks.highlevel import HighLevelHook, HighLevelSettings
from qbo_crm_sync.hooks.quickbooks import QuickBooksHook, QuickBooksSettings
from qbo_crm_sync.store import db, integrations, tracking
from qbo_crm_sync.store.integrations import Integration
from qbo_crm_sync.store.tokens import TokenStore

LOCATION = "loc0FlowTests00000001"


@dataclass
class Env:
    db_url: str
    qbo_url: str
    hl_url: str
    realm: str
    integration: Integration
    qbo_settings: QuickBooksSettings
    hl_settings: HighLevelSettings
    token_store: TokenStore

    def job(self, flow: str, label: str = "test") -> Job:
        """A new run of ``flow`` with fresh hooks (as a new Airflow task would have)."""
        ctx = tracking.RunContext.manual(label)
        with db.connect(self.db_url) as conn:
            run_id = tracking.start_run(conn, self.integration.id, flow, ctx)
            conn.commit()
        return Job(
            db_url=self.db_url, integration=self.integration, run_id=run_id, ctx=ctx, flow=flow,
            qbo_hook=QuickBooksHook(self.realm, self.token_store, settings=self.qbo_settings),
            crm_hook=HighLevelHook(self.integration.location_id, settings=self.hl_settings),
        )

    def seed_qbo(self, entity: str, rows: list[dict[str, Any]]) -> list[str]:
        answer = requests.post(f"{self.qbo_url}/_admin/seed", json={"realmId": self.realm, entity: rows}, timeout=30)
        answer.raise_for_status()
        return answer.json()["created"].get(entity, [])

    def crm(self, kind: str) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.hl_url}/_admin/entities/{kind}", params={"locationId": LOCATION}, timeout=10)
        answer.raise_for_status()
        return answer.json()["items"]

    def requests_to(self, base: str, path: str) -> int:
        return requests.get(f"{base}/_admin/requests", params={"path": path}, timeout=10).json()["count"]

    def faults(self, base: str, **settings: Any) -> None:
        requests.post(f"{base}/_admin/faults", json=settings, timeout=5).raise_for_status()

    def row_status(self, flow: str) -> dict[str, dict[str, Any]]:
        with db.connect(self.db_url) as conn:
            rows = conn.execute(
                "SELECT * FROM sync.row_status WHERE integration_id = %s AND flow = %s",
                (self.integration.id, flow),
            ).fetchall()
        return {r["source_id"]: r for r in rows}


@pytest.fixture
def env(db_url: str, qbo: str, highlevel: str, realm: str, qbo_settings: QuickBooksSettings,
        hl_settings: HighLevelSettings, token_store: TokenStore, fernet_key: str,
        monkeypatch: pytest.MonkeyPatch) -> Env:
    monkeypatch.setenv("SYNC_DATABASE_URL", db_url)
    monkeypatch.setenv("SYNC_FERNET_KEY", fernet_key)
    requests.post(f"{highlevel}/_admin/seed", json={"locations": [{"id": LOCATION, "name": "Flow tests"}]},
                  timeout=10).raise_for_status()
    with db.connect(db_url) as conn:
        integration = integrations.register(conn, LOCATION, realm)
        conn.commit()
    # QBO times have whole seconds: let "created after connecting" be unambiguous.
    time.sleep(1.05)
    return Env(db_url, qbo, highlevel, realm, integration, qbo_settings, hl_settings, token_store)


def run_cycle(env: Env, module: Any, steps: tuple[str, ...] = ("extract", "transform", "load", "report"),
              label: str = "test") -> dict[str, Any]:
    """One run of every step of a flow module, as the DAG would run them; returns merged counts."""
    time.sleep(1.05)  # the extract window ends at the current second
    job = env.job(module.FLOW, label)
    counts: dict[str, Any] = {"run_id": job.run_id}
    for step in steps:
        counts.update(getattr(module, step)(job) or {})
    return counts


@pytest.fixture
def cycle(env: Env) -> Callable[..., dict[str, Any]]:
    return lambda module, **kw: run_cycle(env, module, **kw)
