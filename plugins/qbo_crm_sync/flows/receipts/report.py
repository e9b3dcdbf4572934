"""Receipts, report: the run's summary and the reconciliation over the refund look-back."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.store.db import Connection
from qbo_crm_sync.store.sql import query

log = logging.getLogger(__name__)


def reconciliation(conn: Connection, integration_id: int, run_id: int,
                   lookback_days: int = 120) -> list[dict[str, Any]]:
    """Per day and currency of the refund look-back (and any older day the run touched): CRM total
    of eligible payments vs QBO receipts' total, so a refund the sync missed shows as a gap.

    Payments with no receipt yet are reported apart (rejected, failed, other): the tracking already
    names them. Refunds are netted on both sides (``crm_net``, ``qbo_net``); a CRM refund not yet in
    QBO is reported apart (``refunds_not_in_qbo``). ``mismatch`` is what it cannot explain: receipts
    or refund receipts whose QBO totals differ from the CRM amounts they were made for.
    """
    since_day = datetime.now(UTC).date() - timedelta(days=lookback_days)
    rows = conn.execute(query("receipts_reconciliation"),
                        {"integration_id": integration_id, "run_id": run_id, "since_day": since_day}).fetchall()
    out = []
    for r in rows:
        qbo, receipted = Decimal(r["qbo_total"]), Decimal(r["receipted_crm_total"])
        crm_refunded, qbo_refunded = Decimal(r["crm_refunded"]), Decimal(r["qbo_refunded"])
        refunded_in_qbo = Decimal(r["refunded_in_qbo"])
        out.append({
            "day": r["txn_day"].isoformat(), "currency": r["currency"], "touched": bool(r["touched"]),
            "payments": r["payments"], "crm_total": f"{Decimal(r['crm_total']):.2f}",
            "receipts": r["receipts"], "qbo_total": f"{qbo:.2f}",
            "outstanding": r["payments"] - r["receipts"],
            "outstanding_total": f"{Decimal(r['outstanding_total']):.2f}",
            "outstanding_by_status": {k: n for k, n in (("rejected", r["outstanding_rejected"]),
                                                        ("failed", r["outstanding_failed"]),
                                                        ("not yet loaded", r["outstanding_other"])) if n},
            "crm_refunded": f"{crm_refunded:.2f}", "qbo_refunded": f"{qbo_refunded:.2f}",
            "crm_net": f"{Decimal(r['crm_total']) - crm_refunded:.2f}", "qbo_net": f"{qbo - qbo_refunded:.2f}",
            "refunds_not_in_qbo": f"{crm_refunded - refunded_in_qbo:.2f}",
            "mismatch": qbo != receipted or qbo_refunded != refunded_in_qbo,
        })
    return out


def _needs_a_look(r: dict[str, Any]) -> bool:
    return bool(r["mismatch"] or r["outstanding"] or Decimal(r["refunds_not_in_qbo"]))


def render_reconciliation(rows: list[dict[str, Any]], lookback_days: int = 120) -> str:
    """The window's totals per currency, then the days the run touched and every day with a gap."""
    if not rows:
        return f"  reconciliation: no eligible payments in the last {lookback_days} days"
    lines = [f"  reconciliation over the refund look-back ({lookback_days} days), per currency: "
             "CRM eligible payments net of refunds vs QBO receipts net of refund receipts"]
    for currency in sorted({r["currency"] for r in rows}):
        mine = [r for r in rows if r["currency"] == currency]
        crm = sum((Decimal(r["crm_net"]) for r in mine), Decimal(0))
        qbo = sum((Decimal(r["qbo_net"]) for r in mine), Decimal(0))
        gaps = sum(1 for r in mine if _needs_a_look(r))
        lines.append(f"    {currency:<4} CRM {crm:>12.2f}   QBO {qbo:>12.2f}   "
                     + (f"{gaps} day(s) with a gap, below" if gaps else "no gap"))
    shown = [r for r in rows if r["touched"] or _needs_a_look(r)]
    if shown:
        lines.append("  by day (days this run touched, and days with a gap; not in QBO by row status)")
    for r in shown:
        flag = "  << MISMATCH: QBO totals differ from the CRM amounts" if r["mismatch"] else ""
        gap = ""
        if r["outstanding"]:
            why = ", ".join(f"{n} {status}" for status, n in r["outstanding_by_status"].items())
            gap = f"   not in QBO {r['outstanding_total']:>10} ({why})"
        refunds = ""
        if Decimal(r["crm_refunded"]) or Decimal(r["qbo_refunded"]):
            refunds = f"   refunds CRM {r['crm_refunded']} / QBO {r['qbo_refunded']} (net {r['crm_net']} / {r['qbo_net']})"
            if Decimal(r["refunds_not_in_qbo"]):
                refunds += f", {r['refunds_not_in_qbo']} not yet in QBO"
        lines.append(f"    {r['day']} {r['currency']:<4} CRM {r['crm_total']:>12} ({r['payments']:>5})"
                     f"   QBO {r['qbo_total']:>12} ({r['receipts']:>5}){gap}{refunds}{flag}")
    return "\n".join(lines)


def report(job: Job) -> dict[str, Any]:
    from qbo_crm_sync import reporting

    with job.connect() as conn:
        summary = reporting.run_summary(conn, job.run_id)
        lookback = int(job.integration.settings["refund_lookback_days"])
        recon = reconciliation(conn, job.integration.id, job.run_id, lookback)
    by_status = summary["by_status"]
    mismatches = sum(1 for r in recon if r["mismatch"])
    summary["status"] = status = reporting.run_status(summary, other_problems=mismatches)
    log.info("Summary\n%s\n%s", reporting.render(summary), render_reconciliation(recon, lookback))
    return {"run_status": status, "reconciliation": recon, "reconciliation_mismatches": mismatches,
            **{f"rows_{k}": v for k, v in by_status.items()}}
