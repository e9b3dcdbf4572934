"""Airflow DAG: every customer QuickBooks already had becomes a CRM contact (qbo_crm_sync.flows.backfill.qbo_history)."""

from __future__ import annotations

from airflow.sdk import Param

from qbo_crm_sync.dag_factory import backfill_dag
from qbo_crm_sync.flows.backfill.params import budget_params, common_params

DOC = """
### QuickBooks customers from before connecting → CRM contacts (historical pull)

**What it does.** Run by hand (Trigger → the form). Reads the customers the QuickBooks company had
before the integration was connected straight from QuickBooks (paged queries, 1,000 a page, oldest
first; active ones, or all with `Active IN (true, false)`), so no export is needed, and writes them
to the CRM exactly as the CSV backfill and the contacts flow do. **Dry run is on by default.**
Customers created after connecting are the scheduled contacts flow's. Every customer ends in
`sync.row_status` (flow `qbo_customers_backfill`); the report and `rejected.csv` go to
`<import folder>/reports/qbo_customers_backfill/<run id>/`.

**Cost.** QuickBooks: one count and one query per 1,000 customers (metered reads). CRM: about one
request per contact written, at most `burst_share` of HighLevel's 100 per 10 s, and never the
`daily_reserve` kept for the scheduled flows.

**Healthy looks like.** As `contacts_csv_backfill`: a progress line per chunk with the finishing
time, the standing in `report`.

**When it fails or waits.**
- `backfill` is **deferred**: the day's CRM budget above the reserve is spent; it goes on by itself
  after midnight UTC from where it stopped (or trigger it again).
- A task fails with "needs reauthorization": reconnect the integration (QB Connect page).
- Rows `failed`: the CRM did not answer; the resumed or next run retries them.
"""

backfill_dag(
    "qbo_customers_backfill",
    flow_module="backfill.qbo_history",
    doc_md=DOC,
    tags=["qbo-crm-sync", "quickbooks", "highlevel", "contacts", "backfill"],
    params={
        **common_params(),
        "customers": Param("active", type="string", enum=["active", "all"], title="Customers",
                           description="active: Active = true; all: Active IN (true, false), inactive customers "
                                       "become contacts too."),
        "chunk_size": Param(1000, type="integer", minimum=100, maximum=10_000, title="Chunk size",
                            description="Customers checked and written together (QuickBooks pages hold 1,000)."),
        **budget_params(),
    },
)
