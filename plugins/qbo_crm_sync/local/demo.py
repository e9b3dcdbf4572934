"""`make demo`: one full sync cycle on embedded defaults, then what happened.

Safe to run again: the stack, the seeded data and the integration are reused, so a second run
finds nothing new and loads nothing.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from typing import Any

import requests

from qbo_crm_sync.config import PROJECT_ROOT
from qbo_crm_sync.local import stack

DEMO_REALM = "9341453050031247"
DEMO_LOCATION = "ve9EPM428h8vShlRW1KT"
NEW_CUSTOMERS = 40
OLD_CUSTOMERS = 6
NEW_PAYMENTS = 30
NEW_INVOICES = 12


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def seed_before_connect(s: stack.Stack) -> bool:
    """Company, location and customers that predate the connection. False when already seeded.

    The CRM location is (re)made every time, whatever QuickBooks holds: its Private Integration
    Token is the one the ``highlevel_default`` connection carries, and a token opens one location."""
    from emulators.seed_data import qbo_customers
    from qbo_crm_sync.local.sandbox import crm_location

    crm_location(s.highlevel_url, DEMO_LOCATION, token=stack.HL_TOKEN, name="Ñandú Landscaping (CRM)")
    state = requests.get(f"{s.qbo_url}/_admin/state", timeout=10).json()
    if DEMO_REALM in str(state):
        return False
    requests.post(f"{s.qbo_url}/_admin/seed", timeout=30, json={
        "companies": [{"realmId": DEMO_REALM, "CompanyName": "Ñandú Landscaping & Design", "HomeCurrency": "USD"}],
    }).raise_for_status()
    requests.post(f"{s.qbo_url}/_admin/config", timeout=10, json={"default_realm": DEMO_REALM}).raise_for_status()
    old = qbo_customers(OLD_CUSTOMERS, seed=1, start=1000, bad_share=0,
                        created_at=datetime(2025, 3, 14, 9, 26, tzinfo=UTC))
    requests.post(f"{s.qbo_url}/_admin/seed", timeout=30,
                  json={"realmId": DEMO_REALM, "Customer": old}).raise_for_status()
    return True


def seed_after_connect(s: stack.Stack) -> None:
    """Customers created in QuickBooks, and payments taken in the CRM, after the integration was connected.

    Numbered after what the emulators already hold, so connecting again (a new database against
    emulators that kept their state) seeds new people rather than clashing with the old ones.
    """
    from emulators.seed_data import hl_transactions, qbo_customers

    qbo_state = requests.get(f"{s.qbo_url}/_admin/state", timeout=10).json()["realms"].get(DEMO_REALM, {})
    known = (qbo_state.get("counts") or {}).get("Customer", 0)
    crm_counts = requests.get(f"{s.highlevel_url}/_admin/state", timeout=10).json().get("counts") or {}
    paid = crm_counts.get("transactions", 0)
    requests.post(f"{s.qbo_url}/_admin/seed", timeout=30, json={
        "realmId": DEMO_REALM, "Customer": qbo_customers(NEW_CUSTOMERS, seed=7, start=known - OLD_CUSTOMERS)},
    ).raise_for_status()
    requests.post(f"{s.highlevel_url}/_admin/seed", timeout=30,
                  json={"transactions": hl_transactions(DEMO_LOCATION, NEW_PAYMENTS, seed=5 + paid)}).raise_for_status()
    requests.post(f"{s.highlevel_url}/_admin/seed", timeout=30,
                  json={"invoices": demo_invoices(crm_counts.get("invoices", 0))}).raise_for_status()


def demo_invoices(known: int) -> list[dict[str, Any]]:
    """Invoices in every state the invoice flow meets: sent (most), partly paid, paid, a draft, a void."""
    from emulators.seed_data import hl_invoices

    rows = hl_invoices(DEMO_LOCATION, NEW_INVOICES, seed=9 + known, start_number=1001 + known)
    rows[1]["status"], rows[1]["amountPaid"] = "partially_paid", 5
    rows[2]["status"] = "paid"
    rows[3]["status"] = "draft"
    rows[4]["status"] = "void"
    return rows


def ensure_integration() -> bool:
    """Connect the demo location through the real OAuth2 code flow, once. True when new."""
    from qbo_crm_sync import config
    from qbo_crm_sync.integrations_registry import connect
    from qbo_crm_sync.store import db, integrations

    with db.connect(config.database_url()) as conn:
        existing = [i for i in integrations.find(conn, location_id=DEMO_LOCATION) if i.is_active]
    if existing:
        say(connection_line(existing[0], new=False))
        return False
    say(connection_line(connect(DEMO_LOCATION, prompt=None, out=lambda m: None), new=True))
    return True


def connection_line(integration: Any, new: bool) -> str:
    """What the demo says of its integration: the QuickBooks company by name (the realm id alone
    when no name is stored), as the QB Connect page and the CLI show it."""
    if not new:
        return f"integration {integration.id} already connected to QuickBooks company {integration.company_label}"
    return (f"connected integration {integration.id}: location {integration.location_id} ↔ QuickBooks company "
            f"{integration.company_label} (OAuth2 authorization code flow against the QuickBooks emulator)")


DEMO_EXPORT = "demo_customers_export.csv"


def manual_runs() -> dict[str, dict[str, Any]]:
    """What the manual DAGs are triggered with in the demo. The CSV backfill reads a customer list
    in QuickBooks' own export shape, written into the import folder the first time; both backfills
    keep their default dry run: they report what they would write and write nothing."""
    from emulators.seed_data import qbo_customer_export
    from qbo_crm_sync import config

    folder = config.import_dir()
    if not (folder / DEMO_EXPORT).exists():
        folder.mkdir(parents=True, exist_ok=True)
        qbo_customer_export(folder / DEMO_EXPORT, rows=25, seed=5, company="Demo Landscaping")
        say(f"wrote a 25-customer QuickBooks export for the CSV backfill: {folder / DEMO_EXPORT}")
    return {"contacts_csv_backfill": {"csv_file": DEMO_EXPORT}}


def run_dags() -> dict[str, tuple[int, float]]:
    from qbo_crm_sync.local import airflow_components, processes

    logs = stack.DATA_DIR / "logs"
    # Carrying the owner token, `airflow dags test` runs are stopped by `make down` too.
    env = dict(os.environ) | {processes.OWNER_VARIABLE: processes.owner_token(stack.DATA_DIR)}
    say("checking Airflow's metadata database")
    if airflow_components.ensure_metadata_db(env, logs):
        say("migrated Airflow's metadata database to this Airflow version's schema")
    results = {}
    manual = manual_runs()
    for dag_file in sorted((PROJECT_ROOT / "dags").glob("*.py")):
        dag_id = dag_file.stem
        conf = manual.get(dag_id)
        say(f"airflow dags test {dag_id}" + (f" (trigger form: {json.dumps(conf)})" if conf else ""))
        started = time.monotonic()
        command = ["dags", "test", dag_id] + (["--conf", json.dumps(conf)] if conf else [])
        rc = airflow_components.run_airflow(command, env, logs / f"dags-test-{dag_id}.log")
        results[dag_id] = (rc, time.monotonic() - started)
        print(f"    {'ok' if rc == 0 else 'FAILED'} in {results[dag_id][1]:.1f}s · log: "
              f"{(logs / f'dags-test-{dag_id}.log').relative_to(PROJECT_ROOT)}", flush=True)
    return results


def unchanged_note(summary: dict[str, Any]) -> str | None:
    """Why a flow that extracted rows loaded none of them: they were read again, and unchanged.

    Windows overlap on purpose and staging skips payloads it already holds, so a second cycle
    extracts the same records and finds nothing new to transform or load.
    """
    counts = summary["counts"]
    read = counts.get("extracted", 0)
    changed = counts.get("staged_new", 0) + counts.get("staged_changed", 0)
    unchanged = read - changed
    if not read or unchanged <= 0:
        return None
    if not changed:
        return (f"{summary['flow']}: the {read} records extracted were read again and found unchanged "
                "since the last cycle: nothing new to load")
    return (f"{summary['flow']}: {unchanged} of the {read} records extracted were read again and found "
            f"unchanged; {changed} were new or changed")


def dry_run_note(summary: dict[str, Any]) -> str | None:
    """What a backfill in dry run would have written: nothing reached the CRM."""
    c = summary["counts"]
    if c.get("status") != "dry_run":
        return None
    return (f"{summary['flow']}: dry run of {c.get('rows_done', 0)} rows, nothing sent to the CRM: would create "
            f"{c.get('would_create', 0)}, update {c.get('would_update', 0)} "
            f"(about {c.get('crm_requests_needed', 0)} CRM requests); trigger it with dry_run off to write")


def print_summary(since: datetime, s: stack.Stack) -> None:
    from qbo_crm_sync import config, reporting
    from qbo_crm_sync.store import db

    with db.connect(config.database_url()) as conn:
        runs = conn.execute(
            "SELECT id FROM sync.run WHERE started_at >= %(since)s ORDER BY flow, integration_id, id",
            {"since": since},
        ).fetchall()
        summaries = [reporting.run_summary(conn, r["id"]) for r in runs]
    print()
    print("What happened in this cycle")
    print("-" * 110)
    header = (f"{'flow':<24}{'integration':>12}{'extracted':>10}{'new/changed':>12}{'loaded':>8}{'skipped':>8}"
              f"{'rejected':>9}{'failed':>7}{'dead':>5}  status")
    print(header)
    for sm in summaries:
        c, b = sm["counts"], sm["by_status"]
        changed = c.get("staged_new", 0) + c.get("staged_changed", 0)
        read = c.get("extracted", c.get("rows_done", 0))  # a backfill counts the rows it read
        print(f"{sm['flow']:<24}{sm['integration_id']:>12}{read:>10}{changed:>12}"
              f"{b.get('loaded', 0):>8}{b.get('skipped', 0):>8}{b.get('rejected', 0):>9}{b.get('failed', 0):>7}"
              f"{b.get('dead', 0):>5}  {sm['status']}")
    if not summaries:
        print("(no flow runs recorded)")
    notes = [note for sm in summaries if (note := unchanged_note(sm) or dry_run_note(sm))]
    if notes:
        print()
        for note in notes:
            print(note)
    for sm in summaries:
        reasons = {k: v for k, v in sm["by_reason"].items() if k != "loaded"}
        if any(reasons.values()):
            print(f"\nReasons, {sm['flow']} (integration {sm['integration_id']}):")
            for status, by in reasons.items():
                for reason, n in sorted(by.items(), key=lambda kv: -kv[1])[:10]:
                    print(f"  {status:<9}{n:>5} × {reason}"[:150])
        if sm["counts"].get("reconciliation"):
            from qbo_crm_sync.flows import invoices, receipts

            render = invoices.render_reconciliation if sm["flow"] == invoices.FLOW else receipts.render_reconciliation
            print("\n" + render(sm["counts"]["reconciliation"]).strip())
    qbo = requests.get(f"{s.qbo_url}/_admin/state", timeout=10).json()["realms"].get(DEMO_REALM, {})
    crm = requests.get(f"{s.highlevel_url}/_admin/state", timeout=10).json()
    print("\nEmulator state now:")
    print("  QuickBooks  " + ", ".join(f"{k} {v}" for k, v in (qbo.get("counts") or {}).items()))
    print("  HighLevel   " + ", ".join(f"{k} {v}" for k, v in (crm.get("counts") or {}).items()))
    print("\nEvery row's fate: SELECT * FROM sync.row_status; its history: sync.row_event; runs: sync.run")


def main() -> int:
    since = datetime.now(UTC)
    say("starting the local stack (embedded PostgreSQL unless SYNC_DATABASE_URL is set, both emulators)")
    s = stack.up()
    from qbo_crm_sync.store.db import describe
    from qbo_crm_sync.store.migrate import migrate

    print(f"    database {describe(s.database_url)}\n    QuickBooks emulator {s.qbo_url}\n"
          f"    HighLevel emulator {s.highlevel_url}", flush=True)
    applied = migrate(s.database_url)
    say(f"migrations: {len(applied)} applied" + (f" ({', '.join(applied)})" if applied else " (up to date)"))
    if seed_before_connect(s):
        say("seeded the emulators: a QuickBooks company with customers from before the connection, a CRM location")
    if ensure_integration():
        seed_after_connect(s)
        say(f"seeded {NEW_CUSTOMERS} QuickBooks customers created after connecting "
            f"(accents, apostrophes, a few bad records), {NEW_PAYMENTS} CRM payments and {NEW_INVOICES} CRM invoices")
    else:
        say("nothing new seeded: this cycle should load nothing new")
    results = run_dags()
    print_summary(since, s)
    failed = [d for d, (rc, _) in results.items() if rc]
    if failed:
        print(f"\nDAG runs that failed: {', '.join(failed)} (logs in .data/logs/)")
        return 1
    print("\nStack left running for another cycle or `make up`; `make down` stops it, `make clean` also "
          "removes local state.")
    return 0
