"""CompanyInfo and Preferences on the QuickBooks emulator: reads, queries, seeding and their effects."""

from __future__ import annotations

import requests

from tests.emulators.qbo_client import Qbo, fault_code, invoice_body


def test_company_info_and_preferences_read_and_query(qbo: str) -> None:
    # Intuit's CompanyInfo and Preferences references: GET companyinfo/{realmId} and GET preferences, one
    # of each per company (Id 1), also answered to SELECT * FROM CompanyInfo / Preferences.
    books = Qbo.connect(qbo, CompanyName="Acme Gardens")
    info = books.session.get(f"{books.v3}/companyinfo/{books.realm}", timeout=5).json()["CompanyInfo"]
    assert info["CompanyName"] == "Acme Gardens" and info["LegalName"] == "Acme Gardens"
    assert info["Country"] == "US" and info["Id"] == "1" and info["CompanyAddr"]["City"]
    assert info["Email"]["Address"] and info["DefaultTimeZone"] == "America/Los_Angeles"
    prefs = books.session.get(f"{books.v3}/preferences", timeout=5).json()["Preferences"]
    assert prefs["CurrencyPrefs"] == {"HomeCurrency": {"value": "USD"}, "MultiCurrencyEnabled": False}
    assert prefs["TaxPrefs"]["UsingSalesTax"] is True and prefs["TaxPrefs"]["PartnerTaxEnabled"] is False
    sales = prefs["SalesFormsPrefs"]
    assert {"CustomTxnNumbers", "AllowDiscount", "AllowShipping", "AllowDeposit"} <= set(sales)
    assert books.query("SELECT * FROM Preferences") == {
        "Preferences": [prefs],
        "startPosition": 1,
        "maxResults": 1,
    }
    assert books.query("select * from CompanyInfo")["CompanyInfo"] == [info]
    wrong = books.session.get(f"{books.v3}/companyinfo/123", timeout=5)
    assert wrong.status_code == 400 and fault_code(wrong) == "610"


def test_seeded_facts_and_preferences_are_kept_when_seeding_again(qbo: str) -> None:
    # Judgement (company_settings.configure): a seed sets only what it names, like QBO's settings pages.
    realm = "4620816365000000777"
    seeded = requests.post(
        f"{qbo}/_admin/seed",
        json={
            "companies": [
                {
                    "realmId": realm,
                    "CompanyName": "Maple Leaf Landscaping",
                    "HomeCurrency": "CAD",
                    "MultiCurrencyEnabled": True,
                    "Country": "CA",
                    "DefaultTimeZone": "America/Toronto",
                    "Preferences": {
                        "SalesFormsPrefs": {"AllowDiscount": False},
                        "TaxPrefs": {"UsingSalesTax": False},
                    },
                }
            ]
        },
        timeout=5,
    )
    assert seeded.status_code == 200, seeded.text
    # Seeding again (entities, or the company by name only) changes nothing it does not name.
    requests.post(
        f"{qbo}/_admin/seed",
        json={"companies": [{"realmId": realm, "CompanyName": "Maple Leaf Landscaping Ltd"}]},
        timeout=5,
    ).raise_for_status()
    books = Qbo.connect(qbo, realm)
    books.seed(Customer=[{"DisplayName": "Toronto Buyer"}])
    state = requests.get(f"{qbo}/_admin/preferences/{realm}", timeout=5).json()
    prefs, info = state["Preferences"], state["CompanyInfo"]
    assert prefs["CurrencyPrefs"] == {"HomeCurrency": {"value": "CAD"}, "MultiCurrencyEnabled": True}
    assert prefs["SalesFormsPrefs"]["AllowDiscount"] is False and prefs["TaxPrefs"]["UsingSalesTax"] is False
    assert info["Country"] == "CA" and info["DefaultTimeZone"] == "America/Toronto"
    assert info["CompanyName"] == "Maple Leaf Landscaping Ltd"
    customer = books.query("select * from Customer")["Customer"][0]
    assert customer["CurrencyRef"]["value"] == "CAD"
    # Multicurrency on: another currency is accepted.
    eur = books.create("Invoice", invoice_body(customer["Id"], (1, 10), CurrencyRef={"value": "EUR"}))
    assert eur["CurrencyRef"]["value"] == "EUR"
    assert int(prefs["SyncToken"]) >= 1


def test_sales_tax_off_ignores_the_transaction_tax(qbo: str) -> None:
    # Intuit's RefundReceipt reference (TxnTaxDetail): with Preferences.TaxPrefs.UsingSalesTax false,
    # TxnTaxDetail is ignored and not stored.
    books = Qbo.connect(qbo)
    customer = books.create("Customer", {"DisplayName": "Tax Free"})
    taxed = books.create("SalesReceipt", invoice_body(customer["Id"], (1, 100), TxnTaxDetail={"TotalTax": 8}))
    assert taxed["TotalAmt"] == 108.0
    books.set_preferences(Preferences={"TaxPrefs": {"UsingSalesTax": False}})
    untaxed = books.create(
        "SalesReceipt", invoice_body(customer["Id"], (1, 100), TxnTaxDetail={"TotalTax": 8})
    )
    assert untaxed["TotalAmt"] == 100.0 and untaxed["TxnTaxDetail"]["TotalTax"] == 0


def test_preferences_endpoint_refuses_unknown_sections(qbo: str) -> None:
    # Finance.xsd's Preferences sections (PREFERENCE_SECTIONS); judgement: any other is refused, not ignored.
    books = Qbo.connect(qbo)
    r = requests.post(
        f"{qbo}/_admin/preferences/{books.realm}", json={"Preferences": {"NoSuchPrefs": {}}}, timeout=5
    )
    assert r.status_code == 400
    assert requests.post(f"{qbo}/_admin/preferences/{books.realm}", json={"Other": {}}, timeout=5).status_code == 400
