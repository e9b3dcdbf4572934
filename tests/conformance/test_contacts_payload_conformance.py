"""Contact bodies built from QBO's recorded customers conform to HighLevel's contact operations: the
transform's payloads to POST /contacts/upsert's schema, and the writes the load plans from them to
POST /contacts/ (create) and PUT /contacts/{contactId} (update by id)."""

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


def test_planned_creates_and_updates_are_valid_bodies(recorded_customers: pd.DataFrame) -> None:
    from qbo_crm_sync.flows.contacts.mirror import ContactIndex, from_api
    from qbo_crm_sync.flows.contacts.plan import plan

    passed = validate(to_contacts(recorded_customers, "ve9EPM428h8vShlRW1KT"), CONTACTS_SUITE).passed
    contacts_doc = json.loads((SPECS / "apps" / "contacts.json").read_text())
    schemas = contacts_doc["components"]["schemas"]
    # companyName: the live PUT accepts it although UpdateContactDto lacks it (emulators/highlevel/models.py).
    updatable = set(schemas["UpdateContactDto"]["properties"]) | {"companyName"}
    headers = {"Version": "2021-07-28"}
    for n, row in enumerate(passed.itertuples(index=False)):
        created = plan(ContactIndex([], {}, {}), row.source_id, row.payload)
        assert created.action == "create"
        validate_request("POST", "/contacts/", body=created.body, headers=headers)
        assert set(created.body) <= set(schemas["CreateContactDto"]["properties"])
        existing = from_api({"id": f"c{n}", "email": row.payload.get("email"), "phone": row.payload.get("phone"),
                             "tags": ["vip"]})
        updated = plan(ContactIndex([existing], {}, {}), row.source_id, row.payload)
        assert (updated.action, updated.contact_id) == ("update", f"c{n}")
        validate_request("PUT", "/contacts/{contactId}", body=updated.body, headers=headers)
        assert set(updated.body) <= updatable
