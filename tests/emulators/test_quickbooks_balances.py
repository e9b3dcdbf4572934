"""Customer balances on the QuickBooks emulator: kept by invoices, payments, voids and deletes."""

from __future__ import annotations

from tests.emulators.qbo_client import Qbo, invoice_body


def _balances(books: Qbo, customer_id: str) -> tuple[float, float]:
    body = books.read("Customer", customer_id)
    return body["Balance"], body["BalanceWithJobs"]


def test_balance_follows_open_invoices_of_the_customer_and_its_jobs(qbo: str) -> None:
    # Intuit's Customer reference: Balance is the open balance (unpaid amount) of the customer,
    # BalanceWithJobs that of the customer and all its sub-jobs.
    books = Qbo.connect(qbo)
    parent = books.create("Customer", {"DisplayName": "Holding Co"})
    job = books.create("Customer", {"DisplayName": "Kitchen Job", "ParentRef": {"value": parent["Id"]}})
    assert _balances(books, parent["Id"]) == (0, 0)
    own = books.create("Invoice", invoice_body(parent["Id"], (2, 50)))
    jobs = books.create("Invoice", invoice_body(job["Id"], (1, 25.5)))
    assert _balances(books, parent["Id"]) == (100.0, 125.5)
    assert _balances(books, job["Id"]) == (25.5, 25.5)
    # Balances move without touching the customer's SyncToken.
    assert books.read("Customer", parent["Id"])["SyncToken"] == "0"

    payment = books.create(
        "Payment",
        {
            "CustomerRef": {"value": job["Id"]},
            "TotalAmt": 20,
            "Line": [{"Amount": 20, "LinkedTxn": [{"TxnId": jobs["Id"], "TxnType": "Invoice"}]}],
        },
    )
    assert _balances(books, job["Id"]) == (5.5, 5.5)
    assert _balances(books, parent["Id"]) == (100.0, 105.5)
    books.post("payment", {"Id": payment["Id"], "SyncToken": "0"}, operation="delete").raise_for_status()
    assert _balances(books, parent["Id"]) == (100.0, 125.5)

    books.create("Invoice", {"Id": own["Id"], "SyncToken": "0"} | invoice_body(parent["Id"], (1, 80)))
    assert _balances(books, parent["Id"]) == (80.0, 105.5)
    books.post("invoice", {"Id": own["Id"], "SyncToken": "1"}, operation="void").raise_for_status()
    assert _balances(books, parent["Id"]) == (0, 25.5)
    current = books.read("Invoice", jobs["Id"])
    books.post("invoice", {"Id": jobs["Id"], "SyncToken": current["SyncToken"]}, operation="delete").raise_for_status()
    assert _balances(books, parent["Id"]) == (0, 0)
    listed = books.query("select * from Customer where Balance = '0' ORDERBY BalanceWithJobs")["Customer"]
    assert {c["Id"] for c in listed} == {parent["Id"], job["Id"]}


def test_customer_with_open_balance_cannot_be_made_inactive(qbo: str) -> None:
    # ruckus/quickbooks-ruby#390: QBO refuses to make a customer with an open balance inactive
    # ("Delete List Has Balance Error").
    books = Qbo.connect(qbo)
    customer = books.create("Customer", {"DisplayName": "Owes Money"})
    invoice = books.create("Invoice", invoice_body(customer["Id"], (1, 40)))
    refused = books.post("customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    assert refused.status_code == 400
    error = refused.json()["Fault"]["Error"][0]
    assert error["Message"] == "Delete List Has Balance Error"
    assert "non-zero balance" in error["Detail"]
    assert books.read("Customer", customer["Id"])["Active"] is True

    books.create(
        "Payment",
        {
            "CustomerRef": {"value": customer["Id"]},
            "TotalAmt": 40,
            "Line": [{"Amount": 40, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
        },
    )
    made_inactive = books.create(
        "Customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Active": False}
    )
    assert made_inactive["Active"] is False and made_inactive["Balance"] == 0
