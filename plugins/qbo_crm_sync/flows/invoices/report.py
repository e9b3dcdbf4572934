"""Invoices, report: the run's summary and the reconciliation of the invoices it touched."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.store.db import Connection
from qbo_crm_sync.store.sql import query

log = logging.getLogger(__name__)


def reconciliation(conn: Connection, integration_id: int, run_id: int) -> list[dict[str, Any]]:
    """Per day and currency of the invoices this run touched: the CRM's totals and amounts paid next
    to QBO's. ``mismatch`` is what the row states do not explain (see invoices_reconciliation.sql);
    invoices not yet in QBO and rows failing are counted apart, since their reasons say why."""
    rows = conn.execute(query("invoices_reconciliation"), {"integration_id": integration_id, "run_id": run_id})
    out = []
    for r in rows.fetchall():
        out.append({
            "day": r["txn_day"].isoformat(), "currency": r["currency"], "invoices": r["invoices"],
            "billed": r["billed"], "in_qbo": r["in_qbo"],
            "crm_total": f"{Decimal(r['crm_total']):.2f}", "qbo_total": f"{Decimal(r['qbo_total']):.2f}",
            "crm_paid": f"{Decimal(r['crm_paid']):.2f}", "qbo_paid": f"{Decimal(r['qbo_paid']):.2f}",
            "crm_voided": r["crm_voided"], "qbo_voided": r["qbo_voided"], "outstanding": r["outstanding"],
            "failing": r["failing"], "mismatched": r["mismatched"], "mismatch": bool(r["mismatched"]),
        })
    return out


def render_reconciliation(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "  reconciliation: this run touched no invoice"
    lines = ["  reconciliation of the invoices this run touched, per day and currency: CRM vs QBO "
             "(totals of invoices not voided; amounts paid)"]
    for r in rows:
        gaps = []
        if r["outstanding"]:
            gaps.append(f"{r['outstanding']} not in QBO yet")
        if r["failing"]:
            gaps.append(f"{r['failing']} failing")
        if r["crm_voided"] or r["qbo_voided"]:
            gaps.append(f"voided CRM {r['crm_voided']} / QBO {r['qbo_voided']}")
        flag = f"  << MISMATCH: {r['mismatched']} invoice(s) differ" if r["mismatch"] else ""
        lines.append(f"    {r['day']} {r['currency']:<4} total CRM {r['crm_total']:>12} QBO {r['qbo_total']:>12}"
                     f"   paid CRM {r['crm_paid']:>12} QBO {r['qbo_paid']:>12}   ({r['billed']} billed, "
                     f"{r['in_qbo']} in QBO{'; ' + ', '.join(gaps) if gaps else ''}){flag}")
    return "\n".join(lines)


def report(job: Job) -> dict[str, Any]:
    from qbo_crm_sync import reporting

    with job.connect() as conn:
        summary = reporting.run_summary(conn, job.run_id)
        recon = reconciliation(conn, job.integration.id, job.run_id)
    mismatches = sum(1 for r in recon if r["mismatch"])
    summary["status"] = status = reporting.run_status(summary, other_problems=mismatches)
    log.info("Summary\n%s\n%s", reporting.render(summary), render_reconciliation(recon))
    return {"run_status": status, "reconciliation": recon, "reconciliation_mismatches": mismatches,
            **{f"rows_{k}": v for k, v in summary["by_status"].items()}}
