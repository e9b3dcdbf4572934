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
from qbo_crm_sync.quality.receipts import NAME_MAX
from qbo_crm_sync.quality.runner import Check, Suite

NO_EMAIL = "no email on the CRM contact: a QuickBooks customer cannot be matched (add one in the CRM)"


def _derive(df: pd.DataFrame) -> Mapping[str, pd.Series]:
    def flag(column: str) -> pd.Series:
        return df[column].astype("boolean").fillna(False).astype(bool)

    held = flag("held")
    return {"email_ok": held | df["email"].notna(), "email_valid_ok": held | df["email"].isna() | flag("email_valid"),
            "total_ok": flag("total_ok"), "cents_ok": flag("in_cents"), "paid_ok": flag("paid_ok"),
            "has_date": df["txn_date"].notna()}


def invoices_suite(company: CompanyFacts) -> Suite:
    home = company.home_currency
    currency_check = (
        Check("currency: missing", "ExpectColumnValuesToNotBeNull", {"column": "currency"}) if company.multicurrency
        else Check(f"currency: differs from the QuickBooks company's home currency {home} "
                   "(multicurrency is off in QuickBooks)",
                   "ExpectColumnValuesToBeInSet", {"column": "currency", "value_set": [home]}))
    return Suite(
        name="invoices",
        key="source_id",
        derive=_derive,
        checks=(
            Check("source_id: missing", "ExpectColumnValuesToNotBeNull", {"column": "source_id"}),
            Check("source_id: appears more than once in the batch", "ExpectColumnValuesToBeUnique",
                  {"column": "source_id"}),
            Check(NO_EMAIL, "ExpectColumnValuesToBeInSet", {"column": "email_ok", "value_set": [True]}),
            Check("email: not a valid email address", "ExpectColumnValuesToBeInSet",
                  {"column": "email_valid_ok", "value_set": [True]}),
            currency_check,
            Check("currency: missing", "ExpectColumnValuesToNotBeNull", {"column": "currency"}),
            Check("total: missing or negative", "ExpectColumnValuesToBeInSet",
                  {"column": "total_ok", "value_set": [True]}),
            Check("amounts: the total or an amount paid has fractions of a cent", "ExpectColumnValuesToBeInSet",
                  {"column": "cents_ok", "value_set": [True]}),
            Check("amount paid: more than the total", "ExpectColumnValuesToBeInSet",
                  {"column": "paid_ok", "value_set": [True]}),
            Check("date: the invoice has no usable issue date", "ExpectColumnValuesToBeInSet",
                  {"column": "has_date", "value_set": [True]}),
            Check(f"DocNumber: longer than {DOC_NUMBER_MAX} characters", "ExpectColumnValueLengthsToBeBetween",
                  {"column": "doc_number", "max_value": DOC_NUMBER_MAX}),
            Check(f"customer name: longer than {NAME_MAX} characters", "ExpectColumnValueLengthsToBeBetween",
                  {"column": "display_name", "max_value": NAME_MAX}),
        ),
    )
