"""Names and store lookups the invoice flow's stages share."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from qbo_crm_sync.store import tracking
from qbo_crm_sync.store.db import Connection
from qbo_crm_sync.store.sql import query

FLOW = "invoices"
PURPOSE = "invoices"  # sync.qbo_batch purpose
STREAM = "crm_invoice"  # the issue-date window of new invoices
SWEEP_STREAM = "crm_invoice_sweep"  # the periodic look-back over paid and void invoices
STAGING_TABLE = "staging.crm_invoice"
SOURCE_TYPE = "invoice"
PAYMENT_SOURCE_TYPE = "invoice_payment"
BATCH_ITEMS = 30
SEND_WORKERS = 4


def invoices_of(conn: Connection, integration_id: int, source_ids: list[str]) -> dict[str, dict[str, Any]]:
    """sync.invoice rows by CRM invoice id, with the entity map's SyncToken and written hash."""
    if not source_ids:
        return {}
    rows = conn.execute(query("invoices_get"), {"integration_id": integration_id, "source_ids": source_ids})
    found = {r["source_id"]: dict(r) for r in rows.fetchall()}
    mapped = tracking.entity_map_get(conn, integration_id, SOURCE_TYPE, list(found), "invoice")
    for sid, state in found.items():
        em = mapped.get(sid) or {}
        state["sync_token"] = em.get("sync_token")
        state["written"] = em.get("payload_hash")
    return found


def payments_of(conn: Connection, integration_id: int, source_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """sync.invoice_payment rows (payment steps) by CRM invoice id, oldest step first."""
    if not source_ids:
        return {}
    rows = conn.execute(query("invoice_payments_get"), {"integration_id": integration_id, "source_ids": source_ids})
    found: dict[str, list[dict[str, Any]]] = {}
    for r in rows.fetchall():
        found.setdefault(r["source_id"], []).append(dict(r))
    return found


def open_payments(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The payments this sync made in QBO and has not voided."""
    return [p for p in steps if p["payment_id"] and not p["voided"]]


def state_note(state: dict[str, Any]) -> str:
    """What QBO holds for an invoice, for a row's reason."""
    if not state.get("invoice_id"):
        return "not in QuickBooks yet"
    note = f"QuickBooks invoice {state['invoice_id']} (DocNumber {state['doc_number']})"
    if state.get("qbo_voided"):
        return note + ", voided"
    paid = Decimal(state.get("paid_total") or 0)
    return note + (f", {paid:.2f} paid" if paid else "")
