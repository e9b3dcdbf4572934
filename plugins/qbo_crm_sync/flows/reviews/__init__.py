"""QBO payments → CRM review requests: extract → transform → load → report.

A customer is asked for a review once, when a QuickBooks payment settles their first invoice, if
the integration's ``auto_send_review`` box was ticked when QuickBooks recorded that payment.

- extract (extract.py): the payments changed since the watermark into ``staging.qbo_payment`` and
  the company's invoices into ``sync.qbo_invoice_mirror``, both from one CDC call (a paged query at
  CDC's limits, flows/qbo_changes.py), so deciding costs no metered read of its own.
- transform (transform.py, decide.py): each new or changed payment gets its verdict: due (queued in
  ``sync.outbox``) or skipped with the reason (a later invoice, a partial payment, voided or deleted,
  the box unticked at the time, the customer asked already).
- load (load.py, crm.py, render.py): each due request checked again, its contact found or created
  by the contacts flow's rules, claimed in ``sync.review_request`` (one row per customer, committed
  before sending), sent through ``POST /conversations/messages`` (email, else SMS; do-not-disturb
  and unreachable contacts are not asked), and the contact tagged ``review-requested``. A send
  whose answer was lost is settled by asking the CRM, never by sending again blindly.
- report (report.py): the run's summary and the integration's requests by state.
"""

from qbo_crm_sync.flows.reviews.extract import extract
from qbo_crm_sync.flows.reviews.load import load
from qbo_crm_sync.flows.reviews.report import report
from qbo_crm_sync.flows.reviews.shared import FLOW, TAG
from qbo_crm_sync.flows.reviews.transform import transform

__all__ = ["FLOW", "TAG", "extract", "load", "report", "transform"]
