"""CRM invoices → QBO invoices with their whole life: extract → transform + validate → load → report.

- extract (extract.py): new invoices through the issue-date window, the open ones through one listing
  per open status, and a single read of each open invoice that left those listings; all staged in
  ``staging.crm_invoice`` and compared by content hash. Paid and void invoices stop being read but for
  a periodic look-back (``refund_sweep_hours`` / ``refund_lookback_days``).
- transform (transform.py, mapping.py): drafts, invoices created before the connection and test-mode
  invoices are skipped with the reason; the rest are mapped (the shared money mapping, so QBO's
  TotalAmt equals the CRM total), checked (Great Expectations suite ``invoices``) and queued in
  ``sync.outbox`` as what QBO should hold: the invoice and the amount paid, or a void.
- load (load.py, answers.py): creates, sparse updates, payments linked to the invoice, payment voids
  then invoice voids, all through the QBO batch log (30 per request), exactly once even when answers
  are lost and QBO's requestid replay does not help.
- report (report.py): the run's summary and, per day and currency, the CRM's totals and amounts paid
  against QBO's for the invoices the run touched.
"""

from __future__ import annotations

from qbo_crm_sync.flows.invoices.extract import extract
from qbo_crm_sync.flows.invoices.load import load
from qbo_crm_sync.flows.invoices.report import reconciliation, render_reconciliation, report
from qbo_crm_sync.flows.invoices.shared import FLOW
from qbo_crm_sync.flows.invoices.transform import transform

__all__ = ["FLOW", "extract", "load", "reconciliation", "render_reconciliation", "report", "transform"]
