"""Checks both money flows (receipts and invoices) put on a CRM sale before it is written to QBO.

The currency check names the company's home currency, so the suites are built per company
(Preferences): without multicurrency QBO refuses any other currency, and converting amounts is not
this sync's call to make.
"""

from __future__ import annotations

import pandas as pd

from qbo_crm_sync.flows.company import CompanyFacts
from qbo_crm_sync.flows.qbo_customers import NAME_MAX
from qbo_crm_sync.quality.runner import Check

NO_EMAIL = "no email on the CRM contact: a QuickBooks customer cannot be matched (add one in the CRM)"


def flag(df: pd.DataFrame, column: str) -> pd.Series:
    """A True/False/missing column as plain booleans, missing read as False."""
    return df[column].astype("boolean").fillna(False).astype(bool)


def key_checks() -> tuple[Check, ...]:
    return (
        Check("source_id: missing", "ExpectColumnValuesToNotBeNull", {"column": "source_id"}),
        Check("source_id: appears more than once in the batch", "ExpectColumnValuesToBeUnique",
              {"column": "source_id"}),
    )


def currency_checks(company: CompanyFacts) -> tuple[Check, ...]:
    missing = Check("currency: missing", "ExpectColumnValuesToNotBeNull", {"column": "currency"})
    if company.multicurrency:
        return (missing,)
    home = company.home_currency
    return (Check(f"currency: differs from the QuickBooks company's home currency {home} "
                  "(multicurrency is off in QuickBooks)",
                  "ExpectColumnValuesToBeInSet", {"column": "currency", "value_set": [home]}), missing)


def length_checks(doc_number_max: int) -> tuple[Check, ...]:
    return (
        Check(f"DocNumber: longer than {doc_number_max} characters", "ExpectColumnValueLengthsToBeBetween",
              {"column": "doc_number", "max_value": doc_number_max}),
        Check(f"customer name: longer than {NAME_MAX} characters", "ExpectColumnValueLengthsToBeBetween",
              {"column": "display_name", "max_value": NAME_MAX}),
    )
