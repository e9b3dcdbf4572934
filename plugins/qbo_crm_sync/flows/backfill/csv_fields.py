"""CSV records → the flat customer columns the contacts transform reads, a stable id and a hash per row.

**Who a row is** (its source id, the same on every import of the file or of a later export): the
``qbo_id`` column when the file has one (the QBO customer's own id, shared with the contacts flow
and the historical pull); otherwise the customer's name as QuickBooks shows it (``Customer``,
``display_name``), which QBO keeps unique across customers, compared without regard to case or
spacing; without one, the email; without that, the person's name and phone. The id is ``csv:`` and
24 hex digits of its SHA-256, so a re-import finds the rows it loaded before, and a corrected email
or phone updates the same CRM contact. **What a row says** (its hash): SHA-256 of the cells this
import reads, so a row read again unchanged is recognised and skipped.

Combined cells of QBO's export (judgement, see csv_reader.py for the sources): ``Full name`` is
split like a display name (the last word is the last name); ``Phone numbers`` is read by its labels
("Phone:", "Mobile:"; fax numbers are left out), a cell without labels being one phone; ``Billing
address`` is split at commas from the end: a country, then "ST 12345"-like state and postal code,
then the city; what cannot be told apart stays in the street line, so nothing is dropped.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from qbo_crm_sync.flows.backfill.csv_reader import Layout, RawChunk
from qbo_crm_sync.flows.contacts_transform import _country_code

_INACTIVE = frozenset({"false", "no", "n", "0", "inactive", "f"})
_PHONE_LABEL = re.compile(r"\b(phone|mobile|cell|fax|other|main|work|home|alt\.?\s*phone|toll\s*free)\s*:\s*",
                          re.IGNORECASE)
_MOBILE_LABELS = frozenset({"mobile", "cell"})
_PHONE_LABELS = frozenset({"phone", "main", "work", "home", "other"})
_STATE_POSTAL = re.compile(r"(?P<state>[A-Za-z]{2,3})\.?\s+(?P<postal>[A-Za-z0-9]{3,5}(?:[ -][A-Za-z0-9]{3,4})?)")
_POSTAL = re.compile(r"[0-9]{4,5}(?:-[0-9]{4})?")
# "street, city, ST 12345": most US addresses, read without splitting.
_US_ADDRESS = re.compile(r"(?P<street>[^,\n]*[^,\s]), (?P<city>[^,\n]*[^,\s]), (?P<state>[A-Z]{2}) (?P<postal>[0-9]{5}(?:-[0-9]{4})?)")
_TRAILING_STATE_POSTAL = re.compile(r"(?P<rest>.*?)[\s,]+(?P<state>[A-Z]{2})\s+(?P<postal>[0-9]{5}(?:-[0-9]{4})?)")


@dataclass
class Rows:
    """One chunk in the transform's form, plus the rows that repeat a customer read before."""

    frame: pd.DataFrame  # line, source_id, payload_hash, Active and the CUSTOMER_FIELDS columns
    cells: dict[int, list[str]]  # line → the record's cells (for the rejected rows' file)
    repeats: list[tuple[int, str, str]] = field(default_factory=list)  # (line, source id, reason)


class SeenIds:
    """Source ids met earlier in this pass over the file (64 bits of each: light even for millions)."""

    def __init__(self) -> None:
        self._seen: set[int] = set()

    def check(self, source_ids: Sequence[str]) -> np.ndarray:
        """Which of these were met before (in earlier calls or earlier in this one); remember them all."""
        seen = self._seen
        repeated = np.zeros(len(source_ids), dtype=bool)
        for position, sid in enumerate(source_ids):
            key = hash(sid)  # 64 bits, stable within the process that reads the file
            if key in seen:
                repeated[position] = True
            else:
                seen.add(key)
        return repeated


def to_rows(chunk: RawChunk, layout: Layout, seen: SeenIds) -> Rows:
    """The chunk's records as flat customer columns keyed by their stable source id."""
    records, lines = chunk.records, chunk.lines
    cell = {name: _column(records, index) for name, index in layout.columns.items()}
    empty = [None] * len(records)

    customer = cell.get("customer", empty)
    given, family = list(cell.get("first_name", empty)), list(cell.get("last_name", empty))
    if "full_name" in cell:
        for i, full in enumerate(cell["full_name"]):
            if not (_filled(given[i]) or _filled(family[i])):
                given[i], family[i] = _split_name(full)
    phone, mobile = cell.get("phone", empty), cell.get("mobile", empty)
    if "phones" in cell:
        read = [_phones(v) for v in cell["phones"]]
        phone = [p if _filled(p) else r[0] for p, r in zip(phone, read, strict=True)]
        mobile = [m if _filled(m) else r[1] for m, r in zip(mobile, read, strict=True)]
    street, city, state = cell.get("street", empty), cell.get("city", empty), cell.get("state", empty)
    postal, country = cell.get("postal_code", empty), cell.get("country", empty)
    if "address" in cell:
        parts = [_address(v) for v in cell["address"]]
        street = [s if _filled(s) else p[0] for s, p in zip(street, parts, strict=True)]
        city = [c if _filled(c) else p[1] for c, p in zip(city, parts, strict=True)]
        state = [s if _filled(s) else p[2] for s, p in zip(state, parts, strict=True)]
        postal = [z if _filled(z) else p[3] for z, p in zip(postal, parts, strict=True)]
        country = [c if _filled(c) else p[4] for c, p in zip(country, parts, strict=True)]
    email, company = cell.get("email", empty), cell.get("company", empty)
    active = [not (isinstance(a, str) and a.strip().lower() in _INACTIVE) for a in cell.get("active", empty)]

    source_ids = _source_ids(cell.get("qbo_id", empty), customer, email, given, family, phone, mobile)
    read_cells = [cell[name] for name in layout.columns]
    hashes = [hashlib.sha256("\x1f".join((v or "").strip() for v in row).encode("utf-8")).hexdigest()
              for row in zip(*read_cells, strict=True)] if read_cells else [""] * len(records)

    frame = pd.DataFrame({
        "line": np.asarray(lines, dtype=np.int64),
        "source_id": source_ids,
        "payload_hash": hashes,
        "Active": active,
        "GivenName": given,
        "FamilyName": family,
        "DisplayName": customer,
        "CompanyName": company,
        "PrimaryEmailAddr.Address": email,
        "PrimaryPhone.FreeFormNumber": phone,
        "Mobile.FreeFormNumber": mobile,
        "BillAddr.Line1": street,
        "BillAddr.City": city,
        "BillAddr.CountrySubDivisionCode": state,
        "BillAddr.PostalCode": postal,
        "BillAddr.Country": country,
    })
    repeated = seen.check(source_ids)
    repeats: list[tuple[int, str, str]] = []
    if repeated.any():
        first_line: dict[str, int] = {}
        for sid, line in zip(frame["source_id"], frame["line"], strict=True):
            first_line.setdefault(sid, int(line))
        for position in np.flatnonzero(repeated):
            sid, line = frame["source_id"].iat[position], int(frame["line"].iat[position])
            earlier = first_line.get(sid)
            where = f"line {earlier}" if earlier is not None and earlier != line else "an earlier line"
            repeats.append((line, sid, f"the same customer as {where} of this file (same {_key_name(layout)}): "
                                        "only the first is imported"))
        frame = frame[~repeated].reset_index(drop=True)
    kept = {int(line) for line in frame["line"]} | {line for line, _, _ in repeats}
    cells = {line: record for line, record in zip(lines, records, strict=True) if line in kept}
    return Rows(frame, cells, repeats)


def _key_name(layout: Layout) -> str:
    for name, what in (("qbo_id", "QuickBooks id"), ("customer", "customer name"), ("email", "email")):
        if name in layout.columns:
            return what
    return "name and phone"


def _column(records: list[list[str]], index: int) -> list[str | None]:
    return [r[index] if index < len(r) else None for r in records]


def _filled(value: str | None) -> bool:
    return bool(value and value.strip())


def _split_name(value: str | None) -> tuple[str | None, str | None]:
    words = (value or "").split()
    if not words:
        return None, None
    if len(words) == 1:
        return words[0], None
    return " ".join(words[:-1]), words[-1]


def _phones(value: str | None) -> tuple[str | None, str | None]:
    """(phone, mobile) from a ``Phone numbers`` cell: labelled numbers, or one unlabelled number."""
    if not value or not value.strip():
        return None, None
    if ":" not in value:
        return value, None
    parts = _PHONE_LABEL.split(value)
    phone = mobile = None
    for label, number in zip(parts[1::2], parts[2::2], strict=False):
        label, number = label.lower(), number.strip(" ,;")
        if not number:
            continue
        if label in _MOBILE_LABELS and mobile is None:
            mobile = number
        elif label in _PHONE_LABELS and phone is None:
            phone = number
    if phone is None and mobile is None and parts[0].strip():
        phone = parts[0].strip()
    return phone, mobile


def _address(value: str | None) -> tuple[str | None, str | None, str | None, str | None, str | None]:
    """(street, city, state, postal code, country) from a one-cell address."""
    if not value or not value.strip():
        return None, None, None, None, None
    usual = _US_ADDRESS.fullmatch(value)
    if usual is not None:
        return usual["street"], usual["city"], usual["state"], usual["postal"], None
    parts = [p.strip() for p in value.replace("\n", ",").split(",") if p.strip()]
    country = state = postal = city = None
    if len(parts) >= 2 and _country_code(parts[-1]):
        country = parts.pop()
    if len(parts) >= 2:
        found = _STATE_POSTAL.fullmatch(parts[-1])
        if found and any(ch.isdigit() for ch in found["postal"]):
            state, postal = found["state"], found["postal"]
            parts.pop()
        elif _POSTAL.fullmatch(parts[-1]):
            postal = parts.pop()
    if len(parts) >= 2:
        city = parts.pop()
    street = ", ".join(parts) or None
    if street and not (state or postal):
        found = _TRAILING_STATE_POSTAL.fullmatch(street)
        if found:
            street, state, postal = found["rest"], found["state"], found["postal"]
    return street, city, state, postal, country


def _source_ids(qbo_ids: list, customers: list, emails: list, given: list, family: list, phones: list,
                mobiles: list) -> list[str]:
    ids = []
    for qbo_id, customer, email, first, last, phone, mobile in zip(qbo_ids, customers, emails, given, family, phones,
                                                                    mobiles, strict=True):
        if qbo_id and qbo_id.strip().isdigit():
            ids.append(qbo_id.strip())
            continue
        if _filled(customer):
            key = "name:" + " ".join(customer.split()).casefold()
        elif _filled(email):
            key = "email:" + email.strip().lower()
        else:
            digits = "".join(ch for ch in (phone or mobile or "") if ch.isdigit())
            key = "person:" + " ".join(f"{first or ''} {last or ''}".split()).casefold() + "|" + digits
        ids.append("csv:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:24])
    return ids
