"""Voiding payments and sales receipts on the QuickBooks emulator, and what a void gives back."""

from __future__ import annotations

from typing import Any

from tests.emulators.qbo_client import Qbo, fault_code, invoice_body


def _pay(books: Qbo, customer_id: str, invoice_id: str, amount: float) -> dict[str, Any]:
    return books.create(
        "Payment",
        {
            "CustomerRef": {"value": customer_id},
            "TotalAmt": amount,
            "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}],
        },
    )


def _void(books: Qbo, entity: str, body: dict[str, Any]):
    return books.post(
        entity.lower(),
        {"Id": body["Id"], "SyncToken": body["SyncToken"], "sparse": True},
        operation="update",
        include="void",
    )


def test_voided_payment_is_zeroed_and_gives_the_invoice_its_balance_back(qbo: str) -> None:
    # Intuit's Payment reference ("Void a payment": amounts zeroed, "Voided" put before PrivateNote;
    # its answer shows Line []), and python-quickbooks' integration test test_payment::test_void, which
    # reads back TotalAmt 0 and "Voided" in PrivateNote from a sandbox.
    books = Qbo.connect(qbo)
    customer = books.create("Customer", {"DisplayName": "Void Payer"})
    invoice = books.create("Invoice", invoice_body(customer["Id"], (1, 100)))
    payment = _pay(books, customer["Id"], invoice["Id"], 40)
    payment = books.create("Payment", {**payment, "sparse": True, "PrivateNote": "card 4242"})
    assert books.read("Invoice", invoice["Id"])["Balance"] == 60.0
    assert books.read("Customer", customer["Id"])["Balance"] == 60.0

    stale = books.post(
        "payment", {"Id": payment["Id"], "SyncToken": "0", "sparse": True}, operation="update", include="void"
    )
    assert stale.status_code == 400 and fault_code(stale) == "5010"
    voided = _void(books, "Payment", payment)
    assert voided.status_code == 200, voided.text
    body = voided.json()["Payment"]
    assert body["TotalAmt"] == 0 and body["UnappliedAmt"] == 0 and body["Line"] == []
    assert body["PrivateNote"] == "Voided - card 4242"
    assert int(body["SyncToken"]) == int(payment["SyncToken"]) + 1
    assert books.read("Payment", payment["Id"]) == body  # it stays, voided

    paid_back = books.read("Invoice", invoice["Id"])
    assert paid_back["Balance"] == 100.0 and paid_back["LinkedTxn"] == []
    assert paid_back["SyncToken"] == "2"  # applied, then given back
    assert books.read("Customer", customer["Id"])["Balance"] == 100.0
    # The invoice can now be voided; the voided payment cannot be changed or voided again.
    again = _void(books, "Payment", body)
    assert again.status_code == 400 and again.json()["Fault"]["type"] == "ValidationFault"
    changed = books.post("payment", {"Id": body["Id"], "SyncToken": body["SyncToken"], "sparse": True, "TotalAmt": 5})
    assert changed.status_code == 400
    assert books.post("invoice", {"Id": invoice["Id"], "SyncToken": "2"}, operation="void").status_code == 200


def test_voided_sales_receipt_is_zeroed(qbo: str) -> None:
    # Intuit's SalesReceipt reference ("Void a sales receipt": its answer keeps the lines with Amount 0
    # and Qty 0, TotalAmt 0, PrivateNote "Voided") and python-quickbooks' test_salesreceipt::test_void.
    books = Qbo.connect(qbo)
    customer = books.create("Customer", {"DisplayName": "Receipt Holder"})
    receipt = books.create(
        "SalesReceipt",
        invoice_body(customer["Id"], (2, 12.5), TxnTaxDetail={"TotalTax": 2}, DocNumber="SR-1"),
    )
    assert receipt["TotalAmt"] == 27.0 and "PrivateNote" not in receipt
    voided = _void(books, "SalesReceipt", receipt)
    assert voided.status_code == 200, voided.text
    body = voided.json()["SalesReceipt"]
    assert body["TotalAmt"] == 0 and body["Balance"] == 0 and body["PrivateNote"] == "Voided"
    assert body["TxnTaxDetail"]["TotalTax"] == 0 and body["SyncToken"] == "1"
    item_line, subtotal = body["Line"][0], body["Line"][1]
    assert item_line["Amount"] == 0 and item_line["SalesItemLineDetail"]["Qty"] == 0
    assert "UnitPrice" not in item_line["SalesItemLineDetail"]
    assert subtotal["DetailType"] == "SubTotalLineDetail" and subtotal["Amount"] == 0
    assert body["DocNumber"] == "SR-1"
    assert books.read("SalesReceipt", receipt["Id"]) == body
    listed = books.query(f"select * from SalesReceipt where Id = '{receipt['Id']}'")["SalesReceipt"]
    assert listed == [body]


def test_void_in_a_batch_and_where_void_does_not_apply(qbo: str) -> None:
    # A batch item voids with operation "update" and optionsData "void" (Intuit developer blog
    # 2023-07-19, "Batch without a Scratch"); operation=void is for invoices: on a payment QBO does not
    # void (Intuit's PHP SDK sends payments and sales receipts through update&include=void).
    books = Qbo.connect(qbo)
    customer = books.create("Customer", {"DisplayName": "Batch Voider"})
    receipt = books.create("SalesReceipt", invoice_body(customer["Id"], (1, 30)))
    r = books.post(
        "batch",
        {
            "BatchItemRequest": [
                {
                    "bId": "v1",
                    "operation": "update",
                    "optionsData": "void",
                    "SalesReceipt": {"Id": receipt["Id"], "SyncToken": "0", "sparse": True},
                }
            ]
        },
    )
    answer = r.json()["BatchItemResponse"][0]
    assert answer["SalesReceipt"]["TotalAmt"] == 0 and answer["SalesReceipt"]["PrivateNote"] == "Voided"

    invoice = books.create("Invoice", invoice_body(customer["Id"], (1, 10)))
    payment = _pay(books, customer["Id"], invoice["Id"], 10)
    wrong = books.post("payment", {"Id": payment["Id"], "SyncToken": "0"}, operation="void")
    assert wrong.status_code == 400 and wrong.json()["Fault"]["type"] == "ValidationFault"
    not_here = books.post(
        "invoice", {"Id": invoice["Id"], "SyncToken": "1", "sparse": True}, operation="update", include="void"
    )
    assert not_here.status_code == 400
    assert books.read("Payment", payment["Id"])["TotalAmt"] == 10.0
