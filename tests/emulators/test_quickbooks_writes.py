"""Writes on the QuickBooks emulator: names, SyncTokens, totals, payments, void, delete, requestid replay."""

from __future__ import annotations

from decimal import Decimal

import requests

from tests.emulators.qbo_client import Qbo, fault_code, invoice_body


def test_display_name_unique_including_inactive(qbo: str) -> None:
    books = Qbo.connect(qbo)
    books.seed(Customer=[{"DisplayName": "Weiskopf Consulting", "Active": False}])
    dup = books.post("customer", {"DisplayName": "weiskopf consulting"})
    assert dup.status_code == 400 and fault_code(dup) == "6240"
    assert dup.json()["Fault"]["Error"][0]["Message"] == "Duplicate Name Exists Error"
    for bad in ("a:b", "tab\there", "new\nline", "x" * 501):
        r = books.post("customer", {"DisplayName": bad})
        assert r.status_code == 400 and r.json()["Fault"]["type"] == "ValidationFault", bad
    assert books.create("Customer", {"DisplayName": "x" * 500})["DisplayName"] == "x" * 500


def test_stale_sync_token_and_sparse_update(qbo: str) -> None:
    books = Qbo.connect(qbo)
    made = books.create("Customer", {"DisplayName": "Jack Moe", "GivenName": "Jack"})
    assert made["SyncToken"] == "0"
    updated = books.create(
        "Customer",
        {
            "Id": made["Id"],
            "SyncToken": "0",
            "sparse": True,
            "PrimaryPhone": {"FreeFormNumber": "(415) 444-1234"},
        },
    )
    assert updated["SyncToken"] == "1" and updated["GivenName"] == "Jack"
    stale = books.post("customer", {"Id": made["Id"], "SyncToken": "0", "sparse": True, "Notes": "late"})
    assert stale.status_code == 400 and fault_code(stale) == "5010"
    full = books.create("Customer", {"Id": made["Id"], "SyncToken": "1", "DisplayName": "Jack Moe"})
    assert "GivenName" not in full and full["SyncToken"] == "2"


def test_unknown_property_and_required_fields(qbo: str) -> None:
    books = Qbo.connect(qbo)
    r = books.post("invoice", {"BadJson": True})
    assert r.status_code == 400 and fault_code(r) == "2010"
    assert '"BadJson"' in r.json()["Fault"]["Error"][0]["Detail"]
    assert fault_code(books.post("invoice", {"Line": []})) == "2020"
    missing_customer = books.post("invoice", invoice_body("999", (1, 10)))
    assert missing_customer.status_code == 400 and fault_code(missing_customer) == "2500"
    customer = books.create("Customer", {"DisplayName": "Amy's Bird Sanctuary"})
    assert fault_code(books.post("invoice", {"CustomerRef": {"value": customer["Id"]}})) == "2020"


def test_totals_with_discount_and_tax_exact_to_the_cent(qbo: str) -> None:
    books = Qbo.connect(qbo)
    customer = books.create("Customer", {"DisplayName": "Cool Cars"})
    body = invoice_body(customer["Id"], (3, 19.99), (2.5, 10.01), TxnTaxDetail={"TotalTax": 4.87})
    body["Line"].append(
        {
            "DetailType": "DiscountLineDetail",
            "DiscountLineDetail": {"PercentBased": True, "DiscountPercent": 12.5},
        }
    )
    invoice = books.create("Invoice", body)
    # 59.97 + 25.025→25.03 = 85.00; discount 12.5 % = 10.625→10.63; total 85.00 - 10.63 + 4.87 = 79.24
    amounts = [Decimal(str(line["Amount"])) for line in invoice["Line"]]
    assert amounts == [Decimal("59.97"), Decimal("25.03"), Decimal("85"), Decimal("10.63")]
    assert invoice["Line"][2]["DetailType"] == "SubTotalLineDetail"
    assert Decimal(str(invoice["TotalAmt"])) == Decimal("79.24")
    assert Decimal(str(invoice["Balance"])) == Decimal("79.24")
    mismatch = invoice_body(customer["Id"], (3, 10))
    mismatch["Line"][0]["Amount"] = 31
    r = books.post("invoice", mismatch)
    assert r.status_code == 400 and fault_code(r) == "6070"


def test_tax_from_company_rate_and_sales_receipt(qbo: str) -> None:
    requests.post(
        f"{qbo}/_admin/seed",
        json={
            "companies": [{"realmId": "5555555555555555555", "CompanyName": "Taxed", "TaxRates": {"2": 8}}]
        },
        timeout=5,
    )
    books = Qbo.connect(qbo, "5555555555555555555")
    customer = books.create("Customer", {"DisplayName": "Taxed Buyer"})
    body = invoice_body(customer["Id"], (10, 2), (6, 4), TxnTaxDetail={"TxnTaxCodeRef": {"value": "2"}})
    for line in body["Line"]:
        line["SalesItemLineDetail"]["TaxCodeRef"] = {"value": "TAX"}
    invoice = books.create("Invoice", body)
    assert invoice["TxnTaxDetail"]["TotalTax"] == 3.52 and invoice["TotalAmt"] == 47.52
    receipt = books.create("SalesReceipt", invoice_body(customer["Id"], (1, 99.995)))
    assert receipt["TotalAmt"] == 100.0 and receipt["Balance"] == 0
    assert receipt["DepositToAccountRef"]["name"] == "Undeposited Funds"
    deleted = books.post("salesreceipt", {"Id": receipt["Id"], "SyncToken": "0"}, operation="delete")
    assert deleted.json()["SalesReceipt"]["status"] == "Deleted"
    assert books.session.get(f"{books.v3}/salesreceipt/{receipt['Id']}", timeout=5).status_code == 400


def test_foreign_currency_refused_without_multicurrency(qbo: str) -> None:
    books = Qbo.connect(qbo)
    customer = books.create("Customer", {"DisplayName": "Euro Buyer"})
    r = books.post("invoice", invoice_body(customer["Id"], (1, 5), CurrencyRef={"value": "EUR"}))
    assert r.status_code == 400 and r.json()["Fault"]["type"] == "ValidationFault"


def test_payment_moves_balance_and_blocks_void(qbo: str) -> None:
    books = Qbo.connect(qbo)
    customer = books.create("Customer", {"DisplayName": "Payer"})
    invoice = books.create("Invoice", invoice_body(customer["Id"], (2, 50)))
    payment = books.create(
        "Payment",
        {
            "CustomerRef": {"value": customer["Id"]},
            "TotalAmt": 40,
            "Line": [{"Amount": 40, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
        },
    )
    after = books.read("Invoice", invoice["Id"])
    assert after["SyncToken"] == "1" and after["Balance"] == 60.0
    assert after["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "Payment"}]
    # The invoice moved under the client: its old token is stale now.
    stale = books.post("invoice", {"Id": invoice["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "x"})
    assert fault_code(stale) == "5010"
    over = books.post(
        "payment",
        {
            "CustomerRef": {"value": customer["Id"]},
            "TotalAmt": 70,
            "Line": [{"Amount": 70, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
        },
    )
    assert over.status_code == 400
    refused = books.post("invoice", {"Id": invoice["Id"], "SyncToken": "1"}, operation="void")
    assert refused.status_code == 400 and refused.json()["Fault"]["type"] == "ValidationFault"
    gone = books.post("payment", {"Id": payment["Id"], "SyncToken": "0"}, operation="delete")
    assert gone.status_code == 200
    restored = books.read("Invoice", invoice["Id"])
    assert restored["Balance"] == 100.0 and restored["SyncToken"] == "2" and restored["LinkedTxn"] == []
    voided = books.create("Invoice", {"Id": invoice["Id"], "SyncToken": "2"}, operation="void")
    assert voided["TotalAmt"] == 0 and voided["Balance"] == 0 and voided["SyncToken"] == "3"
    assert voided["PrivateNote"].startswith("Voided")


def test_requestid_replays_first_answer(qbo: str) -> None:
    books = Qbo.connect(qbo)
    first = books.post("customer", {"DisplayName": "Once Only"}, requestid="rid-1")
    second = books.post("customer", {"DisplayName": "Once Only"}, requestid="rid-1")
    assert first.status_code == second.status_code == 200
    assert first.json()["Customer"] == second.json()["Customer"]
    assert books.query("select count(*) from Customer where DisplayName = 'Once Only'") == {"totalCount": 1}
    # Another id is another write: here a duplicate name.
    assert fault_code(books.post("customer", {"DisplayName": "Once Only"}, requestid="rid-2")) == "6240"
    invoice = books.create("Invoice", invoice_body(first.json()["Customer"]["Id"], (1, 10)))
    pay = {
        "CustomerRef": {"value": first.json()["Customer"]["Id"]},
        "TotalAmt": 4,
        "Line": [{"Amount": 4, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
    }
    for _ in range(3):
        assert books.post("payment", pay, requestid="pay-1").status_code == 200
    assert books.read("Invoice", invoice["Id"])["Balance"] == 6.0


def test_metadata_in_pacific_time(qbo: str) -> None:
    books = Qbo.connect(qbo)
    made = books.post("customer", {"DisplayName": "Clock Watcher"})
    stamp = made.json()["Customer"]["MetaData"]["CreateTime"]
    assert stamp[-6:] in ("-08:00", "-07:00") and len(stamp) == 25
    assert made.json()["time"][-6:] in ("-08:00", "-07:00") and "." in made.json()["time"]


def test_client_library_defaults_are_taken_as_not_given(qbo: str) -> None:
    # What python-quickbooks sends for Invoice() and SalesItemLineDetail() left at their defaults
    # (DocNumber, TxnDate, DueDate "" ; Qty 0 and UnitPrice 0 beside the Amount); its integration tests
    # save exactly this against a sandbox (test_invoice::create_invoice), and QBO keeps the Amount.
    books = Qbo.connect(qbo)
    customer = books.create("Customer", {"DisplayName": "Library Default"})
    body = {
        "Deposit": 0,
        "Balance": 0,
        "AllowIPNPayment": False,
        "DocNumber": "",
        "PrivateNote": "",
        "TxnDate": "",
        "DueDate": "",
        "ShipDate": "",
        "TrackingNum": "",
        "TotalAmt": "",
        "ApplyTaxAfterDiscount": False,
        "PrintStatus": "NotSet",
        "EmailStatus": "NotSet",
        "ExchangeRate": 1,
        "GlobalTaxCalculation": "TaxExcluded",
        "CustomField": [],
        "LinkedTxn": [],
        "CustomerRef": {"value": customer["Id"], "name": customer["DisplayName"]},
        "CustomerMemo": {"value": "Customer Memo"},
        "Line": [
            {
                "Id": None,
                "LineNum": 1,
                "Description": "description",
                "Amount": 100,
                "DetailType": "SalesItemLineDetail",
                "LinkedTxn": [],
                "CustomField": [],
                "SalesItemLineDetail": {
                    "UnitPrice": 0,
                    "Qty": 0,
                    "ServiceDate": "",
                    "ItemRef": {"value": "1", "name": "Services"},
                },
            }
        ],
    }
    invoice = books.create("Invoice", body)
    assert invoice["TotalAmt"] == 100.0 and invoice["Line"][0]["Amount"] == 100.0
    assert "Qty" not in invoice["Line"][0]["SalesItemLineDetail"]
    assert invoice["TxnDate"] and invoice["DueDate"] > invoice["TxnDate"]
    # A real disagreement between Qty x UnitPrice and Amount is still refused (6070).
    body["Line"][0]["SalesItemLineDetail"] |= {"Qty": 2, "UnitPrice": 0}
    assert fault_code(books.post("invoice", body)) == "6070"
    receipt = books.create(
        "SalesReceipt", invoice_body(customer["Id"], (1, 9)) | {"TxnDate": "", "DocNumber": "SR-empty-date"}
    )
    assert receipt["TxnDate"] == invoice["TxnDate"]
    payment = books.create(
        "Payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": 5, "TxnDate": ""}
    )
    assert payment["TxnDate"] == invoice["TxnDate"]
