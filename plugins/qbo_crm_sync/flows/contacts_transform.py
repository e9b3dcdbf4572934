"""QBO Customer rows → HighLevel contact fields (pure: no network, no database).

A payload holds what QBO says about the person (names, email, phone, company, billing address)
and the location; what a write adds (the integration's tag and ``source`` on a create) and leaves
out (details another CRM contact holds) is decided at load time, against the CRM's contacts.

The work is column-wise pandas. Customers come either as QBO Customer objects (a ``raw`` column of
dicts or JSON text) or already flat, one column per field of :data:`CUSTOMER_FIELDS` (what a CSV
reader builds without a dict per row); both meet in the same cleaning and mapping. Text is tidied
once per *distinct* value, and the checks that need a library per value (phonenumbers,
email-validator, the country lookup) run per distinct value behind a process-wide cache, so a
batch with many repeated values costs little more than its distinct values. North American
numbers written the usual ways are read to E.164 without the library (:func:`_nanp_e164`, tested
against it); everything else goes through phonenumbers.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import phonenumbers
from email_validator import EmailNotValidError, validate_email

DEFAULT_REGION = "US"

# RFC 5322 dot-atom over ASCII, as email-validator reads an unquoted local part (max 64 octets).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM_LOCAL = rf"(?=.{{1,64}}$){_ATEXT}+(?:\.{_ATEXT}+)*"
_EMAIL_MAX_BYTES = 254

# The flat form of a QBO Customer: column name → its path in the Customer object.
CUSTOMER_FIELDS: dict[str, tuple[str, ...]] = {
    "GivenName": ("GivenName",),
    "FamilyName": ("FamilyName",),
    "DisplayName": ("DisplayName",),
    "CompanyName": ("CompanyName",),
    "PrimaryEmailAddr.Address": ("PrimaryEmailAddr", "Address"),
    "PrimaryPhone.FreeFormNumber": ("PrimaryPhone", "FreeFormNumber"),
    "Mobile.FreeFormNumber": ("Mobile", "FreeFormNumber"),
    "BillAddr.Line1": ("BillAddr", "Line1"),
    "BillAddr.City": ("BillAddr", "City"),
    "BillAddr.CountrySubDivisionCode": ("BillAddr", "CountrySubDivisionCode"),
    "BillAddr.PostalCode": ("BillAddr", "PostalCode"),
    "BillAddr.Country": ("BillAddr", "Country"),
}

# payload key → flat column; the order here is the key order of every payload.
_PAYLOAD_FIELDS = (
    ("locationId", "location_id"),
    ("firstName", "first_name"),
    ("lastName", "last_name"),
    ("name", "name"),
    ("email", "email"),
    ("phone", "phone"),
    ("companyName", "company_name"),
    ("address1", "address1"),
    ("city", "city"),
    ("state", "state"),
    ("postalCode", "postal_code"),
    ("country", "country"),
)

OUTPUT_COLUMNS = (
    "source_id",
    "payload",
    "payload_hash",
    "first_name",
    "last_name",
    "name",
    "company_name",
    "email",
    "email_valid",
    "phone",
    "phone_valid",
    "address1",
    "city",
    "location_id",
)

# Free-text spellings of countries seen in QBO billing addresses that CLDR's names do not cover.
_COUNTRY_ALIASES = {
    "usa": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "united states of america": "US",
    "uk": "GB",
    "u.k.": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    # names CLDR has since replaced
    "czech republic": "CZ",
    "turkey": "TR",
    "holland": "NL",
    "the netherlands": "NL",
    "ivory coast": "CI",
    "macedonia": "MK",
    "swaziland": "SZ",
    "burma": "MM",
}


def to_contacts(
    customers: pd.DataFrame, location_id: str, default_region: str = DEFAULT_REGION
) -> pd.DataFrame:
    """Map QBO customers to HighLevel contact fields, one output row per input row.

    ``customers`` needs ``source_id`` and either ``raw`` (the Customer object as QBO returns it, a
    dict or its JSON text) or the flat columns of :data:`CUSTOMER_FIELDS` (any may be absent);
    other columns are ignored. ``default_region`` is the phone region used when a customer's
    billing country is missing or unknown.

    Returns the columns in ``OUTPUT_COLUMNS``: the ``payload`` dict (empty values left out), its
    ``payload_hash`` and the flat values the quality suite checks. ``email_valid`` and
    ``phone_valid`` are True/False, or missing when the customer has no email or phone. An email
    or phone that fails its check stays in the payload as cleaned: the quality suite rejects the
    row with a reason rather than a contact being sent with that detail silently dropped. A billing
    country that cannot be read as an ISO code is left out and the phone falls back to
    ``default_region``.
    """
    fields = customer_fields(customers)
    given = fields["GivenName"]
    family = fields["FamilyName"]
    display = fields["DisplayName"]
    company = fields["CompanyName"]
    first, last = _person_name(given, family, display, company)
    name = _nullify((first.fillna("") + " " + last.fillna("")).str.strip())

    country = _lookup(fields["BillAddr.Country"], _country_code)
    region = country.fillna(default_region.upper())
    email, email_valid = _email(fields["PrimaryEmailAddr.Address"])
    phone, phone_valid = _phone(fields["PrimaryPhone.FreeFormNumber"], fields["Mobile.FreeFormNumber"], region)

    flat = pd.DataFrame(
        {
            "source_id": customers["source_id"].astype("str"),
            "location_id": location_id or None,
            "first_name": first,
            "last_name": last,
            "name": name,
            "email": email,
            "email_valid": email_valid,
            "phone": phone,
            "phone_valid": phone_valid,
            "company_name": company,
            "address1": fields["BillAddr.Line1"],
            "city": fields["BillAddr.City"],
            "state": fields["BillAddr.CountrySubDivisionCode"],
            "postal_code": fields["BillAddr.PostalCode"],
            "country": country,
        },
        index=customers.index,
    )
    flat["payload"] = pd.Series(_payloads(flat), index=flat.index, dtype=object)
    flat["payload_hash"] = pd.Series(_payload_hashes(flat), index=flat.index, dtype="str")
    return flat.loc[:, list(OUTPUT_COLUMNS)].reset_index(drop=True)


def customer_fields(customers: pd.DataFrame) -> dict[str, pd.Series]:
    """Every column of :data:`CUSTOMER_FIELDS`, tidied (:func:`tidy`), from ``raw`` Customer objects
    when the frame has them, else from the frame's own flat columns (missing ones are empty)."""
    if "raw" in customers:
        raw = _as_dicts(customers["raw"])
        raw.index = customers.index
        return {name: tidy(_pick(raw, path)) for name, path in CUSTOMER_FIELDS.items()}
    empty = pd.Series(None, index=customers.index, dtype=object)
    return {name: tidy(customers[name] if name in customers else empty) for name in CUSTOMER_FIELDS}


def tidy(values: pd.Series) -> pd.Series:
    """Text as the transform compares and sends it: Unicode NFC, runs of whitespace made one
    space, trimmed; numbers as their text; missing when absent, blank or anything else. Each
    distinct value is tidied once."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object, na_value=None), use_na_sentinel=True)
    cleaned = np.array([_tidy_one(value) for value in uniques] + [None], dtype=object)
    return pd.Series(cleaned.take(codes), index=values.index, dtype=object).astype("str")


def _tidy_one(value: Any) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
        value = str(value)
    if not isinstance(value, str):
        return None
    if not value.isascii():
        value = unicodedata.normalize("NFC", value)
    return " ".join(value.split()) or None


def phone_e164(number: str | None, region: str | None = None) -> str | None:
    """A phone as the transform writes QBO phones: E.164, or None when it cannot be dialled as such.
    ``region`` (ISO alpha-2) reads numbers written without their country code."""
    if not number:
        return None
    region = (region or DEFAULT_REGION).upper()
    return _to_e164(number, region if region in phonenumbers.SUPPORTED_REGIONS else DEFAULT_REGION)


def phone_digits(number: str | None) -> str | None:
    """The digits of a phone, as HighLevel compares phones ('+1 888-888-8888' is '18888888888')."""
    digits = "".join(ch for ch in number or "" if ch.isdigit())
    return digits or None


def payload_hash(payload: dict[str, Any]) -> str:
    """sha256 of the canonical JSON (sorted keys, no spaces, UTF-8): equal payloads, equal hashes."""
    if all(type(v) is str for v in payload.values()) and all(type(k) is str for k in payload):
        # The same text json.dumps writes for a flat object of strings, without its per-call machinery.
        text = "{" + ",".join(f"{_json_text(k)}:{_json_text(payload[k])}" for k in sorted(payload)) + "}"
    else:
        text = _CANONICAL.encode(payload)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False), without building
# an encoder per call.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_json_text = json.encoder.encode_basestring  # a JSON string literal, non-ASCII kept (ensure_ascii=False)


def _as_dicts(raw: pd.Series) -> pd.Series:
    # Staging hands dicts (jsonb); CSV exports and tests may hand JSON text.
    return raw.map(lambda v: json.loads(v) if isinstance(v, str) else (v if isinstance(v, dict) else {}))


def _pick(raw: pd.Series, path: tuple[str, ...]) -> pd.Series:
    """The value at ``path`` in each Customer dict (None where a level is missing); numbers as
    text already, so that 1, 1.0 and True never meet as one distinct value."""
    values = []
    for value in raw:
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        values.append(value if value is None or isinstance(value, str) else _tidy_one(value))
    return pd.Series(values, index=raw.index, dtype=object)


def _nullify(values: pd.Series) -> pd.Series:
    return values.where(values.str.len() > 0)


def _person_name(
    given: pd.Series, family: pd.Series, display: pd.Series, company: pd.Series
) -> tuple[pd.Series, pd.Series]:
    """GivenName/FamilyName when either is set, else DisplayName split into first and last.

    A DisplayName equal to the CompanyName names a business, not a person, so it is not split.
    "Doe, Jane" (QBO's "Last, First" style) becomes Jane / Doe; otherwise the last
    whitespace-separated token is the last name and a single token is a first name.
    """
    use_display = given.isna() & family.isna() & display.notna()
    use_display &= display.str.casefold().ne(company.str.casefold()) | company.isna()
    shown = display[use_display]

    by_space = shown.str.extract(r"^(?:(?P<head>.*) )?(?P<tail>[^ ]*)$")
    split_first = by_space["head"].fillna(by_space["tail"])
    split_last = by_space["tail"].where(by_space["head"].notna())
    by_comma = shown.str.extract(r"^(?P<surname>[^,]*),(?P<given>[^,]*)$")
    comma = by_comma["surname"].notna()
    split_first = split_first.mask(comma, by_comma["given"].str.strip())
    split_last = split_last.mask(comma, by_comma["surname"].str.strip())

    first = given.mask(use_display, split_first)
    last = family.mask(use_display, split_last)
    return _nullify(first.astype("str")), _nullify(last.astype("str"))


def _lookup(values: pd.Series, func: Callable[[str], Any]) -> pd.Series:
    """Apply a cached per-value function once per distinct non-missing value."""
    distinct = values.dropna().unique()
    mapping = {value: func(value) for value in distinct}
    return values.map(mapping).astype(object).where(values.notna(), None)


def _email(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The address (trimmed, lower-cased) and email-validator's verdict, once per distinct value.

    QBO lets PrimaryEmailAddr hold several addresses separated by commas: the first one counts.
    Nearly all of the library's time goes into the domain (IDNA) checks, and domains repeat far
    more than addresses. So an address whose local part is plain ASCII dot-atom text (always valid
    to the library when at most 64 characters) is judged by its domain's verdict plus the overall
    254-byte limit; any other address goes to the library whole.
    """
    codes, uniques = pd.factorize(values.to_numpy(dtype=object, na_value=None), use_na_sentinel=True)
    addresses: list[str | None] = []
    verdicts: list[bool | None] = []
    for value in uniques:
        if "," in value or ";" in value:
            value = _AFTER_FIRST_ADDRESS.sub("", value)
        address = value.strip().lower() or None
        addresses.append(address)
        verdicts.append(None if address is None else _email_verdict(address))
    address_column = np.array([*addresses, None], dtype=object).take(codes)
    verdict_column = np.array([*verdicts, None], dtype=object).take(codes)
    email = pd.Series(address_column, index=values.index, dtype=object).astype("str")
    return email, pd.Series(verdict_column, index=values.index, dtype="boolean")


_AFTER_FIRST_ADDRESS = re.compile(r"[,;].*$")
_SIMPLE_LOCAL = re.compile(_DOT_ATOM_LOCAL)


def _email_verdict(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    if at and _SIMPLE_LOCAL.fullmatch(local):
        length = _domain_length(domain)
        return length is not None and len(local) + 1 + length <= _EMAIL_MAX_BYTES
    return _email_is_valid(address)


def email_is_valid(address: str | None) -> bool | None:
    """email-validator's verdict on one address (no deliverability check), None when there is none."""
    return _email_is_valid(address) if address else None


@lru_cache(maxsize=65_536)
def _email_is_valid(email: str) -> bool:
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


@lru_cache(maxsize=65_536)
def _domain_length(domain: str) -> int | None:
    """Bytes the domain adds to an address in its longest form (as given, normalised, IDNA ASCII),
    or None when email-validator rejects it."""
    try:
        checked = validate_email("a@" + domain, check_deliverability=False)
    except EmailNotValidError:
        return None
    return max(len(form.encode("utf-8")) for form in (domain, checked.domain, checked.ascii_domain))


def _phone(primary: pd.Series, mobile: pd.Series, region: pd.Series) -> tuple[pd.Series, pd.Series]:
    """E.164 of the primary phone, else of the mobile; the cleaned input when neither parses."""
    primary_e164 = _e164(primary, region)
    mobile_e164 = _e164(mobile, region)
    e164 = primary_e164.fillna(mobile_e164)
    given = primary.fillna(mobile)
    phone = e164.fillna(given)
    valid = e164.notna().astype("boolean").where(given.notna())
    return phone.astype("str"), valid


def _e164(numbers: pd.Series, region: pd.Series) -> pd.Series:
    """E.164 of each (number, region) pair, computed once per distinct pair."""
    number_codes, number_values = pd.factorize(numbers.to_numpy(dtype=object, na_value=None))
    region_codes, region_values = pd.factorize(region.to_numpy(dtype=object, na_value=None))
    known = number_codes >= 0
    pairs = number_codes.astype(np.int64) * (len(region_values) + 1) + (region_codes + 1)
    distinct, inverse = np.unique(pairs[known], return_inverse=True)
    width = len(region_values) + 1
    table = np.array([_e164_one(number_values[pair // width], region_values[pair % width - 1]
                                if pair % width else DEFAULT_REGION) for pair in distinct] + [None], dtype=object)
    e164 = np.full(len(numbers), len(distinct), dtype=np.int64)
    e164[known] = inverse
    return pd.Series(table.take(e164), index=numbers.index, dtype=object).astype("str")


# NANP numbers as people write them: optional +1 or 1, area code (bracketed or not), exchange, line.
_NANP = re.compile(r"(?:\+?1[ .-]?)?(?:\(([2-9][0-9]{2})\)|([2-9][0-9]{2}))[ .-]?([0-9]{3})[ .-]?([0-9]{4})")
_NANP_REGIONS = frozenset({"US", "CA"})


def _e164_one(number: str, region: str) -> str | None:
    if region in _NANP_REGIONS:
        fast = _nanp_e164(number)
        if fast is not None:
            return fast
    return _to_e164(number, region)


def _nanp_e164(number: str) -> str | None:
    """E.164 of a North American number in one of its usual spellings, else None (ask the library).

    phonenumbers reads such a number, in a NANP region, as +1 and its ten national digits, and
    judges it possible by length alone (ten digits), so the answer is the same without it; the
    unit tests hold the two to the same answers over every spelling this accepts."""
    found = _NANP.fullmatch(number)
    if found is None:
        return None
    return f"+1{found[1] or found[2]}{found[3]}{found[4]}"


@lru_cache(maxsize=262_144)
def _to_e164(number: str, region: str) -> str | None:
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    # IS_POSSIBLE_LOCAL_ONLY (a number without its area code) cannot be dialled as E.164.
    if phonenumbers.is_possible_number_with_reason(parsed) != phonenumbers.ValidationResult.IS_POSSIBLE:
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=4096)
def _country_code(text: str) -> str | None:
    """ISO 3166-1 alpha-2 for a free-text country: a code, a CLDR alpha-3 alias or an English name."""
    key = unicodedata.normalize("NFC", text).strip().casefold()
    if key in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[key]
    codes = _country_codes()
    return codes.get(key)


@lru_cache(maxsize=1)
def _country_codes() -> dict[str, str]:
    from babel import Locale
    from babel.core import get_global

    names = Locale("en").territories
    # CLDR also names groupings ("EU", "UN", "ZZ"); keep the codes that are places with phones.
    alpha2 = {code for code in names if code in phonenumbers.SUPPORTED_REGIONS}
    codes = {code.casefold(): code for code in alpha2}
    codes.update({name.casefold(): code for code, name in names.items() if code in alpha2})
    for alias, targets in get_global("territory_aliases").items():
        if len(alias) == 3 and alias.isalpha() and len(targets) == 1 and targets[0] in alpha2:
            codes.setdefault(alias.casefold(), targets[0])
    return codes


def _payload_hashes(flat: pd.DataFrame) -> list[str]:
    """:func:`payload_hash` of every row's payload, built column-wise: each distinct value of a
    column is written as its ``,"key":"value"`` piece once, the pieces of a row are concatenated in
    sorted key order, and only the hashing is per row (the unit tests hold it to payload_hash)."""
    text = pd.Series("", index=flat.index, dtype=object)
    for key, column in sorted(_PAYLOAD_FIELDS):
        values = flat[column].to_numpy(dtype=object, na_value=None)
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        prefix = "," + _json_text(key) + ":"
        pieces = np.array([prefix + _json_text(value) for value in uniques] + [""], dtype=object)
        text = text + pieces.take(codes)
    sha256 = hashlib.sha256
    return [sha256(("{" + row[1:] + "}").encode("utf-8")).hexdigest() for row in text.to_numpy()]


def _payloads(flat: pd.DataFrame) -> list[dict[str, Any]]:
    keys = [key for key, _ in _PAYLOAD_FIELDS]
    columns = [flat[column].to_numpy(dtype=object, na_value=None) for _, column in _PAYLOAD_FIELDS]
    return [{key: value for key, value in zip(keys, row, strict=True) if value is not None}
            for row in zip(*columns, strict=True)]
