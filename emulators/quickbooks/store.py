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

from emulators.quickbooks import company_settings as settings
from emulators.quickbooks.clock import now

ENTITIES = (
    "Customer",
    "Vendor",
    "Employee",
    "Invoice",
    "SalesReceipt",
    "RefundReceipt",
    "Payment",
    "Item",
    "Account",
)
BY_PATH = {name.lower(): name for name in ENTITIES}
HAS_ACTIVE = frozenset({"Customer", "Vendor", "Employee", "Item", "Account"})
# DisplayName is unique across customers, vendors and employees, inactive ones included (Intuit's
# Customer, Vendor and Employee references, "Business Rules"); items and accounts each have their own.
NAME_SPACE = {"Customer": "party", "Vendor": "party", "Employee": "party", "Item": "Item", "Account": "Account"}
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
class Reply:
    """The first answer to a requestid, replayed as it was (errors included)."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Config:
    """What ``/_admin/config`` sets. Limits count per ``window_s`` (a minute against Intuit); a shorter
    window scales every limit alike, the per-second one included (10 per ``window_s / 60``)."""

    requests_per_window: int = 500
    requests_per_second: int = 10
    concurrent_limit: int = 10
    batch_per_window: int = 40
    window_s: float = 60.0
    access_token_ttl_s: int = 3600
    refresh_token_ttl_s: int = 8_726_400
    default_realm: str = ""
    cdc_max_days: int = 30
    cdc_max_objects: int = 1000
    batch_max_items: int = 30
    # A repeated requestid answers the first answer again; off, every request is carried out anew
    # (field reports say the real replay is unreliable: node-quickbooks#38, QuickBooks-V3-DotNET-SDK#352).
    requestid_replay: bool = True
    # With a batch requestid, every bId over 10 characters is refused (Intuit blog 2015-04-06); off, the
    # rule observed in QuickBooks-V3-Java-SDK#180 applies instead: requestid + bId within 50 characters.
    strict_batch_bid: bool = True
    # Employees need GivenName and FamilyName (the Employee reference's business rules); off, one of
    # them is enough (the same reference's attribute table).
    employee_requires_both_names: bool = True


@dataclass
class Company:
    realm_id: str
    name: str
    tax_rates: dict[str, Decimal] = field(default_factory=dict)
    preferences: dict[str, Any] = field(default_factory=settings.default_preferences)
    info: dict[str, Any] = field(default_factory=settings.default_company_info)
    entities: dict[str, dict[str, Record]] = field(default_factory=lambda: {e: {} for e in ENTITIES})
    next_id: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ENTITIES, 1))
    next_doc_number: int = 1001
    # name space -> FullyQualifiedName (casefold) -> (entity, id)
    names: dict[str, dict[str, tuple[str, str]]] = field(
        default_factory=lambda: {space: {} for space in set(NAME_SPACE.values())}
    )
    display_names: dict[str, set[str]] = field(default_factory=dict)  # customer DisplayName (casefold) -> ids
    emails: dict[str, set[str]] = field(default_factory=dict)  # customer email (casefold) -> ids
    children: dict[str, set[str]] = field(default_factory=dict)  # customer id -> sub-customer ids
    applied: dict[str, dict[str, Decimal]] = field(default_factory=dict)  # invoice id -> payment id -> amount
    voided: set[tuple[str, str]] = field(default_factory=set)  # (entity, id)
    # entity -> DocNumber (casefold) -> ids holding it
    doc_numbers: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    # customer id -> invoice id -> open balance
    open_invoices: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    replies: dict[str, Reply] = field(default_factory=dict)  # requestid -> first answer
    created_at: float = field(default_factory=now)
    settings_token: int = 0  # Preferences / CompanyInfo SyncToken + 1
    settings_updated: float = field(default_factory=now)

    @property
    def home_currency(self) -> str:
        return str(self.preferences["CurrencyPrefs"]["HomeCurrency"]["value"])

    @property
    def multicurrency(self) -> bool:
        return bool(self.preferences["CurrencyPrefs"]["MultiCurrencyEnabled"])

    def sales_pref(self, name: str) -> Any:
        return self.preferences["SalesFormsPrefs"].get(name)

    def tax_pref(self, name: str) -> Any:
        return self.preferences["TaxPrefs"].get(name)

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

    def name_holder(self, entity: str, full_name: str) -> tuple[str, str] | None:
        return self.names[NAME_SPACE[entity]].get(full_name.casefold())

    def company_info(self) -> dict[str, Any]:
        return settings.company_info_body(self)

    def preferences_body(self) -> dict[str, Any]:
        return settings.preferences_body(self)


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
        home_currency: str | None = None,
        multicurrency: bool | None = None,
        tax_rates: dict[str, Any] | None = None,
        preferences: dict[str, Any] | None = None,
        info: dict[str, Any] | None = None,
    ) -> Company:
        """Create a company, or change only what is given of an existing one (seeding into a company
        keeps its home currency and preferences unless the seed names them)."""
        from emulators.quickbooks.entities import seed_defaults

        with self.lock:
            realm_id = str(realm_id or self._new_realm_id())
            company = self.companies.get(realm_id)
            if company is None:
                company = Company(realm_id, name or f"Sandbox Company {realm_id[-4:]}")
                self.companies[realm_id] = company
                settings.configure(company, home_currency, multicurrency, preferences, info)
                seed_defaults(self, company)
            else:
                named = {"CompanyName": name} if name else {}
                settings.configure(company, home_currency, multicurrency, preferences, named | (info or {}))
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
