"""Airflow DAG: CRM payments become QuickBooks sales receipts (qbo_crm_sync.flows.receipts)."""

from __future__ import annotations

from qbo_crm_sync.dag_factory import flow_dag

DOC = """
### CRM payments → QuickBooks sales receipts

**What it does.** Every 5 minutes, for each connected integration: pulls the CRM's payment
transactions since the last run into `staging.crm_transaction`, keeps those taken through order
forms, subscriptions, memberships and calendar bookings (invoice payments belong to the invoice
flow; failed, pending, test-mode, other payments and payments refunded before they had a
receipt are skipped with the reason), checks them (Great Expectations suite `receipts`), finds or
creates the QuickBooks customer by email, and creates one sales receipt per payment through QBO's
batch endpoint. A payment refunded (fully or in part) after its receipt exists gets a QuickBooks
refund receipt for the newly refunded amount, against the same customer, item and deposit account
(`sync.refund` holds one row per refund step; the row's reason names the refund and the receipt). Every
transaction ends in one state in `sync.row_status` (flow `receipts`). The receipt carries the CRM
transaction id in its private note and a DocNumber derived from it.

**Healthy looks like.** Runs green every 5 minutes; the `report` task's log ends with a summary
where `failed` is 0 and the reconciliation (per day and currency: CRM total of eligible payments
vs QBO total of the receipts created, refunds netted on both sides) shows no `MISMATCH`. The grid
shows the four stages once per integration (each named `integration <id> (<location>)`), and the
`summary` task's log lists every integration's outcome.

**When it fails.**
- `integrations` fails: the sync database is unreachable or not migrated (`python -m qbo_crm_sync db migrate`).
- A mapped task fails with "needs reauthorization": the QuickBooks grant was revoked; reconnect the
  integration (QB Connect page or `python -m qbo_crm_sync integrations connect`). Others keep syncing.
- `summary` fails: its message names each integration that failed, with the stage and the reason;
  the other integrations' stages ran to the end on their own. Open the named stage's task for that
  integration. "Nothing synced" means no integration is connected or every one was skipped (e.g.
  all `needs_reauth`): connect or reconnect one.
- `load` reports `unknown_batches` or `deferred`: QuickBooks did not answer a batch. Do nothing:
  the batch is stored and re-sent exactly as it was at the start of the next load (QuickBooks
  replays its first answer, so nothing is created twice). Never delete rows of `sync.qbo_batch`
  in state `pending` by hand.
- Rows `failed` with "QuickBooks refused the receipt" or "no QuickBooks customer": read the reason
  (`SELECT * FROM sync.row_status WHERE flow='receipts' AND status IN ('failed','dead')`); they are
  retried each run and become `dead` after 5 attempts.
- Rejected rows are data problems in the CRM (no contact email, another currency than the company's,
  zero or negative amounts): fix them in the CRM or record them in QuickBooks by hand.
- A reconciliation `MISMATCH` with no failed rows: compare `sync.receipt` (and `sync.refund`) for
  that day with the receipts and refund receipts in QuickBooks (DocNumber = the CRM transaction's
  code; a refund's DocNumber starts with `R`). "not yet in QBO" refunds are queued and go out next load.
- Rows `failed` with "QuickBooks refused the refund receipt": read the reason; the refund step is
  retried each run (a new request id per try, the same DocNumber).
"""

flow_dag(
    "crm_payments_to_qbo",
    flow_module="receipts",
    doc_md=DOC,
    tags=["qbo-crm-sync", "quickbooks", "highlevel", "receipts"],
)
