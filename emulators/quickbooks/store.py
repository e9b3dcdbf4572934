"""In-memory companies (realms) and their entities, guarded by one lock.

Bodies are replaced, never mutated, once stored: an answer built from a body stays consistent even
when it is serialised after the lock is released.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from emulators.quickbooks.clock import meta_time, now

ENTITIES = ("Customer", "Invoice", "SalesReceipt", "RefundReceipt", "Payment", "Item", "Account")
BY_PATH = {name.lower(): name for name in ENTITIES}
HAS_ACTIVE = frozenset({"Customer", "Item", "Account"})
CURRENCY_NAMES = {
    "USD": "United States Dollar",
    "CAD": "Canadian Dollar",
    "EUR": "Euro",
    "GBP": "British Pound Sterling",
    "AUD": "Australian Dollar",
}


@dataclass(slots=True)
class Record:
    body: dict[str, Any]
    created: int  # unix seconds, as MetaData shows them
    updated: int
    seq: int  # global change order: ties in ``updated`` keep the order changes happened in
    deleted: bool = False


@dataclass
class Config:
    requests_per_window: int = 500
    concurrent_limit: int = 10
    batch_per_window: int = 40
    window_s: float = 60.0
    access_token_ttl_s: int = 3600
    refresh_token_ttl_s: int = 8_726_400
    default_realm: str = ""
    cdc_max_days: int = 30
    cdc_max_objects: int = 1000
    batch_max_items: int = 30


@dataclass
class Company:
    realm_id: str
    name: str
    home_currency: str = "USD"
    multicurrency: bool = False
    tax_rates: dict[str, Decimal] = field(default_factory=dict)
    entities: dict[str, dict[str, Record]] = field(default_factory=lambda: {e: {} for e in ENTITIES})
    next_id: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ENTITIES, 1))
    next_doc_number: int = 1001
    # FullyQualifiedName (casefold) -> id: names are unique per entity (sub-customers under their parent)
    names: dict[str, dict[str, str]] = field(default_factory=lambda: {e: {} for e in HAS_ACTIVE})
    display_names: dict[str, set[str]] = field(default_factory=dict)  # customer DisplayName (casefold) -> ids
    emails: dict[str, set[str]] = field(default_factory=dict)  # customer email (casefold) -> ids
    applied: dict[str, dict[str, Decimal]] = field(default_factory=dict)  # invoice id -> payment id -> amount
    voided: set[str] = field(default_factory=set)
    replies: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)  # requestid -> answer
    created_at: float = field(default_factory=now)

    def currency_ref(self, code: str | None = None) -> dict[str, str]:
        code = code or self.home_currency
        return {"value": code, "name": CURRENCY_NAMES.get(code, code)}

    def new_id(self, entity: str) -> str:
        n = self.next_id[entity]
        self.next_id[entity] = n + 1
        return str(n)

    def claim_id(self, entity: str, entity_id: str) -> None:
        if entity_id.isdigit():
            self.next_id[entity] = max(self.next_id[entity], int(entity_id) + 1)

    def live(self, entity: str, entity_id: Any) -> Record | None:
        record = self.entities[entity].get(str(entity_id))
        return None if record is None or record.deleted else record

    def company_info(self) -> dict[str, Any]:
        return {
            "CompanyName": self.name,
            "LegalName": self.name,
            "Country": "US",
            "domain": "QBO",
            "sparse": False,
            "Id": "1",
            "SyncToken": "0",
            "MetaData": {
                "CreateTime": meta_time(self.created_at),
                "LastUpdatedTime": meta_time(self.created_at),
            },
        }


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.config = Config()
        self.companies: dict[str, Company] = {}
        self._seq = 0

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def reset(self, config: Config | None = None) -> None:
        with self.lock:
            self.companies.clear()
            self._seq = 0
            if config is not None:
                self.config = config

    def add_company(
        self,
        realm_id: str | None = None,
        name: str | None = None,
        home_currency: str = "USD",
        multicurrency: bool = False,
        tax_rates: dict[str, Any] | None = None,
    ) -> Company:
        from emulators.quickbooks.entities import seed_defaults

        with self.lock:
            realm_id = str(realm_id or self._new_realm_id())
            company = self.companies.get(realm_id)
            if company is None:
                company = Company(
                    realm_id, name or f"Sandbox Company {realm_id[-4:]}", home_currency, multicurrency
                )
                self.companies[realm_id] = company
                seed_defaults(self, company)
            else:
                company.name = name or company.name
                company.home_currency = home_currency or company.home_currency
                company.multicurrency = multicurrency
            if tax_rates:
                company.tax_rates.update({str(k): Decimal(str(v)) for k, v in tax_rates.items()})
            return company

    def _new_realm_id(self) -> str:
        while True:
            realm_id = "9130" + "".join(random.choices("0123456789", k=15))
            if realm_id not in self.companies:
                return realm_id

    def connect_realm(self) -> Company:
        """The company an authorisation grants: ``default_realm`` (id or name), the first, or a new one."""
        with self.lock:
            wanted = self.config.default_realm
            if wanted:
                if wanted in self.companies:
                    return self.companies[wanted]
                for company in self.companies.values():
                    if company.name == wanted:
                        return company
            if self.companies:
                return next(iter(self.companies.values()))
            return self.add_company()
