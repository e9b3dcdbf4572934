"""DAG ``qbo_customers_backfill``: every customer QuickBooks already had → CRM contacts, read
straight from QBO's query endpoint (steps for runtime.run_step), so no export is needed.

Customers created before the integration was connected are read (the scheduled contacts flow
handles the later ones), active ones or all (``Active IN (true, false)``: QBO hides inactive
customers unless asked), 1,000 a page, oldest first. The position is the creation time reached,
so a resumed run reads on from there (the few customers at that very second are read again and
found unchanged). Their source id is QBO's own: the contacts flow and this backfill share the
entity map, so neither writes a customer's contact twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from qbo_crm_sync.flows.backfill import engine
from qbo_crm_sync.flows.backfill.csv_import import _counts, options, standing
from qbo_crm_sync.flows.extraction import parse_time
from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.hooks.quickbooks import PAGE_SIZE, query_time, quote

log = logging.getLogger(__name__)

FLOW = "qbo_customers_backfill"
# What of a customer its contact is made of: a change elsewhere (balance, tokens) is no change here.
_CONTACT_KEYS = ("GivenName", "FamilyName", "DisplayName", "CompanyName", "PrimaryEmailAddr", "PrimaryPhone",
                 "Mobile", "BillAddr", "Active")


def where(job: Job, active_only: bool, since: str | None = None) -> str:
    clauses = [f"MetaData.CreateTime < {quote(query_time(job.integration.connected_at))}",
               "Active = true" if active_only else "Active IN (true, false)"]
    if since:
        clauses.insert(0, f"MetaData.CreateTime >= {quote(since)}")
    return " AND ".join(clauses)


def _active_only(job: Job) -> bool:
    return job.params.get("customers", "active") != "all"


def check(job: Job) -> dict[str, Any]:
    total = job.qbo.count("Customer", where(job, _active_only(job)))
    log.info("QuickBooks holds %d %s customers created before the integration was connected (%s)", total,
             "active" if _active_only(job) else "active and inactive", job.integration.connected_at)
    return {"rows_total": total}


def content_hash(customer: dict[str, Any]) -> str:
    picked = {k: customer.get(k) for k in _CONTACT_KEYS}
    return hashlib.sha256(json.dumps(picked, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def source(job: Job, chunk_rows: int) -> engine.Source:
    active_only = _active_only(job)
    total = job.qbo.count("Customer", where(job, active_only))

    def batches(position: dict[str, Any] | None) -> Any:
        select = ("SELECT * FROM Customer WHERE "  # noqa: S608 - a QBO query; literals go through quote()
                  f"{where(job, active_only, (position or {}).get('created_since'))} ORDERBY MetaData.CreateTime")
        rows: list[dict[str, Any]] = []
        for customer in job.qbo.query(select, page_size=PAGE_SIZE):
            created = (customer.get("MetaData") or {}).get("CreateTime")
            rows.append({"source_id": str(customer["Id"]), "raw": customer, "payload_hash": content_hash(customer),
                         "created_at_source": parse_time(created), "created": created})
            if len(rows) >= chunk_rows:
                yield _batch(rows)
                rows = []
        if rows:
            yield _batch(rows)

    description = {"label": f"QuickBooks company {job.integration.realm_id}", "kind": "qbo",
                   "customers": "active" if active_only else "all",
                   "created_before": job.integration.connected_at.isoformat()}
    return engine.Source(key=f"qbo:{'active' if active_only else 'all'}", description=description, rows_total=total,
                         reject_header=["qbo_id", "display_name", "email"], batches=batches)


def _batch(rows: list[dict[str, Any]]) -> engine.Batch:
    by_id = {r["source_id"]: r["raw"] for r in rows}

    def cells(sid: str) -> list[str]:
        c = by_id.get(sid) or {}
        return [sid, c.get("DisplayName") or "", (c.get("PrimaryEmailAddr") or {}).get("Address") or ""]

    last = next((r["created"] for r in reversed(rows) if r["created"]), None)
    return engine.Batch(frame=None, rows=rows, position={"created_since": last} if last else {"created_since": None},
                        rows_read=len(rows), cells=cells)


def load(job: Job) -> dict[str, Any]:
    chunk = int(job.params.get("chunk_size") or PAGE_SIZE)
    summary = engine.run(job, source(job, chunk), options({**job.params, "customers": job.params.get("customers",
                                                                                                      "active")}))
    return _counts(summary)


def report(job: Job) -> dict[str, Any]:
    return standing(job)
