"""Checks a CRM invoice must pass before it is written to QBO (created, updated or paid).

Rows come from ``flows.invoices.transform``. As for receipts, the currency check names the
company's home currency unless multicurrency is on (Preferences): QBO refuses any other currency
then, and converting amounts is not this sync's call. An invoice already in QBO needs no email any
more (its customer is known); a new one does, to find or create its customer.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from qbo_crm_sync.flows.company import CompanyFacts
from qbo_crm_sync.flows.invoices.mapping import DOC_NUMBER_MAX
from qbo_crm_sync.quality.runner import Check, Suite
from qbo_crm_sync.quality.sales_checks import NO_EMAIL, currency_checks, flag, key_checks, length_checks


def _derive(df: pd.DataFrame) -> Mapping[str, pd.Series]:
    held = flag(df, "held")
    return {"email_ok": held | df["email"].notna(),
            "email_valid_ok": held | df["email"].isna() | flag(df, "email_valid"),
            "total_ok": flag(df, "total_ok"), "cents_ok": flag(df, "in_cents"), "paid_ok": flag(df, "paid_ok"),
            "has_date": df["txn_date"].notna()}


def invoices_suite(company: CompanyFacts) -> Suite:
    return Suite(
        name="invoices",
        key="source_id",
        derive=_derive,
        checks=(
            *key_checks(),
            Check(NO_EMAIL, "ExpectColumnValuesToBeInSet", {"column": "email_ok", "value_set": [True]}),
            Check("email: not a valid email address", "ExpectColumnValuesToBeInSet",
                  {"column": "email_valid_ok", "value_set": [True]}),
            *currency_checks(company),
            Check("total: missing or negative", "ExpectColumnValuesToBeInSet",
                  {"column": "total_ok", "value_set": [True]}),
            Check("amounts: the total or an amount paid has fractions of a cent", "ExpectColumnValuesToBeInSet",
                  {"column": "cents_ok", "value_set": [True]}),
            Check("amount paid: more than the total", "ExpectColumnValuesToBeInSet",
                  {"column": "paid_ok", "value_set": [True]}),
            Check("date: the invoice has no usable issue date", "ExpectColumnValuesToBeInSet",
                  {"column": "has_date", "value_set": [True]}),
            *length_checks(DOC_NUMBER_MAX),
        ),
    )
