"""Checks an eligible CRM payment must pass before it becomes a QBO sales receipt.

Rows come from ``receipts_mapping.to_receipts``. The currency check names the company's home
currency, so the suite is built per company (Preferences): without multicurrency QBO refuses any
other currency, and converting amounts is not this sync's call to make.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from qbo_crm_sync.flows.company import CompanyFacts
from qbo_crm_sync.flows.receipts.mapping import DOC_NUMBER_MAX
from qbo_crm_sync.quality.runner import Check, Suite
from qbo_crm_sync.quality.sales_checks import NO_EMAIL, currency_checks, flag, key_checks, length_checks


def _derive(df: pd.DataFrame) -> Mapping[str, pd.Series]:
    return {"has_email": df["email"].notna(), "amount_ok": flag(df, "amount_positive"),
            "cents_ok": flag(df, "amount_in_cents"), "has_date": df["txn_date"].notna()}


def receipts_suite(company: CompanyFacts) -> Suite:
    return Suite(
        name="receipts",
        key="source_id",
        derive=_derive,
        checks=(
            *key_checks(),
            Check(NO_EMAIL, "ExpectColumnValuesToBeInSet", {"column": "has_email", "value_set": [True]}),
            Check("email: not a valid email address", "ExpectColumnValuesToBeInSet",
                  {"column": "email_valid", "value_set": [True]}),
            Check("amount: missing, zero or negative (a receipt needs money received)",
                  "ExpectColumnValuesToBeInSet", {"column": "amount_ok", "value_set": [True]}),
            Check("amount: has fractions of a cent", "ExpectColumnValuesToBeInSet",
                  {"column": "cents_ok", "value_set": [True]}),
            *currency_checks(company),
            Check("date: the payment has no usable date", "ExpectColumnValuesToBeInSet",
                  {"column": "has_date", "value_set": [True]}),
            *length_checks(DOC_NUMBER_MAX),
        ),
    )
