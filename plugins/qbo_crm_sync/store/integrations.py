"""Integrations: one CRM location connected to one QBO realm, with its status and settings."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from psycopg.types.json import Jsonb

from qbo_crm_sync.errors import ConfigurationError, SyncError
from qbo_crm_sync.store.db import Connection
from qbo_crm_sync.store.sql import query

STATUSES = ("connected", "needs_reauth", "disconnected")
# HighLevel location ids are short opaque strings of letters and digits (``ve9EPM428h8vShlRW1KT``);
# anything else is a typo or markup, and is refused before it reaches the CRM or the store.
LOCATION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
TAX_MODES = ("auto", "total_tax", "fold_into_lines")

# What a review request may say: the customer's first name ("there" when QBO has none), the
# company's name, and the review link. Each template must carry the link.
REVIEW_PLACEHOLDERS = ("first_name", "company", "review_link")
REVIEW_LINK_MAX = 2000
REVIEW_SUBJECT_MAX = 200
REVIEW_EMAIL_MAX = 5000
# Three SMS segments of plain text; the link and the name come on top.
REVIEW_SMS_MAX = 480

DEFAULT_SETTINGS: dict[str, Any] = {
    # Send a review request when a customer's first invoice is fully paid (needs review_link). The
    # value at the moment of each payment decides: ticking it later sends nothing for past payments.
    "auto_send_review": False,
    # Where customers leave a review (e.g. the Google Business Profile review link).
    "review_link": None,
    # The review request: an email when the contact has an email, else an SMS.
    "review_email_subject": "How did we do, {first_name}?",
    "review_email_template": (
        "Hi {first_name},\n\n"
        "Thank you for choosing {company}. We hope you are happy with our work!\n\n"
        "Would you take a minute to tell others about it? Your review helps us a lot:\n"
        "{review_link}\n\n"
        "Thank you,\n{company}"
    ),
    "review_sms_template": (
        "Hi {first_name}, thank you for choosing {company}! Would you take a minute to leave us a "
        "review? {review_link}"
    ),
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


def _is_review_link(value: Any) -> bool:
    if not isinstance(value, str) or not value or len(value) > REVIEW_LINK_MAX or any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and "." in (parts.hostname or "")


def template_problem(value: Any, max_length: int, needs_link: bool, one_line: bool = False) -> str | None:
    """Why ``value`` cannot be a review request template, or None when it can."""
    if not isinstance(value, str) or not value.strip():
        return "a text (it cannot be empty)"
    if len(value) > max_length:
        return f"at most {max_length} characters (it has {len(value)})"
    if one_line and ("\n" in value or "\r" in value):
        return "one line"
    try:
        fields = [name for _, name, spec, conv in string.Formatter().parse(value) if name is not None]
    except ValueError as exc:
        return f"a template whose braces pair up ({exc}; write {{{{ and }}}} for a brace itself)"
    unknown = sorted({f for f in fields if f not in REVIEW_PLACEHOLDERS})
    if unknown:
        return (f"a template using only {', '.join('{' + p + '}' for p in REVIEW_PLACEHOLDERS)} "
                f"(not {', '.join('{' + u + '}' for u in unknown)})")
    if needs_link and "review_link" not in fields:
        return "a template containing {review_link}"
    return None


# key -> (max length, needs {review_link}, one line)
_TEMPLATES: dict[str, tuple[int, bool, bool]] = {
    "review_email_subject": (REVIEW_SUBJECT_MAX, False, True),
    "review_email_template": (REVIEW_EMAIL_MAX, True, False),
    "review_sms_template": (REVIEW_SMS_MAX, True, False),
}


def _template(max_length: int, needs_link: bool, one_line: bool = False) -> Any:
    return lambda v: template_problem(v, max_length, needs_link, one_line) is None


# key -> (check, what a valid value looks like)
_VALIDATORS: dict[str, tuple[Any, str]] = {
    "auto_send_review": (lambda v: isinstance(v, bool), "true or false"),
    "review_link": (lambda v: v is None or _is_review_link(v),
                    f"an http(s) address with a host name, at most {REVIEW_LINK_MAX} characters, or null"),
    "review_email_subject": (_template(REVIEW_SUBJECT_MAX, needs_link=False, one_line=True),
                             f"one line of at most {REVIEW_SUBJECT_MAX} characters"),
    "review_email_template": (_template(REVIEW_EMAIL_MAX, needs_link=True),
                              f"a text of at most {REVIEW_EMAIL_MAX} characters containing {{review_link}}"),
    "review_sms_template": (_template(REVIEW_SMS_MAX, needs_link=True),
                            f"a text of at most {REVIEW_SMS_MAX} characters containing {{review_link}}"),
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


class InvalidSetting(ConfigurationError, ValueError):
    """A setting value refused, naming the setting (``key``) so a form can show it by its field."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def validate_settings(changes: Mapping[str, Any], current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Check keys and value types; return the changes as a plain dict.

    With ``current`` (the stored settings), also what the changes mean together with them: review
    requests cannot be turned on, nor their link removed while they are on, without a review link.
    """
    unknown = sorted(set(changes) - set(_VALIDATORS))
    if unknown:
        raise ConfigurationError(
            f"Unknown integration setting(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(_VALIDATORS))}"
        )
    for key, value in changes.items():
        check, expected = _VALIDATORS[key]
        if not check(value):
            if key in _TEMPLATES:
                expected = template_problem(value, *_TEMPLATES[key]) or expected
            shown = f"{value!r}"[:80] if isinstance(value, str) else type(value).__name__
            raise InvalidSetting(key, f"Setting {key!r} must be {expected}, got {shown}")
    if current is not None and ("auto_send_review" in changes or "review_link" in changes):
        merged = {**DEFAULT_SETTINGS, **current, **changes}
        if merged["auto_send_review"] and not merged["review_link"]:
            key = "review_link" if "review_link" in changes else "auto_send_review"
            raise InvalidSetting(key, "Review requests need a review link: set review_link (where customers "
                                      "leave their review) before sending them automatically")
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


def update_settings(conn: Connection, id: int, changes: Mapping[str, Any], *, by: str | None = None) -> Integration:
    """Merge validated ``changes`` into the integration's settings and record, in the same
    transaction, the values that changed with the time and ``by`` (who changed them); return the
    updated integration."""
    with conn.transaction():
        stored = conn.execute(query("integration_settings_lock"), {"id": id}).fetchone()
        if stored is None:
            raise IntegrationNotFound(f"No integration with id {id}")
        current = {**DEFAULT_SETTINGS, **(stored["settings"] or {})}
        valid = validate_settings(changes, stored["settings"] or {})
        row = conn.execute(query("integration_update_settings"), {"id": id, "changes": Jsonb(valid)}).fetchone()
        assert row is not None
        changed = {k: v for k, v in valid.items() if current.get(k) != v}
        if changed:
            conn.execute(query("integration_setting_change_put"),
                         {"integration_id": id, "changed_by": by, "changes": Jsonb(changed)})
    return Integration.from_row(row)


def setting_at(conn: Connection, id: int, key: str, at: datetime) -> Any:
    """What setting ``key`` of the integration was at the moment ``at``: the latest recorded change
    of it at or before then, else its default (settings changed before the history began count
    from the moment it began)."""
    if key not in DEFAULT_SETTINGS:
        raise KeyError(key)
    row = conn.execute(query("integration_setting_at"), {"integration_id": id, "key": key, "at": at}).fetchone()
    return row["value"] if row is not None else DEFAULT_SETTINGS[key]


def setting_history(conn: Connection, id: int, key: str | None = None) -> list[dict[str, Any]]:
    """The recorded changes of the integration's settings (of one key when given), oldest first."""
    return list(conn.execute(query("integration_setting_history"), {"integration_id": id, "key": key}).fetchall())
