"""What every DAG of this project shares: owner, retries, tags. Cheap to import at parse time."""

from __future__ import annotations

from datetime import timedelta

import pendulum

OWNER = "data-platform"
START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")

# Every DAG's tags come from this list (the DAG-integrity test checks it).
TAGS = frozenset({"qbo-crm-sync", "quickbooks", "highlevel", "contacts", "receipts", "invoices",
                  "reviews", "backfill"})

DEFAULT_ARGS = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=5),
}
