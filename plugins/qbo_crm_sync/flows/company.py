"""What a flow must know about the QBO company before writing to it, read from QBO itself.

``GET companyinfo/{realm}`` and ``GET preferences`` (two metered reads, cached for a day beside a
watermark) tell the home currency and whether other currencies are allowed, the country (which
decides how the CRM's tax is booked by default), whether the company uses sales tax and allows a
discount line on sales forms, its time zone and its default item. Nothing here is guessed from
other records.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.store import watermarks

log = logging.getLogger(__name__)

STREAM = "qbo_company"
TTL = timedelta(hours=24)
DEFAULT_TIME_ZONE = "America/Los_Angeles"  # QBO's own default for US companies


@dataclass(frozen=True)
class CompanyFacts:
    name: str
    country: str
    home_currency: str
    multicurrency: bool
    using_sales_tax: bool
    allow_discount: bool
    time_zone: str
    default_item_id: str | None

    @property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo(DEFAULT_TIME_ZONE)

    def allows_currency(self, code: str | None) -> bool:
        return bool(code) and (code == self.home_currency or self.multicurrency)


def from_qbo(info: dict[str, Any], prefs: dict[str, Any], default_item_id: str | None) -> CompanyFacts:
    currency = prefs.get("CurrencyPrefs") or {}
    tax = prefs.get("TaxPrefs") or {}
    sales = prefs.get("SalesFormsPrefs") or {}
    return CompanyFacts(
        name=str(info.get("CompanyName") or ""),
        country=str(info.get("Country") or "US").upper(),
        home_currency=str((currency.get("HomeCurrency") or {}).get("value") or "USD").upper(),
        multicurrency=currency.get("MultiCurrencyEnabled") is True,
        using_sales_tax=tax.get("UsingSalesTax") is not False,
        allow_discount=sales.get("AllowDiscount") is not False,
        time_zone=str(info.get("DefaultTimeZone") or DEFAULT_TIME_ZONE),
        default_item_id=default_item_id,
    )


def _default_item(prefs: dict[str, Any]) -> str | None:
    for pair in (prefs.get("OtherPrefs") or {}).get("NameValue") or []:
        if pair.get("Name") == "SalesFormsPrefs.DefaultItem" and pair.get("Value"):
            return str(pair["Value"])
    return None


def facts(job: Job) -> CompanyFacts:
    """The company's facts, read from QBO at most once a day per integration."""
    integration = job.integration
    with job.connect() as conn:
        known = watermarks.read(conn, integration.id, STREAM)
    now = datetime.now(UTC)
    if known and known.value and now - known.value < TTL and "using_sales_tax" in known.state:
        return CompanyFacts(**known.state)
    info = job.qbo.company_info()
    prefs = job.qbo.preferences()
    item = _default_item(prefs)
    if item is None:
        found = job.qbo.query_one("SELECT * FROM Item WHERE Active = true ORDERBY Id")
        item = str(found["Id"]) if found else None
    company = from_qbo(info, prefs, item)
    with job.connect() as conn:
        watermarks.advance(conn, integration.id, STREAM, now, asdict(company), force=True)
        conn.commit()
    log.info("QuickBooks company %r: %s, home currency %s%s, sales tax %s, discounts %s", company.name,
             company.country, company.home_currency, " (multicurrency)" if company.multicurrency else "",
             "on" if company.using_sales_tax else "off", "allowed" if company.allow_discount else "not allowed")
    return company
