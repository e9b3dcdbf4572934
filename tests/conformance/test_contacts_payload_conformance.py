"""Contact bodies built from QBO's recorded customers conform to HighLevel's POST /contacts/upsert."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from qbo_crm_sync.flows.contacts_transform import to_contacts
from qbo_crm_sync.quality.contacts import CONTACTS_SUITE
from qbo_crm_sync.quality.runner import validate
from tests.conformance.openapi import SPECS, require_specs, validate_request

QBO_CUSTOMERS = SPECS.parent / "qbo" / "samples" / "customer.query.json"


@pytest.fixture(scope="module")
def recorded_customers() -> pd.DataFrame:
    require_specs()
    if not QBO_CUSTOMERS.is_file():
        pytest.skip(f"recorded QBO customers not found at {QBO_CUSTOMERS.resolve()}")
    customers = json.loads(QBO_CUSTOMERS.read_text())["QueryResponse"]["Customer"]
    return pd.DataFrame({"source_id": [c["Id"] for c in customers], "raw": customers})


def test_every_passed_payload_is_a_valid_upsert_body(recorded_customers: pd.DataFrame) -> None:
    verdicts = validate(to_contacts(recorded_customers, "ve9EPM428h8vShlRW1KT"), CONTACTS_SUITE)
    assert len(verdicts.passed) > 20
    # The schema allows extra keys, so check separately that every key is a documented one.
    contacts_doc = json.loads((SPECS / "apps" / "contacts.json").read_text())
    documented = set(contacts_doc["components"]["schemas"]["UpsertContactDto"]["properties"])
    for payload in verdicts.passed["payload"]:
        validate_request("POST", "/contacts/upsert", body=payload, headers={"Version": "2021-07-28"})
        assert set(payload) <= documented


def test_recorded_customers_without_email_or_phone_are_rejected_with_a_reason(
    recorded_customers: pd.DataFrame,
) -> None:
    verdicts = validate(to_contacts(recorded_customers, "ve9EPM428h8vShlRW1KT"), CONTACTS_SUITE)
    unreachable = recorded_customers[
        recorded_customers["raw"].map(lambda c: "PrimaryEmailAddr" not in c and "PrimaryPhone" not in c
                                      and "Mobile" not in c)
    ]
    assert set(unreachable["source_id"]) <= set(verdicts.rejected["source_id"])
    assert set(verdicts.rejected["reason"]) == {"no valid email or phone"}
