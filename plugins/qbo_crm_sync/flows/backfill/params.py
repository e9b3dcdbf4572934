"""Trigger-form fields both backfill DAGs share (Airflow ``Param``s, validated as JSON schema).
Cheap to import: DAG files use it at parse time."""

from __future__ import annotations

from typing import Any


def common_params() -> dict[str, Any]:
    from airflow.sdk import Param

    return {
        "integration": Param(
            None, type=["null", "string"], pattern=r"^([0-9]{1,18}|[A-Za-z0-9]{8,64})$", title="Integration",
            description="The integration's id or its CRM location id (QB Connect page, or `python -m qbo_crm_sync "
                        "integrations list`). Empty: the only connected integration.",
        ),
        "dry_run": Param(True, type="boolean", title="Dry run",
                         description="On: check every row and report what would be created, updated or skipped, "
                                     "and what it would cost; nothing is sent to the CRM."),
    }


def budget_params() -> dict[str, Any]:
    from airflow.sdk import Param

    return {
        "burst_share": Param(0.5, type="number", minimum=0.05, maximum=0.9, title="Share of the burst budget",
                             description="At most this share of HighLevel's 100 requests per 10 s; the scheduled "
                                         "flows keep the rest."),
        "daily_reserve": Param(20_000, type="integer", minimum=0, maximum=200_000, title="Daily reserve",
                               description="CRM requests per day left to the scheduled flows: the backfill stops "
                                           "for the day when only these remain, and goes on when the budget "
                                           "returns."),
    }
