"""Airflow DAG: new QuickBooks customers become HighLevel contacts (qbo_crm_sync.flows.contacts)."""

from __future__ import annotations

from qbo_crm_sync.dag_factory import flow_dag

DOC = """
### QuickBooks customers → CRM contacts

**What it does.** Every 5 minutes, for each connected integration: pulls QuickBooks customers
created since the last run (and after the integration was connected) into `staging.qbo_customer`,
turns them into HighLevel contacts (pandas), checks them (Great Expectations suite `contacts`), and
writes the good ones to the CRM location (never over another person: see the README). Every customer ends in one state in
`sync.row_status` (flow `contacts`): loaded, rejected, skipped, failed or dead, with the reason.

**Healthy looks like.** Runs green every 5 minutes; the `report` task's log ends with a summary
where `failed` is 0; `sync.run` shows a row per run and integration. The grid shows the four
stages once per integration (each named `integration <id> (<location>)`), and the `summary` task's
log lists every integration's outcome.

**When it fails.**
- `integrations` fails: the sync database is unreachable or not migrated (`python -m qbo_crm_sync db migrate`).
- A mapped task fails with "needs reauthorization": the QuickBooks grant was revoked or superseded;
  the integration is now `needs_reauth` and skipped until someone reconnects it (QB Connect page or
  `python -m qbo_crm_sync integrations connect`). Other integrations keep syncing.
- `summary` fails: its message names each integration that failed, with the stage and the reason;
  the other integrations' stages ran to the end on their own. Open the named stage's task for that
  integration. "Nothing synced" means no integration is connected or every one was skipped (e.g.
  all `needs_reauth`): connect or reconnect one.
- `load` ends with failed rows: throttling or CRM outages outlasted the retries. Nothing to do: the
  rows are retried next run; after 5 attempts they become `dead` and need a look
  (`SELECT * FROM sync.row_status WHERE flow='contacts' AND status='dead'`).
- Rejected rows are data problems in QuickBooks (no valid email or phone, too-long names): fix the
  customer in QuickBooks; the changed row is picked up again.
"""

flow_dag(
    "qbo_customers_to_crm",
    flow_module="contacts",
    doc_md=DOC,
    tags=["qbo-crm-sync", "quickbooks", "highlevel", "contacts"],
)
