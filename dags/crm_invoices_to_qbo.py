"""Airflow DAG: CRM invoices become QuickBooks invoices and follow their life (qbo_crm_sync.flows.invoices)."""

from __future__ import annotations

from qbo_crm_sync.dag_factory import flow_dag

DOC = """
### CRM invoices → QuickBooks invoices, with their whole life

**What it does.** Every 5 minutes, for each connected integration: reads the CRM's invoices (new ones
by issue date, every open one by status, and once each invoice that stopped being open) into
`staging.crm_invoice`, and brings QuickBooks to what each changed invoice says. An invoice is
created in QuickBooks the first time it is seen sent (or later: payment processing, partially paid,
paid), for the customer found or created by email, numbered with the CRM invoice number, its lines,
discount and tax mapped so that QuickBooks' own total equals the CRM's to the cent. Afterwards: edited
lines, dates or discount → the QuickBooks invoice is updated; paid or partly paid → a QuickBooks
payment linked to the invoice for the newly paid amount (`sync.invoice_payment`, one row per step);
voided (or deleted) → this sync's payments are voided, then the invoice. Drafts, invoices created
before the integration was connected and test-mode invoices are skipped with the reason. Every
invoice ends in one state in `sync.row_status` (flow `invoices`), each step is one row in
`sync.row_event`; `sync.invoice` holds the CRM and QuickBooks figures, the entity map the QuickBooks
id, SyncToken and the hash of what was last written. The private note of every invoice and payment
names the CRM invoice id.

**Healthy looks like.** Runs green every 5 minutes; the `extract` log states the CRM reads of the
cycle (about one per 100 open invoices per open status, plus one per invoice that changed state);
the `report` log ends with a summary where `failed` is 0 and the reconciliation (per day and
currency, for the invoices the run touched: CRM totals and amounts paid vs QuickBooks') shows no
`MISMATCH`. The grid shows the four stages once per integration, and `summary` lists every
integration's outcome.

**When it fails.**
- `integrations` fails: the sync database is unreachable or not migrated (`python -m qbo_crm_sync db migrate`).
- A mapped task fails with "needs reauthorization": the QuickBooks grant was revoked; reconnect the
  integration (QB Connect page or `python -m qbo_crm_sync integrations connect`). Others keep syncing.
- `summary` fails: its message names each integration that failed, with the stage and the reason.
- `load` reports `unknown_batches` or `deferred`: QuickBooks did not answer a batch. Do nothing: the
  batch is stored and settled first thing next load (what landed is found in QuickBooks by DocNumber
  and the CRM id in the private note, by payment reference, or by id, and applied; only the rest is
  sent again). Never delete rows of `sync.qbo_batch` in state `pending` by hand.
- Rows `failed` with "QuickBooks refused …": the reason carries QuickBooks' fault message (e.g. an
  invoice the accountant paid or voided in QuickBooks cannot be voided or updated from here). They are
  retried each run and become `dead` after 5 attempts; fix the cause in QuickBooks, then
  `python -m qbo_crm_sync rows revive --integration N --flow invoices --why "..."`.
- A row whose reason says "DocNumber N belongs to another QuickBooks invoice": the accountant has an
  invoice with that number; this one was created with the alternative the reason names. Nothing to do
  unless the numbers should be changed by hand.
- Rows `rejected`: data problems in the CRM (no contact email, a currency other than the company's
  while multicurrency is off, amounts QuickBooks cannot total to the CRM's). Fix them in the CRM;
  changed invoices are picked up again.
- A reconciliation `MISMATCH` with no failed rows: compare `sync.invoice` for that day
  (`crm_total`/`qbo_total`, `crm_paid`/`paid_total`) with the invoice in QuickBooks (DocNumber = the
  CRM number) and its linked payments.
"""

flow_dag(
    "crm_invoices_to_qbo",
    flow_module="invoices",
    doc_md=DOC,
    tags=["qbo-crm-sync", "quickbooks", "highlevel", "invoices"],
)
