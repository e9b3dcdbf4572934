"""Airflow DAG: a CSV of QuickBooks customers becomes CRM contacts (qbo_crm_sync.flows.backfill.csv_import)."""

from __future__ import annotations

from airflow.sdk import Param

from qbo_crm_sync.dag_factory import backfill_dag
from qbo_crm_sync.flows.backfill.params import budget_params, common_params

DOC = """
### CSV of QuickBooks customers → CRM contacts (backfill)

**What it does.** Run by hand (Trigger → the form). Reads a CSV from the import folder — QuickBooks
Online's own customer list export (Sales → Customers → Export) or a plain CSV (README, "Backfills") —
checks every row with the contacts flow's checks, and writes the good ones to the integration's CRM
location as the contacts flow would (never over another person, tags only added). **Dry run is on
by default**: it reports what would happen and sends nothing to the CRM. Rows already imported
unchanged are skipped, so running a file twice, or a newer export overlapping an older one,
changes nothing already loaded. Every row ends in `sync.row_status` (flow `contacts_csv_backfill`).

**Where things are.** Put the file into the import folder (`SYNC_IMPORT_DIR`; docker-compose mounts
`./import` there) and give its path inside it. The run's report and `rejected.csv` (every row not
loaded, with the reason, ready to fix and import again) are written to
`<import folder>/reports/contacts_csv_backfill/<run id>/`.

**Healthy looks like.** `check` logs the file's shape, encoding and row count; `backfill` logs a
line per chunk (rows done, rate, CRM requests per row, daily budget left, when it will finish);
`report` logs the standing. A large file takes hours to days: HighLevel allows 200,000 requests a
day per location, and the backfill leaves `daily_reserve` of them to the scheduled flows.

**When it fails or waits.**
- `check` fails naming a line and a problem: the file cannot be read (encoding, header, an unclosed
  quote). Fix the file; nothing was written.
- `check` fails with "outside the import folder": name a file inside it.
- `backfill` is **deferred**: the day's CRM budget (above the reserve) is spent. It goes on by itself
  when the budget returns (after midnight UTC), from where it stopped; triggering the DAG again with
  the same file does the same at once.
- Rows `failed`: the CRM did not answer; the next run (or the resumed one) retries them.
"""

backfill_dag(
    "contacts_csv_backfill",
    flow_module="backfill.csv_import",
    doc_md=DOC,
    tags=["qbo-crm-sync", "highlevel", "contacts", "backfill"],
    params={
        **common_params(),
        "csv_file": Param(
            "customers.csv", type="string", minLength=1, maxLength=500,
            pattern=r"^(?![/\\])(?!.*(^|[/\\])\.\.([/\\]|$))[^\x00]+$",
            title="CSV file",
            description="Path of the file inside the import folder (SYNC_IMPORT_DIR; with docker-compose, put it "
                        "into ./import). QuickBooks' customer list export or a plain CSV; '..' and paths outside "
                        "the folder are refused.",
        ),
        "encoding": Param("auto", type="string", enum=["auto", "utf-8", "windows-1252"], title="Encoding",
                          description="auto: UTF-8 (with or without BOM), else Windows-1252."),
        "customers": Param("all", type="string", enum=["all", "active"], title="Customers",
                           description="all: every row; active: leave out rows whose active/status column says "
                                       "inactive."),
        "chunk_size": Param(5000, type="integer", minimum=100, maximum=100_000, title="Chunk size",
                            description="Rows read, checked and recorded together; progress is logged per chunk."),
        **budget_params(),
    },
)
