"""How the Airflow connection form shows each connection type. Kept free of heavy imports: the
provider metadata (provider.py) and the hooks' get_ui_field_behaviour() both read it."""

from __future__ import annotations

import json
from typing import Any

QUICKBOOKS: dict[str, Any] = {
    "hidden_fields": ["schema", "port"],
    "relabeling": {"login": "Client ID", "password": "Client Secret", "host": "API base URL"},
    "placeholders": {
        "host": "https://quickbooks.api.intuit.com (leave empty for production)",
        "extra": json.dumps(
            {
                "redirect_uri": "https://airflow.example.com/qb-connect/callback",
                "base_url": "https://sandbox-quickbooks.api.intuit.com",
                "oauth_base_url": "(only for a local emulator)",
            },
            indent=2,
        ),
    },
}

HIGHLEVEL: dict[str, Any] = {
    "hidden_fields": ["schema", "port", "login"],
    "relabeling": {"password": "Private Integration Token", "host": "API base URL"},
    "placeholders": {
        "host": "https://services.leadconnectorhq.com (leave empty for production)",
        "extra": json.dumps({"base_url": "https://services.leadconnectorhq.com", "window_s": 10}, indent=2),
    },
}
