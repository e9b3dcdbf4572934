"""The per-integration settings forms: form fields to setting values, with messages per field.

An integration card carries two forms that save through the same validated path: the review
requests right under the integration (``part=review``: the checkbox, the review link and the
message templates) and the collapsed settings (``part=settings``). Each form saves only its own
fields, so a form never resets a setting it does not show. A template left empty goes back to its
default text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from qbo_crm_sync.errors import ConfigurationError
from qbo_crm_sync.store.integrations import DEFAULT_SETTINGS, TAX_MODES, validate_settings

TEMPLATES = ("review_email_subject", "review_email_template", "review_sms_template")
PARTS: dict[str, tuple[str, ...]] = {
    "review": ("auto_send_review", "review_link", *TEMPLATES),
    "settings": ("deposit_account_id", "tax_mode", "tax_code_id", "crm_conn_id", "item_mapping", "include_test_mode"),
}
CHECKBOXES = ("auto_send_review", "include_test_mode")
OPTIONAL_TEXT = ("deposit_account_id", "crm_conn_id", "tax_code_id", "review_link")
MAX_TEXT = 4000
# Longer than any template may be, so that an overlong one is refused with its limit, not cut.
MAX_TEMPLATE = 10000
TAX_MODE_LABELS = {
    "auto": "By company: folded for US companies, booked as tax elsewhere",
    "total_tax": "CRM tax booked as tax (and discounts as discount lines)",
    "fold_into_lines": "Tax and discounts folded into line amounts",
}


def tax_mode_choices() -> list[tuple[str, str]]:
    return [(mode, TAX_MODE_LABELS.get(mode, mode)) for mode in TAX_MODES]


@dataclass
class SettingsForm:
    """Submitted values as typed (to show them again) and the messages that stop a save."""

    values: dict[str, Any]
    part: str = "settings"
    errors: dict[str, str] = field(default_factory=dict)
    changes: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors

    def as_flash(self) -> dict[str, Any]:
        return {"part": self.part, "values": self.values, "errors": self.errors}

    @classmethod
    def from_flash(cls, data: Mapping[str, Any], stored: Mapping[str, Any]) -> SettingsForm:
        """A refused form brought back across the redirect; what it lost is filled from ``stored``."""
        values = initial_values(stored) | {k: v for k, v in (data.get("values") or {}).items() if isinstance(k, str)}
        errors = {str(k): str(v) for k, v in (data.get("errors") or {}).items()}
        part = data.get("part") if data.get("part") in PARTS else "settings"
        return cls(values=values, part=part, errors=errors)


def initial_values(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Stored settings in the shape the form shows them."""
    values = dict(settings)
    values["item_mapping"] = json.dumps(settings.get("item_mapping") or {}, indent=2, sort_keys=True)
    for key in OPTIONAL_TEXT:
        values[key] = settings.get(key) or ""
    return values


def parse(form: Mapping[str, Any]) -> SettingsForm:
    """Read the fields of the submitted part; each is checked on its own so that all problems show
    at once."""
    part = form.get("part") if form.get("part") in PARTS else "settings"
    keys = PARTS[part]
    values: dict[str, Any] = {}
    for key in keys:
        if key in CHECKBOXES:
            values[key] = form.get(key) == "on"
        elif key in TEMPLATES:
            values[key] = str(form.get(key) or "").replace("\r\n", "\n").strip()[:MAX_TEMPLATE]
        else:
            values[key] = str(form.get(key) or "").strip()[:MAX_TEXT]
    result = SettingsForm(values=values, part=part)
    candidates: dict[str, Any] = {}
    for key in keys:
        if key in CHECKBOXES or key == "tax_mode":
            candidates[key] = values[key]
        elif key in OPTIONAL_TEXT:
            candidates[key] = values[key] or None
        elif key in TEMPLATES:
            candidates[key] = values[key] or DEFAULT_SETTINGS[key]
        elif key == "item_mapping":
            try:
                candidates[key] = json.loads(values[key] or "{}")
            except json.JSONDecodeError as exc:
                result.errors[key] = f"Item mapping is not valid JSON ({exc.msg} at line {exc.lineno})."
    for key, value in candidates.items():
        try:
            result.changes.update(validate_settings({key: value}))
        except ConfigurationError as exc:
            result.errors[key] = str(exc)
    return result
