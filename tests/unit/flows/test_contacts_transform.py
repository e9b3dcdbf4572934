"""QBO Customer → HighLevel contact mapping, over a corpus of awkward but real-looking input."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from typing import Any

import pandas as pd
import pytest
from email_validator import EmailNotValidError, validate_email

from qbo_crm_sync.flows.contacts_transform import (
    OUTPUT_COLUMNS,
    payload_hash,
    phone_digits,
    phone_e164,
    to_contacts,
)

LOCATION = "ve9EPM428h8vShlRW1KT"
# What QBO says about the person; tags and source are the load's to add (only on a create).
CONTACT_KEYS = {
    "locationId", "firstName", "lastName", "name", "email", "phone", "companyName", "address1",
    "city", "state", "postalCode", "country",
}


def contacts(*customers: dict[str, Any], **kwargs: Any) -> pd.DataFrame:
    frame = pd.DataFrame({"source_id": [str(i + 1) for i in range(len(customers))], "raw": list(customers)})
    return to_contacts(frame, LOCATION, **kwargs)


def one(customer: dict[str, Any], **kwargs: Any) -> pd.Series:
    return contacts(customer, **kwargs).iloc[0]


def email(address: str) -> dict[str, Any]:
    return {"PrimaryEmailAddr": {"Address": address}}


def phone(number: str, country: str | None = None) -> dict[str, Any]:
    customer: dict[str, Any] = {"PrimaryPhone": {"FreeFormNumber": number}}
    if country is not None:
        customer["BillAddr"] = {"Country": country}
    return customer


def test_maps_a_recorded_qbo_customer_to_contact_fields() -> None:
    customer = {
        "Id": "5", "SyncToken": "1", "Active": True, "Taxable": True, "Balance": 0,
        "MetaData": {"CreateTime": "2015-10-01T16:54:59-07:00"},
        "GivenName": "Peter", "FamilyName": "Dukes", "DisplayName": "Dukes Basketball Camp",
        "CompanyName": "Dukes Basketball Camp", "PrimaryPhone": {"FreeFormNumber": "(520) 420-5638"},
        "PrimaryEmailAddr": {"Address": "Dukes_bball@intuit.com"},
        "BillAddr": {"Id": "6", "Line1": "25 Court St.", "City": "Tucson", "CountrySubDivisionCode": "AZ",
                     "PostalCode": "85719", "Lat": "32.2841116"},
    }
    row = one(customer)

    assert row["payload"] == {
        "locationId": LOCATION, "firstName": "Peter", "lastName": "Dukes", "name": "Peter Dukes",
        "email": "dukes_bball@intuit.com", "phone": "+15204205638", "companyName": "Dukes Basketball Camp",
        "address1": "25 Court St.", "city": "Tucson", "state": "AZ", "postalCode": "85719",
    }
    assert (row["first_name"], row["last_name"], row["company_name"]) == ("Peter", "Dukes", "Dukes Basketball Camp")
    assert bool(row["email_valid"]) and bool(row["phone_valid"])
    assert row["source_id"] == "1" and row["location_id"] == LOCATION


def test_output_has_one_row_per_input_in_order_with_the_documented_columns() -> None:
    frame = pd.DataFrame(
        {"source_id": ["9", "3", "7"], "raw": [email("a@example.com"), {}, email("c@example.com")],
         "realm_id": ["r1"] * 3},
        index=[10, 20, 30],
    )
    out = to_contacts(frame, LOCATION)
    assert list(out.columns) == list(OUTPUT_COLUMNS)
    assert list(out["source_id"]) == ["9", "3", "7"]
    assert list(out.index) == [0, 1, 2]


def test_empty_input_gives_empty_output() -> None:
    out = to_contacts(pd.DataFrame({"source_id": [], "raw": []}), LOCATION)
    assert len(out) == 0 and list(out.columns) == list(OUTPUT_COLUMNS)


def test_raw_may_be_json_text() -> None:
    row = one(json.dumps({"GivenName": "Ann", **email("ann@example.com")}))  # type: ignore[arg-type]
    assert row["first_name"] == "Ann" and row["email"] == "ann@example.com"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (" Ann@Example.COM ", "ann@example.com"),
        ("o'brien@example.com", "o'brien@example.com"),
        ("first@example.com, second@example.com", "first@example.com"),
        ("first@example.com;second@example.com", "first@example.com"),
    ],
)
def test_emails_are_trimmed_lower_cased_and_valid(given: str, expected: str) -> None:
    row = one(email(given))
    assert row["email"] == expected
    assert row["payload"]["email"] == expected
    assert row["email_valid"] is True or bool(row["email_valid"])


@pytest.mark.parametrize("given", ["not-an-email", "ann@", "@example.com", "ann@@example.com",
                                   "ann..lee@example.com", "ann@localhost", "ann@example"])
def test_invalid_email_keeps_its_cleaned_value_and_is_flagged(given: str) -> None:
    row = one(email(f"  {given.upper()} "))
    assert row["email"] == given.lower()
    assert bool(row["email_valid"]) is False


def test_no_email_leaves_the_flag_missing_and_the_key_out() -> None:
    row = one({"GivenName": "Ann", "PrimaryEmailAddr": {"Address": "   "}})
    assert pd.isna(row["email"]) and pd.isna(row["email_valid"])
    assert "email" not in row["payload"]


# Addresses on both sides of email-validator's rules; the transform must agree with the library.
EMAIL_CORPUS = [
    "plain@example.com", "o'brien@example.com", "a.b-c+tag@sub.example.co.uk", "x@example.museum",
    "!#$%&'*+/=?^_`{|}~-@example.org", "ann@exämple.de", "josé@example.com", "ann@xn--exmple-cua.de",
    "ann@example.test", "ann@example.invalid", "ann@example.local", "ann@localhost", "ann@[192.0.2.1]",
    '"quoted"@example.com', ".ann@example.com", "ann.@example.com", "ann..b@example.com",
    "ann@-example.com", "ann@example-.com", "ann@exa_mple.com", "ann@example.c0m", "ann@example.123",
    "ann@1.2.3.4", "a" * 64 + "@example.com", "a" * 65 + "@example.com",
    "a@" + ".".join(["b" * 63] * 3) + ".com", "a" * 60 + "@" + ".".join(["b" * 60] * 3) + ".example.com",
    # 254 and 255 bytes in all; then short in Unicode but too long once the domain is IDNA ASCII
    "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".com",
    "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 58 + ".com",
    "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "ü" * 40 + ".com",
    "ann lee@example.com", "ann@exam ple.com", "ann@", "@example.com", "ann", "ann@b@example.com",
    "ann@example.com.", "Ann <ann@example.com>",
]


def test_email_verdicts_match_email_validator() -> None:
    out = contacts(*[email(address) for address in EMAIL_CORPUS])
    for address, cleaned, valid in zip(EMAIL_CORPUS, out["email"], out["email_valid"], strict=True):
        try:
            validate_email(cleaned, check_deliverability=False)
            expected = True
        except EmailNotValidError:
            expected = False
        assert bool(valid) is expected, address


@pytest.mark.parametrize(
    ("number", "country", "expected"),
    [
        ("(555) 010-0199", None, "+15550100199"),
        ("555.010.0199", "USA", "+15550100199"),
        ("+44 20 7946 0958", None, "+442079460958"),
        ("020 7946 0958", "United Kingdom", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("(520) 420-5638 ext. 12", "US", "+15204205638"),
        ("+1 416 555 0100", "Canada", "+14165550100"),
    ],
)
def test_phones_become_e164_using_the_billing_country(number: str, country: str | None, expected: str) -> None:
    row = one(phone(number, country))
    assert row["phone"] == expected and row["payload"]["phone"] == expected
    assert bool(row["phone_valid"])


@pytest.mark.parametrize("number", ["call the office", "12", "555-1234", "+999 123"])
def test_unusable_phone_keeps_the_input_and_is_flagged(number: str) -> None:
    row = one(phone(f" {number} "))
    assert row["phone"] == number
    assert bool(row["phone_valid"]) is False


def test_default_region_applies_when_the_country_is_missing_or_unknown() -> None:
    assert one(phone("020 7946 0958"), default_region="GB")["phone"] == "+442079460958"
    assert one(phone("020 7946 0958", "Narnia"), default_region="gb")["phone"] == "+442079460958"


def test_mobile_stands_in_for_a_missing_or_unusable_primary_phone() -> None:
    mobile = {"Mobile": {"FreeFormNumber": "(415) 555-0100"}}
    assert one(mobile)["phone"] == "+14155550100"
    assert one({**phone("call the office"), **mobile})["phone"] == "+14155550100"
    assert one({**phone("(650) 555-3311"), **mobile})["phone"] == "+16505553311"


def test_no_phone_leaves_the_flag_missing() -> None:
    row = one({"GivenName": "Ann"})
    assert pd.isna(row["phone"]) and pd.isna(row["phone_valid"]) and "phone" not in row["payload"]


@pytest.mark.parametrize(
    ("country", "code"),
    [("USA", "US"), ("United States", "US"), ("us", "US"), ("U.S.A.", "US"), ("Canada", "CA"),
     ("DEU", "DE"), ("Deutschland", None), ("UK", "GB"), ("United Kingdom", "GB"), ("fr", "FR"),
     ("Czech Republic", "CZ"), ("Czechia", "CZ"), ("EU", None), ("Narnia", None), ("", None)],
)
def test_countries_become_two_letter_codes_or_are_left_out(country: str, code: str | None) -> None:
    payload = one({"GivenName": "Ann", "BillAddr": {"Country": country}})["payload"]
    assert payload.get("country") == code


def test_names_are_nfc_trimmed_and_collapsed_keeping_accents_and_emoji() -> None:
    decomposed = unicodedata.normalize("NFD", "José")
    row = one({"GivenName": f"  {decomposed} ", "FamilyName": "Ñúñez \t de   la Peña 🌶️"})
    assert row["first_name"] == "José" and unicodedata.is_normalized("NFC", row["first_name"])
    assert row["last_name"] == "Ñúñez de la Peña 🌶️"
    assert row["name"] == "José Ñúñez de la Peña 🌶️"


@pytest.mark.parametrize(
    ("display", "first", "last"),
    [
        ("Jane Q. Public", "Jane Q.", "Public"),
        ("Cher", "Cher", None),
        ("Doe, Jane", "Jane", "Doe"),
        ("  Zoë   Ångström ", "Zoë", "Ångström"),
        ("Grace 👩‍💻", "Grace", "👩‍💻"),
    ],
)
def test_display_name_only_customers_are_split(display: str, first: str, last: str | None) -> None:
    row = one({"DisplayName": display, **email("x@example.com")})
    assert row["first_name"] == first
    assert (pd.isna(row["last_name"]) if last is None else row["last_name"] == last)
    assert "lastName" not in row["payload"] if last is None else row["payload"]["lastName"] == last


def test_given_or_family_name_wins_over_display_name() -> None:
    row = one({"GivenName": "Amelia", "DisplayName": "55 Twin Lane"})
    assert row["first_name"] == "Amelia" and pd.isna(row["last_name"]) and row["name"] == "Amelia"


def test_a_display_name_that_is_the_company_is_not_taken_for_a_person() -> None:
    row = one({"DisplayName": "Acme Garden Supply", "CompanyName": "ACME Garden Supply", **email("a@example.com")})
    assert pd.isna(row["first_name"]) and pd.isna(row["last_name"]) and pd.isna(row["name"])
    assert row["payload"]["companyName"] == "ACME Garden Supply"


def test_nameless_customer_keeps_empty_names_out_of_the_payload() -> None:
    row = one({"GivenName": "  ", **email("ann@example.com")})
    assert pd.isna(row["first_name"]) and pd.isna(row["name"])
    assert not {"firstName", "lastName", "name"} & set(row["payload"])


def test_long_names_pass_through_unchanged_for_the_checks_to_judge() -> None:
    row = one({"GivenName": "N" * 600, **email("n@example.com")})
    assert row["first_name"] == "N" * 600


def test_payload_never_carries_empty_values_tags_or_source() -> None:
    out = contacts(
        {},
        {"GivenName": "", "FamilyName": None, "BillAddr": None, "PrimaryEmailAddr": {}, "Mobile": "x"},
        {"GivenName": "Ann", "BillAddr": {"Line1": " ", "City": "Paris", "PostalCode": 75001, "Country": "France"}},
    )
    for payload in out["payload"]:
        assert set(payload) <= CONTACT_KEYS
        assert all(value not in (None, "", []) for value in payload.values())
        assert payload["locationId"] == LOCATION
    assert out["payload"][2] == {
        "locationId": LOCATION, "firstName": "Ann", "name": "Ann", "city": "Paris", "postalCode": "75001",
        "country": "FR",
    }


def test_payload_hash_is_sha256_of_the_canonical_json() -> None:
    row = one({"GivenName": "Zoë", **email("zoe@example.com")})
    canonical = json.dumps(row["payload"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert row["payload_hash"] == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert payload_hash({"b": 1, "a": [2]}) == payload_hash({"a": [2], "b": 1})


def test_payload_hash_is_stable_across_runs_and_sees_every_change() -> None:
    customer = {"GivenName": "Ann", **email("ann@example.com"), "SyncToken": "1"}
    first = one(customer)["payload_hash"]
    assert one(dict(customer, SyncToken="2"))["payload_hash"] == first  # not part of the contact
    assert one(dict(customer, FamilyName="Lee"))["payload_hash"] != first
    assert one(customer)["payload_hash"] == first


@pytest.mark.parametrize(("number", "region", "e164"), [
    ("(415) 555-0100", None, "+14155550100"),
    ("+1 415-555-0100", "GB", "+14155550100"),
    ("020 7946 0958", "GB", "+442079460958"),
    ("020 7946 0958", "gb", "+442079460958"),
    ("020 7946 0958", "XX", None),  # an unknown region reads as the default (US): not dialable
    ("555-0100", None, None),  # no area code
    ("", None, None),
    (None, None, None),
])
def test_phone_e164_reads_crm_phones(number: str | None, region: str | None, e164: str | None) -> None:
    assert phone_e164(number, region) == e164


@pytest.mark.parametrize(("number", "country"), [("(415) 555-0100", None), ("020 7946 0958", "GB"),
                                                 ("+33 1 42 68 53 00", "US"), ("06 12 34 56 78", "FR")])
def test_phone_e164_agrees_with_the_transform(number: str, country: str | None) -> None:
    assert phone_e164(number, country) == one(phone(number, country))["phone"]


def test_phone_digits_are_what_highlevel_compares() -> None:
    assert phone_digits("+1 888-888-8888") == phone_digits("+18888888888") == "18888888888"
    assert phone_digits("(888) 888-8888") == "8888888888"
    assert phone_digits("no number") is None and phone_digits(None) is None


@pytest.mark.parametrize("payload", [
    {"b": 'quote " backslash \\ newline \n tab \t', "a": "1", "locationId": "L"},
    {"name": "Zoë \u2028 🎉", "email": "\x00\x1f\x7f"},
    {},
])
def test_payload_hash_is_sha256_of_canonical_json_for_any_text(payload: dict[str, str]) -> None:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert payload_hash(payload) == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_column_wise_hashes_are_payload_hash_of_each_payload() -> None:
    """to_contacts hashes column-wise; each hash must be payload_hash of the row's own payload."""
    out = to_contacts(pd.DataFrame({"source_id": ["1", "2", "3", "4"], "raw": [
        {"GivenName": 'Zoë "Z" \\ \u2028', **email("zoe@example.com"), "BillAddr": {"City": "Paris"}},
        {"DisplayName": "Doe, Jane", "PrimaryPhone": {"FreeFormNumber": "(415) 555-0100"}},
        {"CompanyName": "Acme\tInc", "DisplayName": "Acme\tInc"},
        {},
    ]}), LOCATION)
    assert list(out["payload_hash"]) == [payload_hash(p) for p in out["payload"]]
    assert out["payload_hash"].nunique() == 4


def test_north_american_phones_read_without_the_library_agree_with_it() -> None:
    """The fast reading of NANP spellings gives the library's answer for every spelling it accepts."""
    import itertools

    import phonenumbers

    from qbo_crm_sync.flows.contacts_transform import _nanp_e164

    prefixes = ["", "1", "1 ", "1-", "1.", "+1", "+1 ", "+1-", "+1."]
    areas = ["415", "(415)", "212", "(989)", "555", "(200)"]
    separators = ["", " ", "-", "."]
    checked = 0
    for prefix, area, sep1, sep2 in itertools.product(prefixes, areas, separators, separators):
        number = f"{prefix}{area}{sep1}555{sep2}0100"
        fast = _nanp_e164(number)
        if fast is None:
            continue
        for region in ("US", "CA"):
            parsed = phonenumbers.parse(number, region)
            assert phonenumbers.is_possible_number_with_reason(parsed) == phonenumbers.ValidationResult.IS_POSSIBLE
            assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == fast, number
        checked += 1
    assert checked > 500
    assert _nanp_e164("(415) 555-0100 x12") is None and _nanp_e164("0415 555 0100") is None
