"""The contacts checks over transformed QBO customers: who passes, who is rejected and why."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from qbo_crm_sync.flows.contacts_transform import to_contacts
from qbo_crm_sync.quality.contacts import CONTACTS_SUITE, NO_CHANNEL
from qbo_crm_sync.quality.runner import Verdicts, validate

LOCATION = "loc-1"


def check(customers: dict[str, dict[str, Any]], location_id: str = LOCATION) -> Verdicts:
    frame = pd.DataFrame({"source_id": list(customers), "raw": list(customers.values())})
    return validate(to_contacts(frame, location_id), CONTACTS_SUITE)


def reasons(verdicts: Verdicts) -> dict[str, str]:
    return dict(zip(verdicts.rejected["source_id"], verdicts.rejected["reason"], strict=True))


def email(address: str) -> dict[str, Any]:
    return {"PrimaryEmailAddr": {"Address": address}}


def phone(number: str) -> dict[str, Any]:
    return {"PrimaryPhone": {"FreeFormNumber": number}}


CORPUS: dict[str, dict[str, Any]] = {
    "mixed-case": {"GivenName": "Ann", **email(" Ann@Example.COM ")},
    "apostrophe": {"GivenName": "Siobhán", "FamilyName": "O'Brien", **email("o'brien@example.com")},
    "accents": {"GivenName": "José", "FamilyName": "Ñúñez", **phone("(555) 010-0199")},
    "emoji": {"DisplayName": "Grace 👩‍💻", **phone("+44 20 7946 0958")},
    "display-only": {"DisplayName": "Doe, Jane", **email("jane@example.com")},
    "nameless": email("someone@example.com"),
    "bad-email": {"GivenName": "Bo", **email("bo@@example")},
    "bad-email-good-phone": {"GivenName": "Cy", **email("cy at example.com"), **phone("(415) 555-0100")},
    "garbage-phone": {"GivenName": "Di", **email("di@example.com"), **phone("call the office")},
    "garbage-phone-only": {"GivenName": "Ed", **phone("n/a")},
    "unreachable": {"GivenName": "Flo", "FamilyName": "Nobody"},
    "empty": {},
    "long-name": {"GivenName": "N" * 600, **email("n@example.com")},
    "long-company": {"CompanyName": "C" * 256, **email("c@example.com")},
    "long-everything": {"GivenName": "G" * 300, "FamilyName": "F" * 300, **email("x" * 250 + "@ex.com")},
}


def test_bad_input_corpus_gets_exact_reasons() -> None:
    verdicts = check(CORPUS)
    assert sorted(verdicts.passed["source_id"]) == sorted(
        ["mixed-case", "apostrophe", "accents", "emoji", "display-only", "nameless"]
    )
    assert reasons(verdicts) == {
        "bad-email": f"{NO_CHANNEL}; email: not a valid email address",
        "bad-email-good-phone": "email: not a valid email address",
        "garbage-phone": "phone: not a valid phone number",
        "garbage-phone-only": f"{NO_CHANNEL}; phone: not a valid phone number",
        "unreachable": NO_CHANNEL,
        "empty": NO_CHANNEL,
        "long-name": "first_name: longer than 255 characters",
        "long-company": "company_name: longer than 255 characters",
        "long-everything": f"{NO_CHANNEL}; email: not a valid email address; email: longer than 254 characters; "
        "first_name: longer than 255 characters; last_name: longer than 255 characters",
    }
    assert verdicts.success is False


def test_passed_rows_carry_clean_payloads() -> None:
    passed = check(CORPUS).passed.set_index("source_id")
    assert passed.loc["mixed-case", "payload"]["email"] == "ann@example.com"
    assert passed.loc["accents", "payload"]["phone"] == "+15550100199"
    assert passed.loc["emoji", "payload"]["phone"] == "+442079460958"
    assert passed.loc["display-only", "payload"]["firstName"] == "Jane"
    assert not {"firstName", "lastName", "name"} & set(passed.loc["nameless", "payload"])


def test_duplicate_source_ids_are_all_rejected_for_uniqueness() -> None:
    frame = pd.DataFrame(
        {"source_id": ["1", "2", "1"], "raw": [email("a@example.com"), email("b@example.com"), email("c@x.com")]}
    )
    verdicts = validate(to_contacts(frame, LOCATION), CONTACTS_SUITE)
    assert list(verdicts.passed["source_id"]) == ["2"]
    assert verdicts.rejected.to_dict("records") == [
        {"source_id": "1", "reason": "source_id: appears more than once in the batch"},
        {"source_id": "1", "reason": "source_id: appears more than once in the batch"},
    ]


def test_missing_location_rejects_every_row() -> None:
    verdicts = check({"1": email("a@example.com"), "2": email("b@example.com")}, location_id="")
    assert set(reasons(verdicts).values()) == {"locationId: missing"}


def test_a_clean_batch_succeeds_and_its_result_can_be_stored() -> None:
    verdicts = check({"1": CORPUS["mixed-case"], "2": CORPUS["accents"]})
    assert verdicts.success is True and verdicts.rejected.empty and len(verdicts.passed) == 2
    stored = json.loads(json.dumps(verdicts.result))
    assert stored["suite"] == "contacts" and stored["success"] is True
    assert [entry["label"] for entry in stored["results"]] == [check.label for check in CONTACTS_SUITE.checks]
