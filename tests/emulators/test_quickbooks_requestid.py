"""requestid on the QuickBooks emulator: lengths, the bIds of a batch that carries one, and replay."""

from __future__ import annotations

from tests.emulators.qbo_client import Qbo, fault_code


def _detail(response) -> str:
    return response.json()["Fault"]["Error"][0]["Detail"]


def test_requestid_lengths(qbo: str) -> None:
    # Intuit developer blog 2015-04-06 ("requestid"): at most 50 characters, 36 on /batch; the refusal's
    # shape is the one QBO gave in QuickBooks-V3-Java-SDK#180.
    books = Qbo.connect(qbo)
    too_long = books.post("customer", {"DisplayName": "Long Id"}, requestid="r" * 51)
    assert too_long.status_code == 400 and fault_code(too_long) == "6000"
    assert "more than 50 characters in the request_id field" in _detail(too_long)
    assert "which is 51 characters" in _detail(too_long)
    assert books.query("select count(*) from Customer") == {"totalCount": 0}
    assert books.post("customer", {"DisplayName": "Long Id"}, requestid="r" * 50).status_code == 200

    batch = {"BatchItemRequest": [{"bId": "1", "Query": "select * from Item"}]}
    refused = books.post("batch", batch, requestid="b" * 37)
    assert refused.status_code == 400 and "more than 36 characters" in _detail(refused)
    assert books.post("batch", batch, requestid="b" * 36).status_code == 200


def test_batch_with_requestid_refuses_bids_over_10(qbo: str) -> None:
    # Intuit developer blog 2015-04-06: with a batch requestid, a bId may hold 10 characters. QBO answers
    # item by item (QuickBooks-V3-Java-SDK#180), so the other items are carried out.
    books = Qbo.connect(qbo)
    items = [
        {"bId": "short", "operation": "create", "Customer": {"DisplayName": "Short Bid"}},
        {"bId": "b" * 11, "operation": "create", "Customer": {"DisplayName": "Long Bid"}},
    ]
    r = books.post("batch", {"BatchItemRequest": items}, requestid="a" * 36)
    assert r.status_code == 200
    answers = {a["bId"]: a for a in r.json()["BatchItemResponse"]}
    assert answers["short"]["Customer"]["DisplayName"] == "Short Bid"
    fault = answers["b" * 11]["Fault"]["Error"][0]
    assert fault["code"] == "6000" and "10 characters" in fault["Detail"]
    names = [c["DisplayName"] for c in books.query("select * from Customer")["Customer"]]
    assert names == ["Short Bid"]
    # Without a requestid a bId may be longer (a UUID, say).
    plain = books.post(
        "batch", {"BatchItemRequest": [{"bId": "c" * 36, "Customer": {"DisplayName": "Uuid Bid"}}]}
    )
    assert plain.json()["BatchItemResponse"][0]["Customer"]["DisplayName"] == "Uuid Bid"


def test_batch_bid_rule_switch_follows_the_observed_combined_limit(qbo: str) -> None:
    # QuickBooks-V3-Java-SDK#180: QBO refused a 32-character requestid with 36-character bIds as a
    # 68-character request_id, item by item. With strict_batch_bid off that rule applies.
    books = Qbo.connect(qbo)
    books.admin_config(strict_batch_bid=False)
    items = [
        {"bId": "e" * 14, "Customer": {"DisplayName": "Fits In Fifty"}},
        {"bId": "f" * 15, "Customer": {"DisplayName": "One Too Many"}},
    ]
    r = books.post("batch", {"BatchItemRequest": items}, requestid="d" * 36)
    answers = {a["bId"]: a for a in r.json()["BatchItemResponse"]}
    assert answers["e" * 14]["Customer"]["DisplayName"] == "Fits In Fifty"
    detail = answers["f" * 15]["Fault"]["Error"][0]["Detail"]
    assert "more than 50 characters in the request_id field" in detail and "which is 51 characters" in detail


def test_replay_answers_the_first_answer_errors_included(qbo: str) -> None:
    # Intuit developer blog 2015-04-06: a repeated requestid gets the response of the original request.
    books = Qbo.connect(qbo)
    first = books.post("customer", {"GivenName": ""}, requestid="err-1")
    assert first.status_code == 400 and fault_code(first) == "2020"
    again = books.post("customer", {"DisplayName": "Fixed Now"}, requestid="err-1")
    assert again.status_code == 400 and again.json()["Fault"] == first.json()["Fault"]
    assert books.query("select count(*) from Customer") == {"totalCount": 0}
    # The replay answers for the company whatever the path: the requestid names the request.
    made = books.post("customer", {"DisplayName": "Once"}, requestid="ok-1")
    elsewhere = books.post("item", {"Name": "Not Made"}, requestid="ok-1")
    assert elsewhere.json()["Customer"] == made.json()["Customer"]
    assert books.query("select count(*) from Item where Name = 'Not Made'") == {"totalCount": 0}


def test_replay_can_be_switched_off(qbo: str) -> None:
    # Field reports say the real replay is unreliable (node-quickbooks#38, QuickBooks-V3-DotNET-SDK#352):
    # with requestid_replay off every request is carried out, so a client must not rely on it.
    books = Qbo.connect(qbo)
    books.admin_config(requestid_replay=False)
    assert books.post("customer", {"DisplayName": "Twice"}, requestid="same").status_code == 200
    second = books.post("customer", {"DisplayName": "Twice"}, requestid="same")
    assert second.status_code == 400 and fault_code(second) == "6240"
    third = books.post("customer", {"DisplayName": "Twice Again"}, requestid="same")
    assert third.status_code == 200
    assert books.query("select count(*) from Customer") == {"totalCount": 2}
