"""Checks a HighLevel contact row must pass before it is written (rows from ``to_contacts``).

Field lengths: HighLevel's OpenAPI document sets no maximum on contact fields. We hold names,
company and address lines to 255 characters (a common bound of CRM text columns; QBO itself
allows 100 for GivenName/FamilyName and 500 for DisplayName, so only odd data reaches it) and
email to 254 (RFC 5321: the longest address that fits a mail path). Phones must be E.164, which
caps them at 16 characters.

A row with no name, no email and no phone fails "no valid email or phone"; a contact without a
name is fine when it can be reached.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from qbo_crm_sync.quality.runner import Check, Suite

TEXT_MAX = 255
EMAIL_MAX = 254
E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"
NO_CHANNEL = "no valid email or phone"


def _derive(df: pd.DataFrame) -> Mapping[str, pd.Series]:
    def flag(column: str) -> pd.Series:
        if column not in df.columns:
            return pd.Series(False, index=df.index)
        return df[column].astype("boolean").fillna(False).astype(bool)

    if "payload" in df.columns:
        location = df["payload"].map(lambda body: body.get("locationId") if isinstance(body, dict) else None)
    else:
        location = pd.Series(None, index=df.index, dtype=object)
    return {
        "has_email_or_phone": flag("email_valid") | flag("phone_valid"),
        "payload_location_id": location.where(location.astype("str").str.len() > 0, None),
    }


def _longest(column: str, limit: int) -> Check:
    return Check(
        f"{column}: longer than {limit} characters",
        "ExpectColumnValueLengthsToBeBetween",
        {"column": column, "max_value": limit},
    )


CONTACTS_SUITE = Suite(
    name="contacts",
    key="source_id",
    derive=_derive,
    checks=(
        Check("source_id: missing", "ExpectColumnValuesToNotBeNull", {"column": "source_id"}),
        Check(
            "source_id: appears more than once in the batch",
            "ExpectColumnValuesToBeUnique",
            {"column": "source_id"},
        ),
        Check("locationId: missing", "ExpectColumnValuesToNotBeNull", {"column": "payload_location_id"}),
        Check(NO_CHANNEL, "ExpectColumnValuesToBeInSet", {"column": "has_email_or_phone", "value_set": [True]}),
        # email_valid is email-validator's verdict, missing when there is no email (GE skips nulls).
        Check(
            "email: not a valid email address",
            "ExpectColumnValuesToBeInSet",
            {"column": "email_valid", "value_set": [True]},
        ),
        Check(
            "phone: not a valid phone number",
            "ExpectColumnValuesToMatchRegex",
            {"column": "phone", "regex": E164_PATTERN},
        ),
        _longest("email", EMAIL_MAX),
        _longest("first_name", TEXT_MAX),
        _longest("last_name", TEXT_MAX),
        _longest("company_name", TEXT_MAX),
        _longest("address1", TEXT_MAX),
        _longest("city", TEXT_MAX),
    ),
)
