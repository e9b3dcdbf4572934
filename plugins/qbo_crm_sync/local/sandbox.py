"""A connected integration over the two emulators, with jobs ready to run: what the flow tests and
the benchmark scenarios stand on.

``Sandbox.connect`` does what a user does: the CRM location exists, the QuickBooks company is
connected through the real OAuth2 code flow (consent, redirect, code exchange, tokens saved
encrypted), and the pair is registered. Hooks read their settings from Airflow connection objects,
as in a deployment, pointed at the emulators.

A HighLevel Private Integration Token opens one location only, as the live API's does. Each
location therefore has its own token, and so its own ``highlevel`` connection in a deployment (the
integration names it in its ``crm_conn_id`` setting; ``highlevel_default`` serves one location).
``crm_location`` makes the location exist in the emulator with a given token, or with one the
emulator issues, and answers that token.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import requests

from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.hooks.highlevel import HighLevelHook, HighLevelSettings
from qbo_crm_sync.hooks.quickbooks import QuickBooksHook, QuickBooksSettings, authorization_url
from qbo_crm_sync.local.stack import HL_TOKEN, QBO_CLIENT_ID, QBO_CLIENT_SECRET, REDIRECT_URI
from qbo_crm_sync.store import db, tracking
from qbo_crm_sync.store.integrations import Integration
from qbo_crm_sync.store.tokens import TokenStore

STEPS = ("extract", "transform", "load", "report")


def quickbooks_settings(qbo_url: str, window_s: float | None = None) -> QuickBooksSettings:
    """The app's settings as a deployment reads them, from a ``quickbooks`` Airflow connection."""
    from airflow.sdk import Connection

    extra: dict[str, Any] = {"base_url": qbo_url, "oauth_base_url": qbo_url, "redirect_uri": REDIRECT_URI}
    if window_s is not None:
        extra["window_s"] = window_s
    return QuickBooksSettings.from_connection(Connection(
        conn_id="quickbooks_default", conn_type="quickbooks", login=QBO_CLIENT_ID, password=QBO_CLIENT_SECRET,
        extra=json.dumps(extra)))


def highlevel_settings(hl_url: str, window_s: float | None = None, token: str = HL_TOKEN) -> HighLevelSettings:
    """The CRM token and endpoint as a deployment reads them, from a ``highlevel`` Airflow connection."""
    from airflow.sdk import Connection

    extra: dict[str, Any] = {"base_url": hl_url}
    if window_s is not None:
        extra["window_s"] = window_s
    return HighLevelSettings.from_connection(Connection(
        conn_id="highlevel_default", conn_type="highlevel", password=token, extra=json.dumps(extra)))


def crm_location(hl_url: str, location_id: str, token: str | None = None, **settings: Any) -> str:
    """Make the CRM location exist in the HighLevel emulator and answer its Private Integration Token.

    ``token`` makes it that location's token (the emulator refuses a token another location owns);
    without one, the location keeps its token or gets a new one. ``settings`` are the location's
    (``name``, ``contactMatching``...)."""
    body = settings | ({"token": token} if token else {})
    answer = requests.post(f"{hl_url}/_admin/locations/{location_id}", json=body, timeout=10)
    if not answer.ok:
        raise RuntimeError(f"HighLevel emulator refused location {location_id}: {answer.text[:300]}")
    return str(answer.json()["token"])


def consent(settings: QuickBooksSettings, state: str = "sandbox-state") -> str:
    """The URL Intuit's consent page sends the browser back to (the emulator approves at once)."""
    answer = requests.get(authorization_url(settings, state), allow_redirects=False, timeout=10)
    if answer.status_code != 302:
        raise RuntimeError(f"QuickBooks consent answered {answer.status_code}: {answer.text[:200]}")
    return answer.headers["Location"]


def connect_integration(settings: QuickBooksSettings, tokens: TokenStore, db_url: str, location_id: str,
                        state: str = "sandbox-state") -> Integration:
    """The OAuth code flow a user goes through, minus the browser: consent, redirect, code exchange,
    the company confirmed and the integration registered with its own grant."""
    from qbo_crm_sync.integrations_registry import complete

    return complete(location_id, consent(settings, state), state, settings, db_url, tokens=tokens,
                    connected_by="sandbox")


@dataclass
class Sandbox:
    db_url: str
    qbo_url: str
    hl_url: str
    realm: str
    integration: Integration
    qbo_settings: QuickBooksSettings
    hl_settings: HighLevelSettings
    token_store: TokenStore

    @classmethod
    def connect(cls, db_url: str, qbo_url: str, hl_url: str, location_id: str, fernet_key: str, *,
                qbo_settings: QuickBooksSettings | None = None,
                hl_settings: HighLevelSettings | None = None) -> Sandbox:
        tokens = TokenStore(lambda: db.connect(db_url), fernet_key)
        qbo_settings = qbo_settings or quickbooks_settings(qbo_url)
        if hl_settings is None:
            hl_settings = highlevel_settings(hl_url, token=crm_location(hl_url, location_id))
        else:
            crm_location(hl_url, location_id, token=hl_settings.token)
        integration = connect_integration(qbo_settings, tokens, db_url, location_id)
        realm = integration.realm_id
        # QBO times have whole seconds: let "created after connecting" be unambiguous.
        time.sleep(1.05)
        return cls(db_url, qbo_url, hl_url, realm, integration, qbo_settings, hl_settings, tokens)

    # -- running flows

    def job(self, flow: str, label: str = "sandbox") -> Job:
        """A new run of ``flow`` with fresh hooks, as a new Airflow task would have."""
        ctx = tracking.RunContext.manual(label)
        with db.connect(self.db_url) as conn:
            run_id = tracking.start_run(conn, self.integration.id, flow, ctx)
            conn.commit()
        return Job(
            db_url=self.db_url, integration=self.integration, run_id=run_id, ctx=ctx, flow=flow,
            qbo_hook=QuickBooksHook(self.realm, self.token_store, settings=self.qbo_settings,
                                    token_key=self.integration.id),
            crm_hook=HighLevelHook(self.integration.location_id, settings=self.hl_settings),
        )

    def run_cycle(self, module: Any, steps: tuple[str, ...] = STEPS, label: str = "sandbox",
                  job: Job | None = None) -> tuple[dict[str, Any], dict[str, float]]:
        """Every step of a flow module in one run, as the DAG's tasks would run them.

        Answers the merged counts (with ``run_id``) and each step's wall-clock seconds.
        """
        time.sleep(1.05)  # the extract window ends at the current second
        job = job or self.job(module.FLOW, label)
        counts: dict[str, Any] = {"run_id": job.run_id}
        seconds: dict[str, float] = {}
        for step in steps:
            started = time.perf_counter()
            counts.update(getattr(module, step)(job) or {})
            seconds[step] = time.perf_counter() - started
        return counts, seconds

    # -- the emulators' side

    def seed_qbo(self, entity: str, rows: list[dict[str, Any]], timeout: float = 30) -> list[str]:
        answer = requests.post(f"{self.qbo_url}/_admin/seed", json={"realmId": self.realm, entity: rows},
                               timeout=timeout)
        answer.raise_for_status()
        return answer.json()["created"].get(entity, [])

    def seed_crm(self, kind: str, rows: list[dict[str, Any]], timeout: float = 30) -> list[str]:
        answer = requests.post(f"{self.hl_url}/_admin/seed", json={kind: rows}, timeout=timeout)
        answer.raise_for_status()
        return answer.json()["ids"].get(kind, [])

    def crm(self, kind: str) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.hl_url}/_admin/entities/{kind}",
                              params={"locationId": self.integration.location_id}, timeout=30)
        answer.raise_for_status()
        return answer.json()["items"]

    def qbo(self, entity: str) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.qbo_url}/_admin/entities/{self.realm}/{entity}", timeout=30)
        answer.raise_for_status()
        return answer.json()[entity]

    def requests_log(self, base: str, path: str = "") -> list[dict[str, Any]]:
        return requests.get(f"{base}/_admin/requests", params={"path": path}, timeout=60).json()["requests"]

    def requests_to(self, base: str, path: str) -> int:
        return requests.get(f"{base}/_admin/requests", params={"path": path}, timeout=10).json()["count"]

    def clear_requests(self, base: str) -> None:
        requests.delete(f"{base}/_admin/requests", timeout=10).raise_for_status()

    def faults(self, base: str, **settings: Any) -> None:
        requests.post(f"{base}/_admin/faults", json=settings, timeout=5).raise_for_status()

    def row_status(self, flow: str) -> dict[str, dict[str, Any]]:
        with db.connect(self.db_url) as conn:
            rows = conn.execute(
                "SELECT * FROM sync.row_status WHERE integration_id = %s AND flow = %s",
                (self.integration.id, flow),
            ).fetchall()
        return {r["source_id"]: r for r in rows}
