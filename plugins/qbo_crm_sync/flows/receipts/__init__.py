"""CRM payments → QBO sales receipts: extract → transform + validate → load → report.

- extract: ``GET /payments/transactions`` for the days from the watermark (less an overlap) to
  now, offset-paged, upserted into ``staging.crm_transaction``; the watermark moves after the
  rows are committed. The listing filters by creation day, so a payment refunded days after it
  was taken would never be read again: once per ``refund_sweep_hours`` (default 6) the days of the
  refund look-back (``refund_lookback_days``, default 120, the usual card-dispute window) that hold
  receipted, not fully refunded payments are read again in one paged listing, and what changed is
  staged like any new row. Cost: ceil(transactions in those days / 100) CRM reads per sweep.
- transform: staged rows not yet handled (or changed, or failed) are classified
  (receipts_mapping), mapped to receipt bodies, checked (Great Expectations suite ``receipts``)
  and queued in ``sync.outbox``; every eligible payment gets a ``sync.receipt`` row, the CRM
  side of the reconciliation.
- load: under a per-integration lock, any batch whose answer was lost is re-sent as it was; then
  the queued payments' customers are resolved (flows/qbo_customers.py) and receipts are created
  through ``/batch`` (30 per request, a write-ahead log per batch, a deterministic bId per
  payment and try), each answer applied in one transaction: row status, entity map, receipt row
  (with QBO's TotalAmt) and outbox together.
- refunds: a receipted payment the CRM later refunds (fully or in part) is queued again as a refund
  step named by its cumulative refunded amount; load sends one RefundReceipt for the difference to
  what QBO already holds (same customer, item and deposit account as the receipt), through the
  same batch log, and records it in ``sync.refund``. A payment refunded before it had a receipt
  stays skipped: there is nothing to refund in QBO.
- report: the run's summary plus, per day and currency, the CRM total of eligible payments next
  to the QBO total of the receipts created for them, refunds netted on both sides; a difference is
  flagged.
"""

from __future__ import annotations

from qbo_crm_sync.flows.receipts.extract import extract
from qbo_crm_sync.flows.receipts.load import load
from qbo_crm_sync.flows.receipts.report import reconciliation, render_reconciliation, report
from qbo_crm_sync.flows.receipts.shared import FLOW
from qbo_crm_sync.flows.receipts.transform import transform

__all__ = ["FLOW", "extract", "load", "reconciliation", "render_reconciliation", "report", "transform"]
