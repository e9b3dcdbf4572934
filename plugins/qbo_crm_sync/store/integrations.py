"""Integrations: one CRM location connected to one QBO realm, with its status and settings."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from qbo_crm_sync.errors import ConfigurationError, SyncError
from qbo_crm_sync.store.db import Connection
from qbo_crm_sync.store.sql import query

STATUSES = ("connected", "needs_reauth", "disconnected")
# HighLevel location ids are short opaque strings of letters and digits (``ve9EPM428h8vShlRW1KT``);
# anything else is a typo or markup, and is refused before it reaches the CRM or the store.
LOCATION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
TAX_MODES = ("auto", "total_tax", "fold_into_lines")

DEFAULT_SETTINGS: dict[str, Any] = {
    # Send a review request when a customer's first invoice is fully paid.
    "auto_send_review": False,
    # QBO Item id per CRM payment source type (entitySourceType, e.g. "funnel"); "default" is the
    # fallback for types without their own entry.
    "item_mapping": {},
    # QBO account that sales receipts and payments deposit to; None leaves QBO's default.
    "deposit_account_id": None,
    # "total_tax": book the CRM's tax as tax (TxnTaxDetail.TotalTax, discount lines where the
    # company allows them); "fold_into_lines": put tax and discounts into line amounts; "auto":
    # fold for US companies (as the CRM's own integration does), book apart elsewhere. Either way
    # the QBO total equals the CRM total.
    "tax_mode": "auto",
    # QBO TaxCode id for the CRM's taxes, where tax is booked apart (non-US companies need one).
    "tax_code_id": None,
    # Airflow connection holding this location's CRM token; None uses the shared default.
    "crm_conn_id": None,
    # Also sync CRM payments made in test mode.
    "include_test_mode": False,
    # How far back CRM refunds of receipted payments are looked for (card disputes run ~120 days),
    # and how often that look-back is read again.
    "refund_lookback_days": 120,
    "refund_sweep_hours": 6,
}


def _is_str_map(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


# key -> (check, what a valid value looks like)
_VALIDATORS: dict[str, tuple[Any, str]] = {
    "auto_send_review": (lambda v: isinstance(v, bool), "true or false"),
    "item_mapping": (_is_str_map, "an object mapping source type to QBO Item id (strings)"),
    "deposit_account_id": (
        lambda v: v is None or (isinstance(v, str) and v != ""),
        "a QBO account id or null",
    ),
    "tax_mode": (lambda v: v in TAX_MODES, " or ".join(repr(m) for m in TAX_MODES)),
    "tax_code_id": (lambda v: v is None or (isinstance(v, str) and v != ""), "a QBO TaxCode id or null"),
    "crm_conn_id": (
        lambda v: v is None or (isinstance(v, str) and v != ""),
        "an Airflow connection id or null",
    ),
    "include_test_mode": (lambda v: isinstance(v, bool), "true or false"),
    "refund_lookback_days": (
        lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 730, "a whole number of days, 1 to 730"),
    "refund_sweep_hours": (
        lambda v: isinstance(v, int | float) and not isinstance(v, bool) and 0.25 <= v <= 168,
        "a number of hours, 0.25 to 168"),
}


class IntegrationNotFound(SyncError, LookupError):
    """No integration has that id."""


class InvalidLocationId(ConfigurationError, ValueError):
    """Not something a HighLevel location id can be."""


def validate_location_id(value: Any) -> str:
    """The location id without surrounding blanks, or InvalidLocationId: the one check the CLI and
    the QB Connect page share before anything is stored or sent."""
    text = value.strip() if isinstance(value, str) else ""
    if not LOCATION_ID.fullmatch(text):
        raise InvalidLocationId(
            "Enter the HighLevel location id: 1 to 64 letters, digits, - and _ (as in the CRM's URL, "
            "e.g. ve9EPM428h8vShlRW1KT)."
        )
    return text


@dataclass(frozen=True)
class Integration:
    id: int
    location_id: str
    realm_id: str
    connected_at: datetime
    status: str
    status_reason: str | None
    settings: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_SETTINGS))
    company_name: str | None = None
    location_name: str | None = None
    connected_by: str | None = None
    disconnected_by: str | None = None
    disconnected_at: datetime | None = None

    @property
    def is_active(self) -> bool:
        return self.status == "connected"

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Integration:
        return cls(
            id=row["id"],
            location_id=row["location_id"],
            realm_id=row["realm_id"],
            connected_at=row["connected_at"],
            status=row["status"],
            status_reason=row["status_reason"],
            settings={**DEFAULT_SETTINGS, **(row["settings"] or {})},
            company_name=row.get("company_name"),
            location_name=row.get("location_name"),
            connected_by=row.get("connected_by"),
            disconnected_by=row.get("disconnected_by"),
            disconnected_at=row.get("disconnected_at"),
        )

    @property
    def company_label(self) -> str:
        """The QuickBooks company as people know it: its name, with the realm id to tell twins apart."""
        return f"{self.company_name} (realm {self.realm_id})" if self.company_name else f"realm {self.realm_id}"

    @property
    def location_label(self) -> str:
        return f"{self.location_name} ({self.location_id})" if self.location_name else self.location_id


def validate_settings(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Check keys and value types; return the changes as a plain dict."""
    unknown = sorted(set(changes) - set(_VALIDATORS))
    if unknown:
        raise ConfigurationError(
            f"Unknown integration setting(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(_VALIDATORS))}"
        )
    for key, value in changes.items():
        check, expected = _VALIDATORS[key]
        if not check(value):
            raise ConfigurationError(f"Setting {key!r} must be {expected}, got {type(value).__name__}")
    return dict(changes)


def register(
    conn: Connection,
    location_id: str,
    realm_id: str,
    connected_at: datetime | None = None,
    *,
    company_name: str | None = None,
    location_name: str | None = None,
    connected_by: str | None = None,
) -> Integration:
    """Connect ``location_id`` to ``realm_id``; idempotent.

    A new pair starts at ``connected_at`` (default now). Reconnecting an existing pair sets it
    connected and keeps its connected_at, unless the pair had been disconnected: then it starts
    afresh at now, because data created while disconnected was never meant to sync. Any other
    live pair of the same location is disconnected, since a location syncs with one realm.
    """
    return register_replacing(conn, location_id, realm_id, connected_at, company_name=company_name,
                              location_name=location_name, connected_by=connected_by)[0]


def register_replacing(
    conn: Connection,
    location_id: str,
    realm_id: str,
    connected_at: datetime | None = None,
    *,
    company_name: str | None = None,
    location_name: str | None = None,
    connected_by: str | None = None,
) -> tuple[Integration, list[Integration]]:
    """:func:`register`, also answering the pairs of the location it retired (whose grants the
    caller revokes)."""
    if not location_id or not realm_id:
        raise ValueError("location_id and realm_id are required")
    with conn.transaction():
        retired = conn.execute(
            query("integration_disconnect_others"),
            {"location_id": location_id, "realm_id": realm_id, "by": connected_by,
             "reason": f"replaced by {company_name} (realm {realm_id})" if company_name
             else f"replaced by realm {realm_id}"},
        ).fetchall()
        row = conn.execute(
            query("integration_register"),
            {"location_id": location_id, "realm_id": realm_id, "connected_at": connected_at,
             "company_name": company_name, "location_name": location_name, "connected_by": connected_by},
        ).fetchone()
    assert row is not None
    return Integration.from_row(row), [Integration.from_row(r) for r in retired]


def get(conn: Connection, id: int) -> Integration | None:
    row = conn.execute(query("integration_get"), {"id": id}).fetchone()
    return Integration.from_row(row) if row else None


def require(conn: Connection, id: int) -> Integration:
    """Like :func:`get` but an unknown id raises IntegrationNotFound."""
    found = get(conn, id)
    if found is None:
        raise IntegrationNotFound(f"No integration with id {id}")
    return found


def find(conn: Connection, location_id: str | None = None, realm_id: str | None = None) -> list[Integration]:
    """Integrations matching whichever of location and realm are given, in id order."""
    rows = conn.execute(query("integration_find"), {"location_id": location_id, "realm_id": realm_id})
    return [Integration.from_row(r) for r in rows.fetchall()]


def list_all(conn: Connection, status: str | None = None) -> list[Integration]:
    """All integrations, or those in one status (``"connected"`` = the ones to sync)."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    rows = conn.execute(query("integration_list"), {"status": status})
    return [Integration.from_row(r) for r in rows.fetchall()]


def set_status(
    conn: Connection, id: int, status: str, reason: str | None = None, *, by: str | None = None
) -> Integration:
    """Change the status; ``by`` (who disconnected it) is kept while the integration is disconnected."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    row = conn.execute(
        query("integration_set_status"), {"id": id, "status": status, "reason": reason, "by": by}
    ).fetchone()
    if row is None:
        raise IntegrationNotFound(f"No integration with id {id}")
    return Integration.from_row(row)


def update_settings(conn: Connection, id: int, changes: Mapping[str, Any]) -> Integration:
    """Merge validated ``changes`` into the integration's settings; return the updated integration."""
    valid = validate_settings(changes)
    row = conn.execute(query("integration_update_settings"), {"id": id, "changes": Jsonb(valid)}).fetchone()
    if row is None:
        raise IntegrationNotFound(f"No integration with id {id}")
    return Integration.from_row(row)
