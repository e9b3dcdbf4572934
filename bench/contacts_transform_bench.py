"""Times the contacts transform + quality checks on synthetic QBO customers.

    python -m bench.contacts_transform_bench --rows 100000

prints JSON: ``transform_validate_s`` (to_contacts + validate, wall clock, after a small warm-up
that pays Great Expectations' one-off import and setup, reported as ``setup_s``), the same in CPU
seconds, ``peak_rss_mb`` (highest resident set size sampled during the timed part, input included)
and the row counts.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil
from faker import Faker

try:
    import qbo_crm_sync  # noqa: F401
except ImportError:  # run from the repository root without the test runner's pythonpath
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))

from qbo_crm_sync.flows.contacts_transform import to_contacts  # noqa: E402
from qbo_crm_sync.quality.contacts import CONTACTS_SUITE  # noqa: E402
from qbo_crm_sync.quality.runner import validate  # noqa: E402

LOCATION_ID = "bench-location"
_LOCALES = ["en_US", "en_US", "en_US", "es_ES", "fr_FR", "de_DE", "en_GB", "pt_BR"]
_COUNTRY_TEXT = {"en_US": ["USA", "US", "United States", None], "es_ES": ["Spain", "ES"],
                 "fr_FR": ["France", "FR"], "de_DE": ["Germany", "DEU"], "en_GB": ["UK", "United Kingdom"],
                 "pt_BR": ["Brazil", "BR"]}
_DOMAINS = ["example.com", "example.org", "mail.example.net", "company.example", "exämple.de"]
_POOL = 4000  # distinct names / streets / cities drawn from Faker, recombined per row


def make_customers(n: int, seed: int = 7) -> pd.DataFrame:
    """``n`` QBO-shaped customers: accents, apostrophes, several phone styles and ~5 % bad rows."""
    rng = np.random.default_rng(seed)
    fakers = {locale: Faker(locale) for locale in dict.fromkeys(_LOCALES)}
    for offset, faker in enumerate(fakers.values()):
        faker.seed_instance(seed + offset)
    pool_locale = [_LOCALES[i % len(_LOCALES)] for i in range(_POOL)]
    first = [fakers[loc].first_name() for loc in pool_locale]
    last = [fakers[loc].last_name() for loc in pool_locale]
    last[::40] = ["O'Brien"] * len(last[::40])
    street = [fakers[loc].street_address() for loc in pool_locale]
    city = [fakers[loc].city() for loc in pool_locale]
    company = [fakers[loc].company() for loc in pool_locale]

    pick = rng.integers(0, _POOL, size=(5, n))
    kind = rng.random(n)
    customers = []
    for i in range(n):
        j_first, j_last, j_street, j_city, j_company = pick[:, i]
        locale = pool_locale[j_city]
        given, family = first[j_first], last[j_last]
        local = f"{given}.{family}".lower().replace(" ", "")
        if i % 50:  # most people's addresses are ASCII even when their names are not
            local = _ascii(local)
        email: str | None = f" {local}{i}@{_DOMAINS[i % len(_DOMAINS)]} "
        phone: str | None = _phone(rng, locale)
        record: dict[str, Any] = {
            "Id": str(i + 1),
            "DisplayName": f"{given} {family} {i}",
            "Active": True,
            "MetaData": {"CreateTime": "2026-01-05T10:00:00-08:00"},
            "BillAddr": {
                "Line1": street[j_street],
                "City": city[j_city],
                "PostalCode": f"{rng.integers(10000, 99999)}",
                "Country": _COUNTRY_TEXT[locale][i % len(_COUNTRY_TEXT[locale])],
            },
        }
        if kind[i] < 0.6:
            record |= {"GivenName": given, "FamilyName": family}
        if kind[i] > 0.8:
            record["CompanyName"] = company[j_company]
        # About 5 % of rows carry the faults the checks exist for.
        fault = i % 20
        if fault == 0 and i % 60 == 0:
            email = f"{local}{i}@@broken"
        elif fault == 0 and i % 60 == 20:
            email, phone = None, None
        elif fault == 0:
            phone = "call the office"
            email = None
        elif i % 997 == 0:
            record["GivenName"] = "N" * 600
        if email is not None:
            record["PrimaryEmailAddr"] = {"Address": email.upper() if i % 7 == 0 else email}
        if phone is not None:
            record["PrimaryPhone"] = {"FreeFormNumber": phone}
        customers.append(record)
    source_ids = [c["Id"] for c in customers]
    if n > 10:
        source_ids[-1] = source_ids[0]  # one duplicate key
    return pd.DataFrame({"source_id": source_ids, "raw": customers})


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if ch.isascii() and (ch.isalnum() or ch in ".'-_"))


def _phone(rng: np.random.Generator, locale: str) -> str:
    digits = rng.integers(0, 10, size=7)
    line = "".join(map(str, digits))
    if locale == "en_GB":
        return f"+44 20 79{line[:2]} {line[2:6]}"
    if locale != "en_US":
        return f"+34 91 {line[:3]} {line[3:7]}" if locale == "es_ES" else f"+33 1 {line[:2]} {line[2:4]} {line[4:6]} 00"
    area = 200 + int(rng.integers(0, 700))
    style = int(rng.integers(0, 3))
    if style == 0:
        return f"({area}) {line[:3]}-{line[3:]}"
    if style == 1:
        return f"{area}.{line[:3]}.{line[3:]}"
    return f"+1 {area} {line[:3]} {line[3:]}"


def run(n: int) -> dict[str, Any]:
    customers = make_customers(n)
    setup_started = time.perf_counter()
    validate(to_contacts(make_customers(50, seed=1), LOCATION_ID), CONTACTS_SUITE)
    setup_s = time.perf_counter() - setup_started

    with _PeakRss() as peak:
        started, cpu_started = time.perf_counter(), time.process_time()
        contacts = to_contacts(customers, LOCATION_ID)
        transformed = time.perf_counter()
        verdicts = validate(contacts, CONTACTS_SUITE)
        finished, cpu_finished = time.perf_counter(), time.process_time()
    return {
        "rows": n,
        "transform_s": round(transformed - started, 3),
        "validate_s": round(finished - transformed, 3),
        "transform_validate_s": round(finished - started, 3),
        # CPU seconds of this process: steadier than wall time on a shared machine
        "transform_validate_cpu_s": round(cpu_finished - cpu_started, 3),
        "setup_s": round(setup_s, 3),
        "rss_before_mb": round(peak.start_mb, 1),
        "peak_rss_mb": round(peak.mb, 1),
        "passed": len(verdicts.passed),
        "rejected": len(verdicts.rejected),
    }


class _PeakRss:
    """Samples this process's RSS every 10 ms on a thread while the block runs."""

    def __enter__(self) -> _PeakRss:
        self._process = psutil.Process()
        self._stop = threading.Event()
        self.start_mb = self.mb = self._process.memory_info().rss / 2**20
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.mb = max(self.mb, self._process.memory_info().rss / 2**20)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.mb = max(self.mb, self._process.memory_info().rss / 2**20)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.rows)))


if __name__ == "__main__":
    main()
