"""A company's Preferences and CompanyInfo: US defaults, seeding, and the bodies QBO answers with.

Shapes follow the v3 schema (Finance.xsd: Preferences, CompanyInfo) and the Preferences Intuit's sample
company answers with (CurrencyPrefs, TaxPrefs, SalesFormsPrefs, OtherPrefs NameValue pairs such as
WarnDuplicateCheckNumber). What the emulator acts on:

- CurrencyPrefs.HomeCurrency / MultiCurrencyEnabled: the currencies transactions may use.
- TaxPrefs.UsingSalesTax: off, a transaction's TxnTaxDetail is ignored and not stored (Intuit's
  RefundReceipt reference, TxnTaxDetail).
- SalesFormsPrefs.CustomTxnNumbers: on, a DocNumber is the client's to give (none given stays none) and a
  DocNumber already used by another transaction of the same type is refused (Fault 6140) unless the
  request carries ``include=allowduplicatedocnum``; off, QBO numbers transactions itself and stores a
  supplied DocNumber unchecked ("do not send a value as it can lead to unwanted duplicates", Intuit's
  Invoice reference, DocNumber). Judgement: new US companies start with it off, the emulator starts with
  it on, because that is where a sync's own DocNumbers are kept and duplicates refused: more to get
  wrong. Seed ``{"Preferences": {"SalesFormsPrefs": {"CustomTxnNumbers": false}}}`` for the other.

Everything else (AllowDiscount, AllowShipping, PartnerTaxEnabled, Country, DefaultTimeZone, ...) is
reported as seeded, for a sync to read; the emulator does not act on it.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from emulators.quickbooks import faults
from emulators.quickbooks.clock import meta_time, now, txn_date

if TYPE_CHECKING:
    from emulators.quickbooks.store import Company

PREFERENCE_SECTIONS = frozenset(
    {
        "AccountingInfoPrefs",
        "AdvancedInventoryPrefs",
        "ProductAndServicesPrefs",
        "SalesFormsPrefs",
        "EmailMessagesPrefs",
        "PrintDocumentPrefs",
        "VendorAndPurchasesPrefs",
        "TimeTrackingPrefs",
        "TaxPrefs",
        "FinanceChargesPrefs",
        "CurrencyPrefs",
        "ReportPrefs",
        "OtherPrefs",
    }
)
US_ADDRESS = {
    "Id": "1",
    "Line1": "2700 Coast Ave",
    "City": "Mountain View",
    "CountrySubDivisionCode": "CA",
    "PostalCode": "94043",
    "Country": "US",
}


def default_preferences() -> dict[str, Any]:
    return {
        "AccountingInfoPrefs": {
            "FirstMonthOfFiscalYear": "January",
            "UseAccountNumbers": False,
            "TaxYearMonth": "January",
            "ClassTrackingPerTxn": False,
            "ClassTrackingPerTxnLine": False,
            "TrackDepartments": False,
            "CustomerTerminology": "Customers",
        },
        "ProductAndServicesPrefs": {
            "ForSales": True,
            "ForPurchase": True,
            "QuantityWithPriceAndRate": True,
            "QuantityOnHand": True,
        },
        "SalesFormsPrefs": {
            "CustomTxnNumbers": True,
            "AllowDeposit": False,
            "AllowDiscount": True,
            "DefaultDiscountAccount": "3",
            "AllowEstimates": True,
            "AllowServiceDate": False,
            "AllowShipping": False,
            "AutoApplyCredit": True,
            "AutoApplyPayments": True,
            "EmailCopyToCompany": False,
            "ETransactionEnabledStatus": "NotApplicable",
            "ETransactionAttachPDF": False,
            "ETransactionPaymentEnabled": False,
            "IPNSupportEnabled": False,
            "UsingPriceLevels": False,
            "UsingProgressInvoicing": False,
        },
        "VendorAndPurchasesPrefs": {"BillableExpenseTracking": False, "TrackingByCustomer": False},
        "TimeTrackingPrefs": {
            "UseServices": True,
            "BillCustomers": True,
            "ShowBillRateToAll": False,
            "WorkWeekStartDate": "Monday",
            "MarkTimeEntriesBillable": True,
        },
        "TaxPrefs": {"UsingSalesTax": True, "PartnerTaxEnabled": False},
        "CurrencyPrefs": {"HomeCurrency": {"value": "USD"}, "MultiCurrencyEnabled": False},
        "ReportPrefs": {"ReportBasis": "Accrual", "CalcAgingReportFromTxnDate": False},
        "OtherPrefs": {
            "NameValue": [
                {"Name": "SalesFormsPrefs.DefaultItem", "Value": "1"},
                {"Name": "DateFormat", "Value": "Month Date Year separated by a slash"},
                {"Name": "NumberFormat", "Value": "US Number Format"},
                {"Name": "WarnDuplicateCheckNumber", "Value": "true"},
                {"Name": "WarnDuplicateBillNumber", "Value": "false"},
                {"Name": "WarnDuplicateJournalNumber", "Value": "false"},
            ]
        },
    }


def default_company_info() -> dict[str, Any]:
    return {
        "LegalName": None,  # the company name unless seeded
        "CompanyAddr": dict(US_ADDRESS),
        "CustomerCommunicationAddr": dict(US_ADDRESS),
        "LegalAddr": dict(US_ADDRESS),
        "CustomerCommunicationEmailAddr": {"Address": "books@example.com"},
        "PrimaryPhone": {"FreeFormNumber": "(650) 555-0100"},
        "CompanyStartDate": None,  # the day the company was made unless seeded
        "FiscalYearStartMonth": "January",
        "Country": "US",
        "Email": {"Address": "books@example.com"},
        "WebAddr": {},
        "SupportedLanguages": "en",
        "DefaultTimeZone": "America/Los_Angeles",
        "NameValue": [
            {"Name": "NeoEnabled", "Value": "true"},
            {"Name": "IndustryType", "Value": "Landscaping Services"},
            {"Name": "CompanyType", "Value": "Other"},
            {"Name": "SubscriptionStatus", "Value": "SUBSCRIBED"},
            {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
            {"Name": "PayrollFeature", "Value": "false"},
            {"Name": "AccountantFeature", "Value": "false"},
            {"Name": "ItemCategoriesFeature", "Value": "true"},
        ],
    }


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Objects merge key by key; anything else (lists included) is replaced."""
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def configure(
    company: Company,
    home_currency: str | None = None,
    multicurrency: bool | None = None,
    preferences: dict[str, Any] | None = None,
    info: dict[str, Any] | None = None,
) -> None:
    """Apply what is given and nothing else: an omitted setting keeps its current value. The settings'
    SyncToken moves only when something changed."""
    if not isinstance(preferences or {}, dict):
        raise faults.malformed_body("Preferences")
    if not isinstance(info or {}, dict):
        raise faults.malformed_body("CompanyInfo")
    changes: dict[str, Any] = copy.deepcopy(preferences or {})
    unknown = sorted(set(changes) - PREFERENCE_SECTIONS)
    if unknown:
        raise faults.unsupported_property(unknown[0], "Preferences", sorted(PREFERENCE_SECTIONS))
    currency = changes.setdefault("CurrencyPrefs", {})
    if home_currency:
        currency["HomeCurrency"] = {"value": str(home_currency)}
    if multicurrency is not None:
        currency["MultiCurrencyEnabled"] = bool(multicurrency)
    info = dict(info or {})
    before = (company.name, company.preferences, company.info)
    if info.get("CompanyName"):
        company.name = str(info.pop("CompanyName"))
    company.preferences = _merge(company.preferences, changes)
    company.info = _merge(company.info, info)
    if (company.name, company.preferences, company.info) != before or company.settings_token == 0:
        company.settings_token += 1
        company.settings_updated = now()


def _head(company: Company) -> dict[str, Any]:
    return {
        "domain": "QBO",
        "sparse": False,
        "Id": "1",
        "SyncToken": str(max(company.settings_token - 1, 0)),
        "MetaData": {
            "CreateTime": meta_time(company.created_at),
            "LastUpdatedTime": meta_time(company.settings_updated),
        },
    }


def company_info_body(company: Company) -> dict[str, Any]:
    info = dict(company.info)
    info["LegalName"] = info.get("LegalName") or company.name
    info["CompanyStartDate"] = info.get("CompanyStartDate") or txn_date(company.created_at)
    return _head(company) | {"CompanyName": company.name} | {k: v for k, v in info.items() if v is not None}


def preferences_body(company: Company) -> dict[str, Any]:
    return _head(company) | copy.deepcopy(company.preferences)
