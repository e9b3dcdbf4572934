"""Extract: QBO customers created after connecting and changed since the watermark → staging.

Paged from QBO's query endpoint over a closed window, upserted into ``staging.qbo_customer``; the
watermark moves once the rows are committed (flows/extraction.py).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from qbo_crm_sync.flows import extraction
from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.hooks.quickbooks import query_time, quote

log = logging.getLogger(__name__)

STREAM = "qbo_customer"
STAGING_TABLE = "staging.qbo_customer"
# Re-read this much before the watermark: QBO's query index lags writes by a little.
OVERLAP = timedelta(minutes=2)


def email_key(customer: dict[str, Any]) -> str | None:
    """A QBO customer's email as staging keeps it: trimmed and lower-cased, None when empty."""
    address = (customer.get("PrimaryEmailAddr") or {}).get("Address")
    return address.strip().lower() or None if isinstance(address, str) else None


def customer_select(since: datetime, until: datetime, connected_at: datetime) -> str:
    """Customers created after connecting and changed in [since, until), inactive ones included."""
    # A QBO query, not SQL: every literal goes through quote().
    return (
        "SELECT * FROM Customer"  # noqa: S608
        f" WHERE MetaData.LastUpdatedTime >= {quote(query_time(since))}"
        f" AND MetaData.LastUpdatedTime < {quote(query_time(until))}"
        f" AND MetaData.CreateTime >= {quote(query_time(connected_at))}"
        " AND Active IN (true, false)"
        " ORDERBY MetaData.LastUpdatedTime"
    )


def staging_row(integration_id: int, customer: dict[str, Any]) -> dict[str, Any]:
    """The ``staging.qbo_customer`` row of a QBO Customer object."""
    meta = customer.get("MetaData") or {}
    return {
        "integration_id": integration_id,
        "source_id": str(customer["Id"]),
        "raw": customer,
        "display_name": customer.get("DisplayName"),
        "email": email_key(customer),
        "created_at_source": extraction.parse_time(meta.get("CreateTime")),
        "updated_at_source": extraction.parse_time(meta.get("LastUpdatedTime")),
    }


def extract(job: Job, now: datetime | None = None) -> dict[str, Any]:
    integration = job.integration
    span = extraction.window(job, STREAM, OVERLAP, now)
    log.info("Extracting QBO customers changed in [%s, %s)", query_time(span.since), query_time(span.until))
    customers = job.qbo.query(customer_select(span.since, span.until, integration.connected_at))
    counts = extraction.stage(job, STAGING_TABLE, customers, lambda c: staging_row(integration.id, c),
                              STREAM, span.until, noun="customers")
    return {**counts, "window_start": span.since.isoformat(), "window_end": span.until.isoformat()}
