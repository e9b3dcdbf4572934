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

NAME_MAX = 500
NO_EMAIL = "no email on the CRM contact: a QuickBooks customer cannot be matched (add one in the CRM)"


def _derive(df: pd.DataFrame) -> Mapping[str, pd.Series]:
    def flag(column: str) -> pd.Series:
        return df[column].astype("boolean").fillna(False).astype(bool)

    return {"has_email": df["email"].notna(), "amount_ok": flag("amount_positive"),
            "cents_ok": flag("amount_in_cents"), "has_date": df["txn_date"].notna()}


def receipts_suite(company: CompanyFacts) -> Suite:
    home_currency = company.home_currency
    currency_check = (
        Check("currency: missing", "ExpectColumnValuesToNotBeNull", {"column": "currency"}) if company.multicurrency
        else Check(f"currency: differs from the QuickBooks company's home currency {home_currency} "
                   "(multicurrency is off in QuickBooks)",
                   "ExpectColumnValuesToBeInSet", {"column": "currency", "value_set": [home_currency]}))
    return Suite(
        name="receipts",
        key="source_id",
        derive=_derive,
        checks=(
            Check("source_id: missing", "ExpectColumnValuesToNotBeNull", {"column": "source_id"}),
            Check("source_id: appears more than once in the batch", "ExpectColumnValuesToBeUnique",
                  {"column": "source_id"}),
            Check(NO_EMAIL, "ExpectColumnValuesToBeInSet", {"column": "has_email", "value_set": [True]}),
            Check("email: not a valid email address", "ExpectColumnValuesToBeInSet",
                  {"column": "email_valid", "value_set": [True]}),
            Check("amount: missing, zero or negative (a receipt needs money received)",
                  "ExpectColumnValuesToBeInSet", {"column": "amount_ok", "value_set": [True]}),
            Check("amount: has fractions of a cent", "ExpectColumnValuesToBeInSet",
                  {"column": "cents_ok", "value_set": [True]}),
            currency_check,
            Check("currency: missing", "ExpectColumnValuesToNotBeNull", {"column": "currency"}),
            Check("date: the payment has no usable date", "ExpectColumnValuesToBeInSet",
                  {"column": "has_date", "value_set": [True]}),
            Check(f"DocNumber: longer than {DOC_NUMBER_MAX} characters", "ExpectColumnValueLengthsToBeBetween",
                  {"column": "doc_number", "max_value": DOC_NUMBER_MAX}),
            Check(f"customer name: longer than {NAME_MAX} characters", "ExpectColumnValueLengthsToBeBetween",
                  {"column": "display_name", "max_value": NAME_MAX}),
        ),
    )
