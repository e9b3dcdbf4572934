"""Realistic seed data in the real APIs' own JSON shapes, for the demo and the benchmark.

Deterministic for a given seed, so running the demo twice seeds the same people.
"""

from __future__ import annotations

import random
import unicodedata
from datetime import datetime
from typing import Any

from faker import Faker

# Names a sync must carry unharmed: accents, apostrophes, hyphens, non-Latin scripts.
AWKWARD_NAMES = [
    ("José", "Ñúñez"), ("Siobhán", "O'Brien"), ("Zoë", "D'Arcy-Lefèvre"), ("Łukasz", "Żółć"),
    ("Mary-Jane", "van der Berg"), ("François", "L'Écuyer"), ("Jürgen", "Groß"), ("Ana", "São João"),
    ("Dũng", "Nguyễn"), ("Renée", "O'Connor"), ("Chloé", "Mäkelä"), ("Björn", "Ångström"),
]


AREA_CODES = ["212", "312", "415", "503", "617", "702", "206", "305", "512", "720"]


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "")


def _customer(fake: Faker, rnd: random.Random, first: str, last: str, n: int) -> dict[str, Any]:
    company = fake.company() if rnd.random() < 0.4 else None
    email_local = f"{_ascii(first)}.{_ascii(last)}"
    c: dict[str, Any] = {
        "GivenName": first,
        "FamilyName": last,
        "DisplayName": f"{first} {last}" + (f" ({n})" if n else ""),
        "PrimaryEmailAddr": {"Address": f"{email_local}{n or ''}@{fake.free_email_domain()}"},
        "PrimaryPhone": {"FreeFormNumber": f"({rnd.choice(AREA_CODES)}) " + fake.numerify("###-####")},
        "BillAddr": {
            "Line1": fake.street_address(),
            "City": fake.city(),
            "CountrySubDivisionCode": fake.state_abbr(),
            "PostalCode": fake.postcode(),
            "Country": "US",
        },
        "Active": True,
    }
    if company:
        c["CompanyName"] = company
    return c


def qbo_customers(
    count: int, *, seed: int = 7, created_at: datetime | None = None, bad_share: float = 0.1, start: int = 0
) -> list[dict[str, Any]]:
    """``count`` QBO Customers; about ``bad_share`` of them are ones a sync must reject or skip
    (no email and no phone, a malformed email, a duplicate email)."""
    fake = Faker("en_US")
    fake.seed_instance(seed + start)
    rnd = random.Random(seed + start)
    out: list[dict[str, Any]] = []
    for i in range(start, start + count):
        if i < len(AWKWARD_NAMES):
            first, last = AWKWARD_NAMES[i]
        else:
            first, last = fake.first_name(), fake.last_name()
        c = _customer(fake, rnd, first, last, i)
        roll = rnd.random()
        if roll < bad_share / 3:
            c.pop("PrimaryEmailAddr")
            c.pop("PrimaryPhone")
        elif roll < 2 * bad_share / 3:
            c["PrimaryEmailAddr"] = {"Address": f"{_ascii(first)}..{_ascii(last)}@example.com"}
            c.pop("PrimaryPhone")
        elif roll < bad_share and out:
            c["PrimaryEmailAddr"] = dict(out[-1].get("PrimaryEmailAddr") or {"Address": "shared@example.com"})
            c["PrimaryEmailAddr"]["Address"] = "  " + c["PrimaryEmailAddr"]["Address"].upper() + " "
        if created_at is not None:
            c["MetaData"] = {"CreateTime": created_at.isoformat(), "LastUpdatedTime": created_at.isoformat()}
        out.append(c)
    return out
