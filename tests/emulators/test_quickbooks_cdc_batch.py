"""Change data capture and batch on the QuickBooks emulator."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.emulators.qbo_client import Qbo, fault_code, invoice_body

PACIFIC = ZoneInfo("America/Los_Angeles")


def _ago(**delta: float) -> str:
    return (datetime.now(PACIFIC) - timedelta(**delta)).isoformat(timespec="seconds")


def _cdc(books: Qbo, entities: str, since: str):
    return books.session.get(
        f"{books.v3}/cdc", params={"entities": entities, "changedSince": since}, timeout=30
    )


def test_cdc_window_deletes_and_shape(qbo: str) -> None:
    books = Qbo.connect(qbo)
    books.seed(Customer=[{"DisplayName": "Old Timer", "MetaData": {"CreateTime": _ago(days=10)}}])
    fresh = books.create("Customer", {"DisplayName": "Newcomer"})
    sleeper = books.create("Customer", {"DisplayName": "Sleeper", "Active": False})
    invoice = books.create("Invoice", invoice_body(fresh["Id"], (1, 10)))
    receipt = books.create("SalesReceipt", invoice_body(fresh["Id"], (1, 5)))
    books.post("salesreceipt", {"Id": receipt["Id"], "SyncToken": "0"}, operation="delete")

    r = _cdc(books, "Customer,Invoice,SalesReceipt", _ago(hours=1))
    assert r.status_code == 200
    responses = r.json()["CDCResponse"][0]["QueryResponse"]
    customers = [c["DisplayName"] for c in responses[0]["Customer"]]
    assert customers == ["Newcomer", "Sleeper"] and sleeper["Active"] is False
    assert [i["Id"] for i in responses[1]["Invoice"]] == [invoice["Id"]]
    assert responses[2]["SalesReceipt"][0]["Id"] == receipt["Id"]
    assert responses[2]["SalesReceipt"][0]["status"] == "Deleted"
    assert (
        len(_cdc(books, "customer", _ago(days=11)).json()["CDCResponse"][0]["QueryResponse"][0]["Customer"])
        == 3
    )

    too_old = _cdc(books, "Customer", _ago(days=31))
    assert too_old.status_code == 400 and too_old.json()["Fault"]["type"] == "ValidationFault"


def test_cdc_caps_at_1000_oldest_first(qbo: str) -> None:
    books = Qbo.connect(qbo)
    start = datetime.now(PACIFIC) - timedelta(days=2)
    books.seed(
        Customer=[
            {
                "DisplayName": f"Bulk {n:04d}",
                "MetaData": {"CreateTime": (start + timedelta(seconds=n)).isoformat()},
            }
            for n in range(1100)
        ]
    )
    rows = _cdc(books, "Customer", _ago(days=3)).json()["CDCResponse"][0]["QueryResponse"][0]["Customer"]
    assert len(rows) == 1000
    assert rows[0]["DisplayName"] == "Bulk 0000" and rows[-1]["DisplayName"] == "Bulk 0999"


def test_batch_items_faults_and_limits(qbo: str) -> None:
    books = Qbo.connect(qbo)
    books.seed(Customer=[{"DisplayName": "Taken"}])
    request = {
        "BatchItemRequest": [
            {"bId": "b1", "operation": "create", "Customer": {"DisplayName": "Fresh"}},
            {"bId": "b2", "operation": "create", "Customer": {"DisplayName": "Taken"}},
            {
                "bId": "b3",
                "operation": "update",
                "Customer": {"Id": "1", "SyncToken": "7", "sparse": True, "Notes": "x"},
            },
            {"bId": "b4", "operation": "delete", "Invoice": {"Id": "129", "SyncToken": "0"}},
            {"bId": "b5", "Query": "select * from Customer where DisplayName = 'Fresh'"},
        ]
    }
    r = books.post("batch", request)
    assert r.status_code == 200
    items = {item["bId"]: item for item in r.json()["BatchItemResponse"]}
    assert items["b1"]["Customer"]["DisplayName"] == "Fresh"
    assert items["b2"]["Fault"]["Error"][0]["code"] == "6240"
    assert items["b3"]["Fault"]["Error"][0]["code"] == "5010"
    assert items["b4"]["Fault"]["Error"][0]["code"] == "610"
    assert items["b5"]["QueryResponse"]["Customer"][0]["DisplayName"] == "Fresh"

    replay = books.post("batch", request, requestid="batch-1")
    again = books.post("batch", request, requestid="batch-1")
    assert replay.json()["BatchItemResponse"] == again.json()["BatchItemResponse"]

    too_many = {"BatchItemRequest": [{"bId": str(n), "Query": "select * from Item"} for n in range(31)]}
    assert books.post("batch", too_many).status_code == 400
    dup = {"BatchItemRequest": [{"bId": "x", "Query": "select * from Item"}] * 2}
    assert books.post("batch", dup).status_code == 400
    assert fault_code(books.post("batch", dup)) == "2030"
