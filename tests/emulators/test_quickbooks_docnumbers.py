"""DocNumbers of sales forms on the QuickBooks emulator: duplicates, allowduplicatedocnum, the
company's custom-numbers preference."""

from __future__ import annotations

from tests.emulators.qbo_client import Qbo, fault_code, invoice_body


def test_duplicate_doc_number_refused_unless_allowed(qbo: str) -> None:
    # Intuit's Invoice reference, as quoted in python-quickbooks PR #283 and QuickBooks-V3-DotNET-SDK#175:
    # a DocNumber already used is refused (6140) unless the request says include=allowduplicatedocnum.
    books = Qbo.connect(qbo)
    customer = books.create("Customer", {"DisplayName": "Numbered"})
    first = books.create("Invoice", invoice_body(customer["Id"], (1, 10), DocNumber="INV-7"))
    dup = books.post("invoice", invoice_body(customer["Id"], (1, 20), DocNumber="INV-7"))
    assert dup.status_code == 400 and fault_code(dup) == "6140"
    error = dup.json()["Fault"]["Error"][0]
    assert error["Message"] == "Duplicate Document Number Error" and f"TxnId={first['Id']}" in error["Detail"]
    allowed = books.post(
        "invoice", invoice_body(customer["Id"], (1, 20), DocNumber="INV-7"), include="allowduplicatedocnum"
    )
    assert allowed.status_code == 200 and allowed.json()["Invoice"]["DocNumber"] == "INV-7"
    # Another type has its own numbers; an update keeping its own number is no duplicate.
    assert books.create("SalesReceipt", invoice_body(customer["Id"], (1, 5), DocNumber="INV-7"))
    kept = books.create(
        "Invoice", {"Id": first["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "still INV-7"}
    )
    assert kept["DocNumber"] == "INV-7"
    # A number moves to another invoice once its holders are deleted.
    for invoice_id, token in ((first["Id"], "1"), (allowed.json()["Invoice"]["Id"], "0")):
        books.post("invoice", {"Id": invoice_id, "SyncToken": token}, operation="delete").raise_for_status()
    assert books.create("Invoice", invoice_body(customer["Id"], (1, 30), DocNumber="INV-7"))["DocNumber"] == "INV-7"


def test_batch_items_carry_allowduplicatedocnum_in_options_data(qbo: str) -> None:
    # QuickBooks-V3-DotNET-SDK#175: in a batch the include goes into the item's optionsData.
    books = Qbo.connect(qbo)
    customer = books.create("Customer", {"DisplayName": "Batch Numbered"})
    books.create("SalesReceipt", invoice_body(customer["Id"], (1, 5), DocNumber="R-1"))
    receipt = invoice_body(customer["Id"], (1, 6), DocNumber="R-1")
    r = books.post(
        "batch",
        {
            "BatchItemRequest": [
                {"bId": "plain", "operation": "create", "SalesReceipt": receipt},
                {
                    "bId": "allowed",
                    "operation": "create",
                    "optionsData": "allowduplicatedocnum",
                    "SalesReceipt": receipt,
                },
            ]
        },
    )
    answers = {a["bId"]: a for a in r.json()["BatchItemResponse"]}
    assert answers["plain"]["Fault"]["Error"][0]["code"] == "6140"
    assert answers["allowed"]["SalesReceipt"]["DocNumber"] == "R-1"


def test_custom_numbers_preference_decides_numbering_and_the_check(qbo: str) -> None:
    # Intuit's Invoice reference (DocNumber): with Preferences SalesFormsPrefs.CustomTxnNumbers on, a
    # DocNumber not given stays empty; off, QBO numbers the transaction and stores a given number as it
    # is ("can lead to unwanted duplicates").
    books = Qbo.connect(qbo)
    customer = books.create("Customer", {"DisplayName": "Preference Holder"})
    assert "DocNumber" not in books.create("Invoice", invoice_body(customer["Id"], (1, 10)))
    assert "DocNumber" not in books.create("Invoice", invoice_body(customer["Id"], (1, 10), DocNumber=""))
    too_long = books.post("invoice", invoice_body(customer["Id"], (1, 10), DocNumber="X" * 22))
    assert too_long.status_code == 400

    prefs = books.set_preferences(Preferences={"SalesFormsPrefs": {"CustomTxnNumbers": False}})
    assert prefs["Preferences"]["SalesFormsPrefs"]["CustomTxnNumbers"] is False
    numbered = books.create("Invoice", invoice_body(customer["Id"], (1, 10)))
    following = books.create("SalesReceipt", invoice_body(customer["Id"], (1, 10)))
    assert int(following["DocNumber"]) == int(numbered["DocNumber"]) + 1
    twice = [
        books.create("Invoice", invoice_body(customer["Id"], (1, 10), DocNumber="SAME"))["Id"] for _ in range(2)
    ]
    found = books.query("select * from Invoice where DocNumber = 'SAME'")["Invoice"]
    assert sorted(i["Id"] for i in found) == sorted(twice)
