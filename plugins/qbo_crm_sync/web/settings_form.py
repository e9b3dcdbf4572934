"""The per-integration settings form: form fields to setting values, with messages per field."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from qbo_crm_sync.errors import ConfigurationError
from qbo_crm_sync.store.integrations import TAX_MODES, validate_settings

CHECKBOXES = ("auto_send_review", "include_test_mode")
OPTIONAL_TEXT = ("deposit_account_id", "crm_conn_id", "tax_code_id")
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
    errors: dict[str, str] = field(default_factory=dict)
    changes: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors


def initial_values(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Stored settings in the shape the form shows them."""
    values = dict(settings)
    values["item_mapping"] = json.dumps(settings.get("item_mapping") or {}, indent=2, sort_keys=True)
    for key in OPTIONAL_TEXT:
        values[key] = settings.get(key) or ""
    return values


def parse(form: Mapping[str, Any]) -> SettingsForm:
    """Read the form; every setting is checked on its own so that all problems show at once."""
    values: dict[str, Any] = {key: form.get(key) == "on" for key in CHECKBOXES}
    for key in (*OPTIONAL_TEXT, "tax_mode", "item_mapping"):
        values[key] = str(form.get(key) or "").strip()
    result = SettingsForm(values=values)
    candidates: dict[str, Any] = {key: values[key] for key in CHECKBOXES}
    candidates["tax_mode"] = values["tax_mode"]
    for key in OPTIONAL_TEXT:
        candidates[key] = values[key] or None
    try:
        candidates["item_mapping"] = json.loads(values["item_mapping"] or "{}")
    except json.JSONDecodeError as exc:
        result.errors["item_mapping"] = f"Item mapping is not valid JSON ({exc.msg} at line {exc.lineno})."
    for key, value in candidates.items():
        if key in result.errors:
            continue
        try:
            result.changes.update(validate_settings({key: value}))
        except ConfigurationError as exc:
            result.errors[key] = str(exc)
    return result
