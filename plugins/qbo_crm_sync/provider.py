"""Provider metadata: makes `quickbooks` and `highlevel` connection types (with their form fields)
known to Airflow. Registered through the `apache_airflow_provider` entry point in pyproject.toml."""

from __future__ import annotations

from typing import Any

from qbo_crm_sync.hooks import connection_forms


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "qbo-crm-sync",
        "name": "QuickBooks Online ⇄ HighLevel sync",
        "description": "Hooks and connection types for QuickBooks Online and HighLevel (LeadConnector).",
        "versions": ["0.1.0"],
        "connection-types": [
            {
                "hook-class-name": "qbo_crm_sync.hooks.quickbooks.QuickBooksHook",
                "hook-name": "QuickBooks Online",
                "connection-type": "quickbooks",
                "ui-field-behaviour": connection_forms.QUICKBOOKS,
            },
            {
                "hook-class-name": "qbo_crm_sync.hooks.highlevel.HighLevelHook",
                "hook-name": "HighLevel (LeadConnector)",
                "connection-type": "highlevel",
                "ui-field-behaviour": connection_forms.HIGHLEVEL,
            },
        ],
    }
