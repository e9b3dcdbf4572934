"""Airflow DAG: a QuickBooks payment that settles a customer's first invoice asks them for a review
in the CRM (qbo_crm_sync.flows.reviews)."""

from __future__ import annotations

from qbo_crm_sync.dag_factory import flow_dag

DOC = """
### QuickBooks payments → CRM review requests

**What it does.** Every 5 minutes, for each connected integration: reads the QuickBooks payments
changed since the last run, with the company's invoices, in one CDC call (`staging.qbo_payment`,
`sync.qbo_invoice_mirror`). A payment that pays the customer's **first invoice** (earliest by
TxnDate, whoever created it) in full asks that customer for a review, once ever per customer, if
the integration's "send review requests automatically" box (`auto_send_review`) was ticked when
QuickBooks recorded the payment: the CRM contact is found or created (the contacts flow's rules),
sent the integration's message through the conversations API (email when the contact has an email,
else SMS) and tagged `review-requested`. Partial payments, payments of later invoices, voided or
deleted payments and payments made while the box was unticked are `skipped` with the reason
(ticking the box later sends nothing for past payments); a contact without email or phone is
`rejected`; one marked do-not-disturb is `skipped`. Every payment ends in one state in
`sync.row_status` (flow `reviews`); `sync.review_request` holds the one request per customer.

**Healthy looks like.** Runs green every 5 minutes; the `report` task's log ends with a summary
where `failed` is 0 and the integration's requests, by state, show none `sending` for longer than
a run. The grid shows the four stages once per integration (each named `integration <id> (<location>)`).

**When it fails.**
- `integrations` fails: the sync database is unreachable or not migrated (`python -m qbo_crm_sync db migrate`).
- A mapped task fails with "needs reauthorization": the QuickBooks grant was revoked; reconnect the
  integration (QB Connect page or `python -m qbo_crm_sync integrations connect`). Others keep going.
- `summary` fails: its message names each integration that failed, with the stage and the reason.
- Rows `failed` with "the review request is in doubt": the CRM did not answer a send. Do nothing:
  each run asks the CRM (the contact's `review-requested` tag, its conversation messages) and sends
  again only once the CRM shows the request did not go out. Never delete a `sync.review_request`
  row in state `sending` by hand: that is what keeps a customer from a second request. One that
  stays `sending` with "no longer exists" lost its CRM contact: look at the CRM, then set the row's
  state to `sent` (it went out) or `not_sent` (it did not) and revive the row.
- Rows `failed` with "no review link is set": enter the review link on the QB Connect page.
- Rows `failed` or `rejected` with "no CRM contact": the contacts flow could not write the
  customer's contact (the reason says why, e.g. no valid email or phone): fix the customer in
  QuickBooks; the payment is looked at again when it changes (or revive it:
  `python -m qbo_crm_sync rows revive --integration N --flow reviews --why "…"`).
- Rows `failed` with "not mirrored yet": an invoice of the payment was not in the invoice mirror;
  retried each run, `dead` after 5 attempts.
"""

flow_dag(
    "qbo_payments_to_review_requests",
    flow_module="reviews",
    doc_md=DOC,
    tags=["qbo-crm-sync", "quickbooks", "highlevel", "reviews"],
)
